//! `disallow-privileged`: a guardrail policy that denies privileged pods. No container or
//! init container of any pod spec (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
//! ReplicationController, Job, CronJob) may set `securityContext.privileged: true` or
//! `securityContext.allowPrivilegeEscalation: true`, and, unless `allowHostNamespaces` is
//! set, no pod spec may set `hostNetwork`, `hostPID` or `hostIPC` to true. Objects without
//! a pod spec are not checked.

use kiln_sdk::container_label;
use kiln_sdk::prelude::*;

/// Parameters of `disallow-privileged`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Allow pods to share the host's network, process and IPC namespaces (`hostNetwork`,
    /// `hostPID` and `hostIPC`)
    #[serde(default)]
    pub allow_host_namespaces: bool,
}

/// The container settings denied when true, each with why.
const CONTAINER_FLAGS: &[(&str, &str)] = &[
    (
        "privileged",
        "runs privileged, with full access to the host",
    ),
    (
        "allowPrivilegeEscalation",
        "allows privilege escalation (a process may gain more privileges than its parent)",
    ),
];

/// The pod spec settings denied when true (unless host namespaces are allowed), each with
/// the namespace it shares.
const HOST_NAMESPACES: &[(&str, &str)] = &[
    ("hostNetwork", "network"),
    ("hostPID", "process ID"),
    ("hostIPC", "IPC"),
];

/// Denies privileged containers, privilege escalation and, unless allowed, pods sharing
/// the host's namespaces.
pub fn disallow_privileged(params: Params, input: &PolicyInput) -> Result<PolicyOutput> {
    let mut out = PolicyOutput::new();
    for object in &input.objects {
        let mut found = Vec::new();
        if !params.allow_host_namespaces {
            found.extend(host_namespaces(object));
        }
        for (path, container) in object.containers() {
            found.extend(privileged(&path, container));
        }
        for (field, message) in found {
            out = out.deny(object, Some(&field), message);
        }
    }
    Ok(out)
}

/// The host namespaces the object's pod spec shares, as `(field, message)`.
fn host_namespaces(object: &PolicyObject) -> Vec<(String, String)> {
    let Some((path, spec)) = object.pod_spec() else {
        return Vec::new();
    };
    HOST_NAMESPACES
        .iter()
        .filter(|(key, _)| spec[key] == Value::Bool(true))
        .map(|(key, namespace)| {
            (
                format!("{path}.{key}"),
                format!("the pod shares the host's {namespace} namespace ({key}: true)"),
            )
        })
        .collect()
}

/// The privileged settings of the container at `path`, as `(field, message)`.
fn privileged(path: &str, container: &Value) -> Vec<(String, String)> {
    let context = &container["securityContext"];
    CONTAINER_FLAGS
        .iter()
        .filter(|(key, _)| context[key] == Value::Bool(true))
        .map(|(key, why)| {
            (
                format!("{path}.securityContext.{key}"),
                format!("{} {why}", container_label(path, container)),
            )
        })
        .collect()
}

kiln_sdk::export_policy! {
    name: "disallow-privileged",
    description: "Containers may not run privileged or escalate privileges; pods may not share the host's namespaces.",
    check: disallow_privileged,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::{check_policy, schema_of};

    fn deployment(pod_spec: Value) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": { "name": "api", "namespace": "prod" },
            "spec": { "template": { "spec": pod_spec } }
        })
    }

    fn with_context(context: Value) -> Value {
        json!({ "containers": [{ "name": "api", "image": "nginx:1.27", "securityContext": context }] })
    }

    /// `(object, field, message)` of every denial.
    fn denials(params: Value, objects: Vec<Value>) -> Vec<(String, String, String)> {
        kiln_sdk::testing::denials(&check_policy(disallow_privileged, params, objects).unwrap())
    }

    fn denial(object: &str, field: &str, message: &str) -> (String, String, String) {
        (object.into(), field.into(), message.into())
    }

    #[test]
    fn an_unprivileged_pod_passes() {
        let context = json!({ "privileged": false, "allowPrivilegeEscalation": false });
        let spec = with_context(context);
        let mut spec_with_host = spec.clone();
        spec_with_host["hostNetwork"] = json!(false);
        let objects = vec![deployment(spec), deployment(spec_with_host)];
        assert!(denials(json!({}), objects).is_empty());
    }

    #[test]
    fn a_privileged_container_is_denied() {
        let objects = vec![deployment(with_context(json!({ "privileged": true })))];
        assert_eq!(
            denials(json!({}), objects),
            [denial(
                "Deployment/prod/api",
                "spec.template.spec.containers[0].securityContext.privileged",
                "container \"api\" runs privileged, with full access to the host",
            )]
        );
    }

    #[test]
    fn privilege_escalation_is_denied() {
        let context = json!({ "allowPrivilegeEscalation": true });
        let objects = vec![deployment(with_context(context))];
        assert_eq!(
            denials(json!({}), objects),
            [denial(
                "Deployment/prod/api",
                "spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation",
                "container \"api\" allows privilege escalation (a process may gain more \
                 privileges than its parent)",
            )]
        );
    }

    #[test]
    fn host_namespaces_are_denied() {
        let mut spec = with_context(json!({}));
        spec["hostNetwork"] = json!(true);
        spec["hostPID"] = json!(true);
        spec["hostIPC"] = json!(true);
        let path = "spec.template.spec";
        assert_eq!(
            denials(json!({}), vec![deployment(spec)]),
            [
                denial(
                    "Deployment/prod/api",
                    &format!("{path}.hostNetwork"),
                    "the pod shares the host's network namespace (hostNetwork: true)",
                ),
                denial(
                    "Deployment/prod/api",
                    &format!("{path}.hostPID"),
                    "the pod shares the host's process ID namespace (hostPID: true)",
                ),
                denial(
                    "Deployment/prod/api",
                    &format!("{path}.hostIPC"),
                    "the pod shares the host's IPC namespace (hostIPC: true)",
                ),
            ]
        );
    }

    #[test]
    fn host_namespaces_can_be_allowed_but_privileges_cannot() {
        let mut spec = with_context(json!({ "privileged": true }));
        spec["hostNetwork"] = json!(true);
        let found = denials(
            json!({ "allowHostNamespaces": true }),
            vec![deployment(spec)],
        );
        assert_eq!(found.len(), 1);
        assert!(found[0].1.ends_with("securityContext.privileged"));
    }

    #[test]
    fn init_containers_are_checked() {
        let mut spec = with_context(json!({}));
        spec["initContainers"] = json!([{ "name": "setup", "image": "busybox:1",
                                          "securityContext": { "privileged": true } }]);
        let found = denials(json!({}), vec![deployment(spec)]);
        assert_eq!(
            found[0].1,
            "spec.template.spec.initContainers[0].securityContext.privileged"
        );
        assert!(
            found[0]
                .2
                .starts_with("init container \"setup\" runs privileged")
        );
    }

    #[test]
    fn a_cronjob_is_checked_at_its_job_template() {
        let mut spec = with_context(json!({ "privileged": true }));
        spec["hostPID"] = json!(true);
        let cronjob = json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": { "name": "nightly", "namespace": "prod" },
            "spec": { "jobTemplate": { "spec": { "template": { "spec": spec } } } }
        });
        let found = denials(json!({}), vec![cronjob]);
        let path = "spec.jobTemplate.spec.template.spec";
        assert_eq!(found[0].0, "CronJob/prod/nightly");
        assert_eq!(found[0].1, format!("{path}.hostPID"));
        assert_eq!(
            found[1].1,
            format!("{path}.containers[0].securityContext.privileged")
        );
    }

    #[test]
    fn a_pod_is_checked_at_its_spec() {
        let mut spec = with_context(json!({ "allowPrivilegeEscalation": true }));
        spec["hostNetwork"] = json!(true);
        let pod = json!({ "apiVersion": "v1", "kind": "Pod",
                          "metadata": { "name": "debug", "namespace": "prod" }, "spec": spec });
        let found = denials(json!({}), vec![pod]);
        assert_eq!(found[0].0, "Pod/prod/debug");
        assert_eq!(found[0].1, "spec.hostNetwork");
        assert_eq!(
            found[1].1,
            "spec.containers[0].securityContext.allowPrivilegeEscalation"
        );
    }

    #[test]
    fn other_workloads_are_checked_at_their_pod_template() {
        for kind in ["StatefulSet", "DaemonSet", "ReplicaSet", "Job"] {
            let mut object = deployment(with_context(json!({ "privileged": true })));
            object["kind"] = json!(kind);
            let found = denials(json!({}), vec![object]);
            assert_eq!(found.len(), 1, "{kind}");
            assert_eq!(found[0].0, format!("{kind}/prod/api"));
        }
    }

    #[test]
    fn objects_without_a_pod_spec_are_skipped() {
        let object = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "c" },
                             "spec": { "hostNetwork": true } });
        assert!(denials(json!({}), vec![object]).is_empty());
    }

    #[test]
    fn rejects_unknown_and_mistyped_parameters() {
        let err = check_policy(
            disallow_privileged,
            json!({ "allowHostNetwork": true }),
            vec![],
        );
        assert!(
            err.unwrap_err()
                .to_string()
                .contains("unknown field `allowHostNetwork`")
        );
        let err = check_policy(
            disallow_privileged,
            json!({ "allowHostNamespaces": 1 }),
            vec![],
        );
        assert!(
            err.unwrap_err()
                .to_string()
                .starts_with("allowHostNamespaces: invalid type")
        );
    }

    #[test]
    fn the_schema_documents_the_default() {
        let schema = schema_of::<Params>();
        let field = &schema["properties"]["allowHostNamespaces"];
        assert_eq!(field["default"], false);
        assert!(field["description"].is_string());
    }
}
