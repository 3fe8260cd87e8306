//! `annotations`: add annotations on your workload and, if it generates pods or jobs, on
//! their templates (KubeVela's `annotations` trait).

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;

/// The annotations to add, as `name: value` (`null` removes the annotation).
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Params(pub BTreeMap<String, Option<String>>);

/// Merges the annotations into `metadata.annotations` and into every pod or job template the
/// workload has: `spec.template`, `spec.jobTemplate` and `spec.jobTemplate.spec.template`
/// (KubeVela: `+patchStrategy=jsonMergePatch`, so `null` deletes an annotation and an
/// existing annotation takes the new value). A template counts when it is there and not
/// null (KubeVela: `!= _|_`).
pub fn annotations(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    let content = json!(params.0);
    let at = |annotated: Value| json!({ "metadata": { "annotations": annotated } });
    let mut patch = at(content.clone());
    let mut spec = Map::new();
    if ctx.workload.has("/spec/template") {
        spec.insert("template".into(), at(content.clone()));
    }
    if ctx.workload.has("/spec/jobTemplate") {
        let mut job_template = at(content.clone());
        if ctx.workload.has("/spec/jobTemplate/spec/template") {
            job_template["spec"] = json!({ "template": at(content) });
        }
        spec.insert("jobTemplate".into(), job_template);
    }
    if !spec.is_empty() {
        patch["spec"] = Value::Object(spec);
    }
    Ok(TraitOutput::new().patch(Patch::json_merge_patch(patch)))
}

kiln_sdk::export_trait! {
    name: "annotations",
    description: "Add annotations on your workload. If it generates pod or job, add same annotations for generated pods.",
    render: annotations,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": { "annotations": { "owner": "shop" } },
            "spec": { "template": { "metadata": {}, "spec": {} } }
        })
    }

    #[test]
    fn annotates_the_workload_and_its_pods() {
        let ctx = TraitContext::for_test(deployment());
        let props = json!({"prometheus.io/scrape": "true"});
        let out = render_trait(annotations, props, &ctx).unwrap();
        assert!(matches!(out.patch, Some(Patch::JsonMergePatch(_))));
        assert_eq!(
            out.patch_value().unwrap(),
            &json!({
                "metadata": { "annotations": { "prometheus.io/scrape": "true" } },
                "spec": { "template": { "metadata": { "annotations": { "prometheus.io/scrape": "true" } } } }
            })
        );
        assert!(out.outputs.is_empty());
    }

    #[test]
    fn overrides_and_removes() {
        let ctx = TraitContext::for_test(deployment());
        let out =
            render_trait(annotations, json!({"owner": "billing", "old": null}), &ctx).unwrap();
        assert_eq!(
            out.patch_value().unwrap()["metadata"]["annotations"],
            json!({"owner": "billing", "old": null})
        );
    }

    #[test]
    fn a_cronjobs_job_template_and_its_pods_are_annotated() {
        let cronjob = json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "spec": { "jobTemplate": { "spec": { "template": { "spec": {} } } } }
        });
        let out = render_trait(
            annotations,
            json!({"a": "b"}),
            &TraitContext::for_test(cronjob),
        )
        .unwrap();
        let a = json!({ "annotations": { "a": "b" } });
        assert_eq!(
            out.patch_value().unwrap(),
            &json!({
                "metadata": a,
                "spec": { "jobTemplate": { "metadata": a, "spec": { "template": { "metadata": a } } } }
            })
        );
    }

    #[test]
    fn a_job_template_without_pod_template() {
        let cronjob = json!({ "kind": "CronJob", "spec": { "jobTemplate": {} } });
        let out = render_trait(
            annotations,
            json!({"a": "b"}),
            &TraitContext::for_test(cronjob),
        )
        .unwrap();
        assert_eq!(
            out.patch_value().unwrap()["spec"],
            json!({ "jobTemplate": { "metadata": { "annotations": { "a": "b" } } } })
        );
    }

    #[test]
    fn a_configmap_gets_only_metadata() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {}});
        let out =
            render_trait(annotations, json!({"a": "b"}), &TraitContext::for_test(cm)).unwrap();
        assert_eq!(
            out.patch_value().unwrap(),
            &json!({ "metadata": { "annotations": { "a": "b" } } })
        );
    }

    #[test]
    fn a_value_must_be_a_string() {
        let ctx = TraitContext::for_test(deployment());
        let err = render_trait(annotations, json!({"replicas": 3}), &ctx).unwrap_err();
        assert!(
            err.to_string().starts_with("replicas: invalid type"),
            "{err}"
        );
    }
}
