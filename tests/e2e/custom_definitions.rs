//! Definitions from outside the binary: the out-of-tree example trait, name clashes.
use crate::common::*;

const APP: &str = "\
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: shop
spec:
  components:
    - name: api
      type: webservice
      properties:
        image: ghcr.io/example/api:1.0
      traits:
        - type: scaler
          properties:
            replicas: 3
        - type: pod-disruption-budget
          properties:
            minAvailable: 2
";

#[test]
fn the_example_custom_trait_renders_with_dash_d() {
    let dir = definitions_dir(example_trait_wasm(), "anything.wasm");
    let run = render_stdin(APP, &["-d", dir.path().to_str().unwrap()]);
    let objects = objects(run.ok());
    assert_eq!(objects.len(), 2);
    let pdb = &objects[1];
    assert_eq!(pdb["kind"], "PodDisruptionBudget");
    assert_eq!(pdb["apiVersion"], "policy/v1");
    assert_eq!(pdb["metadata"]["name"], "api");
    assert_eq!(pdb["metadata"]["namespace"], "default");
    assert_eq!(pdb["spec"]["minAvailable"], 2);
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"]["app.oam.dev/component"],
        "api"
    );
    let labels = &pdb["metadata"]["labels"];
    assert_eq!(labels["trait.oam.dev/type"], "pod-disruption-budget");
    assert_eq!(labels["trait.oam.dev/resource"], "podDisruptionBudget");
    assert_eq!(labels["app.oam.dev/resourceType"], "TRAIT");
}

#[test]
fn a_custom_definition_is_listed_and_shown() {
    let dir = definitions_dir(example_trait_wasm(), "pdb.wasm");
    let d = dir.path().to_str().unwrap();
    let list = run(&["definitions", "list", "-d", d]);
    let line = list
        .ok()
        .lines()
        .find(|l| l.trim_start().starts_with("pod-disruption-budget "))
        .unwrap_or_else(|| panic!("not listed:\n{}", list.stdout));
    assert!(
        line.contains(" Keep a minimum of the component's pods"),
        "{line}"
    );
    assert!(line.ends_with("pdb.wasm]"), "the origin is shown: {line}");
    let show = run(&["definitions", "show", "pod-disruption-budget", "-d", d]);
    assert!(
        show.ok().contains("minAvailable (integer or string)"),
        "{}",
        show.stdout
    );
}

#[test]
fn a_custom_definition_reports_its_own_errors_at_the_parameter() {
    let dir = definitions_dir(example_trait_wasm(), "pdb.wasm");
    let app = APP.replace(
        "minAvailable: 2",
        "minAvailable: 2\n            maxUnavailable: 1",
    );
    let err = render_stdin(&app, &["-d", dir.path().to_str().unwrap()])
        .failed()
        .to_string();
    assert_eq!(
        err.trim_end(),
        "error: <stdin>:18:29: component \"api\", trait \"pod-disruption-budget\", field \
         \"maxUnavailable\": set minAvailable or maxUnavailable, not both"
    );
}

/// The built-in `scaler`'s source built as a definition of its own (tests/guests).
fn builtin_scaler_copy() -> tempfile::TempDir {
    let target = build_guest("tests/guests", "builtin-scaler");
    definitions_dir(&target, "scaler.wasm")
}

#[test]
fn a_name_clash_with_a_builtin_is_an_error_unless_asked_for() {
    let dir = builtin_scaler_copy();
    let d = dir.path().to_str().unwrap();
    let err = run(&["render", "examples/hello", "-d", d])
        .failed()
        .to_string();
    assert!(
        err.contains("scaler.wasm: it clashes with the built-in of that name"),
        "{err}"
    );
    assert!(err.contains("--override-builtins"), "{err}");
    run(&["render", "examples/hello", "-d", d, "--override-builtins"]).ok();
}

#[test]
fn a_file_that_is_not_a_component_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.wasm"), b"\0asm\x01\0\0\0garbage").unwrap();
    let err = run(&[
        "render",
        "examples/hello",
        "-d",
        dir.path().to_str().unwrap(),
    ])
    .failed()
    .to_string();
    assert!(
        err.contains("broken.wasm: is a core WebAssembly module, not a component"),
        "{err}"
    );
}

#[test]
fn a_missing_definitions_directory_is_an_error() {
    let err = run(&["render", "examples/hello", "-d", "/nonexistent/defs"])
        .failed()
        .to_string();
    assert!(err.contains("/nonexistent/defs"), "{err}");
}
