//! `statefulset`: long-running, scalable, containerized services used to manage stateful
//! applications, like databases (KubeVela's `statefulset` component type). Renders a
//! StatefulSet and, when a port has `expose: true`, a Service (`statefulsetsExpose`).

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;

use pod_spec as pod;

use pod::ports::{self, ExposeType, Port};
use pod::{
    COMPONENT_LABEL, EnvVar, HealthProbe, HostAlias, HostPathMount, HttpGetProbe, ImagePullPolicy,
    PodTemplate, Volume, VolumeMounts,
};

/// Parameters of `statefulset`.
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

/// Renders the StatefulSet and, when some port has `expose: true`, the
/// `statefulsetsExpose` Service.
pub fn statefulset(params: Params, ctx: &Context) -> Result<WorkloadOutput> {
    let name = &ctx.component_name;
    let mut pod = PodTemplate::new(ctx, &params)?;
    let ports = params.ports.as_deref();
    let volumes = pod::mounts_and_volumes(params.volume_mounts.as_ref(), params.volumes.as_ref())?;
    let statefulset = json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "spec": {
            // Required by apps/v1 (KubeVela leaves it out, which the API server rejects
            // before 1.32): the governing Service, named after the component like the one
            // rendered when a port is exposed.
            "serviceName": name,
            "selector": { "matchLabels": { COMPONENT_LABEL: name } },
            "template": pod.render(ports::container_ports(ports, params.port), volumes)
        }
    });
    let mut out = WorkloadOutput::new(statefulset);
    let exposed = ports::service_ports(ports, params.expose_type);
    if let Some(service) = ports::service(name, exposed, params.expose_type) {
        out = out.with_output("statefulsetsExpose", service);
    }
    Ok(pod.warn(out))
}

kiln_sdk::export_workload! {
    name: "statefulset",
    description: "Describes long-running, scalable, containerized services used to manage stateful application, like database.",
    workload_type: "statefulsets.apps",
    render: statefulset,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_workload;

    fn ctx() -> Context {
        let mut ctx = Context::for_test("db");
        ctx.app_name = "shop".into();
        ctx
    }

    fn container(out: &WorkloadOutput) -> &Value {
        &out.output["spec"]["template"]["spec"]["containers"][0]
    }

    #[test]
    fn renders_a_statefulset_selecting_its_component_with_no_service() {
        let out = render_workload(statefulset, json!({"image": "postgres:16"}), &ctx()).unwrap();
        assert!(out.outputs.is_empty());
        assert_eq!(
            out.output,
            json!({
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "spec": {
                    "serviceName": "db",
                    "selector": { "matchLabels": { "app.oam.dev/component": "db" } },
                    "template": {
                        "metadata": { "labels": { "app.oam.dev/name": "shop", "app.oam.dev/component": "db" } },
                        "spec": { "containers": [{ "name": "db", "image": "postgres:16" }] }
                    }
                }
            })
        );
    }

    #[test]
    fn fixture_postgres() {
        let props = json!({
            "cpu": "1",
            "exposeType": "ClusterIP",
            "image": "docker.io/library/postgres:16.4",
            "memory": "2Gi",
            "ports": [{"expose": true, "port": 5432, "protocol": "TCP"}],
            "env": [
                {"name": "POSTGRES_DB", "value": "mydb"},
                {"name": "POSTGRES_USER", "value": "postgres"},
                {"name": "POSTGRES_PASSWORD", "value": "kvsecretpwd123"}
            ]
        });
        let out = render_workload(statefulset, props, &ctx()).unwrap();
        let c = container(&out);
        assert_eq!(
            c["ports"],
            json!([{"containerPort": 5432, "protocol": "TCP", "name": "port-5432"}])
        );
        assert_eq!(
            c["resources"],
            json!({"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "1", "memory": "2Gi"}})
        );
        assert_eq!(
            c["env"][2],
            json!({"name": "POSTGRES_PASSWORD", "value": "kvsecretpwd123"})
        );
        assert_eq!(out.outputs.len(), 1);
        let (key, svc) = &out.outputs[0];
        assert_eq!(key, "statefulsetsExpose");
        assert_eq!(
            svc,
            &json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": { "name": "db" },
                "spec": {
                    "selector": { "app.oam.dev/component": "db" },
                    "ports": [{"port": 5432, "targetPort": 5432, "name": "port-5432", "protocol": "TCP"}],
                    "type": "ClusterIP"
                }
            })
        );
    }

    #[test]
    fn ports_are_named_and_exposed_ones_become_a_service() {
        let props = json!({"image": "postgres:16", "ports": [
            {"port": 5432, "expose": true},
            {"port": 80, "containerPort": 8080, "expose": true},
            {"port": 53, "protocol": "UDP", "expose": true},
            {"port": 9187, "name": "metrics"}
        ]});
        let out = render_workload(statefulset, props, &ctx()).unwrap();
        assert_eq!(
            container(&out)["ports"],
            json!([
                {"containerPort": 5432, "protocol": "TCP", "name": "port-5432"},
                {"containerPort": 8080, "protocol": "TCP", "name": "port-8080"},
                {"containerPort": 53, "protocol": "UDP", "name": "port-53-udp"},
                {"containerPort": 9187, "protocol": "TCP", "name": "metrics"}
            ])
        );
        assert_eq!(
            out.outputs[0].1["spec"]["ports"],
            json!([
                {"port": 5432, "targetPort": 5432, "name": "port-5432", "protocol": "TCP"},
                {"port": 80, "targetPort": 8080, "name": "port-8080", "protocol": "TCP"},
                {"port": 53, "targetPort": 53, "name": "port-53-udp", "protocol": "UDP"}
            ])
        );
    }

    #[test]
    fn port_and_node_port() {
        let out =
            render_workload(statefulset, json!({"image": "i", "port": 5432}), &ctx()).unwrap();
        assert_eq!(container(&out)["ports"], json!([{"containerPort": 5432}]));
        assert!(out.outputs.is_empty());
        let ports = json!([{"port": 5432, "nodePort": 30432, "expose": true}]);
        let out =
            render_workload(statefulset, json!({"image": "i", "ports": ports}), &ctx()).unwrap();
        assert!(
            out.outputs[0].1["spec"]["ports"][0]
                .get("nodePort")
                .is_none()
        );
        let props = json!({"image": "i", "ports": ports, "exposeType": "NodePort"});
        let out = render_workload(statefulset, props, &ctx()).unwrap();
        assert_eq!(out.outputs[0].1["spec"]["ports"][0]["nodePort"], 30432);
        assert_eq!(out.outputs[0].1["spec"]["type"], "NodePort");
    }

    #[test]
    fn command_args_probes_aliases_labels() {
        let props = json!({
            "image": "postgres:16",
            "imagePullPolicy": "Always",
            "imagePullSecrets": ["registry"],
            "cmd": ["postgres"],
            "args": ["-c", "max_connections=200"],
            "livenessProbe": {"tcpSocket": {"port": 5432}},
            "readinessProbe": {"exec": {"command": ["pg_isready"]}},
            "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["primary.local"]}],
            "labels": {"tier": "data"},
            "annotations": {"owner": "dba"},
            "addRevisionLabel": true
        });
        let out = render_workload(statefulset, props, &ctx()).unwrap();
        let c = container(&out);
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["command"], json!(["postgres"]));
        assert_eq!(c["args"], json!(["-c", "max_connections=200"]));
        assert_eq!(c["livenessProbe"]["tcpSocket"], json!({"port": 5432}));
        assert_eq!(
            c["readinessProbe"]["exec"],
            json!({"command": ["pg_isready"]})
        );
        let template = &out.output["spec"]["template"];
        assert_eq!(
            template["spec"]["imagePullSecrets"],
            json!([{"name": "registry"}])
        );
        assert_eq!(
            template["spec"]["hostAliases"],
            json!([{"ip": "10.0.0.1", "hostnames": ["primary.local"]}])
        );
        assert_eq!(
            template["metadata"],
            json!({
                "labels": {"tier": "data", "app.oam.dev/name": "shop", "app.oam.dev/component": "db", "app.oam.dev/revision": "app-v1"},
                "annotations": {"owner": "dba"}
            })
        );
    }

    #[test]
    fn volume_mounts_each_kind_with_a_sub_path() {
        let props = json!({"image": "postgres:16", "volumeMounts": {
            "pvc": [{"name": "data", "mountPath": "/data", "subPath": "pg", "claimName": "db-data"}],
            "configMap": [{"name": "conf", "mountPath": "/etc/postgresql", "cmName": "db-conf", "items": [{"key": "pg.conf", "path": "postgresql.conf"}]}],
            "secret": [{"name": "creds", "mountPath": "/etc/creds", "secretName": "db-creds", "defaultMode": 256}],
            "emptyDir": [
                {"name": "shm", "mountPath": "/dev/shm", "medium": "Memory"},
                {"name": "shm", "mountPath": "/tmp/shm", "subPath": "tmp"}
            ],
            "hostPath": [{"name": "logs", "mountPath": "/logs", "path": "/var/log/db"}]
        }});
        let out = render_workload(statefulset, props, &ctx()).unwrap();
        assert_eq!(
            container(&out)["volumeMounts"],
            json!([
                {"name": "data", "mountPath": "/data", "subPath": "pg"},
                {"name": "conf", "mountPath": "/etc/postgresql"},
                {"name": "creds", "mountPath": "/etc/creds"},
                {"name": "shm", "mountPath": "/dev/shm"},
                {"name": "shm", "mountPath": "/tmp/shm", "subPath": "tmp"},
                {"name": "logs", "mountPath": "/logs"}
            ])
        );
        assert_eq!(
            out.output["spec"]["template"]["spec"]["volumes"],
            json!([
                {"name": "data", "persistentVolumeClaim": {"claimName": "db-data"}},
                {"name": "conf", "configMap": {"name": "db-conf", "defaultMode": 420, "items": [{"key": "pg.conf", "path": "postgresql.conf", "mode": 511}]}},
                {"name": "creds", "secret": {"secretName": "db-creds", "defaultMode": 256}},
                {"name": "shm", "emptyDir": {"medium": "Memory"}},
                {"name": "logs", "hostPath": {"path": "/var/log/db"}}
            ])
        );
    }

    #[test]
    fn deprecated_volumes() {
        let props = json!({"image": "i", "volumes": [{"name": "data", "mountPath": "/data", "type": "pvc", "claimName": "db-data"}]});
        let out = render_workload(statefulset, props, &ctx()).unwrap();
        assert_eq!(
            container(&out)["volumeMounts"],
            json!([{"name": "data", "mountPath": "/data"}])
        );
        assert_eq!(
            out.output["spec"]["template"]["spec"]["volumes"],
            json!([{"name": "data", "persistentVolumeClaim": {"claimName": "db-data"}}])
        );
    }

    #[test]
    fn parameter_errors() {
        let err = render_workload(statefulset, json!({}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("missing field `image`"), "{err}");
        let props = json!({"image": "i", "exposeType": "ExternalName"});
        let err = render_workload(statefulset, props, &ctx()).unwrap_err();
        assert!(
            err.to_string().starts_with("exposeType: unknown variant"),
            "{err}"
        );
        let props = json!({"image": "i", "limit": {"cpu": "1"}});
        let err = render_workload(statefulset, props, &ctx()).unwrap_err();
        assert!(err.to_string().contains("unknown field `limit`"), "{err}");
    }
}
