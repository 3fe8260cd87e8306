//! Ports: the protocol and generated port names of KubeVela's workload types and of the
//! `expose` and `container-ports` traits, and the ports and Service of `webservice` and
//! `statefulset`, whose `ports` parameter has the same shape.

use kiln_sdk::prelude::*;

use crate::COMPONENT_LABEL;

/// A port protocol.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protocol {
    #[default]
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
    #[serde(rename = "SCTP")]
    Sctp,
}

impl Protocol {
    /// The protocol as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// KubeVela's generated port name: `port-<n>`, with `-udp` / `-sctp` for those protocols.
pub fn port_name(port: i64, protocol: Protocol) -> String {
    match protocol {
        Protocol::Tcp => format!("port-{port}"),
        other => format!("port-{port}-{}", other.as_str().to_lowercase()),
    }
}

// `webservice`'s and `statefulset`'s. The doc comment is the schema's description.
/// A port of the container.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Port {
    /// Number of port to expose on the pod's IP address
    pub port: i64,
    /// Number of container port to connect to, defaults to port
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<i64>,
    /// Name of the port
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Protocol for port. Must be UDP, TCP, or SCTP
    #[serde(default)]
    pub protocol: Protocol,
    /// Specify if the port should be exposed
    #[serde(default)]
    pub expose: bool,
    /// exposed node port. Only Valid when exposeType is NodePort
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port: Option<i64>,
}

impl Port {
    /// The port in the container: `containerPort`, defaulting to `port`.
    fn target(&self) -> i64 {
        self.container_port.unwrap_or(self.port)
    }

    /// The port's name, or KubeVela's generated one.
    fn name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| port_name(self.target(), self.protocol))
    }
}

// `webservice`'s and `statefulset`'s. The doc comment is the schema's description.
/// The type of the Service exposing the ports.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExposeType {
    #[default]
    ClusterIP,
    NodePort,
    LoadBalancer,
}

/// The container's `ports`: each of `ports`, or else the deprecated single `port`.
pub fn container_ports(ports: Option<&[Port]>, port: Option<i64>) -> Option<Value> {
    match (ports, port) {
        (Some(ports), _) => Some(Value::Array(
            ports
                .iter()
                .map(|v| {
                    json!({
                        "containerPort": v.target(),
                        "protocol": v.protocol.as_str(),
                        "name": v.name(),
                    })
                })
                .collect(),
        )),
        (None, Some(port)) => Some(json!([{ "containerPort": port }])),
        (None, None) => None,
    }
}

/// The Service ports of the `ports` with `expose: true`; `nodePort` only for a `NodePort`
/// Service.
pub fn service_ports(ports: Option<&[Port]>, expose_type: ExposeType) -> Vec<Value> {
    ports
        .into_iter()
        .flatten()
        .filter(|v| v.expose)
        .map(|v| {
            let mut p = json!({
                "port": v.port,
                "targetPort": v.target(),
                "name": v.name(),
                "protocol": v.protocol.as_str(),
            });
            if let (Some(node_port), ExposeType::NodePort) = (v.node_port, expose_type) {
                p["nodePort"] = json!(node_port);
            }
            p
        })
        .collect()
}

/// The Service named after the component that exposes `ports` of its pods, when there are
/// any: the workload types' `<type>Expose` output.
pub fn service(component: &str, ports: Vec<Value>, service_type: impl Serialize) -> Option<Value> {
    (!ports.is_empty()).then(|| {
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": { "name": component },
            "spec": {
                "selector": { COMPONENT_LABEL: component },
                "ports": ports,
                "type": service_type
            }
        })
    })
}
