//! `json-merge-patch`: patch the workload with an RFC 7396 JSON merge patch (KubeVela's
//! `json-merge-patch` trait).

use kiln_sdk::prelude::*;

/// The merge patch itself: any object, merged into the workload (`null` deletes a field, a
/// list replaces the list).
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Params(pub Map<String, Value>);

/// Returns the properties as a JSON merge patch on the whole workload (KubeVela:
/// `+patchStrategy=jsonMergePatch`).
pub fn json_merge_patch(params: Params, _ctx: &TraitContext) -> Result<TraitOutput> {
    Ok(TraitOutput::new().patch(Patch::json_merge_patch(Value::Object(params.0))))
}

kiln_sdk::export_trait! {
    name: "json-merge-patch",
    description: "Patch the output following Json Merge Patch strategy, following RFC 7396.",
    render: json_merge_patch,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::{render_trait, schema_of};

    fn ctx() -> TraitContext {
        TraitContext::for_test(json!({"apiVersion": "apps/v1", "kind": "Deployment"}))
    }

    #[test]
    fn fixture_merge_patch_passes_through() {
        let props = json!({"spec": {"template": {"metadata": {"labels": {"custom": "merged"}}}}});
        let out = render_trait(json_merge_patch, props.clone(), &ctx()).unwrap();
        assert_eq!(out.patch, Some(Patch::JsonMergePatch(props)));
        assert!(out.outputs.is_empty());
    }

    #[test]
    fn nulls_are_kept_to_delete_fields() {
        let props = json!({
            "metadata": {"labels": {"deploy-label-key": "deploy-label-added-value"}},
            "spec": {
                "replicas": 3,
                "template": {
                    "metadata": {"labels": {
                        "pod-label-key": "pod-label-modified-value",
                        "to-delete-label-key": null
                    }},
                    "spec": {"containers": [
                        {"name": "busybox-new", "image": "busybox:1.34", "command": ["sleep", "864000"]}
                    ]}
                }
            }
        });
        let out = render_trait(json_merge_patch, props.clone(), &ctx()).unwrap();
        assert_eq!(out.patch_value().unwrap(), &props);
        assert!(
            out.patch_value().unwrap()["spec"]["template"]["metadata"]["labels"]
                ["to-delete-label-key"]
                .is_null()
        );
    }

    #[test]
    fn empty_properties_are_an_empty_patch() {
        let out = render_trait(json_merge_patch, json!({}), &ctx()).unwrap();
        assert_eq!(out.patch, Some(Patch::JsonMergePatch(json!({}))));
    }

    #[test]
    fn properties_must_be_an_object() {
        assert!(render_trait(json_merge_patch, json!([1]), &ctx()).is_err());
    }

    #[test]
    fn schema_is_an_open_object() {
        let schema = schema_of::<Params>();
        assert_eq!(schema["type"], "object");
    }
}
