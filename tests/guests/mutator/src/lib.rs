//! A guardrail policy that mutates every object it checks with the JSON merge patch it is
//! given: to prove what the host accepts of a policy's mutations (tests only).

use kiln_sdk::prelude::*;

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// An RFC 7396 merge patch applied to every object.
    patch: Value,
}

fn mutator(params: Params, input: &PolicyInput) -> Result<PolicyOutput> {
    let mut out = PolicyOutput::new();
    for object in &input.objects {
        out = out.mutate(object, Patch::json_merge_patch(params.patch.clone()));
    }
    Ok(out)
}

kiln_sdk::export_policy! {
    name: "mutator",
    description: "Merges the given patch into every object (tests only).",
    check: mutator,
}
