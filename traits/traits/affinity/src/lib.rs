//! `affinity`: set pod affinity, pod anti-affinity, node affinity and tolerations on the pod
//! template of the workload (KubeVela's `affinity` trait).

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;

/// Parameters of `affinity`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the pod affinity scheduling rules
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_affinity: Option<PodAffinity>,
    /// Specify the pod anti-affinity scheduling rules
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_anti_affinity: Option<PodAffinity>,
    /// Specify the node affinity scheduling rules for the pod
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_affinity: Option<NodeAffinity>,
    /// Specify tolerant taint
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
}

/// Pod affinity (or anti-affinity) rules.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PodAffinity {
    /// Specify the required during scheduling ignored during execution
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<Vec<PodAffinityTerm>>,
    /// Specify the preferred during scheduling ignored during execution
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred: Option<Vec<WeightedPodAffinityTerm>>,
}

/// A preferred pod affinity term with its weight.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WeightedPodAffinityTerm {
    /// Specify weight associated with matching the corresponding podAffinityTerm
    #[schemars(range(min = 1, max = 100))]
    pub weight: i64,
    /// Specify a set of pods
    pub pod_affinity_term: PodAffinityTerm,
}

/// A set of pods, by labels and namespaces, and the topology domain to co-locate with them.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodAffinityTerm {
    /// A label query over the pods
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<LabelSelector>,
    /// The namespace of the pods
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The namespaces of the pods
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// The node label whose value defines the topology domain
    pub topology_key: String,
    /// A label query over the namespaces of the pods
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
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
    pub operator: LabelOperator,
    /// The values to compare with
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// A label selector operator.
#[derive(Deserialize, Serialize, JsonSchema, Default)]
pub enum LabelOperator {
    #[default]
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// Node affinity rules.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeAffinity {
    /// Specify the required during scheduling ignored during execution
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<NodeSelector>,
    /// Specify the preferred during scheduling ignored during execution
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred: Option<Vec<PreferredSchedulingTerm>>,
}

/// Required node selector terms.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeSelector {
    /// Specify a list of node selector
    #[serde(default)]
    pub node_selector_terms: Vec<NodeSelectorTerm>,
}

/// A preferred node selector term with its weight.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferredSchedulingTerm {
    /// Specify weight associated with matching the corresponding nodeSelector
    #[schemars(range(min = 1, max = 100))]
    pub weight: i64,
    /// Specify a node selector
    pub preference: NodeSelectorTerm,
}

/// A node selector term: node label and field requirements.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NodeSelectorTerm {
    /// Requirements on node labels
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<NodeSelectorRequirement>>,
    /// Requirements on node fields
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_fields: Option<Vec<NodeSelectorRequirement>>,
}

/// A node selector requirement.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeSelectorRequirement {
    /// The label or field key the selector applies to
    pub key: String,
    /// The key's relationship to the values
    #[serde(default)]
    pub operator: NodeOperator,
    /// The values to compare with
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// A node selector operator.
#[derive(Deserialize, Serialize, JsonSchema, Default)]
pub enum NodeOperator {
    #[default]
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

/// A toleration of a node taint.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Toleration {
    /// The taint key the toleration applies to
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The key's relationship to the value
    #[serde(default)]
    pub operator: TolerationOperator,
    /// The taint value the toleration matches
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The taint effect to match
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<TaintEffect>,
    /// Specify the period of time the toleration
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toleration_seconds: Option<i64>,
}

/// A toleration operator.
#[derive(Deserialize, Serialize, JsonSchema, Default)]
pub enum TolerationOperator {
    #[default]
    Equal,
    Exists,
}

/// A taint effect.
#[derive(Deserialize, Serialize, JsonSchema)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

/// Checks KubeVela's `weight: int & >=1 & <=100` constraints.
fn check_weights(params: &Params) -> Result<()> {
    let mut weights: Vec<(String, i64)> = Vec::new();
    for (field, affinity) in [
        ("podAffinity", &params.pod_affinity),
        ("podAntiAffinity", &params.pod_anti_affinity),
    ] {
        for (i, term) in affinity
            .iter()
            .flat_map(|a| a.preferred.iter().flatten())
            .enumerate()
        {
            weights.push((format!("{field}.preferred[{i}].weight"), term.weight));
        }
    }
    for (i, term) in params
        .node_affinity
        .iter()
        .flat_map(|a| a.preferred.iter().flatten())
        .enumerate()
    {
        weights.push((format!("nodeAffinity.preferred[{i}].weight"), term.weight));
    }
    let mut errors: Option<Error> = None;
    for (field, weight) in weights {
        if !(1..=100).contains(&weight) {
            let e = Error::field(field, format!("must be between 1 and 100, found {weight}"));
            errors = Some(match errors {
                Some(errors) => errors.and(e),
                None => e,
            });
        }
    }
    errors.map_or(Ok(()), Err)
}

/// Sets `affinity.{podAffinity,podAntiAffinity,nodeAffinity}` and `tolerations` in
/// `spec.template.spec`, with KubeVela's defaults filled in (operators `In` and `Equal`).
/// KubeVela declares no merge key or strategy here: the fields unify with the workload's
/// (a contradicting value, or a list of another length, is a conflict).
pub fn affinity(params: Params, _ctx: &TraitContext) -> Result<TraitOutput> {
    check_weights(&params)?;
    let mut affinity = Map::new();
    if let Some(a) = &params.pod_affinity {
        affinity.insert("podAffinity".into(), pod_affinity(a));
    }
    if let Some(a) = &params.pod_anti_affinity {
        affinity.insert("podAntiAffinity".into(), pod_affinity(a));
    }
    if let Some(a) = &params.node_affinity {
        let mut node = Map::new();
        if let Some(required) = &a.required {
            node.insert(
                "requiredDuringSchedulingIgnoredDuringExecution".into(),
                json!({ "nodeSelectorTerms": required.node_selector_terms }),
            );
        }
        if let Some(preferred) = &a.preferred {
            node.insert(
                "preferredDuringSchedulingIgnoredDuringExecution".into(),
                json!(preferred),
            );
        }
        affinity.insert("nodeAffinity".into(), Value::Object(node));
    }
    let mut spec = Map::new();
    if !affinity.is_empty() {
        spec.insert("affinity".into(), Value::Object(affinity));
    }
    if let Some(tolerations) = &params.tolerations {
        spec.insert("tolerations".into(), json!(tolerations));
    }
    Ok(TraitOutput::new().patch(Patch::merge(json!({
        "spec": { "template": { "spec": spec } }
    }))))
}

fn pod_affinity(a: &PodAffinity) -> Value {
    let mut out = Map::new();
    if let Some(required) = &a.required {
        out.insert(
            "requiredDuringSchedulingIgnoredDuringExecution".into(),
            json!(required),
        );
    }
    if let Some(preferred) = &a.preferred {
        out.insert(
            "preferredDuringSchedulingIgnoredDuringExecution".into(),
            json!(preferred),
        );
    }
    Value::Object(out)
}

kiln_sdk::export_trait! {
    name: "affinity",
    description: "Affinity specifies affinity and toleration K8s pod for your workload which follows the pod spec in path 'spec.template'.",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"],
    render: affinity,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn ctx() -> TraitContext {
        TraitContext::for_test(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": { "template": { "spec": {
                "containers": [{ "name": "busybox", "image": "busybox" }]
            } } }
        }))
    }

    fn pod_spec(out: &TraitOutput) -> &Value {
        &out.patch_value().unwrap()["spec"]["template"]["spec"]
    }

    #[test]
    fn fixture_preferred_pod_affinity_gets_default_operator() {
        let props = json!({"podAffinity": {"preferred": [{
            "weight": 1,
            "podAffinityTerm": {
                "labelSelector": {"matchExpressions": [{"key": "secrity", "values": ["S1"]}]},
                "namespaces": ["default"],
                "topologyKey": "kubernetes.io/hostname"
            }
        }]}});
        let out = render_trait(affinity, props, &ctx()).unwrap();
        assert!(matches!(out.patch, Some(Patch::Merge(_))));
        assert_eq!(
            pod_spec(&out),
            &json!({"affinity": {"podAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [{
                    "weight": 1,
                    "podAffinityTerm": {
                        "labelSelector": {"matchExpressions": [
                            {"key": "secrity", "operator": "In", "values": ["S1"]}
                        ]},
                        "namespaces": ["default"],
                        "topologyKey": "kubernetes.io/hostname"
                    }
                }]
            }}})
        );
        assert!(out.outputs.is_empty());
    }

    #[test]
    fn anti_affinity_node_affinity_and_tolerations() {
        let props = json!({
            "podAntiAffinity": {"required": [{
                "labelSelector": {"matchLabels": {"app": "web"}},
                "namespace": "prod",
                "namespaceSelector": {"matchLabels": {"team": "a"}},
                "topologyKey": "zone"
            }]},
            "nodeAffinity": {
                "required": {"nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "disk", "operator": "Exists"}]},
                    {"matchFields": [{"key": "metadata.name", "values": ["n1"]}]}
                ]},
                "preferred": [{"weight": 100, "preference": {"matchExpressions": [
                    {"key": "cpu", "operator": "Gt", "values": ["4"]}
                ]}}]
            },
            "tolerations": [
                {"key": "gpu", "effect": "NoSchedule"},
                {"operator": "Exists", "tolerationSeconds": 30, "effect": "NoExecute", "value": "x"}
            ]
        });
        let out = render_trait(affinity, props, &ctx()).unwrap();
        assert_eq!(
            pod_spec(&out),
            &json!({
                "affinity": {
                    "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                        "labelSelector": {"matchLabels": {"app": "web"}},
                        "namespace": "prod",
                        "namespaceSelector": {"matchLabels": {"team": "a"}},
                        "topologyKey": "zone"
                    }]},
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                            {"matchExpressions": [{"key": "disk", "operator": "Exists"}]},
                            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}
                        ]},
                        "preferredDuringSchedulingIgnoredDuringExecution": [{
                            "weight": 100,
                            "preference": {"matchExpressions": [
                                {"key": "cpu", "operator": "Gt", "values": ["4"]}
                            ]}
                        }]
                    }
                },
                "tolerations": [
                    {"key": "gpu", "operator": "Equal", "effect": "NoSchedule"},
                    {"operator": "Exists", "value": "x", "effect": "NoExecute", "tolerationSeconds": 30}
                ]
            })
        );
    }

    #[test]
    fn empty_parameters_patch_nothing() {
        let out = render_trait(affinity, json!({}), &ctx()).unwrap();
        assert_eq!(pod_spec(&out), &json!({}));
    }

    #[test]
    fn an_empty_rule_set_is_kept() {
        let out = render_trait(affinity, json!({"podAffinity": {}}), &ctx()).unwrap();
        assert_eq!(pod_spec(&out), &json!({"affinity": {"podAffinity": {}}}));
    }

    #[test]
    fn weights_must_be_between_1_and_100() {
        let props = json!({
            "podAffinity": {"preferred": [
                {"weight": 5, "podAffinityTerm": {"topologyKey": "zone"}},
                {"weight": 0, "podAffinityTerm": {"topologyKey": "zone"}}
            ]},
            "nodeAffinity": {"preferred": [{"weight": 101, "preference": {}}]}
        });
        let err = render_trait(affinity, props, &ctx()).unwrap_err();
        let fields: Vec<Option<&str>> = err.messages().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                Some("podAffinity.preferred[1].weight"),
                Some("nodeAffinity.preferred[0].weight")
            ]
        );
    }

    #[test]
    fn operators_are_closed_enums() {
        let props = json!({"tolerations": [{"operator": "Like"}]});
        let err = render_trait(affinity, props, &ctx()).unwrap_err();
        assert!(
            err.to_string().starts_with("tolerations[0].operator"),
            "{err}"
        );
        let props = json!({"nodeAffinity": {"required": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "a", "operator": "Gt"}]}
        ]}}});
        assert!(render_trait(affinity, props, &ctx()).is_ok());
        let props = json!({"podAffinity": {"required": [{
            "topologyKey": "zone",
            "labelSelector": {"matchExpressions": [{"key": "a", "operator": "Gt"}]}
        }]}});
        assert!(render_trait(affinity, props, &ctx()).is_err());
    }

    #[test]
    fn topology_key_is_required() {
        let props = json!({"podAffinity": {"required": [{"namespaces": ["a"]}]}});
        let err = render_trait(affinity, props, &ctx()).unwrap_err();
        assert!(
            err.to_string().contains("missing field `topologyKey`"),
            "{err}"
        );
    }

    #[test]
    fn rejects_unknown_parameters() {
        let err = render_trait(affinity, json!({"nodeSelector": {}}), &ctx()).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `nodeSelector`"),
            "{err}"
        );
    }
}
