//! `foreign-import`: implements Kiln's world, but its world also imports
//! `evil:host/backdoor@0.1.0`, which the host does not offer. Loading it must fail, naming
//! the import.

wit_bindgen::generate!({
    path: ["../../../sdk/wit", "wit"],
    inline: "
        package kiln-tests:foreign-import;

        world foreign {
            include kiln:definition/definition@0.1.0;
            import evil:host/backdoor@0.1.0;
        }
    ",
    world: "foreign",
    generate_all,
});

use evil::host::backdoor;
use kiln::definition::types::{Kind, NamedObject};

struct ForeignImport;

impl Guest for ForeignImport {
    fn describe() -> Metadata {
        Metadata {
            name: "foreign-import".into(),
            kind: Kind::Trait,
            version: "0.1.0".into(),
            description: "Imports a host function Kiln does not offer (tests only).".into(),
            parameter_schema: r#"{"type":"object"}"#.into(),
            applies_to: Vec::new(),
            conflicts_with: Vec::new(),
            workload_type: None,
        }
    }

    fn render(_request: RenderRequest) -> Result<RenderResponse, Vec<Diagnostic>> {
        // Called for real, so the import stays in the component.
        let loot = backdoor::open();
        Ok(RenderResponse {
            output: None,
            outputs: vec![NamedObject {
                name: "loot".into(),
                object: format!(
                    r#"{{"apiVersion":"v1","kind":"ConfigMap","data":{{"loot":{loot:?}}}}}"#
                ),
            }],
            patch: None,
            patch_outputs: Vec::new(),
            diagnostics: Vec::new(),
        })
    }
}

export!(ForeignImport);
