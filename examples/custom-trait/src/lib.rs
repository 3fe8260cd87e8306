//! `pod-disruption-budget`: a custom Kiln trait that adds a PodDisruptionBudget keeping a
//! component's pods available during voluntary disruptions (node drains, upgrades).
//!
//! Build: `cargo build --release --target wasm32-wasip2`; load the `.wasm` with
//! `kiln render -d DIR` (see README.md).

use kiln_sdk::prelude::*;

/// A pod count or a percentage, as Kubernetes' `IntOrString`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum IntOrString {
    Int(i64),
    String(String),
}

/// Parameters of `pod-disruption-budget`.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Pods that must stay available, as a number or a percentage ("50%"). Default: 1
    /// when neither this nor maxUnavailable is set.
    pub min_available: Option<IntOrString>,
    /// Pods that may be unavailable at once, as a number or a percentage.
    pub max_unavailable: Option<IntOrString>,
}

/// Adds the PodDisruptionBudget, selecting the component's pods.
pub fn pod_disruption_budget(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    let budget = match (params.min_available, params.max_unavailable) {
        (Some(_), Some(_)) => {
            return Err(Error::field(
                "maxUnavailable",
                "set minAvailable or maxUnavailable, not both",
            ));
        }
        (None, Some(max)) => json!({ "maxUnavailable": max }),
        (min, None) => json!({ "minAvailable": min.unwrap_or(IntOrString::Int(1)) }),
    };
    let mut spec = json!({
        "selector": { "matchLabels": { "app.oam.dev/component": ctx.component_name } }
    });
    spec.as_object_mut()
        .expect("spec is an object")
        .extend(budget.as_object().cloned().unwrap_or_default());
    let api_version = if ctx.supports("policy/v1", (1, 21)) {
        "policy/v1"
    } else {
        "policy/v1beta1"
    };
    Ok(TraitOutput::new().with_output(
        "podDisruptionBudget",
        json!({
            "apiVersion": api_version,
            "kind": "PodDisruptionBudget",
            "metadata": { "name": ctx.component_name },
            "spec": spec,
        }),
    ))
}

kiln_sdk::export_trait! {
    name: "pod-disruption-budget",
    description: "Keep a minimum of the component's pods available during voluntary disruptions.",
    applies_to: ["deployments.apps", "statefulsets.apps"],
    render: pod_disruption_budget,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn ctx() -> TraitContext {
        TraitContext::for_test(json!({"apiVersion": "apps/v1", "kind": "Deployment"}))
    }

    #[test]
    fn defaults_to_one_available_pod() {
        let out = pod_disruption_budget(Params::default(), &ctx()).unwrap();
        let pdb = out.output("podDisruptionBudget").unwrap();
        assert_eq!(pdb["apiVersion"], "policy/v1");
        assert_eq!(pdb["spec"]["minAvailable"], 1);
        assert_eq!(
            pdb["spec"]["selector"]["matchLabels"]["app.oam.dev/component"],
            "component"
        );
    }

    #[test]
    fn takes_a_percentage() {
        let out = render_trait(
            pod_disruption_budget,
            json!({"maxUnavailable": "25%"}),
            &ctx(),
        )
        .unwrap();
        assert_eq!(
            out.output("podDisruptionBudget").unwrap()["spec"]["maxUnavailable"],
            "25%"
        );
    }

    #[test]
    fn refuses_both_bounds() {
        let err = render_trait(
            pod_disruption_budget,
            json!({"minAvailable": 1, "maxUnavailable": 1}),
            &ctx(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "maxUnavailable: set minAvailable or maxUnavailable, not both"
        );
    }

    #[test]
    fn uses_policy_v1beta1_before_kubernetes_1_21() {
        let mut ctx = ctx();
        ctx.context.cluster_version.minor = 20;
        let out = pod_disruption_budget(Params::default(), &ctx).unwrap();
        assert_eq!(
            out.output("podDisruptionBudget").unwrap()["apiVersion"],
            "policy/v1beta1"
        );
    }
}
