//! `worker`: a long-running, scalable, containerized service running at the backend, with no
//! network endpoint (KubeVela's `worker` component type). Renders a Deployment only.

use kiln_sdk::prelude::*;
use pod::{
    BasicHttpGetProbe, COMPONENT_LABEL, ConfigMapKeySelector, HealthProbe, KeyToPath, Medium,
    PodTemplate, SecretKeySelector, Volume,
};
use pod_spec as pod;

/// An environment variable, with `worker`'s key selectors.
pub type EnvVar = pod::EnvVar<SecretKeySelector, ConfigMapKeySelector>;

/// Parameters of `worker`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Which image would you like to use for your service
    pub image: String,
    /// Specify image pull policy for your service
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// Specify image pull secrets for your service
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<String>>,
    /// Commands to run in the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// Define arguments by using environment variables
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
    /// Number of CPU units for the service, like `0.5` (0.5 CPU core), `1` (1 CPU core)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Specifies the attributes of the memory resource required for the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Mount volumes into the container, by volume kind
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<VolumeMounts>,
    /// Deprecated field, use volumeMounts instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    /// Instructions for assessing whether the container is alive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<HealthProbe<BasicHttpGetProbe>>,
    /// Instructions for assessing whether the container is in a suitable state to serve traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<HealthProbe<BasicHttpGetProbe>>,
}

/// Volumes to mount, by kind.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VolumeMounts {
    /// Mount PVC type volume
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc: Option<Vec<PvcMount>>,
    /// Mount ConfigMap type volume
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<Vec<ConfigMapMount>>,
    /// Mount Secret type volume
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Vec<SecretMount>>,
    /// Mount EmptyDir type volume
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<Vec<EmptyDirMount>>,
    /// Mount HostPath type volume
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<Vec<HostPathMount>>,
}

/// A PVC mount.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PvcMount {
    /// The name of the volume
    pub name: String,
    /// The path to mount the volume at in the container
    pub mount_path: String,
    /// The name of the PVC
    pub claim_name: String,
}

/// A ConfigMap mount.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigMapMount {
    /// The name of the volume
    pub name: String,
    /// The path to mount the volume at in the container
    pub mount_path: String,
    /// The mode bits of the created files
    #[serde(default = "default_mode")]
    pub default_mode: i64,
    /// The name of the ConfigMap
    pub cm_name: String,
    /// The keys to project, and where
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<KeyToPath>>,
}

/// A Secret mount.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretMount {
    /// The name of the volume
    pub name: String,
    /// The path to mount the volume at in the container
    pub mount_path: String,
    /// The mode bits of the created files
    #[serde(default = "default_mode")]
    pub default_mode: i64,
    /// The name of the Secret
    pub secret_name: String,
    /// The keys to project, and where
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<KeyToPath>>,
}

/// An EmptyDir mount.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EmptyDirMount {
    /// The name of the volume
    pub name: String,
    /// The path to mount the volume at in the container
    pub mount_path: String,
    /// The storage medium: "" (the node's default) or "Memory"
    #[serde(default)]
    pub medium: Medium,
}

/// A HostPath mount.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostPathMount {
    /// The name of the volume
    pub name: String,
    /// The path to mount the volume at in the container
    pub mount_path: String,
    /// The path on the host
    pub path: String,
}

fn default_mode() -> i64 {
    420
}

/// The container's mounts and the pod's volumes from `volumeMounts`, in kind order (pvc,
/// configMap, secret, emptyDir, hostPath). Volumes are de-duplicated by name, the first one
/// winning; mounts are not.
fn from_volume_mounts(vm: &VolumeMounts) -> (Vec<Value>, Vec<Value>) {
    let mut mounts = Vec::new();
    let mut volumes = Vec::new();
    for v in vm.pvc.iter().flatten() {
        mounts.push(pod::mount(&v.name, &v.mount_path, None));
        volumes.push(
            json!({ "name": v.name, "persistentVolumeClaim": { "claimName": v.claim_name } }),
        );
    }
    for v in vm.config_map.iter().flatten() {
        mounts.push(pod::mount(&v.name, &v.mount_path, None));
        let source = pod::projected(v.default_mode, "name", &v.cm_name, v.items.as_ref());
        volumes.push(json!({ "name": v.name, "configMap": source }));
    }
    for v in vm.secret.iter().flatten() {
        mounts.push(pod::mount(&v.name, &v.mount_path, None));
        let source = pod::projected(
            v.default_mode,
            "secretName",
            &v.secret_name,
            v.items.as_ref(),
        );
        volumes.push(json!({ "name": v.name, "secret": source }));
    }
    for v in vm.empty_dir.iter().flatten() {
        mounts.push(pod::mount(&v.name, &v.mount_path, None));
        volumes.push(json!({ "name": v.name, "emptyDir": { "medium": v.medium } }));
    }
    for v in vm.host_path.iter().flatten() {
        mounts.push(pod::mount(&v.name, &v.mount_path, None));
        volumes.push(json!({ "name": v.name, "hostPath": { "path": v.path } }));
    }
    (mounts, pod::dedup_by_name(volumes))
}

/// Renders the Deployment. A worker never has a Service.
pub fn worker(params: Params, ctx: &Context) -> Result<WorkloadOutput> {
    let mut pod = PodTemplate::new(ctx, &params)?;
    let volumes = match (&params.volume_mounts, &params.volumes) {
        (Some(vm), _) => Some(from_volume_mounts(vm)),
        (None, Some(volumes)) => Some(pod::from_volumes(volumes)?),
        (None, None) => None,
    };
    Ok(WorkloadOutput::new(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "spec": {
            "selector": { "matchLabels": { COMPONENT_LABEL: ctx.component_name } },
            "template": pod.render(None, volumes)
        }
    })))
}

kiln_sdk::export_workload! {
    name: "worker",
    description: "Describes long-running, scalable, containerized services that running at backend. They do NOT have network endpoint to receive external network traffic.",
    workload_type: "deployments.apps",
    render: worker,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_workload;

    fn ctx() -> Context {
        Context::for_test("backend-worker")
    }

    fn container(out: &WorkloadOutput) -> &Value {
        &out.output["spec"]["template"]["spec"]["containers"][0]
    }

    #[test]
    fn image_only() {
        let out = render_workload(worker, json!({"image": "nginx:latest"}), &ctx()).unwrap();
        assert!(out.outputs.is_empty(), "a worker never has a Service");
        assert_eq!(
            out.output,
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "spec": {
                    "selector": { "matchLabels": { "app.oam.dev/component": "backend-worker" } },
                    "template": {
                        "metadata": { "labels": {
                            "app.oam.dev/name": "app",
                            "app.oam.dev/component": "backend-worker"
                        } },
                        "spec": { "containers": [{ "name": "backend-worker", "image": "nginx:latest" }] }
                    }
                }
            })
        );
    }

    #[test]
    fn fixture_worker() {
        let props = json!({
            "image": "nginx:latest",
            "cpu": "0.5",
            "memory": "512Mi",
            "env": [{"name": "LOG_LEVEL", "value": "info"}],
            "cmd": ["sh", "-c", "while true; do sleep 10; done"],
            "livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "initialDelaySeconds": 5, "periodSeconds": 10},
            "volumeMounts": {"emptyDir": [{"name": "cache", "mountPath": "/cache", "medium": ""}]}
        });
        let out = render_workload(worker, props, &ctx()).unwrap();
        assert_eq!(
            container(&out),
            &json!({
                "name": "backend-worker",
                "image": "nginx:latest",
                "command": ["sh", "-c", "while true; do sleep 10; done"],
                "env": [{"name": "LOG_LEVEL", "value": "info"}],
                "resources": {
                    "limits": {"cpu": "0.5", "memory": "512Mi"},
                    "requests": {"cpu": "0.5", "memory": "512Mi"}
                },
                "volumeMounts": [{"mountPath": "/cache", "name": "cache"}],
                "livenessProbe": {
                    "exec": {"command": ["cat", "/tmp/healthy"]},
                    "initialDelaySeconds": 5,
                    "periodSeconds": 10,
                    "timeoutSeconds": 1,
                    "successThreshold": 1,
                    "failureThreshold": 3
                }
            })
        );
        assert_eq!(
            out.output["spec"]["template"]["spec"]["volumes"],
            json!([{"name": "cache", "emptyDir": {"medium": ""}}])
        );
        assert!(out.outputs.is_empty());
    }

    #[test]
    fn deprecated_volumes() {
        let props =
            json!({"image": "i", "volumes": [{"name": "scratch", "mountPath": "/scratch"}]});
        let out = render_workload(worker, props, &ctx()).unwrap();
        assert_eq!(
            out.output["spec"]["template"]["spec"]["volumes"],
            json!([{"name": "scratch", "emptyDir": {"medium": ""}}])
        );
        assert_eq!(
            container(&out)["volumeMounts"],
            json!([{"mountPath": "/scratch", "name": "scratch"}])
        );
    }

    #[test]
    fn volume_mounts_win_over_volumes() {
        let props = json!({
            "image": "i",
            "volumes": [{"name": "old", "mountPath": "/old"}],
            "volumeMounts": {
                "emptyDir": [{"name": "new", "mountPath": "/new"}, {"name": "new", "mountPath": "/new2"}],
                "configMap": [{"name": "cfg", "mountPath": "/cfg", "cmName": "app-config", "items": [{"key": "a", "path": "a.txt", "mode": 420}]}]
            }
        });
        let out = render_workload(worker, props, &ctx()).unwrap();
        assert_eq!(
            container(&out)["volumeMounts"],
            json!([
                {"mountPath": "/cfg", "name": "cfg"},
                {"mountPath": "/new", "name": "new"},
                {"mountPath": "/new2", "name": "new"}
            ])
        );
        assert_eq!(
            out.output["spec"]["template"]["spec"]["volumes"],
            json!([
                {"name": "cfg", "configMap": {"defaultMode": 420, "name": "app-config", "items": [{"key": "a", "path": "a.txt", "mode": 420}]}},
                {"name": "new", "emptyDir": {"medium": ""}}
            ])
        );
    }

    #[test]
    fn pull_policy_and_secrets() {
        let props =
            json!({"image": "i", "imagePullPolicy": "Always", "imagePullSecrets": ["a", "b"]});
        let out = render_workload(worker, props, &ctx()).unwrap();
        assert_eq!(container(&out)["imagePullPolicy"], "Always");
        assert_eq!(
            out.output["spec"]["template"]["spec"]["imagePullSecrets"],
            json!([{"name": "a"}, {"name": "b"}])
        );
    }

    #[test]
    fn a_secret_volume_needs_a_secret_name() {
        let props =
            json!({"image": "i", "volumes": [{"name": "s", "mountPath": "/s", "type": "secret"}]});
        let err = render_workload(worker, props, &ctx()).unwrap_err();
        assert_eq!(
            err,
            Error::field("volumes[0].secretName", "missing field `secretName`")
        );
    }

    #[test]
    fn parameter_errors() {
        let err = render_workload(worker, json!({"cpu": "1"}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("missing field `image`"), "{err}");
        for field in ["ports", "labels", "args", "hostAliases", "exposeType"] {
            let props = json!({"image": "i", field: []});
            let err = render_workload(worker, props, &ctx()).unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("unknown field `{field}`")),
                "{err}"
            );
        }
        let props = json!({"image": "i", "readinessProbe": {"httpGet": {"path": "/", "port": 80, "scheme": "HTTPS"}}});
        let err = render_workload(worker, props, &ctx()).unwrap_err();
        assert!(err.to_string().contains("unknown field `scheme`"), "{err}");
    }
}
