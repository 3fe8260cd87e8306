//! `hpa`: configure a Kubernetes HorizontalPodAutoscaler for a Deployment or StatefulSet
//! (KubeVela's `hpa` trait).

use kiln_sdk::prelude::*;

/// Parameters of `hpa`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the minimal number of replicas to which the autoscaler can scale down
    #[serde(default = "one")]
    pub min: i64,
    /// Specify the maximum number of of replicas to which the autoscaler can scale up
    #[serde(default = "ten")]
    pub max: i64,
    /// Specify the apiVersion of scale target
    #[serde(rename = "targetAPIVersion", default = "apps_v1")]
    pub target_api_version: String,
    /// Specify the kind of scale target
    #[serde(default = "deployment")]
    pub target_kind: String,
    /// The CPU metric target
    #[serde(default)]
    pub cpu: CpuTarget,
    /// The memory metric target
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem: Option<MemTarget>,
    /// Specify custom metrics of pod type
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_custom_metrics: Option<Vec<PodCustomMetric>>,
}

/// The CPU metric target.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CpuTarget {
    /// Specify resource metrics in terms of percentage("Utilization") or direct value("AverageValue")
    #[serde(rename = "type", default)]
    pub kind: MetricType,
    /// Specify the value of CPU utilization or averageValue
    #[serde(default = "fifty")]
    pub value: i64,
}

impl Default for CpuTarget {
    fn default() -> Self {
        CpuTarget {
            kind: MetricType::default(),
            value: fifty(),
        }
    }
}

/// The memory metric target.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemTarget {
    /// Specify resource metrics in terms of percentage("Utilization") or direct value("AverageValue")
    #[serde(rename = "type", default)]
    pub kind: MetricType,
    /// Specify  the value of MEM utilization or averageValue
    #[serde(default = "fifty")]
    pub value: i64,
}

/// How a resource metric target is expressed.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
pub enum MetricType {
    /// A percentage of the requested resource.
    #[default]
    Utilization,
    /// A direct value.
    AverageValue,
}

/// A custom metric of pod type.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PodCustomMetric {
    /// Specify name of custom metrics
    pub name: String,
    /// Specify target value of custom metrics
    pub value: String,
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

/// A `Resource` metric on `resource` (`cpu` or `memory`).
fn resource_metric(resource: &str, kind: MetricType, value: i64) -> Value {
    let target = match kind {
        MetricType::Utilization => json!({ "type": "Utilization", "averageUtilization": value }),
        MetricType::AverageValue => json!({ "type": "AverageValue", "averageValue": value }),
    };
    json!({ "type": "Resource", "resource": { "name": resource, "target": target } })
}

/// Renders the `hpa` output: autoscaling/v2 from Kubernetes 1.23, autoscaling/v2beta2 before.
/// The workload is not patched.
pub fn hpa(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    let api_version = if ctx.supports("autoscaling/v2", (1, 23)) {
        "autoscaling/v2"
    } else {
        "autoscaling/v2beta2"
    };
    let mut metrics = vec![resource_metric("cpu", params.cpu.kind, params.cpu.value)];
    if let Some(mem) = &params.mem {
        metrics.push(resource_metric("memory", mem.kind, mem.value));
    }
    for m in params.pod_custom_metrics.iter().flatten() {
        metrics.push(json!({
            "type": "Pods",
            "pods": {
                "metric": { "name": m.name },
                "target": { "type": "AverageValue", "averageValue": m.value }
            }
        }));
    }
    let name = &ctx.component_name;
    Ok(TraitOutput::new().with_output(
        "hpa",
        json!({
            "apiVersion": api_version,
            "kind": "HorizontalPodAutoscaler",
            "metadata": { "name": name },
            "spec": {
                "scaleTargetRef": {
                    "apiVersion": params.target_api_version,
                    "kind": params.target_kind,
                    "name": name
                },
                "minReplicas": params.min,
                "maxReplicas": params.max,
                "metrics": metrics
            }
        }),
    ))
}

kiln_sdk::export_trait! {
    name: "hpa",
    description: "Configure k8s HPA for Deployment or Statefulsets",
    applies_to: ["deployments.apps", "statefulsets.apps"],
    render: hpa,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn ctx() -> TraitContext {
        let mut ctx =
            TraitContext::for_test(json!({"apiVersion": "apps/v1", "kind": "Deployment"}));
        ctx.context.component_name = "web".into();
        ctx
    }

    #[test]
    fn default_output() {
        let out = render_trait(hpa, json!({}), &ctx()).unwrap();
        assert!(out.patch.is_none(), "leaves the workload as it was");
        assert_eq!(out.outputs.len(), 1);
        assert_eq!(
            out.output("hpa").unwrap(),
            &json!({
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": { "name": "web" },
                "spec": {
                    "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": "web" },
                    "minReplicas": 1,
                    "maxReplicas": 10,
                    "metrics": [{
                        "type": "Resource",
                        "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": 50 } }
                    }]
                }
            })
        );
    }

    #[test]
    fn bench_hpa() {
        let props = json!({"min": 2, "max": 10, "cpu": {"type": "Utilization", "value": 70}});
        let out = render_trait(hpa, props, &ctx()).unwrap();
        let hpa = out.output("hpa").unwrap();
        assert_eq!(hpa["apiVersion"], "autoscaling/v2");
        assert_eq!(
            hpa["spec"]["scaleTargetRef"],
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"})
        );
        assert_eq!(hpa["spec"]["minReplicas"], 2);
        assert_eq!(hpa["spec"]["maxReplicas"], 10);
        assert_eq!(
            hpa["spec"]["metrics"],
            json!([{
                "type": "Resource",
                "resource": { "name": "cpu", "target": { "type": "Utilization", "averageUtilization": 70 } }
            }])
        );
    }

    #[test]
    fn older_clusters_get_v2beta2() {
        let mut ctx = ctx();
        ctx.context.cluster_version.minor = 22;
        let out = render_trait(hpa, json!({}), &ctx).unwrap();
        assert_eq!(
            out.output("hpa").unwrap()["apiVersion"],
            "autoscaling/v2beta2"
        );
    }

    #[test]
    fn average_value_cpu() {
        let props = json!({"cpu": {"type": "AverageValue", "value": 200}});
        let out = render_trait(hpa, props, &ctx()).unwrap();
        assert_eq!(
            out.output("hpa").unwrap()["spec"]["metrics"][0]["resource"]["target"],
            json!({"type": "AverageValue", "averageValue": 200})
        );
    }

    #[test]
    fn memory_adds_a_second_resource_metric() {
        let props = json!({"mem": {"type": "AverageValue", "value": 512}});
        let out = render_trait(hpa, props, &ctx()).unwrap();
        let metrics = &out.output("hpa").unwrap()["spec"]["metrics"];
        assert_eq!(metrics.as_array().unwrap().len(), 2);
        assert_eq!(metrics[0]["resource"]["target"]["averageUtilization"], 50);
        assert_eq!(
            metrics[1],
            json!({
                "type": "Resource",
                "resource": { "name": "memory", "target": { "type": "AverageValue", "averageValue": 512 } }
            })
        );
    }

    #[test]
    fn memory_defaults() {
        let out = render_trait(hpa, json!({"mem": {}}), &ctx()).unwrap();
        assert_eq!(
            out.output("hpa").unwrap()["spec"]["metrics"][1]["resource"]["target"],
            json!({"type": "Utilization", "averageUtilization": 50})
        );
    }

    #[test]
    fn pod_custom_metrics_follow_in_order() {
        let props = json!({
            "targetAPIVersion": "apps/v1",
            "targetKind": "StatefulSet",
            "podCustomMetrics": [
                {"name": "qps", "value": "100"},
                {"name": "latency", "value": "200m"}
            ]
        });
        let out = render_trait(hpa, props, &ctx()).unwrap();
        let spec = &out.output("hpa").unwrap()["spec"];
        assert_eq!(spec["scaleTargetRef"]["kind"], "StatefulSet");
        assert_eq!(
            spec["metrics"][1],
            json!({
                "type": "Pods",
                "pods": {
                    "metric": { "name": "qps" },
                    "target": { "type": "AverageValue", "averageValue": "100" }
                }
            })
        );
        assert_eq!(spec["metrics"][2]["pods"]["metric"]["name"], "latency");
    }

    #[test]
    fn rejects_a_bad_metric_type() {
        let err = render_trait(hpa, json!({"cpu": {"type": "Percent"}}), &ctx()).unwrap_err();
        assert!(
            err.to_string().starts_with("cpu.type: unknown variant"),
            "{err}"
        );
    }

    #[test]
    fn rejects_unknown_parameters() {
        let err = render_trait(hpa, json!({"cpuUtil": 70}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("unknown field `cpuUtil`"), "{err}");
    }
}
