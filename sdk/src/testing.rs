//! Helpers for testing a definition natively with `cargo test`, through the same JSON
//! parsing the sandbox uses.

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use crate::parameters::schema_of;
use crate::{
    Context, PolicyInput, PolicyObject, PolicyOutput, Result, TraitContext, TraitOutput,
    WorkloadOutput,
};

/// Renders a trait from JSON properties, as the host would call it.
///
/// ```
/// use kiln_sdk::prelude::*;
/// #[derive(Deserialize, JsonSchema)]
/// struct P { replicas: u32 }
/// fn t(p: P, _: &TraitContext) -> Result<TraitOutput> {
///     Ok(TraitOutput::new().patch(Patch::merge(json!({"spec": {"replicas": p.replicas}}))))
/// }
/// let err = kiln_sdk::testing::render_trait(t, json!({"replicas": "x"}), &TraitContext::for_test(json!({})));
/// assert!(err.unwrap_err().to_string().starts_with("replicas: invalid type"));
/// ```
pub fn render_trait<P: DeserializeOwned>(
    render: impl Fn(P, &TraitContext) -> Result<TraitOutput>,
    properties: Value,
    ctx: &TraitContext,
) -> Result<TraitOutput> {
    render(crate::parameters::parse(&properties.to_string())?, ctx)
}

/// Renders a component type from JSON properties, as the host would call it.
pub fn render_workload<P: DeserializeOwned>(
    render: impl Fn(P, &Context) -> Result<WorkloadOutput>,
    properties: Value,
    ctx: &Context,
) -> Result<WorkloadOutput> {
    render(crate::parameters::parse(&properties.to_string())?, ctx)
}

/// Checks objects with a policy from JSON properties, as the host would call it.
pub fn check_policy<P: DeserializeOwned>(
    check: impl Fn(P, &PolicyInput) -> Result<PolicyOutput>,
    properties: Value,
    objects: Vec<Value>,
) -> Result<PolicyOutput> {
    let mut context = Context::for_test("");
    context.component_type.clear();
    let input = PolicyInput {
        context,
        objects: objects.into_iter().map(PolicyObject::for_test).collect(),
    };
    check(crate::parameters::parse(&properties.to_string())?, &input)
}

/// `(object, field, message)` of every denial of `output`, for assertions; panics if the
/// policy mutated anything or only warned, which a test of denials does not expect.
pub fn denials(output: &PolicyOutput) -> Vec<(String, String, String)> {
    assert!(output.mutations().is_empty(), "the policy mutated objects");
    output
        .violations()
        .iter()
        .map(|v| {
            assert!(
                v.deny,
                "a warning where a denial was expected: {}",
                v.message
            );
            let field = v.field.clone().unwrap_or_default();
            (v.object.clone(), field, v.message.clone())
        })
        .collect()
}
