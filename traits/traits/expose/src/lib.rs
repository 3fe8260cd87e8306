//! `expose`: expose ports of the component with a Service (KubeVela's `expose` trait).

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;
use pod_spec::ports::{Protocol, port_name};

/// Parameters of `expose`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Deprecated, the old way to specify the exposion ports
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<Vec<i64>>,
    /// Specify portsyou want customer traffic sent to
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<Port>>,
    /// Specify the annotaions of the exposed service
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Specify the labels the Service selects pods by; defaults to the component's pods
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// Specify what kind of Service you want. options: "ClusterIP","NodePort","LoadBalancer","ExternalName"
    #[serde(rename = "type", default)]
    pub service_type: ServiceType,
}

/// A port to expose.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Port {
    /// Number of port to expose on the pod's IP address
    pub port: i64,
    /// Name of the port
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Protocol for port. Must be UDP, TCP, or SCTP
    #[serde(default)]
    pub protocol: Protocol,
    /// exposed node port. Only Valid when exposeType is NodePort
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port: Option<i64>,
}

/// A Service type.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
pub enum ServiceType {
    #[default]
    ClusterIP,
    NodePort,
    LoadBalancer,
    ExternalName,
}

impl ServiceType {
    fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIP => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
            ServiceType::ExternalName => "ExternalName",
        }
    }
}

/// Renders the `service` output. The workload is not patched.
pub fn expose(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    let selector = match &params.match_labels {
        Some(labels) => json!(labels),
        None => json!({ "app.oam.dev/component": ctx.component_name }),
    };
    let mut spec = Map::new();
    spec.insert("selector".into(), selector);
    if let Some(ports) = &params.ports {
        let ports: Vec<Value> = ports
            .iter()
            .map(|v| {
                let mut p = json!({
                    "port": v.port,
                    "targetPort": v.port,
                    "name": v.name.clone().unwrap_or_else(|| port_name(v.port, v.protocol)),
                    "protocol": v.protocol.as_str(),
                });
                if let (Some(node_port), ServiceType::NodePort) = (v.node_port, params.service_type)
                {
                    p["nodePort"] = json!(node_port);
                }
                p
            })
            .collect();
        spec.insert("ports".into(), json!(ports));
    } else if let Some(port) = &params.port {
        // The deprecated form: no protocol.
        let ports: Vec<Value> = port
            .iter()
            .map(|p| json!({ "name": format!("port-{p}"), "port": p, "targetPort": p }))
            .collect();
        spec.insert("ports".into(), json!(ports));
    }
    spec.insert("type".into(), json!(params.service_type.as_str()));
    Ok(TraitOutput::new().with_output(
        "service",
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": { "name": ctx.component_name, "annotations": params.annotations },
            "spec": spec
        }),
    ))
}

kiln_sdk::export_trait! {
    name: "expose",
    description: "Expose port to enable web traffic for your component.",
    applies_to: ["deployments.apps", "statefulsets.apps"],
    render: expose,
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
    fn ports_with_protocols_and_names() {
        let props = json!({"ports": [
            {"port": 80},
            {"port": 53, "protocol": "UDP"},
            {"port": 9090, "name": "metrics"}
        ]});
        let out = render_trait(expose, props, &ctx()).unwrap();
        assert!(out.patch.is_none(), "the workload is left unchanged");
        assert_eq!(out.outputs.len(), 1);
        assert_eq!(
            out.output("service").unwrap(),
            &json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": { "name": "web", "annotations": {} },
                "spec": {
                    "selector": { "app.oam.dev/component": "web" },
                    "ports": [
                        {"port": 80, "targetPort": 80, "name": "port-80", "protocol": "TCP"},
                        {"port": 53, "targetPort": 53, "name": "port-53-udp", "protocol": "UDP"},
                        {"port": 9090, "targetPort": 9090, "name": "metrics", "protocol": "TCP"}
                    ],
                    "type": "ClusterIP"
                }
            })
        );
    }

    #[test]
    fn deprecated_port_list() {
        let out = render_trait(expose, json!({"port": [80, 443]}), &ctx()).unwrap();
        assert_eq!(
            out.output("service").unwrap()["spec"]["ports"],
            json!([
                {"port": 80, "targetPort": 80, "name": "port-80"},
                {"port": 443, "targetPort": 443, "name": "port-443"}
            ])
        );
    }

    #[test]
    fn ports_wins_over_port() {
        let props = json!({"port": [80], "ports": [{"port": 8080}]});
        let out = render_trait(expose, props, &ctx()).unwrap();
        let ports = &out.output("service").unwrap()["spec"]["ports"];
        assert_eq!(ports.as_array().unwrap().len(), 1);
        assert_eq!(ports[0]["port"], 8080);
    }

    #[test]
    fn no_ports_no_ports_key() {
        let out = render_trait(expose, json!({}), &ctx()).unwrap();
        assert!(
            out.output("service").unwrap()["spec"]
                .get("ports")
                .is_none()
        );
    }

    #[test]
    fn node_port_only_for_node_port_services() {
        let ports = json!([{"port": 80, "nodePort": 30080}]);
        let out = render_trait(expose, json!({"ports": ports}), &ctx()).unwrap();
        assert!(
            out.output("service").unwrap()["spec"]["ports"][0]
                .get("nodePort")
                .is_none()
        );
        let out =
            render_trait(expose, json!({"ports": ports, "type": "NodePort"}), &ctx()).unwrap();
        let spec = &out.output("service").unwrap()["spec"];
        assert_eq!(spec["ports"][0]["nodePort"], 30080);
        assert_eq!(spec["type"], "NodePort");
    }

    #[test]
    fn match_labels_and_annotations() {
        let props = json!({
            "port": [80],
            "matchLabels": {"app": "custom"},
            "annotations": {"a": "b"}
        });
        let out = render_trait(expose, props, &ctx()).unwrap();
        let svc = out.output("service").unwrap();
        assert_eq!(svc["spec"]["selector"], json!({"app": "custom"}));
        assert_eq!(svc["metadata"]["annotations"], json!({"a": "b"}));
    }

    #[test]
    fn rejects_a_bad_type() {
        let err = render_trait(expose, json!({"type": "Ingress"}), &ctx()).unwrap_err();
        assert!(
            err.to_string().starts_with("type: unknown variant"),
            "{err}"
        );
    }
}
