//! `init-container`: add an init container and use shared volume with pod (KubeVela's
//! `init-container` trait). The init container and the component's container share an
//! `emptyDir` volume.

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;

/// Parameters of `init-container`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the name of init container
    pub name: String,
    /// Specify the image of init container
    pub image: String,
    /// Specify image pull policy for your service
    #[serde(default)]
    pub image_pull_policy: ImagePullPolicy,
    /// Specify the commands run in the init container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// Specify the args run in the init container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Specify the env run in the init container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
    /// Specify the mount name of shared volume
    #[serde(default = "workdir")]
    pub mount_name: String,
    /// Specify the mount path of app container
    pub app_mount_path: String,
    /// Specify the mount path of init container
    pub init_mount_path: String,
    /// Specify the extra volume mounts for the init container
    #[serde(default)]
    pub extra_volume_mounts: Vec<ExtraVolumeMount>,
}

/// When to pull the image.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
pub enum ImagePullPolicy {
    #[default]
    IfNotPresent,
    Always,
    Never,
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

/// Where an environment variable's value comes from; other Kubernetes sources are passed through.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvVarSource {
    /// Selects a key of a secret in the pod's namespace
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<KeySelector>,
    /// Selects a key of a config map in the pod's namespace
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<KeySelector>,
    /// Other value sources (`fieldRef`, `resourceFieldRef`), passed through as KubeVela's open struct does.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// A key of a Secret or a ConfigMap.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeySelector {
    /// The name of the secret or config map in the pod's namespace to select from
    pub name: String,
    /// The key to select. Must be a valid secret key
    pub key: String,
}

/// Another volume mounted into the init container.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExtraVolumeMount {
    /// The name of the volume to be mounted
    pub name: String,
    /// The mountPath for mount in the init container
    pub mount_path: String,
}

fn workdir() -> String {
    "workdir".into()
}

/// Appends the init container (merged by `name`), mounts the shared `emptyDir` volume
/// into it and into the container named after the component, and adds the volume.
pub fn init_container(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    let mut init = Map::new();
    init.insert("name".into(), json!(params.name));
    init.insert("image".into(), json!(params.image));
    init.insert("imagePullPolicy".into(), json!(params.image_pull_policy));
    if let Some(cmd) = &params.cmd {
        init.insert("command".into(), json!(cmd));
    }
    if let Some(args) = &params.args {
        init.insert("args".into(), json!(args));
    }
    if let Some(env) = &params.env {
        init.insert("env".into(), json!(env));
    }
    let mut mounts =
        vec![json!({ "name": params.mount_name, "mountPath": params.init_mount_path })];
    mounts.extend(
        params
            .extra_volume_mounts
            .iter()
            .map(|m| json!({ "name": m.name, "mountPath": m.mount_path })),
    );
    init.insert("volumeMounts".into(), json!(mounts));

    Ok(TraitOutput::new().patch(Patch::merge(json!({
        "spec": { "template": { "spec": {
            "containers": [{
                "name": ctx.component_name,
                "volumeMounts": [{ "name": params.mount_name, "mountPath": params.app_mount_path }]
            }],
            "initContainers": [init],
            "volumes": [{ "name": params.mount_name, "emptyDir": {} }]
        } } }
    }))))
}

kiln_sdk::export_trait! {
    name: "init-container",
    description: "add an init container and use shared volume with pod",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"],
    render: init_container,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn ctx() -> TraitContext {
        let mut ctx = TraitContext::for_test(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": { "template": { "spec": { "containers": [
                { "name": "web", "image": "shop:1.0" },
                { "name": "proxy", "image": "envoy:1.30" }
            ] } } }
        }));
        ctx.context.component_name = "web".into();
        ctx
    }

    fn base() -> Value {
        json!({"name": "fetch", "image": "busybox:1.36", "appMountPath": "/srv/data", "initMountPath": "/work"})
    }

    fn with(extra: Value) -> Value {
        let mut props = base();
        for (k, v) in extra.as_object().unwrap() {
            props[k] = v.clone();
        }
        props
    }

    #[test]
    fn adds_an_init_container_sharing_an_empty_dir() {
        let out = render_trait(init_container, base(), &ctx()).unwrap();
        assert!(out.outputs.is_empty());
        assert_eq!(
            out.patch_value().unwrap(),
            &json!({"spec": {"template": {"spec": {
                "containers": [{"name": "web", "volumeMounts": [{"name": "workdir", "mountPath": "/srv/data"}]}],
                "initContainers": [{
                    "name": "fetch",
                    "image": "busybox:1.36",
                    "imagePullPolicy": "IfNotPresent",
                    "volumeMounts": [{"name": "workdir", "mountPath": "/work"}]
                }],
                "volumes": [{"name": "workdir", "emptyDir": {}}]
            }}}})
        );
    }

    #[test]
    fn fixture_command_args_env_and_extra_mounts() {
        let props = with(json!({
            "imagePullPolicy": "Always",
            "mountName": "shared",
            "cmd": ["sh", "-c"],
            "args": ["wget -O /work/index.html example.com"],
            "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}],
            "extraVolumeMounts": [{"name": "config", "mountPath": "/etc/fetch"}]
        }));
        let out = render_trait(init_container, props, &ctx()).unwrap();
        let spec = &out.patch_value().unwrap()["spec"]["template"]["spec"];
        let init = &spec["initContainers"][0];
        assert_eq!(init["imagePullPolicy"], "Always");
        assert_eq!(init["command"], json!(["sh", "-c"]));
        assert_eq!(
            init["args"],
            json!(["wget -O /work/index.html example.com"])
        );
        assert_eq!(
            init["env"],
            json!([{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}}])
        );
        assert_eq!(
            init["volumeMounts"],
            json!([{"name": "shared", "mountPath": "/work"}, {"name": "config", "mountPath": "/etc/fetch"}])
        );
        assert_eq!(spec["volumes"], json!([{"name": "shared", "emptyDir": {}}]));
        assert_eq!(spec["containers"][0]["volumeMounts"][0]["name"], "shared");
    }

    #[test]
    fn errors() {
        let err = render_trait(
            init_container,
            json!({"name": "fetch", "image": "busybox"}),
            &ctx(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("missing field `appMountPath`"),
            "{err}"
        );
        let err = render_trait(
            init_container,
            with(json!({"imagePullPolicy": "Sometimes"})),
            &ctx(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("imagePullPolicy: unknown variant"),
            "{err}"
        );
    }
}
