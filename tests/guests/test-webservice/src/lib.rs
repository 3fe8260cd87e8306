//! `test-webservice`: the ComponentDefinition of KubeVela's `vela dry-run` plugin test, as a
//! Kiln guest.
//!
//! adapted from KubeVela (Apache-2.0), kubevela/kubevela e2e/plugin/plugin_test.go (var componentDef)
//!
//! Not carried over: `context.config` (KubeVela's config injection as `env`), which Kiln's
//! context does not have.

use kiln_sdk::prelude::*;

/// Parameters of `test-webservice`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Params {
    /// Which image would you like to use for your service
    image: String,
    /// Commands to run in the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cmd: Option<Vec<String>>,
    /// Which port do you want customer traffic sent to
    #[serde(default = "port_80")]
    port: i64,
    /// Define arguments by using environment variables
    #[serde(default, skip_serializing_if = "Option::is_none")]
    env: Option<Vec<Env>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cpu: Option<String>,
    /// If addRevisionLabel is true, the appRevision label will be added to the underlying pods
    #[serde(default)]
    add_revision_label: bool,
    /// Declare volumes and volumeMounts
    #[serde(default, skip_serializing_if = "Option::is_none")]
    volumes: Option<Vec<Volume>>,
}

fn port_80() -> i64 {
    80
}

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Env {
    /// Environment variable name
    name: String,
    /// The value of the environment variable
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    /// Specifies a source the value of this var should come from
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value_from: Option<ValueFrom>,
}

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ValueFrom {
    /// Selects a key of a secret in the pod's namespace
    secret_key_ref: SecretKeyRef,
}

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SecretKeyRef {
    /// The name of the secret in the pod's namespace to select from
    name: String,
    /// The key of the secret to select from. Must be a valid secret key
    key: String,
}

/// A volume and its mount; `type` decides which other fields it takes.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type")]
enum Volume {
    #[serde(rename = "pvc")]
    Pvc(Pvc),
    #[serde(rename = "configMap")]
    ConfigMap(ConfigMap),
    #[serde(rename = "secret")]
    Secret(Secret),
    #[serde(rename = "emptyDir")]
    EmptyDir(EmptyDir),
}

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Pvc {
    name: String,
    mount_path: String,
    claim_name: String,
}

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConfigMap {
    name: String,
    mount_path: String,
    #[serde(default = "mode_420")]
    default_mode: i64,
    cm_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    items: Option<Vec<Item>>,
}

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Secret {
    name: String,
    mount_path: String,
    #[serde(default = "mode_420")]
    default_mode: i64,
    secret_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    items: Option<Vec<Item>>,
}

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EmptyDir {
    name: String,
    mount_path: String,
    #[serde(default)]
    medium: Medium,
}

#[derive(Deserialize, Serialize, JsonSchema, Default)]
enum Medium {
    #[default]
    #[serde(rename = "")]
    Default,
    Memory,
}

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Item {
    key: String,
    path: String,
    #[serde(default = "mode_511")]
    mode: i64,
}

fn mode_420() -> i64 {
    420
}

fn mode_511() -> i64 {
    511
}

impl Volume {
    fn name_and_mount_path(&self) -> (&str, &str) {
        match self {
            Volume::Pvc(v) => (&v.name, &v.mount_path),
            Volume::ConfigMap(v) => (&v.name, &v.mount_path),
            Volume::Secret(v) => (&v.name, &v.mount_path),
            Volume::EmptyDir(v) => (&v.name, &v.mount_path),
        }
    }

    fn volume(&self) -> Value {
        match self {
            Volume::Pvc(v) => json!({
                "name": v.name,
                "persistentVolumeClaim": { "claimName": v.claim_name }
            }),
            Volume::ConfigMap(v) => {
                let mut source = json!({ "defaultMode": v.default_mode, "name": v.cm_name });
                if let Some(items) = &v.items {
                    source["items"] = json!(items);
                }
                json!({ "name": v.name, "configMap": source })
            }
            Volume::Secret(v) => {
                let mut source =
                    json!({ "defaultMode": v.default_mode, "secretName": v.secret_name });
                if let Some(items) = &v.items {
                    source["items"] = json!(items);
                }
                json!({ "name": v.name, "secret": source })
            }
            Volume::EmptyDir(v) => json!({ "name": v.name, "emptyDir": { "medium": v.medium } }),
        }
    }
}

fn test_webservice(params: Params, ctx: &Context) -> Result<WorkloadOutput> {
    let name = &ctx.component_name;
    let mut container = json!({
        "name": name,
        "image": params.image,
        "ports": [{ "containerPort": params.port }],
    });
    if let Some(cmd) = &params.cmd {
        container["command"] = json!(cmd);
    }
    if let Some(env) = &params.env {
        container["env"] = json!(env);
    }
    if let Some(cpu) = &params.cpu {
        container["resources"] = json!({ "limits": { "cpu": cpu }, "requests": { "cpu": cpu } });
    }
    let mut pod_labels = json!({ "app.oam.dev/component": name });
    if params.add_revision_label {
        pod_labels["app.oam.dev/appRevision"] = json!(ctx.app_revision);
    }
    let mut pod_spec = json!({});
    if let Some(volumes) = &params.volumes {
        container["volumeMounts"] = volumes
            .iter()
            .map(|v| {
                let (name, mount_path) = v.name_and_mount_path();
                json!({ "mountPath": mount_path, "name": name })
            })
            .collect();
        pod_spec["volumes"] = volumes.iter().map(Volume::volume).collect();
    }
    pod_spec["containers"] = json!([container]);
    Ok(WorkloadOutput::new(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "spec": {
            "selector": { "matchLabels": { "app.oam.dev/component": name } },
            "template": {
                "metadata": { "labels": pod_labels },
                "spec": pod_spec
            }
        }
    })))
}

kiln_sdk::export_workload! {
    name: "test-webservice",
    description: "Describes long-running, scalable, containerized services that have a stable network endpoint to receive external network traffic from customers.",
    workload_type: "deployments.apps",
    render: test_webservice,
}
