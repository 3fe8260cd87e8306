//! `sidecar`: inject a sidecar container into the pod template of the workload (KubeVela's
//! `sidecar` trait).

use kiln_sdk::prelude::*;
use pod_spec::{
    BasicHttpGetProbe, ConfigMapKeySelector, HealthProbe, SecretKeySelector, containers,
};

/// Parameters of `sidecar`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the name of sidecar container
    pub name: String,
    /// Specify the image of sidecar container
    pub image: String,
    /// Specify the commands run in the sidecar
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// Specify the args in the sidecar
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Specify the env in the sidecar
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
    /// Specify the shared volume path
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    /// Instructions for assessing whether the container is alive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<HealthProbe<BasicHttpGetProbe>>,
    /// Instructions for assessing whether the container is in a suitable state to serve traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<HealthProbe<BasicHttpGetProbe>>,
}

/// An environment variable.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvVar {
    /// Environment variable name
    pub name: String,
    /// The value of the environment variable
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Specifies a source the value of this var should come from
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EnvVarSource>,
}

/// Where an environment variable's value comes from.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvVarSource {
    /// Selects a key of a secret in the pod's namespace
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<SecretKeySelector>,
    /// Selects a key of a config map in the pod's namespace
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<ConfigMapKeySelector>,
    /// Specify the field reference for env
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_ref: Option<FieldRef>,
}

/// A field of the pod.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FieldRef {
    /// Specify the field path for env
    pub field_path: String,
}

/// A volume of the workload to mount in the sidecar.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// The name of the workload's volume to mount
    pub name: String,
    /// The path to mount it at in the sidecar
    pub path: String,
}

/// Adds the sidecar to `spec.template.spec.containers`, merged by `name` (KubeVela:
/// `+patchKey=name`): appended after the existing containers, or unified into the container
/// of the same name. The workload's pod volumes are not touched: mounts refer to volumes it
/// already declares.
pub fn sidecar(params: Params, _ctx: &TraitContext) -> Result<TraitOutput> {
    let mut container = Map::new();
    container.insert("name".into(), json!(params.name));
    container.insert("image".into(), json!(params.image));
    if let Some(cmd) = &params.cmd {
        container.insert("command".into(), json!(cmd));
    }
    if let Some(args) = &params.args {
        container.insert("args".into(), json!(args));
    }
    if let Some(env) = &params.env {
        container.insert("env".into(), json!(env));
    }
    if let Some(volumes) = &params.volumes {
        let mounts: Vec<Value> = volumes
            .iter()
            .map(|v| json!({ "mountPath": v.path, "name": v.name }))
            .collect();
        container.insert("volumeMounts".into(), json!(mounts));
    }
    if let Some(probe) = &params.liveness_probe {
        container.insert("livenessProbe".into(), json!(probe));
    }
    if let Some(probe) = &params.readiness_probe {
        container.insert("readinessProbe".into(), json!(probe));
    }
    Ok(TraitOutput::new().patch(containers::patch(vec![Value::Object(container)])))
}

kiln_sdk::export_trait! {
    name: "sidecar",
    description: "Inject a sidecar container to K8s pod for your workload which follows the pod spec in path 'spec.template'.",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"],
    render: sidecar,
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
                "containers": [{ "name": "web", "image": "shop:1.0" }],
                "volumes": [{ "name": "varlog", "emptyDir": {} }]
            } } }
        }))
    }

    fn containers(out: &TraitOutput) -> &Value {
        &out.patch_value().unwrap()["spec"]["template"]["spec"]["containers"]
    }

    #[test]
    fn a_bare_sidecar() {
        let out = render_trait(
            sidecar,
            json!({"name": "proxy", "image": "envoy:1.30"}),
            &ctx(),
        )
        .unwrap();
        assert!(matches!(out.patch, Some(Patch::Merge(_))));
        assert_eq!(
            out.patch_value().unwrap()["spec"]["template"]["spec"]["$patchKey/containers"],
            "name"
        );
        assert_eq!(
            containers(&out),
            &json!([{"name": "proxy", "image": "envoy:1.30"}])
        );
        assert!(out.outputs.is_empty());
    }

    #[test]
    fn bench_sidecar() {
        let props = json!({
            "name": "log-shipper",
            "image": "fluent/fluent-bit:3.0",
            "args": ["-i", "tail", "-o", "stdout"]
        });
        let out = render_trait(sidecar, props, &ctx()).unwrap();
        assert_eq!(
            containers(&out),
            &json!([{
                "name": "log-shipper",
                "image": "fluent/fluent-bit:3.0",
                "args": ["-i", "tail", "-o", "stdout"]
            }])
        );
    }

    #[test]
    fn volumes_become_mounts_sharing_the_workloads_volumes() {
        let props = json!({
            "name": "count-log",
            "image": "busybox",
            "cmd": ["/bin/sh", "-c", "tail -n+1 -f /var/log/date.log"],
            "volumes": [{"name": "varlog", "path": "/var/log"}]
        });
        let out = render_trait(sidecar, props, &ctx()).unwrap();
        assert_eq!(
            containers(&out)[0],
            json!({
                "name": "count-log",
                "image": "busybox",
                "command": ["/bin/sh", "-c", "tail -n+1 -f /var/log/date.log"],
                "volumeMounts": [{"mountPath": "/var/log", "name": "varlog"}]
            })
        );
        assert!(
            out.patch_value().unwrap()["spec"]["template"]["spec"]
                .get("volumes")
                .is_none()
        );
    }

    #[test]
    fn env_and_probes_pass_through_with_defaults() {
        let props = json!({
            "name": "proxy",
            "image": "envoy",
            "env": [
                {"name": "A", "value": "1"},
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}
            ],
            "livenessProbe": {
                "exec": {"command": ["true"]},
                "httpGet": {"path": "/healthz", "port": 9901, "httpHeaders": [{"name": "X", "value": "y"}]}
            },
            "readinessProbe": {"tcpSocket": {"port": 9901}, "periodSeconds": 5}
        });
        let out = render_trait(sidecar, props, &ctx()).unwrap();
        let c = &containers(&out)[0];
        assert_eq!(
            c["env"],
            json!([
                {"name": "A", "value": "1"},
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}
            ])
        );
        assert_eq!(
            c["livenessProbe"],
            json!({
                "exec": {"command": ["true"]},
                "httpGet": {"path": "/healthz", "port": 9901, "httpHeaders": [{"name": "X", "value": "y"}]},
                "initialDelaySeconds": 0,
                "periodSeconds": 10,
                "timeoutSeconds": 1,
                "successThreshold": 1,
                "failureThreshold": 3
            })
        );
        assert_eq!(
            c["readinessProbe"],
            json!({
                "tcpSocket": {"port": 9901},
                "initialDelaySeconds": 0,
                "periodSeconds": 5,
                "timeoutSeconds": 1,
                "successThreshold": 1,
                "failureThreshold": 3
            })
        );
    }

    #[test]
    fn name_and_image_are_required() {
        let err = render_trait(sidecar, json!({"image": "envoy"}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("missing field `name`"), "{err}");
        let err = render_trait(sidecar, json!({"name": "proxy"}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("missing field `image`"), "{err}");
    }

    #[test]
    fn rejects_unknown_parameters() {
        let props = json!({"name": "p", "image": "i", "command": ["x"]});
        let err = render_trait(sidecar, props, &ctx()).unwrap_err();
        assert!(err.to_string().contains("unknown field `command`"), "{err}");
    }
}
