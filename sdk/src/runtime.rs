//! The glue between the WIT bindings and an author's function. Used by the export macros.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::bindings::kiln::definition::types as wit;
use crate::{
    ClusterVersion, Context, Error, LazyJson, Patch, PolicyInput, PolicyObject, PolicyOutput,
    TraitContext, TraitOutput, WorkloadOutput,
};

/// The `err` of a render call.
pub type Diagnostics = Vec<wit::Diagnostic>;

/// What a render call is given.
pub type Request = wit::RenderRequest;

/// What a render call returns.
pub type Rendered = Result<wit::RenderResponse, Diagnostics>;

/// What `describe` returns.
pub type Metadata = wit::Metadata;

/// A definition as the export macros make it: what its component exports, as Rust.
/// A definition's own component exports it as the `kiln:definition` world; Kiln's
/// standard library exports many of them, by name, as one `kiln:library` component.
pub trait Definition {
    /// The name users write as `type:`.
    fn name() -> &'static str;
    /// `describe` of the `kiln:definition` world.
    fn describe() -> Metadata;
    /// `render` of the `kiln:definition` world.
    fn render(request: Request) -> Rendered;
}

/// The `err` of a library's `render` for a name it does not hold.
pub fn no_such_member(name: &str) -> Diagnostics {
    diagnostics(Error::msg(format!(
        "Kiln's standard library holds no definition named \"{name}\""
    )))
}

/// Static facts the export macros collect.
pub struct Facts {
    pub name: &'static str,
    pub description: &'static str,
    pub version: &'static str,
    pub applies_to: &'static [&'static str],
    pub conflicts_with: &'static [&'static str],
    pub workload_type: Option<&'static str>,
}

/// `describe` for a trait.
pub fn describe_trait<P: JsonSchema>(
    facts: Facts,
    _render: &impl Fn(P, &TraitContext) -> crate::Result<TraitOutput>,
) -> wit::Metadata {
    metadata::<P>(facts, wit::Kind::Trait)
}

/// `describe` for a component type.
pub fn describe_workload<P: JsonSchema>(
    facts: Facts,
    _render: &impl Fn(P, &Context) -> crate::Result<WorkloadOutput>,
) -> wit::Metadata {
    metadata::<P>(facts, wit::Kind::Workload)
}

/// `describe` for a policy.
pub fn describe_policy<P: JsonSchema>(
    facts: Facts,
    _check: &impl Fn(P, &PolicyInput) -> crate::Result<PolicyOutput>,
) -> wit::Metadata {
    metadata::<P>(facts, wit::Kind::Policy)
}

fn metadata<P: JsonSchema>(facts: Facts, kind: wit::Kind) -> wit::Metadata {
    let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
    wit::Metadata {
        name: facts.name.into(),
        kind,
        version: facts.version.into(),
        description: facts.description.into(),
        parameter_schema: crate::parameters::schema_of::<P>().to_string(),
        applies_to: strings(facts.applies_to),
        conflicts_with: strings(facts.conflicts_with),
        workload_type: facts.workload_type.map(Into::into),
    }
}

/// `render` for a trait.
pub fn render_trait<P: DeserializeOwned>(
    render: &impl Fn(P, &TraitContext) -> crate::Result<TraitOutput>,
    request: wit::RenderRequest,
) -> Result<wit::RenderResponse, Diagnostics> {
    let params = crate::parameters::parse(&request.parameters).map_err(diagnostics)?;
    // Parsed only if the trait reads them (see `LazyJson`).
    let workload = match request.workload {
        Some(text) => LazyJson::from_text(text),
        None => Value::Null.into(),
    };
    let outputs = request
        .outputs
        .into_iter()
        .map(|o| (o.name, LazyJson::from_text(o.object)))
        .collect();
    let ctx = TraitContext {
        context: context(request.context),
        workload,
        outputs,
    };
    let out = render(params, &ctx).map_err(diagnostics)?;
    Ok(wit::RenderResponse {
        output: None,
        outputs: named(out.outputs),
        patch: out.patch.map(patch),
        patch_outputs: out
            .patch_outputs
            .into_iter()
            .map(|(name, p)| wit::OutputPatch {
                name,
                patch: patch(p),
            })
            .collect(),
        diagnostics: warnings(out.warnings),
    })
}

/// `render` for a component type.
pub fn render_workload<P: DeserializeOwned>(
    render: &impl Fn(P, &Context) -> crate::Result<WorkloadOutput>,
    request: wit::RenderRequest,
) -> Result<wit::RenderResponse, Diagnostics> {
    let params = crate::parameters::parse(&request.parameters).map_err(diagnostics)?;
    let out = render(params, &context(request.context)).map_err(diagnostics)?;
    Ok(wit::RenderResponse {
        output: Some(json_text(&out.output)),
        outputs: named(out.outputs),
        patch: None,
        patch_outputs: Vec::new(),
        diagnostics: warnings(out.warnings),
    })
}

/// `render` for a policy: the request's outputs are the application's objects.
pub fn render_policy<P: DeserializeOwned>(
    check: &impl Fn(P, &PolicyInput) -> crate::Result<PolicyOutput>,
    request: wit::RenderRequest,
) -> Result<wit::RenderResponse, Diagnostics> {
    let params = crate::parameters::parse(&request.parameters).map_err(diagnostics)?;
    let objects = request
        .outputs
        .iter()
        .map(|o| {
            Ok(PolicyObject {
                id: o.name.clone(),
                object: json(&o.object, &o.name)?,
            })
        })
        .collect::<Result<_, Diagnostics>>()?;
    let input = PolicyInput {
        context: context(request.context),
        objects,
    };
    let out = check(params, &input).map_err(diagnostics)?;
    Ok(wit::RenderResponse {
        output: None,
        outputs: Vec::new(),
        patch: None,
        patch_outputs: out
            .mutations
            .into_iter()
            .map(|(name, p)| wit::OutputPatch {
                name,
                patch: patch(p),
            })
            .collect(),
        diagnostics: out
            .violations
            .into_iter()
            .map(|v| wit::Diagnostic {
                severity: if v.deny {
                    wit::Severity::Error
                } else {
                    wit::Severity::Warning
                },
                message: v.message,
                field: v.field,
                object: Some(v.object),
            })
            .collect(),
    })
}

fn json(text: &str, what: &str) -> Result<Value, Diagnostics> {
    serde_json::from_str(text).map_err(|e| {
        diagnostics(Error::msg(format!(
            "host sent invalid JSON for {what}: {e}"
        )))
    })
}

fn context(c: wit::Context) -> Context {
    Context {
        app_name: c.app_name,
        namespace: c.namespace,
        component_name: c.component_name,
        component_type: c.component_type,
        app_revision: c.app_revision,
        cluster_version: ClusterVersion {
            major: c.cluster_version.major,
            minor: c.cluster_version.minor,
            git_version: c.cluster_version.git_version,
        },
        api_versions: c.api_versions,
        app_labels: c.app_labels.into_iter().collect(),
        app_annotations: c.app_annotations.into_iter().collect(),
    }
}

fn named(objects: Vec<(String, Value)>) -> Vec<wit::NamedObject> {
    objects
        .into_iter()
        .map(|(name, object)| wit::NamedObject {
            name,
            object: json_text(&object),
        })
        .collect()
}

fn patch(p: Patch) -> wit::Patch {
    match p {
        Patch::Merge(v) => wit::Patch::Merge(json_text(&v)),
        Patch::JsonMergePatch(v) => wit::Patch::JsonMergePatch(json_text(&v)),
        Patch::JsonPatch(v) => wit::Patch::JsonPatch(json_text(&v)),
    }
}

/// `value` as JSON text. Not `Value`'s `Display`, which writes through `fmt::Formatter`
/// piece by piece: at a guest's speed that was ~4% of a render's whole CPU.
fn json_text(value: &Value) -> String {
    // A `Value` always serializes (its keys are strings); the host refuses empty text.
    serde_json::to_string(value).unwrap_or_default()
}

fn diagnostics(error: Error) -> Diagnostics {
    error
        .messages
        .into_iter()
        .map(|(field, message)| wit::Diagnostic {
            severity: wit::Severity::Error,
            message,
            field,
            object: None,
        })
        .collect()
}

fn warnings(list: Vec<(Option<String>, String)>) -> Vec<wit::Diagnostic> {
    list.into_iter()
        .map(|(field, message)| wit::Diagnostic {
            severity: wit::Severity::Warning,
            message,
            field,
            object: None,
        })
        .collect()
}
