//! `daemon`: daemonset services in Kubernetes (KubeVela's `daemon` component type). Renders a
//! DaemonSet and, when a port has `expose: true`, a Service (`webserviceExpose`, the key
//! KubeVela uses).

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;

use pod_spec as pod;

use pod::ports::{self, Protocol};
use pod::{
    COMPONENT_LABEL, EnvVar, HealthProbe, HostAlias, HostPathSource, HttpGetProbe, ImagePullPolicy,
    PodTemplate, Volume, VolumeMounts,
};

/// Parameters of `daemon`.
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
    /// Specify what kind of Service you want. options: "ClusterIP", "NodePort", "LoadBalancer", "ExternalName"
    #[serde(default)]
    pub expose_type: ExposeType,
    /// If addRevisionLabel is true, the revision label will be added to the underlying pods
    #[serde(default)]
    pub add_revision_label: bool,
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
    pub volume_mounts: Option<VolumeMounts<HostPathMount>>,
    /// Deprecated field, use volumeMounts instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    /// Instructions for assessing whether the container is alive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<HealthProbe<HttpGetProbe>>,
    /// Instructions for assessing whether the container is in a suitable state to serve traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<HealthProbe<HttpGetProbe>>,
    /// Specify the hostAliases to add
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_aliases: Option<Vec<HostAlias>>,
}

/// A port of the container.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Port {
    /// Number of port to expose on the pod's IP address
    pub port: i64,
    /// Name of the port
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Protocol for port. Must be UDP, TCP, or SCTP
    #[serde(default)]
    pub protocol: Protocol,
    /// Specify if the port should be exposed
    #[serde(default)]
    pub expose: bool,
}

/// The type of the Service exposing the ports.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExposeType {
    #[default]
    ClusterIP,
    NodePort,
    LoadBalancer,
    ExternalName,
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
    /// How mounts are propagated between the host and the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_propagation: Option<MountPropagation>,
    /// The path on the host
    pub path: String,
    /// Mount the volume read-only
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// How mounts are propagated.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
pub enum MountPropagation {
    None,
    HostToContainer,
    Bidirectional,
}

impl HostPathSource for HostPathMount {
    fn mount(&self) -> Value {
        let mut m = pod::mount(&self.name, &self.mount_path, self.sub_path.as_ref());
        if let Some(read_only) = self.read_only {
            m["readOnly"] = json!(read_only);
        }
        if let Some(propagation) = self.mount_propagation {
            m["mountPropagation"] = json!(propagation);
        }
        m
    }
    fn volume(&self) -> Value {
        json!({ "name": self.name, "hostPath": { "path": self.path } })
    }
}

/// KubeVela's generated port name for `daemon`: `port-<n>`, whatever the protocol.
fn port_name(port: i64) -> String {
    format!("port-{port}")
}

/// Renders the DaemonSet and, when some port has `expose: true`, the `webserviceExpose`
/// Service.
pub fn daemon(params: Params, ctx: &Context) -> Result<WorkloadOutput> {
    let name = &ctx.component_name;
    let mut pod = PodTemplate::new(ctx, &params)?;
    let ports = params.ports.as_ref().map(|ports| {
        let ports = ports.iter().map(|v| {
            json!({
                "containerPort": v.port,
                "protocol": v.protocol.as_str(),
                "name": v.name.clone().unwrap_or_else(|| port_name(v.port)),
            })
        });
        Value::from_iter(ports)
    });
    let ports = ports.or_else(|| params.port.map(|port| json!([{ "containerPort": port }])));
    let volumes = pod::mounts_and_volumes(params.volume_mounts.as_ref(), params.volumes.as_ref())?;
    let daemonset = json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "spec": {
            "selector": { "matchLabels": { COMPONENT_LABEL: name } },
            "template": pod.render(ports, volumes)
        }
    });

    let exposed: Vec<Value> = params
        .ports
        .iter()
        .flatten()
        .filter(|v| v.expose)
        .map(|v| {
            json!({
                "port": v.port,
                "targetPort": v.port,
                "name": v.name.clone().unwrap_or_else(|| port_name(v.port)),
            })
        })
        .collect();
    let mut out = WorkloadOutput::new(daemonset);
    if let Some(service) = ports::service(name, exposed, params.expose_type) {
        out = out.with_output("webserviceExpose", service);
    }
    Ok(pod.warn(out))
}

kiln_sdk::export_workload! {
    name: "daemon",
    description: "Describes daemonset services in Kubernetes.",
    workload_type: "daemonsets.apps",
    render: daemon,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_workload;

    fn ctx() -> Context {
        let mut ctx = Context::for_test("agent");
        ctx.app_name = "shop".into();
        ctx
    }

    fn container(out: &WorkloadOutput) -> &Value {
        &out.output["spec"]["template"]["spec"]["containers"][0]
    }

    #[test]
    fn renders_a_daemonset_selecting_its_component_with_no_service() {
        let out = render_workload(daemon, json!({"image": "log-agent:1.0"}), &ctx()).unwrap();
        assert!(out.outputs.is_empty());
        assert_eq!(
            out.output,
            json!({
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "spec": {
                    "selector": { "matchLabels": { "app.oam.dev/component": "agent" } },
                    "template": {
                        "metadata": { "labels": { "app.oam.dev/name": "shop", "app.oam.dev/component": "agent" } },
                        "spec": { "containers": [{ "name": "agent", "image": "log-agent:1.0" }] }
                    }
                }
            })
        );
    }

    #[test]
    fn ports_are_named_and_exposed_ones_become_a_service() {
        let props = json!({"image": "i", "ports": [
            {"port": 24224, "expose": true},
            {"port": 514, "protocol": "UDP", "name": "syslog", "expose": true},
            {"port": 53, "protocol": "UDP"},
            {"port": 9090, "name": "metrics"}
        ]});
        let out = render_workload(daemon, props, &ctx()).unwrap();
        assert_eq!(
            container(&out)["ports"],
            json!([
                {"containerPort": 24224, "protocol": "TCP", "name": "port-24224"},
                {"containerPort": 514, "protocol": "UDP", "name": "syslog"},
                {"containerPort": 53, "protocol": "UDP", "name": "port-53"},
                {"containerPort": 9090, "protocol": "TCP", "name": "metrics"}
            ])
        );
        assert_eq!(out.outputs.len(), 1);
        let (key, svc) = &out.outputs[0];
        assert_eq!(key, "webserviceExpose");
        assert_eq!(
            svc,
            &json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": { "name": "agent" },
                "spec": {
                    "selector": { "app.oam.dev/component": "agent" },
                    "type": "ClusterIP",
                    "ports": [
                        {"port": 24224, "targetPort": 24224, "name": "port-24224"},
                        {"port": 514, "targetPort": 514, "name": "syslog"}
                    ]
                }
            })
        );
        let props = json!({"image": "i", "exposeType": "ExternalName", "ports": [{"port": 1, "expose": true}]});
        let out = render_workload(daemon, props, &ctx()).unwrap();
        assert_eq!(out.outputs[0].1["spec"]["type"], "ExternalName");
    }

    #[test]
    fn port_and_ports() {
        let out = render_workload(daemon, json!({"image": "i", "port": 8080}), &ctx()).unwrap();
        assert_eq!(container(&out)["ports"], json!([{"containerPort": 8080}]));
        assert!(out.outputs.is_empty());
        let props = json!({"image": "i", "port": 8080, "ports": [{"port": 9090}]});
        let out = render_workload(daemon, props, &ctx()).unwrap();
        assert_eq!(container(&out)["ports"][0]["containerPort"], 9090);
    }

    #[test]
    fn fixture_node_exporter_host_paths() {
        let props = json!({
            "image": "prom/node-exporter",
            "imagePullPolicy": "IfNotPresent",
            "volumeMounts": {"hostPath": [
                {"mountPath": "/host/sys", "mountPropagation": "HostToContainer", "name": "sys", "path": "/sys", "readOnly": true},
                {"mountPath": "/host/root", "mountPropagation": "HostToContainer", "name": "root", "path": "/", "readOnly": true}
            ]}
        });
        let out = render_workload(daemon, props, &ctx()).unwrap();
        let c = container(&out);
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(
            c["volumeMounts"],
            json!([
                {"mountPath": "/host/sys", "name": "sys", "readOnly": true, "mountPropagation": "HostToContainer"},
                {"mountPath": "/host/root", "name": "root", "readOnly": true, "mountPropagation": "HostToContainer"}
            ])
        );
        assert_eq!(
            out.output["spec"]["template"]["spec"]["volumes"],
            json!([
                {"name": "sys", "hostPath": {"path": "/sys"}},
                {"name": "root", "hostPath": {"path": "/"}}
            ])
        );
    }

    #[test]
    fn volume_mounts_share_a_volume_by_name_once() {
        let props = json!({"image": "i", "volumeMounts": {
            "pvc": [{"name": "data", "mountPath": "/data", "claimName": "agent-data"}],
            "emptyDir": [{"name": "buffer", "mountPath": "/buffer"}],
            "hostPath": [
                {"name": "varlog", "mountPath": "/var/log", "path": "/var/log"},
                {"name": "varlog", "mountPath": "/host/log", "path": "/var/log"}
            ]
        }});
        let out = render_workload(daemon, props, &ctx()).unwrap();
        assert_eq!(
            container(&out)["volumeMounts"],
            json!([
                {"name": "data", "mountPath": "/data"},
                {"name": "buffer", "mountPath": "/buffer"},
                {"name": "varlog", "mountPath": "/var/log"},
                {"name": "varlog", "mountPath": "/host/log"}
            ])
        );
        assert_eq!(
            out.output["spec"]["template"]["spec"]["volumes"],
            json!([
                {"name": "data", "persistentVolumeClaim": {"claimName": "agent-data"}},
                {"name": "buffer", "emptyDir": {"medium": ""}},
                {"name": "varlog", "hostPath": {"path": "/var/log"}}
            ])
        );
    }

    #[test]
    fn probes_aliases_env_and_labels() {
        let props = json!({
            "image": "i",
            "cmd": ["/agent"],
            "env": [{"name": "LEVEL", "value": "info"}],
            "cpu": "100m",
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTPS"}},
            "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["collector.local"]}],
            "labels": {"team": "platform"},
            "addRevisionLabel": true
        });
        let out = render_workload(daemon, props, &ctx()).unwrap();
        let c = container(&out);
        assert_eq!(c["command"], json!(["/agent"]));
        assert_eq!(c["env"], json!([{"name": "LEVEL", "value": "info"}]));
        assert_eq!(
            c["resources"],
            json!({"limits": {"cpu": "100m"}, "requests": {"cpu": "100m"}})
        );
        assert_eq!(c["livenessProbe"]["httpGet"]["scheme"], "HTTPS");
        let template = &out.output["spec"]["template"];
        assert_eq!(
            template["spec"]["hostAliases"],
            json!([{"ip": "10.0.0.1", "hostnames": ["collector.local"]}])
        );
        assert_eq!(
            template["metadata"]["labels"]["app.oam.dev/revision"],
            "app-v1"
        );
        assert_eq!(template["metadata"]["labels"]["team"], "platform");
    }

    #[test]
    fn parameter_errors() {
        let err = render_workload(daemon, json!({}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("missing field `image`"), "{err}");
        let props = json!({"image": "i", "args": ["x"]});
        let err = render_workload(daemon, props, &ctx()).unwrap_err();
        assert!(err.to_string().contains("unknown field `args`"), "{err}");
        let props = json!({"image": "i", "ports": [{"port": 1, "containerPort": 2}]});
        let err = render_workload(daemon, props, &ctx()).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `containerPort`"),
            "{err}"
        );
    }
}
