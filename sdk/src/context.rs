//! What a definition knows about where it renders.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::ops::Deref;

use serde::de::{
    Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
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

impl LazyJson {
    /// True when a non-null value is at `pointer` (RFC 6901, e.g. `/spec/template`), as
    /// `value.pointer(pointer).is_some_and(|v| !v.is_null())` says. Before the value is
    /// parsed, this scans the text for that one path instead of parsing it all: a trait that
    /// only asks whether the workload has a pod template stays cheap.
    ///
    /// ```
    /// use kiln_sdk::LazyJson;
    ///
    /// let workload = LazyJson::from_text(
    ///     r#"{"spec": {"template": {"spec": {}}, "selector": null, "ports": [{"port": 80}]}}"#.into(),
    /// );
    /// assert!(workload.has("/spec/template"));
    /// assert!(workload.has("/spec/ports/0/port"));
    /// assert!(!workload.has("/spec/selector"));
    /// assert!(!workload.has("/spec/jobTemplate"));
    /// ```
    pub fn has(&self, pointer: &str) -> bool {
        if let Some(value) = self.value.get() {
            return value.pointer(pointer).is_some_and(|v| !v.is_null());
        }
        let Some(tokens) = pointer_tokens(pointer) else {
            return false;
        };
        let mut reader = serde_json::Deserializer::from_str(&self.text);
        PathSeed(&tokens).deserialize(&mut reader).unwrap_or(false)
    }
}

/// The unescaped reference tokens of a JSON pointer; `None` if it is not one.
fn pointer_tokens(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// Follows a path of tokens through JSON text, skipping everything else unparsed; yields
/// whether a non-null value is at the end of it.
struct PathSeed<'a>(&'a [String]);

impl<'de> DeserializeSeed<'de> for PathSeed<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        if self.0.is_empty() {
            return Option::<IgnoredAny>::deserialize(deserializer).map(|v| v.is_some());
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PathSeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == self.0[0].as_str() {
                found = map.next_value_seed(PathSeed(&self.0[1..]))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let wanted = self.0[0].parse::<usize>().ok();
        let mut found = false;
        let mut index = 0;
        loop {
            let element = if Some(index) == wanted {
                seq.next_element_seed(PathSeed(&self.0[1..]))?
                    .map(|f| found = f)
            } else {
                seq.next_element::<IgnoredAny>()?.map(|_| ())
            };
            if element.is_none() {
                return Ok(found);
            }
            index += 1;
        }
    }

    // A scalar has nothing below it.
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
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

#[cfg(test)]
mod tests;
