//! `storage`: add storages on K8s pod for your workload (KubeVela's `storage` trait).
//! Mounts PVCs, ConfigMaps, Secrets, emptyDirs and hostPaths into the first container of the
//! pod template, feeds ConfigMap and Secret keys to environment variables, and creates the
//! PVCs, ConfigMaps and Secrets unless `mountOnly`.

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;

/// Parameters of `storage`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Declare pvc type storage
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc: Option<Vec<Pvc>>,
    /// Declare config map type storage
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<Vec<ConfigMap>>,
    /// Declare secret type storage
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Vec<Secret>>,
    /// Declare empty dir type storage
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<Vec<EmptyDir>>,
    /// Declare host path type storage
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<Vec<HostPath>>,
}

/// A PersistentVolumeClaim, mounted (volume mode `Filesystem`) or attached as a device
/// (`Block`).
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Pvc {
    /// The name of the PVC (its volume is `pvc-<name>`)
    pub name: String,
    /// Mount an existing PVC instead of creating it
    #[serde(default)]
    pub mount_only: bool,
    /// The path to mount the volume at (the device path for a `Block` volume)
    pub mount_path: String,
    /// The path within the volume to mount, instead of its root
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
    /// The volume mode: `Filesystem` or `Block`
    #[serde(default = "filesystem")]
    pub volume_mode: String,
    /// The PersistentVolume to bind
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_name: Option<String>,
    /// The access modes of the claim
    #[serde(default = "read_write_once")]
    pub access_modes: Vec<String>,
    /// The StorageClass of the claim
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// The storage requested (default 8Gi) and its limit
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<PvcResources>,
    /// The object to populate the volume from
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source_ref: Option<DataSource>,
    /// The object to populate the volume from
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<DataSource>,
    /// A label query over the volumes to consider for binding
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<Selector>,
}

/// The storage of a PVC.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PvcResources {
    /// The storage requested
    pub requests: Storage,
    /// The storage limit
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Storage>,
}

/// An amount of storage.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    /// The amount of storage, like `8Gi`
    #[schemars(extend("pattern" = STORAGE_PATTERN))]
    pub storage: String,
}

/// A typed reference to an object.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DataSource {
    /// The name of the object
    pub name: String,
    /// The kind of the object
    pub kind: String,
    /// The API group of the object
    pub api_group: String,
}

/// A label query.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Selector {
    /// Labels the volume must have
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// A label requirement
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<MatchExpression>,
}

/// A label requirement.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchExpression {
    /// The label key
    pub key: String,
    /// The label values
    pub values: Vec<String>,
    /// The operator: In, NotIn, Exists or DoesNotExist
    pub operator: String,
}

/// A ConfigMap, mounted when it has a `mountPath`, and fed to environment variables.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigMap {
    /// The name of the ConfigMap (its volume is `configmap-<name>`)
    pub name: String,
    /// Use an existing ConfigMap instead of creating it
    #[serde(default)]
    pub mount_only: bool,
    /// Set an environment variable from a key
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_to_env: Option<ConfigMapEnv>,
    /// Set environment variables from keys
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_to_envs: Option<Vec<ConfigMapEnv>>,
    /// The path to mount the ConfigMap at; not mounted without one
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    /// The path within the volume to mount, instead of its root
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
    /// The mode bits of the created files
    #[serde(default = "default_mode")]
    pub default_mode: i64,
    /// Accepted for compatibility; KubeVela does not apply it
    #[serde(default)]
    pub read_only: bool,
    /// The data of the created ConfigMap
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Map<String, Value>>,
    /// The keys to project, and where
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<KeyToPath>>,
}

/// An environment variable from a ConfigMap key.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfigMapEnv {
    /// The name of the environment variable
    pub env_name: String,
    /// The key of the ConfigMap
    pub config_map_key: String,
}

/// A Secret, mounted and fed to environment variables.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Secret {
    /// The name of the Secret (its volume is `secret-<name>`)
    pub name: String,
    /// Use an existing Secret instead of creating it
    #[serde(default)]
    pub mount_only: bool,
    /// Set an environment variable from a key
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_to_env: Option<SecretEnv>,
    /// Set environment variables from keys
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_to_envs: Option<Vec<SecretEnv>>,
    /// The path to mount the Secret at
    pub mount_path: String,
    /// The path within the volume to mount, instead of its root
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
    /// The mode bits of the created files
    #[serde(default = "default_mode")]
    pub default_mode: i64,
    /// Accepted for compatibility; KubeVela does not apply it
    #[serde(default)]
    pub read_only: bool,
    /// The string data of the created Secret
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_data: Option<Map<String, Value>>,
    /// The (base64) data of the created Secret
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Map<String, Value>>,
    /// The keys to project, and where
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<KeyToPath>>,
}

/// An environment variable from a Secret key.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretEnv {
    /// The name of the environment variable
    pub env_name: String,
    /// The key of the Secret
    pub secret_key: String,
}

/// A key of a ConfigMap or Secret projected to a file.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyToPath {
    /// The key to project
    pub key: String,
    /// The relative path of the file to map the key to
    pub path: String,
    /// The mode bits of the file
    #[serde(default = "item_mode")]
    pub mode: i64,
}

/// An emptyDir volume.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EmptyDir {
    /// The name of the volume (`emptydir-<name>`)
    pub name: String,
    /// The path to mount the volume at
    pub mount_path: String,
    /// The path within the volume to mount, instead of its root
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
    /// The storage medium: "" (the node's default) or "Memory"
    #[serde(default)]
    pub medium: Medium,
}

/// An EmptyDir storage medium.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
pub enum Medium {
    /// The node's default medium.
    #[default]
    #[serde(rename = "")]
    Default,
    /// A tmpfs.
    Memory,
}

/// A hostPath volume.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostPath {
    /// The name of the volume (`hostpath-<name>`)
    pub name: String,
    /// The path on the host
    pub path: String,
    /// The path to mount the volume at
    pub mount_path: String,
    /// What the host path must be
    #[serde(rename = "type", default)]
    pub kind: HostPathType,
}

/// The type of a host path.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
pub enum HostPathType {
    #[default]
    Directory,
    DirectoryOrCreate,
    FileOrCreate,
    File,
    Socket,
    CharDevice,
    BlockDevice,
}

const STORAGE_PATTERN: &str = "^([1-9][0-9]{0,63})(E|P|T|G|M|K|Ei|Pi|Ti|Gi|Mi|Ki)$";

fn filesystem() -> String {
    "Filesystem".into()
}
fn read_write_once() -> Vec<String> {
    vec!["ReadWriteOnce".into()]
}
fn default_mode() -> i64 {
    420
}
fn item_mode() -> i64 {
    511
}

/// KubeVela's storage pattern: `^([1-9][0-9]{0,63})(E|P|T|G|M|K|Ei|Pi|Ti|Gi|Mi|Ki)$`.
fn check_storage(field: String, storage: &str) -> Result<()> {
    let digits = storage.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = storage.split_at(digits);
    let number_ok = (1..=64).contains(&number.len()) && !number.starts_with('0');
    let unit_ok = [
        "E", "P", "T", "G", "M", "K", "Ei", "Pi", "Ti", "Gi", "Mi", "Ki",
    ]
    .contains(&unit);
    if number_ok && unit_ok {
        Ok(())
    } else {
        Err(Error::field(
            field,
            format!("{storage:?} does not match {STORAGE_PATTERN} (e.g. 8Gi)"),
        ))
    }
}

/// A mount: `{name, mountPath, subPath?}`.
fn mount(name: &str, mount_path: &str, sub_path: Option<&String>) -> Value {
    let mut m = json!({ "name": name, "mountPath": mount_path });
    if let Some(sub_path) = sub_path {
        m["subPath"] = json!(sub_path);
    }
    m
}

/// A `configMap` / `secret` volume source: `{defaultMode, <name_field>: name, items?}`.
fn projected(
    default_mode: i64,
    name_field: &str,
    name: &str,
    items: Option<&Vec<KeyToPath>>,
) -> Value {
    let mut source = json!({ "defaultMode": default_mode, name_field: name });
    if let Some(items) = items {
        source["items"] = json!(items);
    }
    source
}

/// The PersistentVolumeClaim of `v`.
fn claim(v: &Pvc) -> Value {
    let mut spec = Map::new();
    spec.insert("accessModes".into(), json!(v.access_modes));
    spec.insert("volumeMode".into(), json!(v.volume_mode));
    if let Some(volume_name) = &v.volume_name {
        spec.insert("volumeName".into(), json!(volume_name));
    }
    if let Some(class) = &v.storage_class_name {
        spec.insert("storageClassName".into(), json!(class));
    }
    let requested = v
        .resources
        .as_ref()
        .map_or("8Gi", |r| r.requests.storage.as_str());
    let mut resources = json!({ "requests": { "storage": requested } });
    if let Some(limits) = v.resources.as_ref().and_then(|r| r.limits.as_ref()) {
        resources["limits"] = json!({ "storage": limits.storage });
    }
    spec.insert("resources".into(), resources);
    if let Some(source) = &v.data_source_ref {
        spec.insert("dataSourceRef".into(), json!(source));
    }
    if let Some(source) = &v.data_source {
        spec.insert("dataSource".into(), json!(source));
    }
    if let Some(selector) = &v.selector {
        spec.insert("selector".into(), json!(selector));
    }
    json!({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": { "name": v.name },
        "spec": spec
    })
}

/// Patches volumes, mounts, devices and environment variables into the pod template and
/// renders the PVCs, ConfigMaps and Secrets to create.
pub fn storage(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    for (i, v) in params.pvc.iter().flatten().enumerate() {
        if let Some(r) = &v.resources {
            check_storage(
                format!("pvc[{i}].resources.requests.storage"),
                &r.requests.storage,
            )?;
            if let Some(limits) = &r.limits {
                check_storage(
                    format!("pvc[{i}].resources.limits.storage"),
                    &limits.storage,
                )?;
            }
        }
    }
    let first = ctx
        .workload
        .pointer("/spec/template/spec/containers/0/name")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::msg("the workload has no named container at spec.template.spec.containers")
        })?;

    let pvcs = params.pvc.as_deref().unwrap_or_default();
    let config_maps = params.config_map.as_deref().unwrap_or_default();
    let secrets = params.secret.as_deref().unwrap_or_default();
    let empty_dirs = params.empty_dir.as_deref().unwrap_or_default();
    let host_paths = params.host_path.as_deref().unwrap_or_default();

    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    let mut devices = Vec::new();
    for v in pvcs {
        let name = format!("pvc-{}", v.name);
        volumes.push(json!({ "name": name, "persistentVolumeClaim": { "claimName": v.name } }));
        match v.volume_mode.as_str() {
            "Filesystem" => mounts.push(mount(&name, &v.mount_path, v.sub_path.as_ref())),
            "Block" => {
                let mut device = json!({ "name": name, "devicePath": v.mount_path });
                if let Some(sub_path) = &v.sub_path {
                    device["subPath"] = json!(sub_path);
                }
                devices.push(device);
            }
            _ => {}
        }
    }
    for v in config_maps {
        if let Some(mount_path) = &v.mount_path {
            let name = format!("configmap-{}", v.name);
            let source = projected(v.default_mode, "name", &v.name, v.items.as_ref());
            volumes.push(json!({ "name": name, "configMap": source }));
            mounts.push(mount(&name, mount_path, v.sub_path.as_ref()));
        }
    }
    for v in secrets {
        let name = format!("secret-{}", v.name);
        let source = projected(v.default_mode, "secretName", &v.name, v.items.as_ref());
        volumes.push(json!({ "name": name, "secret": source }));
        mounts.push(mount(&name, &v.mount_path, v.sub_path.as_ref()));
    }
    for v in empty_dirs {
        let name = format!("emptydir-{}", v.name);
        volumes.push(json!({ "name": name, "emptyDir": { "medium": v.medium } }));
        mounts.push(mount(&name, &v.mount_path, v.sub_path.as_ref()));
    }
    for v in host_paths {
        let name = format!("hostpath-{}", v.name);
        volumes.push(json!({ "name": name, "hostPath": { "path": v.path, "type": v.kind } }));
        mounts.push(mount(&name, &v.mount_path, None));
    }
    let mut seen = std::collections::BTreeSet::new();
    volumes.retain(|v| seen.insert(v["name"].as_str().unwrap_or_default().to_string()));

    let env_from = |kind: &str, name: &str, env: &str, key: &str| json!({ "name": env, "valueFrom": { kind: { "name": name, "key": key } } });
    let mut env = Vec::new();
    for v in config_maps {
        if let Some(e) = &v.mount_to_env {
            env.push(env_from(
                "configMapKeyRef",
                &v.name,
                &e.env_name,
                &e.config_map_key,
            ));
        }
    }
    for v in config_maps {
        for e in v.mount_to_envs.iter().flatten() {
            env.push(env_from(
                "configMapKeyRef",
                &v.name,
                &e.env_name,
                &e.config_map_key,
            ));
        }
    }
    for v in secrets {
        if let Some(e) = &v.mount_to_env {
            env.push(env_from(
                "secretKeyRef",
                &v.name,
                &e.env_name,
                &e.secret_key,
            ));
        }
    }
    for v in secrets {
        for e in v.mount_to_envs.iter().flatten() {
            env.push(env_from(
                "secretKeyRef",
                &v.name,
                &e.env_name,
                &e.secret_key,
            ));
        }
    }

    let mut out = TraitOutput::new().patch(Patch::merge(json!({
        "spec": { "template": { "spec": {
            "volumes": volumes,
            "containers": [{
                "name": first,
                "env": env,
                "$patchKey/volumeDevices": "name",
                "volumeDevices": devices,
                // Keyed by mount path: one volume may be mounted at several paths.
                "$patchKey/volumeMounts": "mountPath",
                "volumeMounts": mounts
            }]
        } } }
    })));

    let mut objects: Vec<(String, Value)> = Vec::new();
    for v in pvcs.iter().filter(|v| !v.mount_only) {
        objects.push((format!("pvc-{}", v.name), claim(v)));
    }
    for v in config_maps.iter().filter(|v| !v.mount_only) {
        let mut cm =
            json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": v.name } });
        if let Some(data) = &v.data {
            cm["data"] = json!(data);
        }
        objects.push((format!("configmap-{}", v.name), cm));
    }
    for v in secrets.iter().filter(|v| !v.mount_only) {
        let mut secret =
            json!({ "apiVersion": "v1", "kind": "Secret", "metadata": { "name": v.name } });
        if let Some(data) = &v.data {
            secret["data"] = json!(data);
        }
        if let Some(data) = &v.string_data {
            secret["stringData"] = json!(data);
        }
        objects.push((format!("secret-{}", v.name), secret));
    }
    let mut emitted: BTreeMap<String, Value> = BTreeMap::new();
    for (key, object) in objects {
        match emitted.get(&key) {
            // KubeVela unifies outputs of the same key: equal ones are one object.
            Some(existing) if *existing == object => {}
            Some(_) => {
                return Err(Error::msg(format!(
                    "conflicting declarations of the output {key:?}"
                )));
            }
            None => {
                emitted.insert(key.clone(), object.clone());
                out = out.with_output(key, object);
            }
        }
    }
    Ok(out)
}

kiln_sdk::export_trait! {
    name: "storage",
    description: "Add storages on K8s pod for your workload which follows the pod spec in path 'spec.template'.",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"],
    render: storage,
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
                { "name": "log", "image": "fluentbit:3" }
            ] } } }
        }));
        ctx.context.component_name = "web".into();
        ctx
    }

    fn pod(out: &TraitOutput) -> &Value {
        &out.patch_value().unwrap()["spec"]["template"]["spec"]
    }

    #[test]
    fn a_pvc_is_created_and_mounted_into_the_first_container() {
        let props = json!({"pvc": [{"name": "data", "mountPath": "/data"}]});
        let out = render_trait(storage, props, &ctx()).unwrap();
        assert_eq!(
            out.patch_value().unwrap(),
            &json!({"spec": {"template": {"spec": {
                "volumes": [{"name": "pvc-data", "persistentVolumeClaim": {"claimName": "data"}}],
                "containers": [{
                    "name": "web",
                    "env": [],
                    "$patchKey/volumeDevices": "name",
                    "volumeDevices": [],
                    "$patchKey/volumeMounts": "mountPath",
                    "volumeMounts": [{"name": "pvc-data", "mountPath": "/data"}]
                }]
            }}}})
        );
        assert_eq!(
            out.outputs,
            vec![(
                "pvc-data".to_string(),
                json!({
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "volumeMode": "Filesystem",
                        "resources": {"requests": {"storage": "8Gi"}}
                    }
                })
            )]
        );
    }

    #[test]
    fn fixture_pvc_and_empty_dir() {
        let props = json!({
            "emptyDir": [{"name": "cache", "mountPath": "/cache", "medium": ""}],
            "pvc": [{"name": "data", "mountPath": "/data", "volumeMode": "Filesystem", "mountOnly": false,
                     "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}]
        });
        let out = render_trait(storage, props, &ctx()).unwrap();
        assert_eq!(
            pod(&out)["volumes"],
            json!([
                {"name": "pvc-data", "persistentVolumeClaim": {"claimName": "data"}},
                {"name": "emptydir-cache", "emptyDir": {"medium": ""}}
            ])
        );
        assert_eq!(
            pod(&out)["containers"][0]["volumeMounts"],
            json!([
                {"name": "pvc-data", "mountPath": "/data"},
                {"name": "emptydir-cache", "mountPath": "/cache"}
            ])
        );
        assert_eq!(
            out.output("pvc-data").unwrap()["spec"]["resources"],
            json!({"requests": {"storage": "1Gi"}})
        );
    }

    #[test]
    fn a_pvcs_class_size_volume_source_and_selector_pass_through() {
        let props = json!({"pvc": [{
            "name": "data", "mountPath": "/data", "subPath": "shop",
            "accessModes": ["ReadWriteMany"], "storageClassName": "fast", "volumeName": "pv-0001",
            "resources": {"requests": {"storage": "20Gi"}, "limits": {"storage": "50Gi"}},
            "dataSource": {"name": "data-snap", "kind": "VolumeSnapshot", "apiGroup": "snapshot.storage.k8s.io"},
            "selector": {"matchLabels": {"tier": "gold"}}
        }]});
        let out = render_trait(storage, props, &ctx()).unwrap();
        assert_eq!(
            pod(&out)["containers"][0]["volumeMounts"],
            json!([{"name": "pvc-data", "mountPath": "/data", "subPath": "shop"}])
        );
        assert_eq!(
            out.output("pvc-data").unwrap()["spec"],
            json!({
                "accessModes": ["ReadWriteMany"],
                "volumeMode": "Filesystem",
                "volumeName": "pv-0001",
                "storageClassName": "fast",
                "resources": {"requests": {"storage": "20Gi"}, "limits": {"storage": "50Gi"}},
                "dataSource": {"name": "data-snap", "kind": "VolumeSnapshot", "apiGroup": "snapshot.storage.k8s.io"},
                "selector": {"matchLabels": {"tier": "gold"}}
            })
        );
    }

    #[test]
    fn a_block_pvc_is_attached_as_a_device_not_mounted() {
        let props =
            json!({"pvc": [{"name": "raw", "mountPath": "/dev/xvda", "volumeMode": "Block"}]});
        let out = render_trait(storage, props, &ctx()).unwrap();
        let c = &pod(&out)["containers"][0];
        assert_eq!(
            c["volumeDevices"],
            json!([{"name": "pvc-raw", "devicePath": "/dev/xvda"}])
        );
        assert_eq!(c["volumeMounts"], json!([]));
        assert_eq!(
            out.output("pvc-raw").unwrap()["spec"]["volumeMode"],
            "Block"
        );
    }

    #[test]
    fn mount_only_and_one_pvc_at_two_paths() {
        let props = json!({"pvc": [
            {"name": "data", "mountPath": "/data", "mountOnly": true},
            {"name": "data", "mountPath": "/backup", "mountOnly": true}
        ]});
        let out = render_trait(storage, props, &ctx()).unwrap();
        assert!(out.outputs.is_empty());
        assert_eq!(
            pod(&out)["volumes"],
            json!([{"name": "pvc-data", "persistentVolumeClaim": {"claimName": "data"}}])
        );
        assert_eq!(
            pod(&out)["containers"][0]["volumeMounts"],
            json!([
                {"name": "pvc-data", "mountPath": "/data"},
                {"name": "pvc-data", "mountPath": "/backup"}
            ])
        );
        // Both created: the same claim twice is one output.
        let props = json!({"pvc": [
            {"name": "data", "mountPath": "/data"},
            {"name": "data", "mountPath": "/backup"}
        ]});
        let out = render_trait(storage, props, &ctx()).unwrap();
        assert_eq!(out.outputs.len(), 1);
        let props = json!({"pvc": [
            {"name": "data", "mountPath": "/data"},
            {"name": "data", "mountPath": "/backup", "storageClassName": "fast"}
        ]});
        assert!(render_trait(storage, props, &ctx()).is_err());
    }

    #[test]
    fn config_maps_mounted_with_data_or_feeding_env() {
        let props = json!({"configMap": [
            {"name": "shop-config", "mountPath": "/etc/shop", "data": {"shop.yaml": "mode: prod"}},
            {"name": "flags", "mountOnly": true, "defaultMode": 256,
             "mountToEnv": {"envName": "MODE", "configMapKey": "mode"},
             "mountToEnvs": [{"envName": "REGION", "configMapKey": "region"}]},
            {"name": "items", "mountOnly": true, "mountPath": "/etc/items", "items": [{"key": "a", "path": "b"}]}
        ]});
        let out = render_trait(storage, props, &ctx()).unwrap();
        assert_eq!(
            pod(&out)["volumes"],
            json!([
                {"name": "configmap-shop-config", "configMap": {"name": "shop-config", "defaultMode": 420}},
                {"name": "configmap-items", "configMap": {"name": "items", "defaultMode": 420, "items": [{"key": "a", "path": "b", "mode": 511}]}}
            ])
        );
        assert_eq!(
            pod(&out)["containers"][0]["env"],
            json!([
                {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "flags", "key": "mode"}}},
                {"name": "REGION", "valueFrom": {"configMapKeyRef": {"name": "flags", "key": "region"}}}
            ])
        );
        assert_eq!(
            out.outputs,
            vec![(
                "configmap-shop-config".to_string(),
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shop-config"}, "data": {"shop.yaml": "mode: prod"}})
            )]
        );
    }

    #[test]
    fn a_secret_is_created_mounted_and_feeds_env() {
        let props = json!({"secret": [{
            "name": "db-conn", "mountPath": "/etc/db",
            "stringData": {"password": "hunter2"},
            "mountToEnv": {"envName": "DB_PASSWORD", "secretKey": "password"}
        }]});
        let out = render_trait(storage, props, &ctx()).unwrap();
        assert_eq!(
            pod(&out)["volumes"],
            json!([{"name": "secret-db-conn", "secret": {"secretName": "db-conn", "defaultMode": 420}}])
        );
        assert_eq!(
            pod(&out)["containers"][0]["env"],
            json!([{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-conn", "key": "password"}}}])
        );
        assert_eq!(
            out.output("secret-db-conn").unwrap(),
            &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-conn"}, "stringData": {"password": "hunter2"}})
        );
    }

    #[test]
    fn volumes_of_every_kind_side_by_side() {
        let props = json!({
            "pvc": [{"name": "data", "mountPath": "/data", "mountOnly": true}],
            "configMap": [{"name": "shop-config", "mountPath": "/etc/shop", "mountOnly": true}],
            "secret": [{"name": "db-conn", "mountPath": "/etc/db", "mountOnly": true}],
            "emptyDir": [{"name": "cache", "mountPath": "/cache", "medium": "Memory"}],
            "hostPath": [{"name": "logs", "path": "/var/log", "mountPath": "/host/log"}]
        });
        let out = render_trait(storage, props, &ctx()).unwrap();
        let names: Vec<&str> = pod(&out)["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "pvc-data",
                "configmap-shop-config",
                "secret-db-conn",
                "emptydir-cache",
                "hostpath-logs"
            ]
        );
        assert_eq!(
            pod(&out)["volumes"][3]["emptyDir"],
            json!({"medium": "Memory"})
        );
        assert_eq!(
            pod(&out)["volumes"][4]["hostPath"],
            json!({"path": "/var/log", "type": "Directory"})
        );
        assert_eq!(
            pod(&out)["containers"][0]["volumeMounts"][4],
            json!({"name": "hostpath-logs", "mountPath": "/host/log"})
        );
    }

    #[test]
    fn errors() {
        let props = json!({"pvc": [{"name": "data", "mountPath": "/data", "resources": {"requests": {"storage": "20"}}}]});
        let err = render_trait(storage, props, &ctx()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("pvc[0].resources.requests.storage: "),
            "{err}"
        );
        let props = json!({"hostPath": [{"name": "logs", "path": "/var/log", "mountPath": "/l", "type": "Pipe"}]});
        let err = render_trait(storage, props, &ctx()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("hostPath[0].type: unknown variant"),
            "{err}"
        );
        let props = json!({"secret": [{"name": "s"}]});
        let err = render_trait(storage, props, &ctx()).unwrap_err();
        assert!(
            err.to_string().contains("missing field `mountPath`"),
            "{err}"
        );
        let ctx = TraitContext::for_test(json!({"kind": "ConfigMap"}));
        assert!(render_trait(storage, json!({}), &ctx).is_err());
    }
}
