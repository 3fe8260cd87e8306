//! `container-ports`: expose on the host and bind the external port to host to enable web
//! traffic for your component (KubeVela's `container-ports` trait). Sets the ports of
//! containers in the pod template, with their host bindings.
//!
//! KubeVela's parameter is `*#PatchParams | close({containers: [...#PatchParams]})`: either
//! the settings for one container or a `containers` list of them, never both. Kiln declares
//! the union of the two forms and rejects `containers` mixed with the single-container
//! fields.

use std::collections::{BTreeMap, BTreeSet};

use kiln_sdk::prelude::*;
use pod_spec::containers;
use pod_spec::ports::Protocol;

/// Parameters of `container-ports`: the settings for one container, or `containers`, a list
/// of them.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the name of the target container, if not set, use the component name
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub container_name: Option<String>,
    /// Specify ports you want customer traffic sent to
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = []))]
    pub ports: Option<Vec<Port>>,
    /// Specify the container ports for multiple containers
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<PatchParams>>,
}

/// The port settings for one container.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchParams {
    /// Specify the name of the target container, if not set, use the component name
    #[serde(default)]
    pub container_name: String,
    /// Specify ports you want customer traffic sent to
    #[serde(default)]
    pub ports: Vec<Port>,
}

/// A container port and its host binding.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Port {
    /// Number of port to expose on the pod's IP address
    pub container_port: i64,
    /// Protocol for port. Must be UDP, TCP, or SCTP
    #[serde(default)]
    pub protocol: Protocol,
    /// Number of port to expose on the host
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i64>,
    /// What host IP to bind the external port to.
    #[serde(rename = "hostIP", default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
}

/// Replaces the `ports` of each target container (KubeVela: `+patchStrategy=replace`): its
/// existing ports, keeping their number, protocol and name and taking the host binding of
/// the matching given port (by protocol and number, an existing port without a protocol
/// counting as TCP), then the given ports it did not have. Containers merge by `name`.
pub fn container_ports(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    let targets = targets(params, &ctx.component_name)?;
    let base = containers::of(&ctx.workload)?;
    let patched = containers::patch_each(targets, |p| patch_container(&p, base))?;
    Ok(TraitOutput::new().patch(containers::patch(patched)))
}

/// The per-container settings, with the component name for an unnamed single container;
/// an unnamed entry of `containers` is an error (in place, as KubeVela's `errs` lists it).
fn targets(params: Params, component: &str) -> Result<Vec<Result<PatchParams>>> {
    let Some(containers) = params.containers else {
        let container_name = containers::single(params.container_name, component);
        return Ok(vec![Ok(PatchParams {
            container_name,
            ports: params.ports.unwrap_or_default(),
        })]);
    };
    containers::reject_mixed(
        "containers",
        &[
            ("containerName", params.container_name.is_some()),
            ("ports", params.ports.is_some()),
        ],
    )?;
    Ok(containers::named(
        containers,
        |c| c.container_name.is_empty(),
        "container name must be set for containers",
    ))
}

/// A given port as a container port: `{containerPort, protocol, hostPort?, hostIP?}`.
fn new_port(port: &Port) -> Value {
    let mut p = json!({ "containerPort": port.container_port, "protocol": port.protocol.as_str() });
    bind(&mut p, port);
    p
}

/// Sets the host binding of `port` on `p`.
fn bind(p: &mut Value, port: &Port) {
    if let Some(host_port) = port.host_port {
        p["hostPort"] = json!(host_port);
    }
    if let Some(host_ip) = &port.host_ip {
        p["hostIP"] = json!(host_ip);
    }
}

/// A port's identity: lower-case protocol and number, e.g. `tcp8080`.
fn key(protocol: &str, container_port: &Value) -> String {
    format!("{}{container_port}", protocol.to_lowercase())
}

/// The patch for one container.
fn patch_container(p: &PatchParams, base: &[Value]) -> Result<Value> {
    let name = &p.container_name;
    let container = containers::find(base, name)?;
    let ports: Vec<Value> = match container.get("ports").and_then(Value::as_array) {
        None => p.ports.iter().map(new_port).collect(),
        Some(base_ports) => {
            let given: BTreeMap<String, &Port> = p
                .ports
                .iter()
                .map(|port| {
                    (
                        key(port.protocol.as_str(), &json!(port.container_port)),
                        port,
                    )
                })
                .collect();
            let mut seen = BTreeSet::new();
            let mut ports = Vec::new();
            for base_port in base_ports {
                let number = base_port
                    .get("containerPort")
                    .cloned()
                    .unwrap_or(Value::Null);
                let protocol = base_port.get("protocol").and_then(Value::as_str);
                let id = key(protocol.unwrap_or("TCP"), &number);
                let mut port = json!({ "containerPort": number });
                for field in ["protocol", "name"] {
                    if let Some(v) = base_port.get(field).filter(|v| !v.is_null()) {
                        port[field] = v.clone();
                    }
                }
                if let Some(given) = given.get(&id) {
                    bind(&mut port, given);
                }
                seen.insert(id);
                ports.push(port);
            }
            ports.extend(
                p.ports
                    .iter()
                    .filter(|port| {
                        !seen.contains(&key(port.protocol.as_str(), &json!(port.container_port)))
                    })
                    .map(new_port),
            );
            ports
        }
    };
    Ok(json!({ "name": name, "$patchStrategy/ports": "replace", "ports": ports }))
}

kiln_sdk::export_trait! {
    name: "container-ports",
    description: "Expose on the host and bind the external port to host to enable web traffic for your component.",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"],
    render: container_ports,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn ctx_with(web_ports: Value) -> TraitContext {
        let mut ctx = TraitContext::for_test(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": { "template": { "spec": { "containers": [
                { "name": "web", "image": "shop:1.0", "ports": web_ports },
                { "name": "proxy", "image": "envoy:1.30" }
            ] } } }
        }));
        ctx.context.component_name = "web".into();
        ctx
    }

    fn ctx() -> TraitContext {
        ctx_with(json!([{"containerPort": 8080, "protocol": "TCP", "name": "http"}]))
    }

    fn containers(out: &TraitOutput) -> &Value {
        &out.patch_value().unwrap()["spec"]["template"]["spec"]["containers"]
    }

    #[test]
    fn a_container_without_ports_gets_those_given_tcp_by_default() {
        let props = json!({"containerName": "proxy", "ports": [
            {"containerPort": 9901},
            {"containerPort": 53, "protocol": "UDP", "hostPort": 5353, "hostIP": "127.0.0.1"}
        ]});
        let out = render_trait(container_ports, props, &ctx()).unwrap();
        assert_eq!(
            containers(&out),
            &json!([{
                "name": "proxy",
                "$patchStrategy/ports": "replace",
                "ports": [
                    {"containerPort": 9901, "protocol": "TCP"},
                    {"containerPort": 53, "protocol": "UDP", "hostPort": 5353, "hostIP": "127.0.0.1"}
                ]
            }])
        );
    }

    #[test]
    fn a_known_port_gains_its_host_binding_and_new_ones_are_appended() {
        let props = json!({"ports": [
            {"containerPort": 8080, "hostPort": 80, "hostIP": "0.0.0.0"},
            {"containerPort": 9090, "hostPort": 9090},
            {"containerPort": 8080, "protocol": "UDP", "hostPort": 8080}
        ]});
        let out = render_trait(container_ports, props, &ctx()).unwrap();
        assert_eq!(
            containers(&out)[0]["ports"],
            json!([
                {"containerPort": 8080, "protocol": "TCP", "name": "http", "hostPort": 80, "hostIP": "0.0.0.0"},
                {"containerPort": 9090, "protocol": "TCP", "hostPort": 9090},
                {"containerPort": 8080, "protocol": "UDP", "hostPort": 8080}
            ])
        );
    }

    #[test]
    fn an_existing_port_without_a_protocol_is_matched_as_tcp() {
        let ctx = ctx_with(json!([{"containerPort": 8080}]));
        let out = render_trait(
            container_ports,
            json!({"ports": [{"containerPort": 8080, "hostPort": 8080}]}),
            &ctx,
        )
        .unwrap();
        assert_eq!(
            containers(&out)[0]["ports"],
            json!([{"containerPort": 8080, "hostPort": 8080}])
        );
        let out = render_trait(
            container_ports,
            json!({"ports": [{"containerPort": 9090}]}),
            &ctx,
        )
        .unwrap();
        assert_eq!(
            containers(&out)[0]["ports"],
            json!([{"containerPort": 8080}, {"containerPort": 9090, "protocol": "TCP"}])
        );
    }

    #[test]
    fn fixture_containers() {
        let ctx = ctx_with(json!([
            {"containerPort": 80, "protocol": "TCP", "name": "port-80"},
            {"containerPort": 801, "protocol": "TCP", "name": "port-801"}
        ]));
        let props = json!({"containers": [{"containerName": "web", "ports": [{"containerPort": 80, "protocol": "TCP", "hostPort": 8080}]}]});
        let out = render_trait(container_ports, props, &ctx).unwrap();
        assert_eq!(
            containers(&out)[0]["ports"],
            json!([
                {"containerPort": 80, "protocol": "TCP", "name": "port-80", "hostPort": 8080},
                {"containerPort": 801, "protocol": "TCP", "name": "port-801"}
            ])
        );
    }

    #[test]
    fn errors() {
        let props = json!({"ports": [{"containerPort": 8080, "protocol": "HTTP"}]});
        let err = render_trait(container_ports, props, &ctx()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("ports[0].protocol: unknown variant"),
            "{err}"
        );
        let props = json!({"containerName": "worker", "ports": [{"containerPort": 8080}]});
        let err = render_trait(container_ports, props, &ctx()).unwrap_err();
        assert_eq!(err, Error::msg("container worker not found"));
        let props = json!({"containers": [{"ports": [{"containerPort": 8080}]}]});
        let err = render_trait(container_ports, props, &ctx()).unwrap_err();
        assert_eq!(err, Error::msg("container name must be set for containers"));
        let props = json!({"ports": [{"containerPort": 1, "hostIp": "x"}]});
        let err = render_trait(container_ports, props, &ctx()).unwrap_err();
        assert!(err.to_string().contains("unknown field `hostIp`"), "{err}");
    }
}
