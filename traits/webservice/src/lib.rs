//! `webservice`: a long-running, scalable, containerized service with a stable network
//! endpoint (KubeVela's `webservice` component type). Renders a Deployment and, when a port
//! has `expose: true`, a Service (`webserviceExpose`).

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;

/// Parameters of `webservice`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the labels in the workload
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Specify the annotations in the workload
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Which image would you like to use for your service
    pub image: String,
    /// Specify image pull policy for your service
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<ImagePullPolicy>,
    /// Specify image pull secrets for your service
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<String>>,
    /// Deprecated field, please use ports instead
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    /// Which ports do you want customer traffic sent to, defaults to 80
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<Port>>,
    /// Specify what kind of Service you want. options: "ClusterIP", "NodePort", "LoadBalancer"
    #[serde(default)]
    pub expose_type: ExposeType,
    /// If addRevisionLabel is true, the revision label will be added to the underlying pods
    #[serde(default)]
    pub add_revision_label: bool,
    /// Commands to run in the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// Arguments to the entrypoint
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Define arguments by using environment variables
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
    /// Number of CPU units for the service, like `0.5` (0.5 CPU core), `1` (1 CPU core)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Specifies the attributes of the memory resource required for the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Specify the resource limits when they differ from the requested cpu and memory
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
    /// Mount volumes into the container, by volume kind
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<VolumeMounts>,
    /// Deprecated field, use volumeMounts instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    /// Instructions for assessing whether the container is alive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<HealthProbe>,
    /// Instructions for assessing whether the container is in a suitable state to serve traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<HealthProbe>,
    /// Specify the hostAliases to add
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_aliases: Option<Vec<HostAlias>>,
}

/// When to pull the image.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
pub enum ImagePullPolicy {
    Always,
    Never,
    IfNotPresent,
}

/// A port of the container.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Port {
    /// Number of port to expose on the pod's IP address
    pub port: i64,
    /// Number of container port to connect to, defaults to port
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<i64>,
    /// Name of the port
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Protocol for port. Must be UDP, TCP, or SCTP
    #[serde(default)]
    pub protocol: Protocol,
    /// Specify if the port should be exposed
    #[serde(default)]
    pub expose: bool,
    /// exposed node port. Only Valid when exposeType is NodePort
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_port: Option<i64>,
}

/// A port protocol.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protocol {
    #[default]
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
    #[serde(rename = "SCTP")]
    Sctp,
}

impl Protocol {
    fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// The type of the Service exposing the ports.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExposeType {
    #[default]
    ClusterIP,
    NodePort,
    LoadBalancer,
}

impl ExposeType {
    fn as_str(self) -> &'static str {
        match self {
            ExposeType::ClusterIP => "ClusterIP",
            ExposeType::NodePort => "NodePort",
            ExposeType::LoadBalancer => "LoadBalancer",
        }
    }
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
    pub secret_key_ref: Option<SecretKeySelector>,
    /// Selects a key of a config map in the pod's namespace
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<ConfigMapKeySelector>,
    /// Other value sources (`fieldRef`, `resourceFieldRef`), passed through as KubeVela's open struct does.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// A key of a secret.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretKeySelector {
    /// The name of the secret in the pod's namespace to select from
    pub name: String,
    /// The key of the secret to select from. Must be a valid secret key
    pub key: String,
}

/// A key of a config map.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigMapKeySelector {
    /// The name of the config map in the pod's namespace to select from
    pub name: String,
    /// The key of the config map to select from. Must be a valid secret key
    pub key: String,
}

/// Resource limits.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// The CPU limit, like `1` (1 CPU core); defaults to the requested cpu
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// The memory limit, like `1Gi`; defaults to the requested memory
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
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

/// A health probe.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HealthProbe {
    /// Instructions for assessing container health by executing a command. Either this attribute or the httpGet attribute or the tcpSocket attribute MUST be specified. This attribute is mutually exclusive with both the httpGet attribute and the tcpSocket attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecProbe>,
    /// Instructions for assessing container health by executing an HTTP GET request. Either this attribute or the exec attribute or the tcpSocket attribute MUST be specified. This attribute is mutually exclusive with both the exec attribute and the tcpSocket attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_get: Option<HttpGetProbe>,
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

const NAME_LABEL: &str = "app.oam.dev/name";
const COMPONENT_LABEL: &str = "app.oam.dev/component";
const REVISION_LABEL: &str = "app.oam.dev/revision";

/// KubeVela's generated port name: `port-<n>`, with `-udp` / `-sctp` for those protocols.
fn port_name(port: i64, protocol: Protocol) -> String {
    match protocol {
        Protocol::Tcp => format!("port-{port}"),
        other => format!("port-{port}-{}", other.as_str().to_lowercase()),
    }
}

/// A mount: `{mountPath, subPath?, name}`.
fn mount(name: &str, mount_path: &str, sub_path: Option<&String>) -> Value {
    let mut m = json!({ "mountPath": mount_path, "name": name });
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

/// The container's mounts and the pod's volumes from `volumeMounts`, in kind order (pvc,
/// configMap, secret, emptyDir, hostPath). Volumes are de-duplicated by name, the first one
/// winning; mounts are not.
fn from_volume_mounts(vm: &VolumeMounts) -> (Vec<Value>, Vec<Value>) {
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
        mounts.push(mount(&v.name, &v.mount_path, v.sub_path.as_ref()));
        volumes.push(json!({ "name": v.name, "hostPath": { "path": v.path } }));
    }
    let mut seen = std::collections::BTreeSet::new();
    volumes.retain(|v| seen.insert(v["name"].as_str().unwrap_or_default().to_string()));
    (mounts, volumes)
}

/// The container's mounts and the pod's volumes from the deprecated `volumes`.
fn from_volumes(volumes: &[Volume]) -> Result<(Vec<Value>, Vec<Value>)> {
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

/// Renders the Deployment and, when some port has `expose: true`, the `webserviceExpose`
/// Service.
pub fn webservice(params: Params, ctx: &Context) -> Result<WorkloadOutput> {
    let name = &ctx.component_name;
    let mut warnings = Vec::new();

    // Pod labels: the user's first; the OAM labels must not be contradicted (KubeVela unifies).
    let mut labels = params.labels.clone().unwrap_or_default();
    let mut oam = vec![
        (NAME_LABEL, ctx.app_name.clone()),
        (COMPONENT_LABEL, name.clone()),
    ];
    if params.add_revision_label {
        // Kiln has no component revisions; the application revision stands in for them.
        oam.push((REVISION_LABEL, ctx.app_revision.clone()));
        warnings.push((
            Some("addRevisionLabel"),
            format!(
                "Kiln has no component revisions: {REVISION_LABEL} is set to the application revision {:?}",
                ctx.app_revision
            ),
        ));
    }
    for (key, value) in oam {
        match labels.get(key) {
            Some(user) if *user != value => {
                return Err(Error::field(
                    format!("labels.{key}"),
                    format!("conflicting values {user:?} and {value:?} (set by KubeVela)"),
                ));
            }
            _ => {
                labels.insert(key.to_string(), value);
            }
        }
    }
    let mut metadata = json!({ "labels": labels });
    if let Some(annotations) = &params.annotations {
        metadata["annotations"] = json!(annotations);
    }

    let mut container = Map::new();
    container.insert("name".into(), json!(name));
    container.insert("image".into(), json!(params.image));
    if let Some(ports) = &params.ports {
        let ports: Vec<Value> = ports
            .iter()
            .map(|v| {
                let container_port = v.container_port.unwrap_or(v.port);
                json!({
                    "containerPort": container_port,
                    "protocol": v.protocol.as_str(),
                    "name": v.name.clone().unwrap_or_else(|| port_name(container_port, v.protocol)),
                })
            })
            .collect();
        container.insert("ports".into(), json!(ports));
    } else if let Some(port) = params.port {
        container.insert("ports".into(), json!([{ "containerPort": port }]));
    }
    if let Some(policy) = &params.image_pull_policy {
        container.insert("imagePullPolicy".into(), json!(policy));
    }
    if let Some(cmd) = &params.cmd {
        container.insert("command".into(), json!(cmd));
    }
    if let Some(args) = &params.args {
        container.insert("args".into(), json!(args));
    }
    if let Some(env) = &params.env {
        container.insert("env".into(), json!(env));
    }
    let limit = params.limit.as_ref();
    let mut requests = Map::new();
    let mut limits = Map::new();
    if let Some(cpu) = &params.cpu {
        requests.insert("cpu".into(), json!(cpu));
        let cpu_limit = limit.and_then(|l| l.cpu.as_ref()).unwrap_or(cpu);
        limits.insert("cpu".into(), json!(cpu_limit));
    }
    if let Some(memory) = &params.memory {
        requests.insert("memory".into(), json!(memory));
        let memory_limit = limit.and_then(|l| l.memory.as_ref()).unwrap_or(memory);
        limits.insert("memory".into(), json!(memory_limit));
    }
    if !requests.is_empty() {
        container.insert(
            "resources".into(),
            json!({ "limits": limits, "requests": requests }),
        );
    }
    let (mounts, volumes) = match (&params.volume_mounts, &params.volumes) {
        (Some(vm), _) => {
            let (m, v) = from_volume_mounts(vm);
            (Some(m), Some(v))
        }
        (None, Some(volumes)) => {
            let (m, v) = from_volumes(volumes)?;
            (Some(m), Some(v))
        }
        (None, None) => (None, None),
    };
    if let Some(mounts) = mounts {
        container.insert("volumeMounts".into(), json!(mounts));
    }
    if let Some(probe) = &params.liveness_probe {
        container.insert("livenessProbe".into(), json!(probe));
    }
    if let Some(probe) = &params.readiness_probe {
        container.insert("readinessProbe".into(), json!(probe));
    }

    let mut pod_spec = Map::new();
    pod_spec.insert("containers".into(), json!([container]));
    if let Some(aliases) = &params.host_aliases {
        pod_spec.insert("hostAliases".into(), json!(aliases));
    }
    if let Some(secrets) = &params.image_pull_secrets {
        let secrets: Vec<Value> = secrets.iter().map(|s| json!({ "name": s })).collect();
        pod_spec.insert("imagePullSecrets".into(), json!(secrets));
    }
    if let Some(volumes) = volumes {
        pod_spec.insert("volumes".into(), json!(volumes));
    }

    let deployment = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "spec": {
            "selector": { "matchLabels": { COMPONENT_LABEL: name } },
            "template": { "metadata": metadata, "spec": pod_spec }
        }
    });

    let expose_ports: Vec<Value> = params
        .ports
        .iter()
        .flatten()
        .filter(|v| v.expose)
        .map(|v| {
            let target_port = v.container_port.unwrap_or(v.port);
            let mut p = json!({
                "port": v.port,
                "targetPort": target_port,
                "name": v.name.clone().unwrap_or_else(|| port_name(target_port, v.protocol)),
                "protocol": v.protocol.as_str(),
            });
            if let (Some(node_port), ExposeType::NodePort) = (v.node_port, params.expose_type) {
                p["nodePort"] = json!(node_port);
            }
            p
        })
        .collect();

    let mut out = WorkloadOutput::new(deployment);
    if !expose_ports.is_empty() {
        out = out.with_output(
            "webserviceExpose",
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": { "name": name },
                "spec": {
                    "selector": { COMPONENT_LABEL: name },
                    "ports": expose_ports,
                    "type": params.expose_type.as_str()
                }
            }),
        );
    }
    for (field, message) in warnings {
        out = out.warn(field, message);
    }
    Ok(out)
}

kiln_sdk::export_workload! {
    name: "webservice",
    description: "Describes long-running, scalable, containerized services that have a stable network endpoint to receive external network traffic from customers.",
    workload_type: "deployments.apps",
    render: webservice,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_workload;

    fn ctx() -> Context {
        Context::for_test("web")
    }

    fn container(out: &WorkloadOutput) -> &Value {
        &out.output["spec"]["template"]["spec"]["containers"][0]
    }

    #[test]
    fn image_only() {
        let out = render_workload(webservice, json!({"image": "shop:1.0"}), &ctx()).unwrap();
        assert!(out.outputs.is_empty());
        assert_eq!(
            out.output,
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "spec": {
                    "selector": { "matchLabels": { "app.oam.dev/component": "web" } },
                    "template": {
                        "metadata": { "labels": { "app.oam.dev/name": "app", "app.oam.dev/component": "web" } },
                        "spec": { "containers": [{ "name": "web", "image": "shop:1.0" }] }
                    }
                }
            })
        );
    }

    #[test]
    fn bench_webservice() {
        let props = json!({
            "image": "ghcr.io/acme/payments:1.4.2",
            "ports": [{"port": 8080, "expose": true}],
            "env": [{"name": "LOG_LEVEL", "value": "info"}],
            "cpu": "250m",
            "memory": "256Mi"
        });
        let out = render_workload(webservice, props, &ctx()).unwrap();
        assert_eq!(
            container(&out),
            &json!({
                "name": "web",
                "image": "ghcr.io/acme/payments:1.4.2",
                "ports": [{"containerPort": 8080, "name": "port-8080", "protocol": "TCP"}],
                "env": [{"name": "LOG_LEVEL", "value": "info"}],
                "resources": {
                    "limits": {"cpu": "250m", "memory": "256Mi"},
                    "requests": {"cpu": "250m", "memory": "256Mi"}
                }
            })
        );
        assert_eq!(out.outputs.len(), 1);
        let (key, svc) = &out.outputs[0];
        assert_eq!(key, "webserviceExpose");
        assert_eq!(
            svc,
            &json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": { "name": "web" },
                "spec": {
                    "selector": { "app.oam.dev/component": "web" },
                    "ports": [{"name": "port-8080", "port": 8080, "targetPort": 8080, "protocol": "TCP"}],
                    "type": "ClusterIP"
                }
            })
        );
    }

    #[test]
    fn ports_container_ports_and_protocols() {
        let props = json!({
            "image": "shop:1.0",
            "ports": [
                {"port": 80, "containerPort": 8080, "expose": true},
                {"port": 53, "protocol": "UDP", "expose": true},
                {"port": 9090, "name": "metrics"}
            ]
        });
        let out = render_workload(webservice, props, &ctx()).unwrap();
        assert_eq!(
            container(&out)["ports"],
            json!([
                {"containerPort": 8080, "protocol": "TCP", "name": "port-8080"},
                {"containerPort": 53, "protocol": "UDP", "name": "port-53-udp"},
                {"containerPort": 9090, "protocol": "TCP", "name": "metrics"}
            ])
        );
        assert_eq!(
            out.outputs[0].1["spec"]["ports"],
            json!([
                {"port": 80, "targetPort": 8080, "name": "port-8080", "protocol": "TCP"},
                {"port": 53, "targetPort": 53, "name": "port-53-udp", "protocol": "UDP"}
            ])
        );
    }

    #[test]
    fn no_exposed_port_no_service() {
        let props = json!({"image": "shop:1.0", "ports": [{"port": 80}]});
        let out = render_workload(webservice, props, &ctx()).unwrap();
        assert!(out.outputs.is_empty());
        assert_eq!(container(&out)["ports"][0]["name"], "port-80");
    }

    #[test]
    fn deprecated_port() {
        let out = render_workload(webservice, json!({"image": "i", "port": 80}), &ctx()).unwrap();
        assert_eq!(container(&out)["ports"], json!([{"containerPort": 80}]));
        assert!(out.outputs.is_empty());
        let props = json!({"image": "i", "port": 80, "ports": [{"port": 81}]});
        let out = render_workload(webservice, props, &ctx()).unwrap();
        assert_eq!(container(&out)["ports"][0]["containerPort"], 81);
    }

    #[test]
    fn node_port_only_for_node_port_services() {
        let ports = json!([{"port": 80, "nodePort": 30080, "expose": true}]);
        let out =
            render_workload(webservice, json!({"image": "i", "ports": ports}), &ctx()).unwrap();
        assert!(
            out.outputs[0].1["spec"]["ports"][0]
                .get("nodePort")
                .is_none()
        );
        let props = json!({"image": "i", "ports": ports, "exposeType": "NodePort"});
        let out = render_workload(webservice, props, &ctx()).unwrap();
        assert_eq!(out.outputs[0].1["spec"]["ports"][0]["nodePort"], 30080);
        assert_eq!(out.outputs[0].1["spec"]["type"], "NodePort");
    }

    #[test]
    fn limits() {
        let props = json!({"image": "i", "cpu": "0.5", "memory": "1Gi", "limit": {"cpu": "1"}});
        let out = render_workload(webservice, props, &ctx()).unwrap();
        assert_eq!(
            container(&out)["resources"],
            json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "0.5", "memory": "1Gi"}})
        );
        let props = json!({"image": "i", "limit": {"cpu": "1", "memory": "2Gi"}});
        let out = render_workload(webservice, props, &ctx()).unwrap();
        assert!(
            container(&out).get("resources").is_none(),
            "limit alone has no effect"
        );
    }

    #[test]
    fn cpu_only() {
        let out = render_workload(webservice, json!({"image": "i", "cpu": "0.1"}), &ctx()).unwrap();
        assert_eq!(
            container(&out)["resources"],
            json!({"limits": {"cpu": "0.1"}, "requests": {"cpu": "0.1"}})
        );
    }

    #[test]
    fn container_fields() {
        let props = json!({
            "image": "i",
            "imagePullPolicy": "Always",
            "imagePullSecrets": ["regcred"],
            "cmd": ["node", "server.js"],
            "args": ["--port", "80"],
            "env": [
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
            ],
            "hostAliases": [{"ip": "127.0.0.1", "hostnames": ["a.local"]}],
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 80, "scheme": "HTTPS"}}
        });
        let out = render_workload(webservice, props, &ctx()).unwrap();
        let c = container(&out);
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["command"], json!(["node", "server.js"]));
        assert_eq!(c["args"], json!(["--port", "80"]));
        assert_eq!(
            c["env"],
            json!([
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
            ])
        );
        assert_eq!(
            c["readinessProbe"],
            json!({
                "httpGet": {"path": "/ready", "port": 80, "scheme": "HTTPS"},
                "initialDelaySeconds": 0,
                "periodSeconds": 10,
                "timeoutSeconds": 1,
                "successThreshold": 1,
                "failureThreshold": 3
            })
        );
        let pod = &out.output["spec"]["template"]["spec"];
        assert_eq!(pod["imagePullSecrets"], json!([{"name": "regcred"}]));
        assert_eq!(
            pod["hostAliases"],
            json!([{"ip": "127.0.0.1", "hostnames": ["a.local"]}])
        );
    }

    #[test]
    fn labels_annotations_and_revision() {
        let props = json!({
            "image": "i",
            "labels": {"team": "payments"},
            "annotations": {"owner": "payments-team"},
            "addRevisionLabel": true
        });
        let out = render_workload(webservice, props, &ctx()).unwrap();
        let metadata = &out.output["spec"]["template"]["metadata"];
        assert_eq!(
            metadata["labels"],
            json!({
                "team": "payments",
                "app.oam.dev/name": "app",
                "app.oam.dev/component": "web",
                "app.oam.dev/revision": "app-v1"
            })
        );
        assert_eq!(metadata["annotations"], json!({"owner": "payments-team"}));
        assert!(out.output.get("metadata").is_none());
    }

    #[test]
    fn a_label_contradicting_the_oam_labels_conflicts() {
        let props = json!({"image": "i", "labels": {"app.oam.dev/component": "other"}});
        let err = render_workload(webservice, props, &ctx()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("labels.app.oam.dev/component: conflicting"),
            "{err}"
        );
        let props = json!({"image": "i", "labels": {"app.oam.dev/component": "web"}});
        assert!(render_workload(webservice, props, &ctx()).is_ok());
    }

    #[test]
    fn volume_mounts_in_kind_order_with_deduplicated_volumes() {
        let props = json!({
            "image": "i",
            "volumeMounts": {
                "hostPath": [{"name": "host", "mountPath": "/host", "path": "/var/run"}],
                "emptyDir": [
                    {"name": "cache", "mountPath": "/cache"},
                    {"name": "cache", "mountPath": "/cache2", "subPath": "x", "medium": "Memory"}
                ],
                "secret": [{"name": "s", "mountPath": "/s", "secretName": "sec", "items": [{"key": "k", "path": "p"}]}],
                "configMap": [{"name": "c", "mountPath": "/c", "cmName": "cm", "defaultMode": 256}],
                "pvc": [{"name": "data", "mountPath": "/data", "claimName": "data-pvc"}]
            },
            "volumes": [{"name": "ignored", "mountPath": "/ignored"}]
        });
        let out = render_workload(webservice, props, &ctx()).unwrap();
        assert_eq!(
            container(&out)["volumeMounts"],
            json!([
                {"mountPath": "/data", "name": "data"},
                {"mountPath": "/c", "name": "c"},
                {"mountPath": "/s", "name": "s"},
                {"mountPath": "/cache", "name": "cache"},
                {"mountPath": "/cache2", "subPath": "x", "name": "cache"},
                {"mountPath": "/host", "name": "host"}
            ])
        );
        assert_eq!(
            out.output["spec"]["template"]["spec"]["volumes"],
            json!([
                {"name": "data", "persistentVolumeClaim": {"claimName": "data-pvc"}},
                {"name": "c", "configMap": {"defaultMode": 256, "name": "cm"}},
                {"name": "s", "secret": {"defaultMode": 420, "secretName": "sec", "items": [{"key": "k", "path": "p", "mode": 511}]}},
                {"name": "cache", "emptyDir": {"medium": ""}},
                {"name": "host", "hostPath": {"path": "/var/run"}}
            ])
        );
    }

    #[test]
    fn deprecated_volumes() {
        let props = json!({
            "image": "i",
            "volumes": [
                {"name": "scratch", "mountPath": "/scratch"},
                {"name": "data", "mountPath": "/data", "type": "pvc", "claimName": "d"},
                {"name": "c", "mountPath": "/c", "type": "configMap", "cmName": "cm"},
                {"name": "s", "mountPath": "/s", "type": "secret", "secretName": "sec", "defaultMode": 256}
            ]
        });
        let out = render_workload(webservice, props, &ctx()).unwrap();
        assert_eq!(
            container(&out)["volumeMounts"],
            json!([
                {"mountPath": "/scratch", "name": "scratch"},
                {"mountPath": "/data", "name": "data"},
                {"mountPath": "/c", "name": "c"},
                {"mountPath": "/s", "name": "s"}
            ])
        );
        assert_eq!(
            out.output["spec"]["template"]["spec"]["volumes"],
            json!([
                {"name": "scratch", "emptyDir": {"medium": ""}},
                {"name": "data", "persistentVolumeClaim": {"claimName": "d"}},
                {"name": "c", "configMap": {"defaultMode": 420, "name": "cm"}},
                {"name": "s", "secret": {"defaultMode": 256, "secretName": "sec"}}
            ])
        );
    }

    #[test]
    fn a_pvc_volume_needs_a_claim() {
        let props =
            json!({"image": "i", "volumes": [{"name": "d", "mountPath": "/d", "type": "pvc"}]});
        let err = render_workload(webservice, props, &ctx()).unwrap_err();
        assert_eq!(
            err,
            Error::field("volumes[0].claimName", "missing field `claimName`")
        );
    }

    #[test]
    fn parameter_errors() {
        let err = render_workload(webservice, json!({}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("missing field `image`"), "{err}");
        let props = json!({"image": "i", "imagePullPolicy": "Sometimes"});
        let err = render_workload(webservice, props, &ctx()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("imagePullPolicy: unknown variant"),
            "{err}"
        );
        let props = json!({"image": "i", "ports": [{"port": 80, "protocol": "HTTP"}]});
        let err = render_workload(webservice, props, &ctx()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("ports[0].protocol: unknown variant"),
            "{err}"
        );
        let props = json!({"image": "i", "exposeType": "ExternalName"});
        let err = render_workload(webservice, props, &ctx()).unwrap_err();
        assert!(
            err.to_string().starts_with("exposeType: unknown variant"),
            "{err}"
        );
        let props = json!({"image": "i", "replicas": 3});
        let err = render_workload(webservice, props, &ctx()).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `replicas`"),
            "{err}"
        );
    }
}
