//! `json-patch`: patch the workload with RFC 6902 operations (KubeVela's `json-patch` trait).

use kiln_sdk::prelude::*;

/// Parameters of `json-patch`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The RFC 6902 operations to apply to the workload, in order (each an object such as `{op: add, path: /spec/replicas, value: 3}`)
    #[serde(default)]
    pub operations: Vec<Map<String, Value>>,
}

/// Returns the operations as a JSON patch (KubeVela: `+patchStrategy=jsonPatch`). The host
/// applies them in order, all or nothing; a malformed or failing operation fails the render.
pub fn json_patch(params: Params, _ctx: &TraitContext) -> Result<TraitOutput> {
    Ok(TraitOutput::new().patch(Patch::json_patch(json!(params.operations))))
}

kiln_sdk::export_trait! {
    name: "json-patch",
    description: "Patch the output following Json Patch strategy, following RFC 6902.",
    render: json_patch,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn ctx() -> TraitContext {
        TraitContext::for_test(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": { "replicas": 1, "template": { "spec": {
                "containers": [{ "name": "nginx-app", "image": "nginx:latest" }]
            } } }
        }))
    }

    #[test]
    fn fixture_operations_pass_through() {
        let ops = json!([
            {"op": "add", "path": "/spec/template/metadata/labels/patched", "value": "true"},
            {"op": "replace", "path": "/spec/replicas", "value": 2}
        ]);
        let out = render_trait(json_patch, json!({"operations": ops}), &ctx()).unwrap();
        assert_eq!(out.patch, Some(Patch::JsonPatch(ops)));
        assert!(out.outputs.is_empty());
    }

    #[test]
    fn docs_example_keeps_order_and_values() {
        let ops = json!([
            {"op": "add", "path": "/spec/replicas", "value": 3},
            {"op": "replace", "path": "/spec/template/metadata/labels/pod-label-key", "value": "pod-label-modified-value"},
            {"op": "remove", "path": "/spec/template/metadata/labels/to-delete-label-key"},
            {"op": "add", "path": "/spec/template/spec/containers/1", "value": {
                "name": "busybox-sidecar", "image": "busybox:1.34", "command": ["sleep", "864000"]
            }}
        ]);
        let out = render_trait(json_patch, json!({"operations": ops}), &ctx()).unwrap();
        assert_eq!(out.patch_value().unwrap(), &ops);
    }

    #[test]
    fn no_operations_is_an_empty_patch() {
        let out = render_trait(json_patch, json!({}), &ctx()).unwrap();
        assert_eq!(out.patch, Some(Patch::JsonPatch(json!([]))));
    }

    #[test]
    fn operations_must_be_objects() {
        let err = render_trait(json_patch, json!({"operations": ["add"]}), &ctx()).unwrap_err();
        assert!(
            err.to_string().starts_with("operations[0]: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn rejects_unknown_parameters() {
        let err = render_trait(json_patch, json!({"ops": []}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("unknown field `ops`"), "{err}");
    }
}
