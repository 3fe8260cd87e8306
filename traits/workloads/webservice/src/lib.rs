//! `webservice`: a long-running, scalable, containerized service with a stable network
//! endpoint (KubeVela's `webservice` component type). Renders a Deployment and, when a port
//! has `expose: true`, a Service (`webserviceExpose`).

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;
use pod::ports::{self, ExposeType, Port};
use pod::{
    COMPONENT_LABEL, ConfigMapKeySelector, HealthProbe, HostAlias, HostPathMount, HttpGetProbe,
    ImagePullPolicy, PodTemplate, SecretKeySelector, Volume, VolumeMounts,
};
use pod_spec as pod;

/// An environment variable, with `webservice`'s key selectors.
pub type EnvVar = pod::EnvVar<SecretKeySelector, ConfigMapKeySelector>;

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

/// Renders the Deployment and, when some port has `expose: true`, the `webserviceExpose`
/// Service.
pub fn webservice(params: Params, ctx: &Context) -> Result<WorkloadOutput> {
    let name = &ctx.component_name;
    let mut pod = PodTemplate::new(ctx, &params)?;
    let ports = params.ports.as_deref();
    let volumes = pod::mounts_and_volumes(params.volume_mounts.as_ref(), params.volumes.as_ref())?;
    let deployment = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "spec": {
            "selector": { "matchLabels": { COMPONENT_LABEL: name } },
            "template": pod.render(ports::container_ports(ports, params.port), volumes)
        }
    });
    let mut out = WorkloadOutput::new(deployment);
    let exposed = ports::service_ports(ports, params.expose_type);
    if let Some(service) = ports::service(name, exposed, params.expose_type) {
        out = out.with_output("webserviceExpose", service);
    }
    Ok(pod.warn(out))
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
