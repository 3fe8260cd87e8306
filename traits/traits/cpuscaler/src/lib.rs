//! `cpuscaler`: automatically scale the component based on CPU usage (KubeVela's `cpuscaler`
//! trait). Renders an `autoscaling/v1` HorizontalPodAutoscaler named after the component.

use kiln_sdk::prelude::*;

/// Parameters of `cpuscaler`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the minimal number of replicas to which the autoscaler can scale down
    #[serde(default = "one")]
    pub min: i64,
    /// Specify the maximum number of of replicas to which the autoscaler can scale up
    #[serde(default = "ten")]
    pub max: i64,
    /// Specify the average CPU utilization, for example, 50 means the CPU usage is 50%
    #[serde(default = "fifty")]
    pub cpu_util: i64,
    /// Specify the apiVersion of scale target
    #[serde(rename = "targetAPIVersion", default = "apps_v1")]
    pub target_api_version: String,
    /// Specify the kind of scale target
    #[serde(default = "deployment")]
    pub target_kind: String,
}

fn one() -> i64 {
    1
}
fn ten() -> i64 {
    10
}
fn fifty() -> i64 {
    50
}
fn apps_v1() -> String {
    "apps/v1".into()
}
fn deployment() -> String {
    "Deployment".into()
}

/// Renders the `cpuscaler` HorizontalPodAutoscaler.
pub fn cpuscaler(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    Ok(TraitOutput::new().with_output(
        "cpuscaler",
        json!({
            "apiVersion": "autoscaling/v1",
            "kind": "HorizontalPodAutoscaler",
            "metadata": { "name": ctx.component_name },
            "spec": {
                "scaleTargetRef": {
                    "apiVersion": params.target_api_version,
                    "kind": params.target_kind,
                    "name": ctx.component_name
                },
                "minReplicas": params.min,
                "maxReplicas": params.max,
                "targetCPUUtilizationPercentage": params.cpu_util
            }
        }),
    ))
}

kiln_sdk::export_trait! {
    name: "cpuscaler",
    description: "Automatically scale the component based on CPU usage.",
    applies_to: ["deployments.apps", "statefulsets.apps"],
    render: cpuscaler,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn ctx() -> TraitContext {
        let mut ctx = TraitContext::for_test(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": { "template": { "spec": { "containers": [{ "name": "web", "image": "shop:1.0" }] } } }
        }));
        ctx.context.component_name = "web".into();
        ctx
    }

    #[test]
    fn scales_the_deployment_between_1_and_10_at_50_percent() {
        let out = render_trait(cpuscaler, json!({}), &ctx()).unwrap();
        assert!(out.patch.is_none());
        assert_eq!(out.outputs.len(), 1);
        assert_eq!(
            out.output("cpuscaler").unwrap(),
            &json!({
                "apiVersion": "autoscaling/v1",
                "kind": "HorizontalPodAutoscaler",
                "metadata": { "name": "web" },
                "spec": {
                    "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": "web" },
                    "minReplicas": 1,
                    "maxReplicas": 10,
                    "targetCPUUtilizationPercentage": 50
                }
            })
        );
    }

    #[test]
    fn fixture_bounds_and_target() {
        let props = json!({"min": 1, "max": 5, "cpuUtil": 60, "targetKind": "StatefulSet", "targetAPIVersion": "apps/v1"});
        let out = render_trait(cpuscaler, props, &ctx()).unwrap();
        let spec = &out.output("cpuscaler").unwrap()["spec"];
        assert_eq!(spec["maxReplicas"], 5);
        assert_eq!(spec["targetCPUUtilizationPercentage"], 60);
        assert_eq!(spec["scaleTargetRef"]["kind"], "StatefulSet");
    }

    #[test]
    fn parameter_errors() {
        let err = render_trait(cpuscaler, json!({"max": "ten"}), &ctx()).unwrap_err();
        assert!(err.to_string().starts_with("max: invalid type"), "{err}");
        let err = render_trait(cpuscaler, json!({"targetApiVersion": "v1"}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
