//! `task`: jobs that run code or a script to completion (KubeVela's `task` component type).
//! Renders a `batch/v1` Job named `<app>-<component>`, whose `count` pods run in parallel
//! and must all complete.

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;

use pod_spec as pod;

use pod::{BasicHttpGetProbe, EnvVar, HealthProbe, ImagePullPolicy, PodTemplate, Volume};

/// Parameters of `task`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the labels in the workload
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Specify the annotations in the workload
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Specify number of tasks to run in parallel
    #[serde(default = "one")]
    pub count: i64,
    /// Which image would you like to use for your service
    pub image: String,
    /// Specify image pull policy for your service
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<ImagePullPolicy>,
    /// Specify image pull secrets for your service
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<String>>,
    /// Define the job restart policy, the value can only be Never or OnFailure. By default, it's Never.
    #[serde(default = "never")]
    pub restart: String,
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
    /// Declare volumes and volumeMounts
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    /// Instructions for assessing whether the container is alive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<HealthProbe<BasicHttpGetProbe>>,
    /// Instructions for assessing whether the container is in a suitable state to serve traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<HealthProbe<BasicHttpGetProbe>>,
}

fn one() -> i64 {
    1
}

fn never() -> String {
    "Never".into()
}

/// Renders the Job.
pub fn task(params: Params, ctx: &Context) -> Result<WorkloadOutput> {
    let mut pod = PodTemplate::new(ctx, &params)?;
    let volumes = params
        .volumes
        .as_deref()
        .map(pod::from_volumes)
        .transpose()?;
    Ok(WorkloadOutput::new(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": { "name": format!("{}-{}", ctx.app_name, ctx.component_name) },
        "spec": {
            "parallelism": params.count,
            "completions": params.count,
            "template": pod.render(None, volumes)
        }
    })))
}

kiln_sdk::export_workload! {
    name: "task",
    description: "Describes jobs that run code or a script to completion.",
    workload_type: "jobs.batch",
    render: task,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_workload;

    fn ctx() -> Context {
        let mut ctx = Context::for_test("migrate");
        ctx.app_name = "shop".into();
        ctx
    }

    fn pod_spec(out: &WorkloadOutput) -> &Value {
        &out.output["spec"]["template"]["spec"]
    }

    #[test]
    fn renders_a_job_named_for_the_app_and_component() {
        let out = render_workload(task, json!({"image": "shop-migrate:1.0"}), &ctx()).unwrap();
        assert!(out.outputs.is_empty());
        assert_eq!(
            out.output,
            json!({
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": { "name": "shop-migrate" },
                "spec": {
                    "parallelism": 1,
                    "completions": 1,
                    "template": {
                        "metadata": { "labels": { "app.oam.dev/name": "shop", "app.oam.dev/component": "migrate" } },
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{ "name": "migrate", "image": "shop-migrate:1.0" }]
                        }
                    }
                }
            })
        );
    }

    #[test]
    fn fixture_count_and_cmd() {
        let props = json!({"image": "busybox", "count": 10, "cmd": ["echo", "hello world"]});
        let out = render_workload(task, props, &ctx()).unwrap();
        assert_eq!(out.output["spec"]["parallelism"], 10);
        assert_eq!(out.output["spec"]["completions"], 10);
        assert_eq!(
            pod_spec(&out)["containers"][0]["command"],
            json!(["echo", "hello world"])
        );
    }

    #[test]
    fn restart_command_env_pull_policy_resources() {
        let props = json!({
            "image": "i",
            "restart": "OnFailure",
            "imagePullPolicy": "Always",
            "imagePullSecrets": ["registry"],
            "cmd": ["/migrate", "up"],
            "env": [{"name": "DB_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}}],
            "cpu": "250m",
            "memory": "128Mi"
        });
        let out = render_workload(task, props, &ctx()).unwrap();
        let spec = pod_spec(&out);
        assert_eq!(spec["restartPolicy"], "OnFailure");
        assert_eq!(spec["imagePullSecrets"], json!([{"name": "registry"}]));
        let c = &spec["containers"][0];
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(c["command"], json!(["/migrate", "up"]));
        assert_eq!(
            c["env"],
            json!([{"name": "DB_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}}])
        );
        assert_eq!(
            c["resources"],
            json!({"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"cpu": "250m", "memory": "128Mi"}})
        );
    }

    #[test]
    fn pod_labels_and_annotations() {
        let props = json!({"image": "i", "labels": {"team": "payments"}, "annotations": {"owner": "payments"}});
        let out = render_workload(task, props, &ctx()).unwrap();
        assert_eq!(
            out.output["spec"]["template"]["metadata"],
            json!({
                "labels": {"team": "payments", "app.oam.dev/name": "shop", "app.oam.dev/component": "migrate"},
                "annotations": {"owner": "payments"}
            })
        );
    }

    #[test]
    fn volumes_mount_each_type_defaulting_to_an_empty_dir() {
        let props = json!({
            "image": "i",
            "volumes": [
                {"name": "data", "mountPath": "/data", "type": "pvc", "claimName": "shop-data"},
                {"name": "conf", "mountPath": "/etc/shop", "type": "configMap", "cmName": "shop-conf"},
                {"name": "creds", "mountPath": "/etc/creds", "type": "secret", "secretName": "shop-creds"},
                {"name": "scratch", "mountPath": "/scratch"},
                {"name": "cache", "mountPath": "/cache", "type": "emptyDir", "medium": "Memory"}
            ]
        });
        let out = render_workload(task, props, &ctx()).unwrap();
        let spec = pod_spec(&out);
        assert_eq!(
            spec["containers"][0]["volumeMounts"],
            json!([
                {"name": "data", "mountPath": "/data"},
                {"name": "conf", "mountPath": "/etc/shop"},
                {"name": "creds", "mountPath": "/etc/creds"},
                {"name": "scratch", "mountPath": "/scratch"},
                {"name": "cache", "mountPath": "/cache"}
            ])
        );
        assert_eq!(
            spec["volumes"],
            json!([
                {"name": "data", "persistentVolumeClaim": {"claimName": "shop-data"}},
                {"name": "conf", "configMap": {"name": "shop-conf", "defaultMode": 420}},
                {"name": "creds", "secret": {"secretName": "shop-creds", "defaultMode": 420}},
                {"name": "scratch", "emptyDir": {"medium": ""}},
                {"name": "cache", "emptyDir": {"medium": "Memory"}}
            ])
        );
    }

    #[test]
    fn probes_pass_through_with_defaults() {
        let props = json!({
            "image": "i",
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "failureThreshold": 6},
            "readinessProbe": {"tcpSocket": {"port": 8080}}
        });
        let out = render_workload(task, props, &ctx()).unwrap();
        let c = &pod_spec(&out)["containers"][0];
        assert_eq!(
            c["livenessProbe"],
            json!({
                "httpGet": {"path": "/healthz", "port": 8080},
                "initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1,
                "successThreshold": 1, "failureThreshold": 6
            })
        );
        assert_eq!(c["readinessProbe"]["tcpSocket"], json!({"port": 8080}));
    }

    #[test]
    fn parameter_errors() {
        let err = render_workload(task, json!({}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("missing field `image`"), "{err}");
        let props =
            json!({"image": "i", "volumes": [{"name": "d", "mountPath": "/d", "type": "pvc"}]});
        let err = render_workload(task, props, &ctx()).unwrap_err();
        assert_eq!(
            err,
            Error::field("volumes[0].claimName", "missing field `claimName`")
        );
        let props = json!({"image": "i", "livenessProbe": {"httpGet": {"path": "/", "port": 1, "scheme": "HTTPS"}}});
        assert!(render_workload(task, props, &ctx()).is_err());
        let props = json!({"image": "i", "replicas": 2});
        let err = render_workload(task, props, &ctx()).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `replicas`"),
            "{err}"
        );
    }

    #[test]
    fn a_label_contradicting_the_oam_labels_conflicts() {
        let props = json!({"image": "i", "labels": {"app.oam.dev/name": "other"}});
        let err = render_workload(task, props, &ctx()).unwrap_err();
        assert!(
            err.to_string().starts_with("labels.app.oam.dev/name"),
            "{err}"
        );
    }
}
