//! What a definition knows about where it renders.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::ops::Deref;

use serde_json::Value;

/// The Kubernetes version the output is rendered for (KubeVela's `context.clusterVersion`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterVersion {
    pub major: u32,
    pub minor: u32,
    /// E.g. `v1.31.0`.
    pub git_version: String,
}

impl ClusterVersion {
    /// True when the cluster is at least `major.minor`.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

/// The render context of a component (KubeVela's `context`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The application's name (`context.appName`).
    pub app_name: String,
    /// The namespace objects land in (`context.namespace`).
    pub namespace: String,
    /// The component's name (`context.name`).
    pub component_name: String,
    /// The component's type, e.g. `webservice` (`context.componentType`).
    pub component_type: String,
    /// The application revision, e.g. `shop-v1` (`context.appRevision`).
    pub app_revision: String,
    pub cluster_version: ClusterVersion,
    /// The API group/versions the cluster serves (e.g. `networking.k8s.io/v1`); empty when
    /// unknown. Prefer [`Context::supports`] to reading it.
    pub api_versions: Vec<String>,
    /// The Application's labels (`context.appLabels`).
    pub app_labels: BTreeMap<String, String>,
    /// The Application's annotations (`context.appAnnotations`).
    pub app_annotations: BTreeMap<String, String>,
}

impl Context {
    /// A context for unit tests: app `app`, component `component` of type `webservice`,
    /// namespace `default`, Kubernetes 1.31.
    pub fn for_test(component: &str) -> Self {
        Context {
            app_name: "app".into(),
            namespace: "default".into(),
            component_name: component.into(),
            component_type: "webservice".into(),
            app_revision: "app-v1".into(),
            cluster_version: ClusterVersion {
                major: 1,
                minor: 31,
                git_version: "v1.31.0".into(),
            },
            api_versions: Vec::new(),
            app_labels: BTreeMap::new(),
            app_annotations: BTreeMap::new(),
        }
    }

    /// True when the cluster serves `api_version` (e.g. `networking.k8s.io/v1`): by the list
    /// of served APIs when the host knows it, else by the cluster version being at least
    /// `since` (the release that introduced it).
    ///
    /// ```
    /// let mut ctx = kiln_sdk::Context::for_test("web");
    /// assert!(ctx.supports("autoscaling/v2", (1, 23)));
    /// ctx.api_versions = vec!["autoscaling/v1".into()];
    /// assert!(!ctx.supports("autoscaling/v2", (1, 23)));
    /// ```
    pub fn supports(&self, api_version: &str, since: (u32, u32)) -> bool {
        if self.api_versions.is_empty() {
            self.cluster_version.at_least(since.0, since.1)
        } else {
            self.api_versions.iter().any(|v| v == api_version)
        }
    }
}

/// What a trait sees: the component's [`Context`] (through `Deref`), the workload as
/// patched by the traits before it (`context.output`) and the auxiliary objects so far
/// (`context.outputs`).
#[derive(Debug, Clone, PartialEq)]
pub struct TraitContext {
    pub context: Context,
    /// The workload object rendered so far.
    pub workload: LazyJson,
    /// Auxiliary objects rendered so far, by name, in order.
    pub outputs: Vec<(String, LazyJson)>,
}

impl TraitContext {
    /// A trait context for unit tests around `workload` (see [`Context::for_test`]; the
    /// component is named `component`).
    pub fn for_test(workload: Value) -> Self {
        TraitContext {
            context: Context::for_test("component"),
            workload: workload.into(),
            outputs: Vec::new(),
        }
    }

    /// The auxiliary object named `name`, if one was rendered.
    pub fn output(&self, name: &str) -> Option<&Value> {
        self.outputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| &**v)
    }
}

/// A JSON value the host sent as text, parsed the first time it is read.
///
/// A trait is sent the workload and every output rendered before it, but most traits only
/// patch and never read them; parsing them on every call was most of such a trait's time.
/// Reads go through `Deref<Target = Value>`, so `ctx.workload["spec"]`,
/// `ctx.workload.pointer("/spec/template")` and `&ctx.workload` where a `&Value` is
/// expected work as on a [`Value`].
///
/// ```
/// use kiln_sdk::LazyJson;
/// use serde_json::json;
///
/// let workload = LazyJson::from_text(r#"{"kind": "Deployment"}"#.to_string());
/// assert_eq!(workload["kind"], "Deployment");
/// assert_eq!(LazyJson::from(json!({"kind": "Job"}))["kind"], "Job");
/// ```
#[derive(Clone)]
pub struct LazyJson {
    text: String,
    value: OnceCell<Value>,
}

impl LazyJson {
    /// `text`, to be parsed when first read. Kiln's host always sends valid JSON; text that
    /// is not reads as `null`.
    pub fn from_text(text: String) -> Self {
        LazyJson {
            text,
            value: OnceCell::new(),
        }
    }
}

impl From<Value> for LazyJson {
    fn from(value: Value) -> Self {
        LazyJson {
            text: String::new(),
            value: OnceCell::from(value),
        }
    }
}

impl Deref for LazyJson {
    type Target = Value;
    fn deref(&self) -> &Value {
        self.value
            .get_or_init(|| serde_json::from_str(&self.text).unwrap_or(Value::Null))
    }
}

impl PartialEq for LazyJson {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for LazyJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl Deref for TraitContext {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.context
    }
}
