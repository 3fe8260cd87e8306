//! `k8s-update-strategy`: set the update strategy of a Deployment, StatefulSet or DaemonSet
//! (KubeVela's `k8s-update-strategy` trait).

use kiln_sdk::prelude::*;

/// Parameters of `k8s-update-strategy`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the apiVersion of target
    #[serde(default = "apps_v1", rename = "targetAPIVersion")]
    pub target_api_version: String,
    /// Specify the kind of target
    #[serde(default)]
    pub target_kind: TargetKind,
    /// Specify the strategy of update
    #[serde(default)]
    pub strategy: Strategy,
}

fn apps_v1() -> String {
    "apps/v1".into()
}

/// The kind of workload to update.
#[derive(Deserialize, Serialize, JsonSchema, Default, PartialEq, Eq, Clone, Copy)]
pub enum TargetKind {
    #[default]
    Deployment,
    StatefulSet,
    DaemonSet,
}

/// The update strategy.
#[derive(Deserialize, Serialize, JsonSchema, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Strategy {
    /// Specify the strategy type
    #[serde(default, rename = "type")]
    pub kind: StrategyType,
    /// Specify the parameters of rollong update strategy
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_strategy: Option<RollingStrategy>,
}

/// The kind of update.
#[derive(Deserialize, Serialize, JsonSchema, Default, PartialEq, Eq, Clone, Copy)]
pub enum StrategyType {
    #[default]
    RollingUpdate,
    Recreate,
    OnDelete,
}

impl StrategyType {
    fn as_str(self) -> &'static str {
        match self {
            StrategyType::RollingUpdate => "RollingUpdate",
            StrategyType::Recreate => "Recreate",
            StrategyType::OnDelete => "OnDelete",
        }
    }
}

/// The parameters of a rolling update.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RollingStrategy {
    /// The maximum number of pods that can be scheduled above the desired number of pods (Deployment, DaemonSet)
    #[serde(default = "quarter")]
    pub max_surge: String,
    /// The maximum number of pods that can be unavailable during the update (Deployment, DaemonSet)
    #[serde(default = "quarter")]
    pub max_unavailable: String,
    /// The ordinal at which the StatefulSet should be partitioned for updates (StatefulSet)
    #[serde(default)]
    pub partition: i64,
}

impl Default for RollingStrategy {
    fn default() -> Self {
        RollingStrategy {
            max_surge: quarter(),
            max_unavailable: quarter(),
            partition: 0,
        }
    }
}

fn quarter() -> String {
    "25%".into()
}

/// Replaces `spec.strategy` (Deployment) or `spec.updateStrategy` (StatefulSet, DaemonSet)
/// wholesale (KubeVela: `+patchStrategy=retainKeys`), with `rollingUpdate` for a rolling
/// update (`rollingStrategy`'s fields default to 25% / 25% / 0). A type the target kind does
/// not support (Deployment with `OnDelete`, StatefulSet or DaemonSet with `Recreate`)
/// patches nothing, as in KubeVela. `targetAPIVersion` is accepted but unused.
pub fn k8s_update_strategy(params: Params, _ctx: &TraitContext) -> Result<TraitOutput> {
    let kind = params.strategy.kind;
    let rolling = params.strategy.rolling_strategy.unwrap_or_default();
    let (field, rolling_update) = match (params.target_kind, kind) {
        (TargetKind::Deployment, StrategyType::OnDelete)
        | (TargetKind::StatefulSet | TargetKind::DaemonSet, StrategyType::Recreate) => {
            return Ok(TraitOutput::new().patch(Patch::merge(json!({ "spec": {} }))));
        }
        (TargetKind::Deployment, _) => (
            "strategy",
            json!({ "maxSurge": rolling.max_surge, "maxUnavailable": rolling.max_unavailable }),
        ),
        (TargetKind::StatefulSet, _) => {
            ("updateStrategy", json!({ "partition": rolling.partition }))
        }
        (TargetKind::DaemonSet, _) => (
            "updateStrategy",
            json!({ "maxSurge": rolling.max_surge, "maxUnavailable": rolling.max_unavailable }),
        ),
    };
    let mut strategy = json!({ "type": kind.as_str() });
    if kind == StrategyType::RollingUpdate {
        strategy["rollingUpdate"] = rolling_update;
    }
    Ok(TraitOutput::new().patch(Patch::merge(json!({
        "spec": {
            format!("$patchStrategy/{field}"): "retainKeys",
            field: strategy
        }
    }))))
}

kiln_sdk::export_trait! {
    name: "k8s-update-strategy",
    description: "Set k8s update strategy for Deployment/DaemonSet/StatefulSet",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps"],
    render: k8s_update_strategy,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn ctx() -> TraitContext {
        TraitContext::for_test(json!({"apiVersion": "apps/v1", "kind": "Deployment"}))
    }

    fn patch(props: Value) -> Value {
        render_trait(k8s_update_strategy, props, &ctx())
            .unwrap()
            .patch_value()
            .unwrap()
            .clone()
    }

    #[test]
    fn fixture_deployment_rolling_update() {
        let props = json!({
            "targetAPIVersion": "apps/v1",
            "targetKind": "Deployment",
            "strategy": {
                "type": "RollingUpdate",
                "rollingStrategy": {"maxSurge": "20%", "maxUnavailable": "30%"}
            }
        });
        let out = render_trait(k8s_update_strategy, props, &ctx()).unwrap();
        assert!(matches!(out.patch, Some(Patch::Merge(_))));
        assert!(out.outputs.is_empty());
        assert_eq!(
            out.patch_value().unwrap(),
            &json!({"spec": {
                "$patchStrategy/strategy": "retainKeys",
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "20%", "maxUnavailable": "30%"}
                }
            }})
        );
    }

    #[test]
    fn usage_example_daemonset() {
        let props = json!({
            "targetAPIVersion": "apps/v1",
            "targetKind": "DaemonSet",
            "strategy": {
                "type": "RollingUpdate",
                "rollingStrategy": {"maxSurge": "20%", "maxUnavailable": "30%"}
            }
        });
        assert_eq!(
            patch(props),
            json!({"spec": {
                "$patchStrategy/updateStrategy": "retainKeys",
                "updateStrategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "20%", "maxUnavailable": "30%"}
                }
            }})
        );
    }

    #[test]
    fn defaults_are_a_quarter_rolling_update() {
        assert_eq!(
            patch(json!({})),
            json!({"spec": {
                "$patchStrategy/strategy": "retainKeys",
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}
                }
            }})
        );
        let props = json!({"strategy": {"rollingStrategy": {"maxSurge": "1"}}});
        assert_eq!(
            patch(props)["spec"]["strategy"]["rollingUpdate"],
            json!({"maxSurge": "1", "maxUnavailable": "25%"})
        );
    }

    #[test]
    fn statefulset_partition() {
        let props =
            json!({"targetKind": "StatefulSet", "strategy": {"rollingStrategy": {"partition": 2}}});
        assert_eq!(
            patch(props),
            json!({"spec": {
                "$patchStrategy/updateStrategy": "retainKeys",
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
            }})
        );
        let props = json!({"targetKind": "StatefulSet", "strategy": {"type": "OnDelete"}});
        assert_eq!(
            patch(props),
            json!({"spec": {
                "$patchStrategy/updateStrategy": "retainKeys",
                "updateStrategy": {"type": "OnDelete"}
            }})
        );
    }

    #[test]
    fn recreate_has_no_rolling_update() {
        let props = json!({"strategy": {"type": "Recreate", "rollingStrategy": {"maxSurge": "1"}}});
        assert_eq!(
            patch(props),
            json!({"spec": {
                "$patchStrategy/strategy": "retainKeys",
                "strategy": {"type": "Recreate"}
            }})
        );
    }

    #[test]
    fn unsupported_combinations_patch_nothing() {
        assert_eq!(
            patch(json!({"strategy": {"type": "OnDelete"}})),
            json!({"spec": {}})
        );
        assert_eq!(
            patch(json!({"targetKind": "DaemonSet", "strategy": {"type": "Recreate"}})),
            json!({"spec": {}})
        );
    }

    #[test]
    fn kinds_are_closed() {
        let err =
            render_trait(k8s_update_strategy, json!({"targetKind": "Job"}), &ctx()).unwrap_err();
        assert!(err.to_string().starts_with("targetKind"), "{err}");
        let err = render_trait(
            k8s_update_strategy,
            json!({"strategy": {"type": "BlueGreen"}}),
            &ctx(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("strategy.type"), "{err}");
    }

    #[test]
    fn rejects_unknown_parameters() {
        let err = render_trait(
            k8s_update_strategy,
            json!({"targetApiVersion": "v1"}),
            &ctx(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown field `targetApiVersion`"),
            "{err}"
        );
    }
}
