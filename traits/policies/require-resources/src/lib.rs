//! `require-resources`: a guardrail policy that denies containers without resource
//! requests and limits. Every container and init container of every pod spec (Pod,
//! Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob)
//! must set `resources.requests` and `resources.limits` for each configured resource
//! (cpu and memory by default); a denial names each missing value. Objects without a pod
//! spec are not checked.

use kiln_sdk::container_label;
use kiln_sdk::prelude::*;

/// Parameters of `require-resources`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Require every container to request each resource (`resources.requests`)
    #[serde(default = "yes")]
    pub requests: bool,
    /// Require every container to limit each resource (`resources.limits`)
    #[serde(default = "yes")]
    pub limits: bool,
    /// The resources every container must request and limit, like `cpu`, `memory` or
    /// `ephemeral-storage`
    #[serde(default = "cpu_and_memory")]
    pub resources: Vec<String>,
}

fn yes() -> bool {
    true
}

fn cpu_and_memory() -> Vec<String> {
    vec!["cpu".into(), "memory".into()]
}

/// A section of `resources` to check: its key and the word for one of its values.
struct Section {
    key: &'static str,
    noun: &'static str,
}

const REQUESTS: Section = Section {
    key: "requests",
    noun: "request",
};
const LIMITS: Section = Section {
    key: "limits",
    noun: "limit",
};

impl Params {
    /// The sections to check, once the parameters are known to check something.
    fn sections(&self) -> Result<Vec<Section>> {
        if !self.requests && !self.limits {
            return Err(Error::msg(
                "requests and limits are both false: the policy would check nothing",
            ));
        }
        if self.resources.is_empty() {
            return Err(Error::field(
                "resources",
                "name at least one resource, like cpu or memory",
            ));
        }
        if let Some(i) = self.resources.iter().position(|r| r.is_empty()) {
            return Err(Error::field(
                format!("resources[{i}]"),
                "a resource name cannot be empty",
            ));
        }
        let mut sections = Vec::new();
        if self.requests {
            sections.push(REQUESTS);
        }
        if self.limits {
            sections.push(LIMITS);
        }
        Ok(sections)
    }
}

/// Denies every missing request and limit of every container, one denial per value.
pub fn require_resources(params: Params, input: &PolicyInput) -> Result<PolicyOutput> {
    let sections = params.sections()?;
    let mut out = PolicyOutput::new();
    for object in &input.objects {
        for (path, container) in object.containers() {
            for (field, message) in missing(&sections, &params.resources, &path, container) {
                out = out.deny(object, Some(&field), message);
            }
        }
    }
    Ok(out)
}

/// The missing values of one container, as `(field, message)`.
fn missing(
    sections: &[Section],
    resources: &[String],
    path: &str,
    container: &Value,
) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for section in sections {
        for resource in resources {
            if !is_set(&container["resources"][section.key][resource.as_str()]) {
                found.push((
                    format!("{path}.resources.{}.{resource}", section.key),
                    format!(
                        "{} sets no {resource} {}",
                        container_label(path, container),
                        section.noun
                    ),
                ));
            }
        }
    }
    found
}

/// True for a quantity: anything but absent, `null` or an empty string.
fn is_set(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        _ => true,
    }
}

kiln_sdk::export_policy! {
    name: "require-resources",
    description: "Every container must set resource requests and limits (cpu and memory by default).",
    check: require_resources,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::{check_policy, schema_of};

    fn full() -> Value {
        json!({ "cpu": "250m", "memory": "256Mi" })
    }

    fn container(name: &str, resources: Value) -> Value {
        json!({ "name": name, "image": "nginx:1.27", "resources": resources })
    }

    fn deployment(containers: Value) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": { "name": "api", "namespace": "prod" },
            "spec": { "template": { "spec": { "containers": containers } } }
        })
    }

    /// `(object, field, message)` of every denial.
    fn denials(params: Value, objects: Vec<Value>) -> Vec<(String, String, String)> {
        kiln_sdk::testing::denials(&check_policy(require_resources, params, objects).unwrap())
    }

    #[test]
    fn a_container_with_requests_and_limits_passes() {
        let resources = json!({ "requests": full(), "limits": full() });
        let objects = vec![deployment(json!([container("api", resources)]))];
        assert!(denials(json!({}), objects).is_empty());
    }

    #[test]
    fn every_missing_value_is_one_denial() {
        let objects = vec![deployment(json!([container("api", json!({}))]))];
        let path = "spec.template.spec.containers[0].resources";
        let expected = [
            ("requests.cpu", "cpu request"),
            ("requests.memory", "memory request"),
            ("limits.cpu", "cpu limit"),
            ("limits.memory", "memory limit"),
        ]
        .map(|(field, what)| {
            (
                "Deployment/prod/api".to_string(),
                format!("{path}.{field}"),
                format!("container \"api\" sets no {what}"),
            )
        });
        assert_eq!(denials(json!({}), objects), expected);
    }

    #[test]
    fn a_missing_limit_alone_is_named() {
        let resources = json!({ "requests": full(), "limits": { "cpu": "1" } });
        let objects = vec![deployment(json!([container("api", resources)]))];
        assert_eq!(
            denials(json!({}), objects),
            [(
                "Deployment/prod/api".to_string(),
                "spec.template.spec.containers[0].resources.limits.memory".to_string(),
                "container \"api\" sets no memory limit".to_string(),
            )]
        );
    }

    #[test]
    fn null_and_empty_values_count_as_missing() {
        let resources = json!({ "requests": { "cpu": null, "memory": "" }, "limits": full() });
        let objects = vec![deployment(json!([container("api", resources)]))];
        let fields: Vec<_> = denials(json!({}), objects)
            .into_iter()
            .map(|d| d.1)
            .collect();
        assert_eq!(
            fields,
            [
                "spec.template.spec.containers[0].resources.requests.cpu",
                "spec.template.spec.containers[0].resources.requests.memory",
            ]
        );
    }

    #[test]
    fn init_containers_are_checked_and_named_as_such() {
        let mut deployment = deployment(json!([container(
            "api",
            json!({ "requests": full(), "limits": full() })
        )]));
        deployment["spec"]["template"]["spec"]["initContainers"] =
            json!([container("setup", json!({ "requests": full() }))]);
        let found = denials(json!({}), vec![deployment]);
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0].1,
            "spec.template.spec.initContainers[0].resources.limits.cpu"
        );
        assert_eq!(found[0].2, "init container \"setup\" sets no cpu limit");
    }

    #[test]
    fn every_container_is_checked_with_its_index() {
        let good = container("api", json!({ "requests": full(), "limits": full() }));
        let bad = container(
            "log",
            json!({ "requests": full(), "limits": { "cpu": "1" } }),
        );
        let found = denials(json!({}), vec![deployment(json!([good, bad]))]);
        assert_eq!(
            found[0].1,
            "spec.template.spec.containers[1].resources.limits.memory"
        );
        assert_eq!(found[0].2, "container \"log\" sets no memory limit");
    }

    #[test]
    fn a_cronjob_is_checked_at_its_job_template() {
        let cronjob = json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": { "name": "nightly", "namespace": "prod" },
            "spec": { "jobTemplate": { "spec": { "template": { "spec": {
                "containers": [container("nightly", json!({ "requests": full() }))]
            } } } } }
        });
        let found = denials(json!({}), vec![cronjob]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].0, "CronJob/prod/nightly");
        assert_eq!(
            found[0].1,
            "spec.jobTemplate.spec.template.spec.containers[0].resources.limits.cpu"
        );
    }

    #[test]
    fn a_pod_is_checked_at_its_spec() {
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": { "name": "debug", "namespace": "prod" },
            "spec": { "containers": [container("debug", json!({ "limits": full() }))] }
        });
        let found = denials(json!({}), vec![pod]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].0, "Pod/prod/debug");
        assert_eq!(found[0].1, "spec.containers[0].resources.requests.cpu");
        assert_eq!(found[0].2, "container \"debug\" sets no cpu request");
    }

    #[test]
    fn other_workloads_are_checked_at_their_pod_template() {
        for kind in ["StatefulSet", "DaemonSet", "ReplicaSet", "Job"] {
            let mut object = deployment(json!([container("api", json!({}))]));
            object["kind"] = json!(kind);
            let found = denials(json!({}), vec![object]);
            assert_eq!(found.len(), 4, "{kind}");
            assert_eq!(found[0].0, format!("{kind}/prod/api"));
        }
    }

    #[test]
    fn objects_without_a_pod_spec_are_skipped() {
        let objects = vec![
            json!({ "apiVersion": "v1", "kind": "Service", "metadata": { "name": "api" },
                    "spec": { "template": { "spec": { "containers": [{ "name": "x" }] } } } }),
            json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "c" } }),
        ];
        assert!(denials(json!({}), objects).is_empty());
    }

    #[test]
    fn requests_only() {
        let objects = vec![deployment(json!([container(
            "api",
            json!({ "requests": full() })
        )]))];
        assert!(denials(json!({ "limits": false }), objects.clone()).is_empty());
        assert_eq!(denials(json!({ "requests": false }), objects).len(), 2);
    }

    #[test]
    fn the_resources_are_configurable() {
        let resources = json!({ "requests": full(), "limits": { "memory": "1Gi" } });
        let objects = vec![deployment(json!([container("api", resources)]))];
        assert!(denials(json!({ "resources": ["memory"] }), objects.clone()).is_empty());
        let found = denials(json!({ "resources": ["ephemeral-storage"] }), objects);
        assert_eq!(
            found[1].1,
            "spec.template.spec.containers[0].resources.limits.ephemeral-storage"
        );
        assert_eq!(
            found[1].2,
            "container \"api\" sets no ephemeral-storage limit"
        );
    }

    #[test]
    fn parameters_that_check_nothing_are_rejected() {
        let err = |params: Value| {
            check_policy(require_resources, params, vec![])
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(json!({ "resources": [] })),
            "resources: name at least one resource, like cpu or memory"
        );
        assert_eq!(
            err(json!({ "resources": ["cpu", ""] })),
            "resources[1]: a resource name cannot be empty"
        );
        assert!(err(json!({ "requests": false, "limits": false })).contains("check nothing"));
    }

    #[test]
    fn rejects_unknown_and_mistyped_parameters() {
        let err = check_policy(require_resources, json!({ "limit": false }), vec![]);
        assert!(
            err.unwrap_err()
                .to_string()
                .contains("unknown field `limit`")
        );
        let err = check_policy(require_resources, json!({ "limits": "yes" }), vec![]);
        assert!(
            err.unwrap_err()
                .to_string()
                .starts_with("limits: invalid type")
        );
    }

    #[test]
    fn the_schema_documents_the_defaults() {
        let schema = schema_of::<Params>();
        let props = &schema["properties"];
        assert_eq!(props["requests"]["default"], true);
        assert_eq!(props["limits"]["default"], true);
        assert_eq!(props["resources"]["default"], json!(["cpu", "memory"]));
        assert!(props["resources"]["description"].is_string());
    }
}
