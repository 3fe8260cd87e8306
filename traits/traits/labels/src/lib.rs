//! `labels`: add labels on your workload and, if it generates pods, on the pod template
//! (KubeVela's `labels` trait).

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;

/// The labels to add, as `name: value` (`null` removes the label).
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Params(pub BTreeMap<String, Option<String>>);

/// Merges the labels into `metadata.labels` and, when the workload has a pod template, into
/// `spec.template.metadata.labels` (KubeVela: `+patchStrategy=jsonMergePatch`, so `null`
/// deletes a label and an existing label takes the new value).
pub fn labels(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    let labels = json!(params.0);
    let mut patch = json!({ "metadata": { "labels": labels } });
    // KubeVela: `context.output.spec.template != _|_`.
    if ctx.workload.has("/spec/template") {
        patch["spec"] = json!({ "template": { "metadata": { "labels": labels } } });
    }
    Ok(TraitOutput::new().patch(Patch::json_merge_patch(patch)))
}

kiln_sdk::export_trait! {
    name: "labels",
    description: "Add labels on your workload. if it generates pod, add same label for generated pods.",
    render: labels,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": { "labels": { "app": "shop" } },
            "spec": { "template": { "metadata": { "labels": { "app": "shop" } }, "spec": {} } }
        })
    }

    #[test]
    fn labels_the_workload_and_its_pods() {
        let ctx = TraitContext::for_test(deployment());
        let out = render_trait(labels, json!({"team": "payments", "tier": "web"}), &ctx).unwrap();
        assert!(matches!(out.patch, Some(Patch::JsonMergePatch(_))));
        assert_eq!(
            out.patch_value().unwrap(),
            &json!({
                "metadata": { "labels": { "team": "payments", "tier": "web" } },
                "spec": { "template": { "metadata": { "labels": { "team": "payments", "tier": "web" } } } }
            })
        );
        assert!(out.outputs.is_empty());
    }

    #[test]
    fn null_removes_a_label() {
        let ctx = TraitContext::for_test(deployment());
        let out = render_trait(labels, json!({"app": null}), &ctx).unwrap();
        let patch = out.patch_value().unwrap();
        assert_eq!(patch["metadata"]["labels"], json!({"app": null}));
        assert_eq!(
            patch["spec"]["template"]["metadata"]["labels"],
            json!({"app": null})
        );
    }

    #[test]
    fn a_workload_without_pod_template_gets_only_metadata_labels() {
        let ctx = TraitContext::for_test(json!({"apiVersion": "v1", "kind": "ConfigMap"}));
        let out = render_trait(labels, json!({"team": "payments"}), &ctx).unwrap();
        assert_eq!(
            out.patch_value().unwrap(),
            &json!({ "metadata": { "labels": { "team": "payments" } } })
        );
    }

    #[test]
    fn no_job_template_handling() {
        let cronjob = json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "spec": { "jobTemplate": { "spec": { "template": { "spec": {} } } } }
        });
        let out =
            render_trait(labels, json!({"a": "b"}), &TraitContext::for_test(cronjob)).unwrap();
        assert!(out.patch_value().unwrap().get("spec").is_none());
    }

    #[test]
    fn a_value_must_be_a_string() {
        let ctx = TraitContext::for_test(deployment());
        let err = render_trait(labels, json!({"replicas": 3}), &ctx).unwrap_err();
        assert!(
            err.to_string().starts_with("replicas: invalid type"),
            "{err}"
        );
    }
}
