//! `kiln schema`: the editor schema from the definitions a render would load. (What an
//! editor does with it, through the real yaml-language-server, is `editor_schema.rs`.)

use serde_json::Value;

use crate::common::*;

fn schema(args: &[&str]) -> Value {
    let mut all = vec!["schema"];
    all.extend_from_slice(args);
    serde_json::from_str(run(&all).ok()).expect("kiln schema prints JSON")
}

fn names(schema: &Value, list: &str) -> Vec<String> {
    schema["definitions"][list]["enum"]
        .as_array()
        .expect("an enum of names")
        .iter()
        .map(|n| n.as_str().expect("a name").to_string())
        .collect()
}

#[test]
fn the_schema_names_every_component_type_and_trait_the_list_shows() {
    let schema = schema(&[]);
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    let list = run(&["definitions", "list"]);
    let section = |heading: &str| -> Vec<String> {
        list.ok()
            .split(heading)
            .nth(1)
            .expect("the section")
            .lines()
            .skip(1)
            .take_while(|line| line.starts_with("  "))
            .map(|line| line.split_whitespace().next().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&schema, "componentType"), section("Workloads"));
    assert_eq!(names(&schema, "traitType"), section("Traits:"));
    // Either form, told apart by apiVersion.
    assert_eq!(schema["if"]["anyOf"][0]["required"][0], "apiVersion");
    assert_eq!(schema["if"]["anyOf"][1]["required"][0], "kind");
    let scaler = &schema["definitions"]["trait.scaler"];
    assert_eq!(scaler["title"], "scaler");
    assert!(scaler["properties"]["replicas"]["description"].is_string());
}

#[test]
fn the_format_flag_picks_one_form_and_the_output_is_stable() {
    let application = run(&["schema", "--format", "application"]);
    let appfile = run(&["schema", "--format", "appfile"]);
    let application: Value = serde_json::from_str(application.ok()).unwrap();
    let appfile: Value = serde_json::from_str(appfile.ok()).unwrap();
    assert_eq!(application["allOf"][0]["$ref"], "#/definitions/application");
    assert!(application["definitions"].get("appfile").is_none());
    assert_eq!(appfile["allOf"][0]["$ref"], "#/definitions/appfile");
    assert!(appfile["definitions"].get("application").is_none());
    assert_eq!(run(&["schema"]).ok(), run(&["schema"]).ok());
}

#[test]
fn a_custom_definition_from_dash_d_is_in_the_schema() {
    let wasm = build_guest("examples/custom-trait", "pod-disruption-budget");
    let dir = definitions_dir(&wasm, "pdb.wasm");
    let schema = schema(&["-d", dir.path().to_str().unwrap()]);
    assert!(names(&schema, "traitType").contains(&"pod-disruption-budget".to_string()));
    let pdb = &schema["definitions"]["trait.pod-disruption-budget"];
    assert!(pdb["properties"]["minAvailable"].is_object(), "{pdb}");
}

#[test]
fn a_definition_directory_that_fails_to_load_fails_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.wasm"), b"not a component").unwrap();
    let stderr = run(&["schema", "-d", dir.path().to_str().unwrap()])
        .failed()
        .to_string();
    assert!(stderr.contains("broken"), "{stderr}");
    assert!(stderr.contains(dir.path().to_str().unwrap()), "{stderr}");
}

#[test]
fn an_unknown_format_is_refused_with_the_choices() {
    let run = run(&["schema", "--format", "helm"]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("application") && run.stderr.contains("appfile"),
        "{}",
        run.stderr
    );
}
