//! `cron-task`: cron jobs that run code or a script to completion (KubeVela's `cron-task`
//! component type). Renders a CronJob: `batch/v1` on Kubernetes 1.25 and later,
//! `batch/v1beta1` before.

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;

use pod_spec as pod;

use pod::{
    BasicHttpGetProbe, EnvVar, HealthProbe, HostAlias, HostPathMount, ImagePullPolicy, PodTemplate,
    Volume, VolumeMounts,
};

/// Parameters of `cron-task`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the labels in the workload
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Specify the annotations in the workload
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Specify the schedule in Cron format, see https://en.wikipedia.org/wiki/Cron
    pub schedule: String,
    /// Specify deadline in seconds for starting the job if it misses scheduled
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_deadline_seconds: Option<i64>,
    /// suspend subsequent executions
    #[serde(default)]
    pub suspend: bool,
    /// Specifies how to treat concurrent executions of a Job
    #[serde(default)]
    pub concurrency_policy: ConcurrencyPolicy,
    /// The number of successful finished jobs to retain
    #[serde(default = "three")]
    pub successful_jobs_history_limit: i64,
    /// The number of failed finished jobs to retain
    #[serde(default = "one")]
    pub failed_jobs_history_limit: i64,
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
    /// Mount volumes into the container, by volume kind
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<VolumeMounts<HostPathMount>>,
    /// Deprecated field, use volumeMounts instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    /// An optional list of hosts and IPs that will be injected into the pod's hosts file
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_aliases: Option<Vec<HostAlias>>,
    /// Limits the lifetime of a Job that has finished
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i64>,
    /// The duration in seconds relative to the startTime that the job may be continuously active before the system tries to terminate it
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    /// The number of retries before marking this job failed
    #[serde(default = "six")]
    pub backoff_limit: i64,
    /// Instructions for assessing whether the container is alive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<HealthProbe<BasicHttpGetProbe>>,
    /// Instructions for assessing whether the container is in a suitable state to serve traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<HealthProbe<BasicHttpGetProbe>>,
}

/// How to treat concurrent executions of a Job.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConcurrencyPolicy {
    #[default]
    Allow,
    Forbid,
    Replace,
}

fn one() -> i64 {
    1
}
fn three() -> i64 {
    3
}
fn six() -> i64 {
    6
}
fn never() -> String {
    "Never".into()
}

/// Renders the CronJob.
pub fn cron_task(params: Params, ctx: &Context) -> Result<WorkloadOutput> {
    let mut pod = PodTemplate::new(ctx, &params)?;
    let volumes = pod::mounts_and_volumes(params.volume_mounts.as_ref(), params.volumes.as_ref())?;

    let mut job_spec = Map::new();
    job_spec.insert("parallelism".into(), json!(params.count));
    job_spec.insert("completions".into(), json!(params.count));
    if let Some(ttl) = params.ttl_seconds_after_finished {
        job_spec.insert("ttlSecondsAfterFinished".into(), json!(ttl));
    }
    if let Some(deadline) = params.active_deadline_seconds {
        job_spec.insert("activeDeadlineSeconds".into(), json!(deadline));
    }
    job_spec.insert("backoffLimit".into(), json!(params.backoff_limit));
    job_spec.insert("template".into(), pod.render(None, volumes));

    let mut spec = Map::new();
    spec.insert("schedule".into(), json!(params.schedule));
    spec.insert("concurrencyPolicy".into(), json!(params.concurrency_policy));
    spec.insert("suspend".into(), json!(params.suspend));
    spec.insert(
        "successfulJobsHistoryLimit".into(),
        json!(params.successful_jobs_history_limit),
    );
    spec.insert(
        "failedJobsHistoryLimit".into(),
        json!(params.failed_jobs_history_limit),
    );
    if let Some(deadline) = params.starting_deadline_seconds {
        spec.insert("startingDeadlineSeconds".into(), json!(deadline));
    }
    spec.insert(
        "jobTemplate".into(),
        json!({ "metadata": pod.metadata(), "spec": job_spec }),
    );

    let api_version = if ctx.supports("batch/v1", (1, 25)) {
        "batch/v1"
    } else {
        "batch/v1beta1"
    };
    Ok(WorkloadOutput::new(json!({
        "apiVersion": api_version,
        "kind": "CronJob",
        "spec": spec
    })))
}

kiln_sdk::export_workload! {
    name: "cron-task",
    description: "Describes cron jobs that run code or a script to completion.",
    workload_type: "cronjobs.batch",
    render: cron_task,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_workload;

    fn ctx() -> Context {
        let mut ctx = Context::for_test("report");
        ctx.app_name = "shop".into();
        ctx
    }

    fn base() -> Value {
        json!({"image": "shop-report:1.0", "schedule": "0 2 * * *"})
    }

    fn with(extra: Value) -> Value {
        let mut props = base();
        for (k, v) in extra.as_object().unwrap() {
            props[k] = v.clone();
        }
        props
    }

    fn pod_spec(out: &WorkloadOutput) -> &Value {
        &out.output["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    }

    #[test]
    fn renders_a_cron_job_with_the_default_policies() {
        let out = render_workload(cron_task, base(), &ctx()).unwrap();
        assert!(out.outputs.is_empty());
        let labels = json!({"app.oam.dev/name": "shop", "app.oam.dev/component": "report"});
        assert_eq!(
            out.output,
            json!({
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "spec": {
                    "schedule": "0 2 * * *",
                    "concurrencyPolicy": "Allow",
                    "suspend": false,
                    "successfulJobsHistoryLimit": 3,
                    "failedJobsHistoryLimit": 1,
                    "jobTemplate": {
                        "metadata": { "labels": labels },
                        "spec": {
                            "parallelism": 1,
                            "completions": 1,
                            "backoffLimit": 6,
                            "template": {
                                "metadata": { "labels": labels },
                                "spec": {
                                    "restartPolicy": "Never",
                                    "containers": [{ "name": "report", "image": "shop-report:1.0" }]
                                }
                            }
                        }
                    }
                }
            })
        );
    }

    #[test]
    fn older_clusters_get_v1beta1() {
        let mut ctx = ctx();
        ctx.cluster_version.minor = 24;
        let out = render_workload(cron_task, base(), &ctx).unwrap();
        assert_eq!(out.output["apiVersion"], "batch/v1beta1");
    }

    #[test]
    fn fixture_perl() {
        let props = json!({
            "image": "perl",
            "count": 10,
            "cmd": ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"],
            "schedule": "*/1 * * * *"
        });
        let out = render_workload(cron_task, props, &ctx()).unwrap();
        assert_eq!(out.output["spec"]["schedule"], "*/1 * * * *");
        assert_eq!(out.output["spec"]["jobTemplate"]["spec"]["parallelism"], 10);
        assert_eq!(
            pod_spec(&out)["containers"][0]["command"],
            json!(["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"])
        );
    }

    #[test]
    fn scheduling_job_and_pod_settings_pass_through() {
        let props = with(json!({
            "concurrencyPolicy": "Forbid",
            "suspend": true,
            "startingDeadlineSeconds": 120,
            "successfulJobsHistoryLimit": 5,
            "failedJobsHistoryLimit": 2,
            "count": 2,
            "ttlSecondsAfterFinished": 3600,
            "activeDeadlineSeconds": 600,
            "backoffLimit": 1,
            "restart": "OnFailure",
            "imagePullSecrets": ["registry"],
            "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["smtp.local"]}],
            "labels": {"team": "finance"},
            "annotations": {"owner": "finance"}
        }));
        let out = render_workload(cron_task, props, &ctx()).unwrap();
        let spec = &out.output["spec"];
        assert_eq!(spec["concurrencyPolicy"], "Forbid");
        assert_eq!(spec["suspend"], true);
        assert_eq!(spec["startingDeadlineSeconds"], 120);
        assert_eq!(spec["successfulJobsHistoryLimit"], 5);
        assert_eq!(spec["failedJobsHistoryLimit"], 2);
        let job = &spec["jobTemplate"];
        assert_eq!(job["metadata"]["annotations"], json!({"owner": "finance"}));
        assert_eq!(job["metadata"]["labels"]["team"], "finance");
        assert_eq!(job["spec"]["completions"], 2);
        assert_eq!(job["spec"]["ttlSecondsAfterFinished"], 3600);
        assert_eq!(job["spec"]["activeDeadlineSeconds"], 600);
        assert_eq!(job["spec"]["backoffLimit"], 1);
        assert_eq!(
            job["spec"]["template"]["metadata"]["labels"]["team"],
            "finance"
        );
        let pod = pod_spec(&out);
        assert_eq!(pod["restartPolicy"], "OnFailure");
        assert_eq!(pod["imagePullSecrets"], json!([{"name": "registry"}]));
        assert_eq!(
            pod["hostAliases"],
            json!([{"ip": "10.0.0.1", "hostnames": ["smtp.local"]}])
        );
    }

    #[test]
    fn volume_mounts_each_kind_a_volume_shared_by_name_once() {
        let props = with(json!({"volumeMounts": {
            "pvc": [{"name": "data", "mountPath": "/data", "subPath": "reports", "claimName": "shop-data"}],
            "configMap": [{"name": "conf", "mountPath": "/etc/report", "cmName": "report-conf"}],
            "secret": [{"name": "creds", "mountPath": "/etc/creds", "secretName": "report-creds"}],
            "emptyDir": [
                {"name": "tmp", "mountPath": "/tmp"},
                {"name": "tmp", "mountPath": "/var/tmp", "subPath": "var"}
            ],
            "hostPath": [{"name": "logs", "mountPath": "/logs", "path": "/var/log/report"}]
        }, "volumes": [{"name": "ignored", "mountPath": "/x"}]}));
        let out = render_workload(cron_task, props, &ctx()).unwrap();
        let pod = pod_spec(&out);
        assert_eq!(
            pod["containers"][0]["volumeMounts"],
            json!([
                {"name": "data", "mountPath": "/data", "subPath": "reports"},
                {"name": "conf", "mountPath": "/etc/report"},
                {"name": "creds", "mountPath": "/etc/creds"},
                {"name": "tmp", "mountPath": "/tmp"},
                {"name": "tmp", "mountPath": "/var/tmp", "subPath": "var"},
                {"name": "logs", "mountPath": "/logs"}
            ])
        );
        assert_eq!(
            pod["volumes"],
            json!([
                {"name": "data", "persistentVolumeClaim": {"claimName": "shop-data"}},
                {"name": "conf", "configMap": {"name": "report-conf", "defaultMode": 420}},
                {"name": "creds", "secret": {"secretName": "report-creds", "defaultMode": 420}},
                {"name": "tmp", "emptyDir": {"medium": ""}},
                {"name": "logs", "hostPath": {"path": "/var/log/report"}}
            ])
        );
    }

    #[test]
    fn deprecated_volumes_and_probes() {
        let props = with(json!({
            "volumes": [{"name": "creds", "mountPath": "/etc/creds", "type": "secret", "secretName": "report-creds"}],
            "livenessProbe": {"exec": {"command": ["cat", "/alive"]}}
        }));
        let out = render_workload(cron_task, props, &ctx()).unwrap();
        let pod = pod_spec(&out);
        assert_eq!(
            pod["volumes"],
            json!([{"name": "creds", "secret": {"secretName": "report-creds", "defaultMode": 420}}])
        );
        assert_eq!(
            pod["containers"][0]["livenessProbe"]["exec"],
            json!({"command": ["cat", "/alive"]})
        );
    }

    #[test]
    fn parameter_errors() {
        let err = render_workload(cron_task, json!({"image": "i"}), &ctx()).unwrap_err();
        assert!(
            err.to_string().contains("missing field `schedule`"),
            "{err}"
        );
        let err = render_workload(cron_task, json!({"schedule": "* * * * *"}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("missing field `image`"), "{err}");
        let err = render_workload(
            cron_task,
            with(json!({"concurrencyPolicy": "Sometimes"})),
            &ctx(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("concurrencyPolicy: unknown variant"),
            "{err}"
        );
    }
}
