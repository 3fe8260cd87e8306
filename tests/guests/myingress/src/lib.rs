//! `myingress`: the custom TraitDefinition of KubeVela's dry-run tests, as a Kiln guest. It
//! outputs a Service and a `networking.k8s.io/v1beta1` Ingress, exactly as its CUE is written
//! (whatever the cluster version).
//!
//! adapted from KubeVela (Apache-2.0), kubevela/kubevela pkg/appfile/dryrun/testdata/td-myingress.yaml

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;

/// Parameters of `myingress`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The host name of the Ingress rule
    domain: String,
    /// Each HTTP path and the port it routes to
    http: BTreeMap<String, i64>,
}

fn myingress(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
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
                "backend": { "serviceName": name, "servicePort": port }
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
                "apiVersion": "networking.k8s.io/v1beta1",
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
    name: "myingress",
    description: "KubeVela's dry-run test ingress: a Service and an Ingress (tests only).",
    applies_to: ["*"],
    render: myingress,
}
