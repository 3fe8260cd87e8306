//! `topologyspreadconstraints`: set topology spread constraints on the pod template
//! (KubeVela's `topologyspreadconstraints` trait).

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;

/// Parameters of `topologyspreadconstraints`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// List of topology spread constraints
    #[serde(default)]
    pub constraints: Vec<Constraint>,
}

/// One topology spread constraint.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Constraint {
    /// Describe the degree to which Pods may be unevenly distributed
    pub max_skew: i64,
    /// Specify the key of node labels
    pub topology_key: String,
    /// Indicate how to deal with a Pod if it doesn't satisfy the spread constraint
    #[serde(default)]
    pub when_unsatisfiable: WhenUnsatisfiable,
    /// labelSelector to find matching Pods
    pub label_selector: LabelSelector,
    /// Indicate a minimum number of eligible domains
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_domains: Option<i64>,
    /// A list of pod label keys to select the pods over which spreading will be calculated
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_label_keys: Option<Vec<String>>,
    /// Indicate how we will treat Pod's nodeAffinity/nodeSelector when calculating pod topology spread skew
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Honor"))]
    pub node_affinity_policy: Option<Policy>,
    /// Indicate how we will treat node taints when calculating pod topology spread skew
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Honor"))]
    pub node_taints_policy: Option<Policy>,
}

/// What to do with a pod that does not satisfy the constraint.
#[derive(Deserialize, Serialize, JsonSchema, Default)]
pub enum WhenUnsatisfiable {
    #[default]
    DoNotSchedule,
    ScheduleAnyway,
}

/// Whether a node property is taken into account.
#[derive(Deserialize, Serialize, JsonSchema)]
pub enum Policy {
    Honor,
    Ignore,
}

/// A label query.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LabelSelector {
    /// A map of {key,value} pairs
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// A list of label selector requirements
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<LabelSelectorRequirement>>,
}

/// A label selector requirement.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelSelectorRequirement {
    /// The label key the selector applies to
    pub key: String,
    /// The key's relationship to the values
    #[serde(default)]
    pub operator: Operator,
    /// The values to compare with
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// A label selector operator.
#[derive(Deserialize, Serialize, JsonSchema, Default)]
pub enum Operator {
    #[default]
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// Sets `spec.template.spec.topologySpreadConstraints` to the constraints, in order.
/// KubeVela declares no merge key: the list unifies with the workload's (an existing list of
/// another length, or a contradicting value, is a conflict).
pub fn topologyspreadconstraints(params: Params, _ctx: &TraitContext) -> Result<TraitOutput> {
    Ok(TraitOutput::new().patch(Patch::merge(json!({
        "spec": { "template": { "spec": {
            "topologySpreadConstraints": params.constraints
        } } }
    }))))
}

kiln_sdk::export_trait! {
    name: "topologyspreadconstraints",
    description: "Add topology spread constraints hooks for every container of K8s pod for your workload which follows the pod spec in path 'spec.template'.",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"],
    render: topologyspreadconstraints,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn ctx() -> TraitContext {
        TraitContext::for_test(json!({"apiVersion": "apps/v1", "kind": "Deployment"}))
    }

    fn constraints(out: &TraitOutput) -> &Value {
        &out.patch_value().unwrap()["spec"]["template"]["spec"]["topologySpreadConstraints"]
    }

    #[test]
    fn fixture_single_constraint() {
        let props = json!({"constraints": [{
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app.oam.dev/component": "nginx-app"}}
        }]});
        let out = render_trait(topologyspreadconstraints, props, &ctx()).unwrap();
        assert!(matches!(out.patch, Some(Patch::Merge(_))));
        assert_eq!(
            constraints(&out),
            &json!([{
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app.oam.dev/component": "nginx-app"}}
            }])
        );
        assert!(out.outputs.is_empty());
    }

    #[test]
    fn usage_example_with_every_field() {
        let props = json!({"constraints": [
            {
                "topologyKey": "zone",
                "labelSelector": {"matchLabels": {"zone": "us-east-1a"}},
                "maxSkew": 1,
                "whenUnsatisfiable": "DoNotSchedule",
                "minDomains": 1,
                "nodeAffinityPolicy": "Ignore",
                "nodeTaintsPolicy": "Ignore"
            },
            {
                "topologyKey": "node",
                "labelSelector": {"matchExpressions": [{"key": "foo", "operator": "In", "values": ["abc"]}]},
                "maxSkew": 1,
                "whenUnsatisfiable": "ScheduleAnyway",
                "minDomains": 1,
                "matchLabelKeys": ["pod-template-hash"],
                "nodeAffinityPolicy": "Ignore",
                "nodeTaintsPolicy": "Honor"
            }
        ]});
        let out = render_trait(topologyspreadconstraints, props, &ctx()).unwrap();
        assert_eq!(
            constraints(&out),
            &json!([
                {
                    "maxSkew": 1,
                    "topologyKey": "zone",
                    "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabels": {"zone": "us-east-1a"}},
                    "minDomains": 1,
                    "nodeAffinityPolicy": "Ignore",
                    "nodeTaintsPolicy": "Ignore"
                },
                {
                    "maxSkew": 1,
                    "topologyKey": "node",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchExpressions": [{"key": "foo", "operator": "In", "values": ["abc"]}]},
                    "minDomains": 1,
                    "matchLabelKeys": ["pod-template-hash"],
                    "nodeAffinityPolicy": "Ignore",
                    "nodeTaintsPolicy": "Honor"
                }
            ])
        );
    }

    #[test]
    fn defaults_fill_in() {
        let props = json!({"constraints": [{
            "maxSkew": 2,
            "topologyKey": "zone",
            "labelSelector": {"matchExpressions": [{"key": "app"}]}
        }]});
        let out = render_trait(topologyspreadconstraints, props, &ctx()).unwrap();
        assert_eq!(
            constraints(&out),
            &json!([{
                "maxSkew": 2,
                "topologyKey": "zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]}
            }])
        );
    }

    #[test]
    fn no_constraints_is_an_empty_list() {
        let out = render_trait(topologyspreadconstraints, json!({}), &ctx()).unwrap();
        assert_eq!(constraints(&out), &json!([]));
    }

    #[test]
    fn label_selector_is_required() {
        let props = json!({"constraints": [{"maxSkew": 1, "topologyKey": "zone"}]});
        let err = render_trait(topologyspreadconstraints, props, &ctx()).unwrap_err();
        assert!(
            err.to_string().contains("missing field `labelSelector`"),
            "{err}"
        );
    }

    #[test]
    fn enums_are_closed() {
        let props = json!({"constraints": [{
            "maxSkew": 1, "topologyKey": "zone", "labelSelector": {},
            "whenUnsatisfiable": "Never"
        }]});
        let err = render_trait(topologyspreadconstraints, props, &ctx()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("constraints[0].whenUnsatisfiable"),
            "{err}"
        );
    }

    #[test]
    fn rejects_unknown_parameters() {
        let err =
            render_trait(topologyspreadconstraints, json!({"constraint": []}), &ctx()).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `constraint`"),
            "{err}"
        );
    }
}
