//! A trait that breaks the rules on request, to prove the sandbox holds: each `mode` tries
//! one thing a definition must not get away with.

use kiln_sdk::prelude::*;

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Params {
    /// panic | loop | memory | stack | output | no-kind | clock | ok
    mode: String,
}

fn recurse(n: u64) -> u64 {
    // black_box keeps the optimiser from turning this into a loop.
    if std::hint::black_box(n) == u64::MAX {
        return 0;
    }
    1 + recurse(n + 1)
}

fn misbehave(params: Params, _ctx: &TraitContext) -> Result<TraitOutput> {
    match params.mode.as_str() {
        "panic" => panic!("boom: misbehave was asked to panic"),
        "loop" => loop {
            std::hint::black_box(0);
        },
        "memory" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1; 16 * 1024 * 1024]);
                std::hint::black_box(&hoard);
            }
        }
        "stack" => Ok(TraitOutput::new().with_output("x", json!(recurse(0)))),
        "output" => Ok(TraitOutput::new().with_output(
            "big",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"x": "y".repeat(32 << 20)}}),
        )),
        "no-kind" => Ok(TraitOutput::new().with_output("thing", json!({"apiVersion": "v1"}))),
        "clock" => {
            // The sandbox pins clocks and randomness: both must be constant.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let mut bytes = [0u8; 8];
            let seed = std::collections::hash_map::RandomState::new();
            let random = std::hash::BuildHasher::hash_one(&seed, 1u8);
            bytes.copy_from_slice(&random.to_le_bytes());
            Ok(TraitOutput::new().with_output(
                "clock",
                json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {
                    "now": now.to_string(), "random": format!("{bytes:?}")
                }}),
            ))
        }
        "ok" => Ok(TraitOutput::new()),
        other => Err(Error::field("mode", format!("unknown mode {other:?}"))),
    }
}

kiln_sdk::export_trait! {
    name: "misbehave",
    description: "Breaks the sandbox's rules on request (tests only).",
    conflicts_with: ["scaler"],
    render: misbehave,
}
