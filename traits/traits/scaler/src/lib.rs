//! `scaler`: manually scale K8s pod for your workload (KubeVela's `scaler` trait).

use kiln_sdk::prelude::*;

/// Parameters of `scaler`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Specify the number of workload
    #[serde(default = "one")]
    pub replicas: i64,
}

fn one() -> i64 {
    1
}

/// Sets `spec.replicas`, replacing any value the workload had (KubeVela: `retainKeys`).
pub fn scaler(params: Params, _ctx: &TraitContext) -> Result<TraitOutput> {
    Ok(TraitOutput::new().patch(Patch::merge(json!({
        "spec": { "$patchStrategy/replicas": "retainKeys", "replicas": params.replicas }
    }))))
}

kiln_sdk::export_trait! {
    name: "scaler",
    description: "Manually scale K8s pod for your workload which follows the pod spec in path 'spec.template'.",
    applies_to: ["deployments.apps", "statefulsets.apps"],
    render: scaler,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    #[test]
    fn defaults_to_one_replica() {
        let out = render_trait(scaler, json!({}), &TraitContext::for_test(json!({}))).unwrap();
        assert_eq!(out.patch_value().unwrap()["spec"]["replicas"], 1);
    }

    #[test]
    fn rejects_unknown_parameters() {
        let err = render_trait(
            scaler,
            json!({"replica": 2}),
            &TraitContext::for_test(json!({})),
        );
        assert!(
            err.unwrap_err()
                .to_string()
                .contains("unknown field `replica`")
        );
    }
}
