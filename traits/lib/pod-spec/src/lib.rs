//! Pod-spec building blocks shared by Kiln's built-in definitions: KubeVela's parameter
//! types for env, probes, volumes and volume mounts, and the functions that turn them into
//! Kubernetes fields (used by the workloads `webservice`, `worker`, `task`, `cron-task`,
//! `daemon`, `statefulset` and the `sidecar` trait); the workloads' [`PodTemplate`]; their
//! [`ports`] and Service (with the `expose` and `container-ports` traits); and, in
//! [`containers`], the targeting of the workload's containers shared by the
//! container-patching traits (`command`, `env`, `container-image`, `container-ports`,
//! `securitycontext`, `startup-probe`, `lifecycle`).
//!
//! A library, not a definition: it lives in `traits/lib/`, has no
//! `[package.metadata.kiln]` and is not embedded.

use std::collections::{BTreeMap, BTreeSet};

use kiln_sdk::prelude::*;

pub mod ports;
mod template;

pub use template::PodTemplate;

/// The `app.oam.dev/name` label.
pub const NAME_LABEL: &str = "app.oam.dev/name";
/// The `app.oam.dev/component` label.
pub const COMPONENT_LABEL: &str = "app.oam.dev/component";
/// The `app.oam.dev/revision` label.
pub const REVISION_LABEL: &str = "app.oam.dev/revision";

/// When to pull the image.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
pub enum ImagePullPolicy {
    Always,
    Never,
    IfNotPresent,
}

/// An environment variable; `S` and `C` are the shapes of its `secretKeyRef` and
/// `configMapKeyRef` (the workloads' own: [`KeySelector`] for the job types,
/// [`SecretKeySelector`] and [`ConfigMapKeySelector`] for `webservice` and `worker`).
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[serde(bound(deserialize = "S: Deserialize<'de>, C: Deserialize<'de>"))]
pub struct EnvVar<S = KeySelector, C = KeySelector> {
    /// Environment variable name
    pub name: String,
    /// The value of the environment variable
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Specifies a source the value of this var should come from
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<EnvVarSource<S, C>>,
}

/// Where an environment variable's value comes from; other Kubernetes sources are passed through.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[serde(bound(deserialize = "S: Deserialize<'de>, C: Deserialize<'de>"))]
pub struct EnvVarSource<S = KeySelector, C = KeySelector> {
    /// Selects a key of a secret in the pod's namespace
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<S>,
    /// Selects a key of a config map in the pod's namespace
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<C>,
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

/// A key of a secret (`webservice`'s, `worker`'s and `sidecar`'s wording).
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretKeySelector {
    /// The name of the secret in the pod's namespace to select from
    pub name: String,
    /// The key of the secret to select from. Must be a valid secret key
    pub key: String,
}

/// A key of a config map (`webservice`'s, `worker`'s and `sidecar`'s wording).
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigMapKeySelector {
    /// The name of the config map in the pod's namespace to select from
    pub name: String,
    /// The key of the config map to select from. Must be a valid secret key
    pub key: String,
}

/// A health probe; `H` is the shape of its `httpGet` action.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[serde(bound(deserialize = "H: Deserialize<'de>"))]
pub struct HealthProbe<H> {
    /// Instructions for assessing container health by executing a command. Either this attribute or the httpGet attribute or the tcpSocket attribute MUST be specified. This attribute is mutually exclusive with both the httpGet attribute and the tcpSocket attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecProbe>,
    /// Instructions for assessing container health by executing an HTTP GET request. Either this attribute or the exec attribute or the tcpSocket attribute MUST be specified. This attribute is mutually exclusive with both the exec attribute and the tcpSocket attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_get: Option<H>,
    /// Instructions for assessing container health by probing a TCP socket. Either this attribute or the exec attribute or the httpGet attribute MUST be specified. This attribute is mutually exclusive with both the exec attribute and the httpGet attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_socket: Option<TcpSocketProbe>,
    /// Number of seconds after the container is started before the first probe is initiated.
    #[serde(default)]
    pub initial_delay_seconds: i64,
    /// How often, in seconds, to execute the probe.
    #[serde(default = "ten")]
    pub period_seconds: i64,
    /// Number of seconds after which the probe times out.
    #[serde(default = "one")]
    pub timeout_seconds: i64,
    /// Minimum consecutive successes for the probe to be considered successful after having failed.
    #[serde(default = "one")]
    pub success_threshold: i64,
    /// Number of consecutive failures required to determine the container is not alive (liveness probe) or not ready (readiness probe).
    #[serde(default = "three")]
    pub failure_threshold: i64,
}

/// A probe that runs a command.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecProbe {
    /// A command to be executed inside the container to assess its health. Each space delimited token of the command is a separate array element. Commands exiting 0 are considered to be successful probes, whilst all other exit codes are considered failures.
    pub command: Vec<String>,
}

/// A probe that sends an HTTP GET request (the job types' shape: no host, no scheme).
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BasicHttpGetProbe {
    /// The endpoint, relative to the port, to which the HTTP GET request should be directed.
    pub path: String,
    /// The TCP socket within the container to which the HTTP GET request should be directed.
    pub port: i64,
    /// Custom headers to set in the request
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_headers: Option<Vec<HttpHeader>>,
}

/// A probe that sends an HTTP GET request.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpGetProbe {
    /// The endpoint, relative to the port, to which the HTTP GET request should be directed.
    pub path: String,
    /// The TCP socket within the container to which the HTTP GET request should be directed.
    pub port: i64,
    /// The host name to connect to, defaults to the pod IP
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The scheme to use for connecting to the host, HTTP or HTTPS
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "HTTP"))]
    pub scheme: Option<String>,
    /// Custom headers to set in the request
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_headers: Option<Vec<HttpHeader>>,
}

/// An HTTP header.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpHeader {
    /// The header name
    pub name: String,
    /// The header value
    pub value: String,
}

/// A probe that opens a TCP connection.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpSocketProbe {
    /// The TCP socket within the container that should be probed to assess container health.
    pub port: i64,
}

/// An entry of the pod's `/etc/hosts`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostAlias {
    /// The IP address of the host entry
    pub ip: String,
    /// Hostnames for the IP address
    pub hostnames: Vec<String>,
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

/// Volumes to mount, by kind; `H` is the shape of a hostPath mount.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[serde(bound(deserialize = "H: Deserialize<'de>"))]
pub struct VolumeMounts<H> {
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
    pub host_path: Option<Vec<H>>,
}

/// A PVC mount.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PvcMount {
    /// The name of the volume
    pub name: String,
    /// The path to mount the volume at in the container
    pub mount_path: String,
    /// The path within the volume to mount, instead of its root
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
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
    /// The path within the volume to mount, instead of its root
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
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
    /// The path within the volume to mount, instead of its root
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
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
    /// The path within the volume to mount, instead of its root
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
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
    /// The path within the volume to mount, instead of its root
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
    /// The path on the host
    pub path: String,
}

/// What a hostPath mount contributes: the container's mount and the pod's volume.
pub trait HostPathSource {
    /// The container's `volumeMounts` entry.
    fn mount(&self) -> Value;
    /// The pod's `volumes` entry.
    fn volume(&self) -> Value;
}

impl HostPathSource for HostPathMount {
    fn mount(&self) -> Value {
        mount(&self.name, &self.mount_path, self.sub_path.as_ref())
    }
    fn volume(&self) -> Value {
        json!({ "name": self.name, "hostPath": { "path": self.path } })
    }
}

/// A volume and its mount, the deprecated way.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Volume {
    /// The name of the volume
    pub name: String,
    /// The path to mount the volume at in the container
    pub mount_path: String,
    /// Specify volume type, options: "pvc","configMap","secret","emptyDir", default to emptyDir
    #[serde(rename = "type", default)]
    pub kind: VolumeType,
    /// The name of the PVC (type pvc)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_name: Option<String>,
    /// The mode bits of the created files (types configMap and secret)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 420))]
    pub default_mode: Option<i64>,
    /// The name of the ConfigMap (type configMap)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cm_name: Option<String>,
    /// The name of the Secret (type secret)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// The keys to project, and where (types configMap and secret)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<KeyToPath>>,
    /// The storage medium: "" (the node's default) or "Memory" (type emptyDir)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub medium: Option<Medium>,
}

/// The kind of a deprecated volume.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum VolumeType {
    #[default]
    EmptyDir,
    Pvc,
    ConfigMap,
    Secret,
}

fn one() -> i64 {
    1
}
fn three() -> i64 {
    3
}
fn ten() -> i64 {
    10
}
fn default_mode() -> i64 {
    420
}
fn item_mode() -> i64 {
    511
}

/// A mount: `{mountPath, subPath?, name}`.
pub fn mount(name: &str, mount_path: &str, sub_path: Option<&String>) -> Value {
    let mut m = json!({ "mountPath": mount_path, "name": name });
    if let Some(sub_path) = sub_path {
        m["subPath"] = json!(sub_path);
    }
    m
}

/// A `configMap` / `secret` volume source: `{defaultMode, <name_field>: name, items?}`.
pub fn projected(
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

/// The container's mounts and the pod's volumes from `volumeMounts`, in kind order (pvc,
/// configMap, secret, emptyDir, hostPath). Volumes are de-duplicated by name, the first one
/// winning; mounts are not.
pub fn from_volume_mounts<H: HostPathSource>(vm: &VolumeMounts<H>) -> (Vec<Value>, Vec<Value>) {
    let mut mounts = Vec::new();
    let mut volumes = Vec::new();
    for v in vm.pvc.iter().flatten() {
        mounts.push(mount(&v.name, &v.mount_path, v.sub_path.as_ref()));
        volumes.push(
            json!({ "name": v.name, "persistentVolumeClaim": { "claimName": v.claim_name } }),
        );
    }
    for v in vm.config_map.iter().flatten() {
        mounts.push(mount(&v.name, &v.mount_path, v.sub_path.as_ref()));
        let source = projected(v.default_mode, "name", &v.cm_name, v.items.as_ref());
        volumes.push(json!({ "name": v.name, "configMap": source }));
    }
    for v in vm.secret.iter().flatten() {
        mounts.push(mount(&v.name, &v.mount_path, v.sub_path.as_ref()));
        let source = projected(
            v.default_mode,
            "secretName",
            &v.secret_name,
            v.items.as_ref(),
        );
        volumes.push(json!({ "name": v.name, "secret": source }));
    }
    for v in vm.empty_dir.iter().flatten() {
        mounts.push(mount(&v.name, &v.mount_path, v.sub_path.as_ref()));
        volumes.push(json!({ "name": v.name, "emptyDir": { "medium": v.medium } }));
    }
    for v in vm.host_path.iter().flatten() {
        mounts.push(v.mount());
        volumes.push(v.volume());
    }
    (mounts, dedup_by_name(volumes))
}

/// Keeps the first item of each `name`.
pub fn dedup_by_name(mut items: Vec<Value>) -> Vec<Value> {
    let mut seen = BTreeSet::new();
    items.retain(|v| seen.insert(v["name"].as_str().unwrap_or_default().to_string()));
    items
}

/// The container's mounts and the pod's volumes from the deprecated `volumes`.
pub fn from_volumes(volumes: &[Volume]) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut mounts = Vec::new();
    let mut out = Vec::new();
    for (i, v) in volumes.iter().enumerate() {
        let required = |value: &Option<String>, field: &str| {
            value.clone().ok_or_else(|| {
                Error::field(
                    format!("volumes[{i}].{field}"),
                    format!("missing field `{field}`"),
                )
            })
        };
        mounts.push(json!({ "mountPath": v.mount_path, "name": v.name }));
        let mode = v.default_mode.unwrap_or_else(default_mode);
        let volume = match v.kind {
            VolumeType::Pvc => json!({
                "name": v.name,
                "persistentVolumeClaim": { "claimName": required(&v.claim_name, "claimName")? }
            }),
            VolumeType::ConfigMap => {
                let cm_name = required(&v.cm_name, "cmName")?;
                json!({ "name": v.name, "configMap": projected(mode, "name", &cm_name, v.items.as_ref()) })
            }
            VolumeType::Secret => {
                let secret_name = required(&v.secret_name, "secretName")?;
                let source = projected(mode, "secretName", &secret_name, v.items.as_ref());
                json!({ "name": v.name, "secret": source })
            }
            VolumeType::EmptyDir => json!({
                "name": v.name,
                "emptyDir": { "medium": v.medium.unwrap_or_default() }
            }),
        };
        out.push(volume);
    }
    Ok((mounts, out))
}

/// The container's mounts and the pod's volumes: `volumeMounts` wins over the deprecated
/// `volumes` (KubeVela ignores `volumes` when `volumeMounts` is set).
pub fn mounts_and_volumes<H: HostPathSource>(
    volume_mounts: Option<&VolumeMounts<H>>,
    volumes: Option<&Vec<Volume>>,
) -> Result<Option<(Vec<Value>, Vec<Value>)>> {
    match (volume_mounts, volumes) {
        (Some(vm), _) => Ok(Some(from_volume_mounts(vm))),
        (None, Some(volumes)) => from_volumes(volumes).map(Some),
        (None, None) => Ok(None),
    }
}

/// The pod template's labels: the user's, then the OAM labels, which the user's must not
/// contradict (KubeVela unifies them).
fn pod_labels(
    user: Option<&BTreeMap<String, String>>,
    oam: &[(&str, String)],
) -> Result<BTreeMap<String, String>> {
    let mut labels = user.cloned().unwrap_or_default();
    for (key, value) in oam {
        match labels.get(*key) {
            Some(existing) if existing != value => {
                return Err(Error::field(
                    format!("labels.{key}"),
                    format!("conflicting values {existing:?} and {value:?} (set by KubeVela)"),
                ));
            }
            _ => {
                labels.insert((*key).to_string(), value.clone());
            }
        }
    }
    Ok(labels)
}

/// The pod template's metadata: `{labels, annotations?}`.
fn pod_metadata(
    labels: BTreeMap<String, String>,
    annotations: Option<&BTreeMap<String, String>>,
) -> Value {
    let mut metadata = json!({ "labels": labels });
    if let Some(annotations) = annotations {
        metadata["annotations"] = json!(annotations);
    }
    metadata
}

/// Targeting the containers of a trait's workload (`spec.template.spec.containers`) and
/// patching them, as KubeVela's container-patching traits do.
///
/// Those traits take either the settings for one container (`containerName`, defaulting to
/// the component name) or a list of per-container settings, never both; the containers they
/// produce merge into the workload's by `name` (`$patchKey/containers: name`).
pub mod containers {
    use kiln_sdk::prelude::*;

    /// The containers of the workload's pod template, or an error when it has none.
    pub fn of(workload: &Value) -> Result<&[Value]> {
        workload
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .ok_or_else(|| {
                Error::msg("the workload has no containers at spec.template.spec.containers")
            })
    }

    /// The container called `name` among `containers`, or KubeVela's
    /// `container <name> not found`.
    pub fn find<'a>(containers: &'a [Value], name: &str) -> Result<&'a Value> {
        containers
            .iter()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .ok_or_else(|| Error::msg(format!("container {name} not found")))
    }

    /// The target of the single-container form: `containerName` when set and not empty,
    /// otherwise the component name.
    pub fn single(container_name: Option<String>, component: &str) -> String {
        match container_name {
            Some(name) if !name.is_empty() => name,
            _ => component.to_string(),
        }
    }

    /// Rejects the single-container fields (`(field, is set)`, in order) when the list field
    /// `list` is used: the first one set is the error.
    pub fn reject_mixed(list: &str, fields: &[(&str, bool)]) -> Result<()> {
        match fields.iter().find(|(_, set)| *set) {
            Some((field, _)) => Err(Error::field(
                *field,
                format!("cannot be combined with `{list}` (set it on each entry of `{list}`)"),
            )),
            None => Ok(()),
        }
    }

    /// The entries of the list form, each one that `is_unnamed` replaced in place by the
    /// error `message` (as KubeVela's `errs` lists it).
    pub fn named<T>(
        entries: Vec<T>,
        is_unnamed: impl Fn(&T) -> bool,
        message: &str,
    ) -> Vec<Result<T>> {
        entries
            .into_iter()
            .map(|e| {
                if is_unnamed(&e) {
                    Err(Error::msg(message.to_string()))
                } else {
                    Ok(e)
                }
            })
            .collect()
    }

    /// The patched containers, `patch_one` applied to each target in order; every error
    /// (of a target or of its patch) is reported, joined in order.
    pub fn patch_each<T>(
        targets: Vec<Result<T>>,
        mut patch_one: impl FnMut(T) -> Result<Value>,
    ) -> Result<Vec<Value>> {
        let mut errors: Option<Error> = None;
        let mut containers = Vec::new();
        for target in targets {
            match target.and_then(&mut patch_one) {
                Ok(c) => containers.push(c),
                Err(e) => {
                    errors = Some(match errors {
                        Some(errors) => errors.and(e),
                        None => e,
                    })
                }
            }
        }
        errors.map_or(Ok(containers), Err)
    }

    /// The merge patch of `spec.template.spec.containers`, merged by `name`.
    pub fn patch(containers: Vec<Value>) -> Patch {
        Patch::merge(json!({
            "spec": { "template": { "spec": {
                "$patchKey/containers": "name",
                "containers": containers
            } } }
        }))
    }
}
