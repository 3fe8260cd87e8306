//! What a guardrail policy sees and returns.
//!
//! A policy runs once per application, after every component is rendered, on the final
//! object set. The platform configures it; app authors cannot switch it off. It returns
//! violations (deny or warn, each naming the object and field) and optional mutations,
//! which the host applies before the next policy runs.

use serde_json::Value;

use crate::{Context, Patch};

/// The final object set of an application, and where it renders.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyInput {
    /// The application's context (the component fields are empty).
    pub context: Context,
    /// Every object the application renders, in output order.
    pub objects: Vec<PolicyObject>,
}

/// One rendered object and its identity.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyObject {
    /// `<kind>/<namespace>/<name>` (`<kind>/<name>` when cluster-scoped); how violations
    /// and mutations name it.
    pub id: String,
    /// The object as it will be applied.
    pub object: Value,
}

/// Where a pod template's `spec` is, by kind (`spec.template.spec` for a Deployment).
const POD_SPEC_PATHS: &[(&str, &[&str])] = &[
    ("Pod", &["spec"]),
    ("Deployment", &["spec", "template", "spec"]),
    ("StatefulSet", &["spec", "template", "spec"]),
    ("DaemonSet", &["spec", "template", "spec"]),
    ("ReplicaSet", &["spec", "template", "spec"]),
    ("ReplicationController", &["spec", "template", "spec"]),
    ("Job", &["spec", "template", "spec"]),
    (
        "CronJob",
        &["spec", "jobTemplate", "spec", "template", "spec"],
    ),
];

impl PolicyObject {
    /// A policy object for unit tests, with the identity the host would give it.
    pub fn for_test(object: Value) -> PolicyObject {
        let kind = object["kind"].as_str().unwrap_or_default();
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let id = match object["metadata"]["namespace"].as_str() {
            Some(ns) => format!("{kind}/{ns}/{name}"),
            None => format!("{kind}/{name}"),
        };
        PolicyObject { id, object }
    }

    /// The object's `kind`.
    pub fn kind(&self) -> &str {
        self.object["kind"].as_str().unwrap_or_default()
    }

    /// The object's `metadata.name`.
    pub fn name(&self) -> &str {
        self.object["metadata"]["name"].as_str().unwrap_or_default()
    }

    /// The pod spec of a Pod or of a workload's pod template, with its dotted path.
    pub fn pod_spec(&self) -> Option<(String, &Value)> {
        let (_, path) = POD_SPEC_PATHS.iter().find(|(k, _)| *k == self.kind())?;
        let mut value = &self.object;
        for key in path.iter() {
            value = value.get(key)?;
        }
        Some((path.join("."), value))
    }

    /// Every container of the pod spec (init containers first), each with its dotted path
    /// (`spec.template.spec.containers[0]`). Empty for objects without a pod spec.
    /// [`container_label`] names one in a message.
    pub fn containers(&self) -> Vec<(String, &Value)> {
        let Some((path, spec)) = self.pod_spec() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for list in ["initContainers", "containers"] {
            if let Some(items) = spec[list].as_array() {
                for (i, container) in items.iter().enumerate() {
                    out.push((format!("{path}.{list}[{i}]"), container));
                }
            }
        }
        out
    }
}

/// How a message names the container at `path` (from [`PolicyObject::containers`]):
/// `container "api"`, `init container "setup"`, or `unnamed container`.
pub fn container_label(path: &str, container: &Value) -> String {
    let role = if path.contains(".initContainers[") {
        "init container"
    } else {
        "container"
    };
    match container["name"].as_str() {
        Some(name) => format!("{role} \"{name}\""),
        None => format!("unnamed {role}"),
    }
}

/// What a policy returns: violations and mutations.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicyOutput {
    pub(crate) violations: Vec<Violation>,
    pub(crate) mutations: Vec<(String, Patch)>,
}

/// One finding of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// True: the platform denies the application; false: a warning.
    pub deny: bool,
    /// The object's identity.
    pub object: String,
    /// Dotted path of the field at fault, when there is one.
    pub field: Option<String>,
    pub message: String,
}

impl PolicyOutput {
    /// No findings, no mutations.
    pub fn new() -> Self {
        Self::default()
    }

    /// Denies the application because of `object` (and `field`, a dotted path, if given).
    pub fn deny(
        self,
        object: &PolicyObject,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        self.violation(true, object, field, message.into())
    }

    /// Warns about `object` without failing the render.
    pub fn warn(
        self,
        object: &PolicyObject,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        self.violation(false, object, field, message.into())
    }

    fn violation(
        mut self,
        deny: bool,
        object: &PolicyObject,
        field: Option<&str>,
        message: String,
    ) -> Self {
        self.violations.push(Violation {
            deny,
            object: object.id.clone(),
            field: field.map(Into::into),
            message,
        });
        self
    }

    /// Patches `object` (Kiln's strategic merge or a JSON patch; see [`Patch`]). The host
    /// refuses a mutation that changes the object's kind, name or namespace.
    pub fn mutate(mut self, object: &PolicyObject, patch: Patch) -> Self {
        self.mutations.push((object.id.clone(), patch));
        self
    }

    /// The violations so far (for tests).
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// The mutations so far, by object identity (for tests).
    pub fn mutations(&self) -> &[(String, Patch)] {
        &self.mutations
    }
}
