//! `myworker`: the custom ComponentDefinition of KubeVela's dry-run tests, as a Kiln guest.
//!
//! adapted from KubeVela (Apache-2.0), kubevela/kubevela pkg/appfile/dryrun/testdata/cd-myworker.yaml
//!
//! Its parameters are deliberately open (no `deny_unknown_fields`): KubeVela's dry-run
//! ignores the undeclared `lives` and `enemies` that its test application passes.

use kiln_sdk::prelude::*;

/// Parameters of `myworker` (open: undeclared properties are ignored).
#[derive(Deserialize, Serialize, JsonSchema)]
struct Params {
    /// Which image would you like to use for your service
    image: String,
    /// Commands to run in the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cmd: Option<Vec<String>>,
}

fn myworker(params: Params, ctx: &Context) -> Result<WorkloadOutput> {
    let name = &ctx.component_name;
    let mut container = json!({ "name": name, "image": params.image });
    if let Some(cmd) = params.cmd {
        container["command"] = json!(cmd);
    }
    Ok(WorkloadOutput::new(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "spec": {
            "selector": { "matchLabels": { "app.oam.dev/component": name } },
            "template": {
                "metadata": { "labels": { "app.oam.dev/component": name } },
                "spec": { "containers": [container] }
            }
        }
    })))
}

kiln_sdk::export_workload! {
    name: "myworker",
    description: "KubeVela's dry-run test worker: a Deployment of one container (tests only).",
    workload_type: "deployments.apps",
    render: myworker,
}
