//! `invalid-json`: a trait built without the SDK, straight on Kiln's WIT world, whose render
//! returns an auxiliary object that is not JSON. The host must refuse it, naming the
//! definition.

wit_bindgen::generate!({
    path: "../../../sdk/wit",
    world: "definition",
});

use kiln::definition::types::{Kind, NamedObject};

struct InvalidJson;

impl Guest for InvalidJson {
    fn describe() -> Metadata {
        Metadata {
            name: "invalid-json".into(),
            kind: Kind::Trait,
            version: "0.1.0".into(),
            description: "Returns an object that is not JSON (tests only).".into(),
            parameter_schema: r#"{"type":"object"}"#.into(),
            applies_to: Vec::new(),
            conflicts_with: Vec::new(),
            workload_type: None,
        }
    }

    fn render(_request: RenderRequest) -> Result<RenderResponse, Vec<Diagnostic>> {
        Ok(RenderResponse {
            output: None,
            outputs: vec![NamedObject {
                name: "broken".into(),
                object: r#"{"kind": ConfigMap"#.into(),
            }],
            patch: None,
            patch_outputs: Vec::new(),
            diagnostics: Vec::new(),
        })
    }
}

export!(InvalidJson);
