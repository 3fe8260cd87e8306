//! `test-ingress`: the TraitDefinition of KubeVela's `vela dry-run` plugin test, as a Kiln
//! guest: a Service and a `networking.k8s.io/v1` Ingress for the component.
//!
//! adapted from KubeVela (Apache-2.0), kubevela/kubevela e2e/plugin/plugin_test.go (var traitDef)
//!
//! Not carried over: the definition's `status.customStatus` and `healthPolicy`, which are
//! about a live cluster.

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;

/// Parameters of `test-ingress`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The host name of the Ingress rule
    domain: String,
    /// Each HTTP path and the port it routes to
    http: BTreeMap<String, i64>,
}

fn test_ingress(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    let name = &ctx.component_name;
    let ports: Vec<Value> = params
        .http
        .values()
        .map(|port| json!({ "port": port, "targetPort": port }))
        .collect();
    let paths: Vec<Value> = params
        .http
        .iter()
        .map(|(path, port)| {
            json!({
                "path": path,
                "pathType": "Prefix",
                "backend": { "service": { "name": name, "port": { "number": port } } }
            })
        })
        .collect();
    Ok(TraitOutput::new()
        .with_output(
            "service",
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": { "name": name },
                "spec": {
                    "selector": { "app.oam.dev/component": name },
                    "ports": ports
                }
            }),
        )
        .with_output(
            "ingress",
            json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": { "name": name },
                "spec": { "rules": [{
                    "host": params.domain,
                    "http": { "paths": paths }
                }] }
            }),
        ))
}

kiln_sdk::export_trait! {
    name: "test-ingress",
    description: "Configures K8s ingress and service to enable web traffic for your service. Please use route trait in cap center for advanced usage.",
    applies_to: ["deployments.apps"],
    render: test_ingress,
}
