//! `k8s-objects`: raw Kubernetes objects given in the properties (KubeVela's `k8s-objects`
//! component type). The first object is the workload; the others are auxiliary objects
//! named `objects-<index>`.

use kiln_sdk::prelude::*;

/// Parameters of `k8s-objects`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The Kubernetes objects to render; the first is the component's workload
    pub objects: Vec<Map<String, Value>>,
}

/// Renders `objects[0]` as the workload and `objects[i]` as the output `objects-<i>`.
pub fn k8s_objects(params: Params, _ctx: &Context) -> Result<WorkloadOutput> {
    let mut objects = params.objects.into_iter();
    let Some(first) = objects.next() else {
        return Err(Error::field(
            "objects",
            "at least one object is required (the first one is the workload)",
        ));
    };
    let mut out = WorkloadOutput::new(Value::Object(first));
    for (i, object) in objects.enumerate() {
        out = out.with_output(format!("objects-{}", i + 1), Value::Object(object));
    }
    Ok(out)
}

kiln_sdk::export_workload! {
    name: "k8s-objects",
    description: "K8s-objects allow users to specify raw K8s objects in properties",
    workload_type: "autodetects.core.oam.dev",
    render: k8s_objects,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_workload;

    fn ctx() -> Context {
        Context::for_test("myjob")
    }

    fn cm() -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"tier": "gold"}})
    }

    fn sa(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})
    }

    #[test]
    fn the_first_object_is_the_output_as_given() {
        let out = render_workload(k8s_objects, json!({"objects": [cm()]}), &ctx()).unwrap();
        assert_eq!(out.output, cm());
        assert!(out.outputs.is_empty());
    }

    #[test]
    fn the_rest_are_outputs_numbered_from_one() {
        let props = json!({"objects": [cm(), sa("shop"), sa("worker")]});
        let out = render_workload(k8s_objects, props, &ctx()).unwrap();
        assert_eq!(out.output, cm());
        assert_eq!(
            out.outputs,
            vec![
                ("objects-1".to_string(), sa("shop")),
                ("objects-2".to_string(), sa("worker"))
            ]
        );
    }

    #[test]
    fn fixture_job() {
        let job = json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "pi"},
            "spec": {
                "template": {"spec": {
                    "containers": [{"name": "pi", "image": "perl", "command": ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]}],
                    "restartPolicy": "Never"
                }},
                "backoffLimit": 4
            }
        });
        let out = render_workload(k8s_objects, json!({"objects": [job.clone()]}), &ctx()).unwrap();
        assert_eq!(out.output, job);
    }

    #[test]
    fn errors() {
        let err = render_workload(k8s_objects, json!({"objects": []}), &ctx()).unwrap_err();
        assert!(
            err.to_string().starts_with("objects: at least one"),
            "{err}"
        );
        let err = render_workload(k8s_objects, json!({}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("missing field `objects`"), "{err}");
        let err = render_workload(k8s_objects, json!({"objects": ["x"]}), &ctx()).unwrap_err();
        assert!(
            err.to_string().starts_with("objects[0]: invalid type"),
            "{err}"
        );
    }
}
