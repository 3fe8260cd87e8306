//! `kiln explain` and `kiln render --trace`: who set each field, from the real binary.

use serde_json::Value;

use crate::common::*;

#[test]
fn explain_names_the_trait_its_version_digest_and_line() {
    let run = run(&[
        "explain",
        "examples/shop",
        "Deployment/frontend",
        "spec.replicas",
    ]);
    let text = run.ok();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("Deployment/frontend spec.replicas = 3"));
    let step = lines.next().unwrap();
    assert!(
        step.starts_with("  1. trait    scaler 0.1.0 (sha256 "),
        "{text}"
    );
    assert!(
        step.ends_with(" at examples/shop/app.yaml:28:13 set 3"),
        "{text}"
    );
    assert_eq!(lines.next(), None, "{text}");
}

#[test]
fn explain_without_a_field_shows_every_field_and_the_hosts_steps() {
    let text = run(&["explain", "examples/shop", "service/frontend"])
        .ok()
        .to_string();
    assert!(
        text.contains("Service/frontend metadata.namespace = \"shop\""),
        "{text}"
    );
    assert!(
        text.contains("host     kiln: labels, name and namespace at examples/shop/app.yaml:"),
        "{text}"
    );
    assert!(text.contains("workload webservice 0.1.0"), "{text}");
    // Every leaf of the rendered object has its provenance, and nothing else is shown.
    let objects = objects(run(&["render", "examples/shop"]).ok());
    let service = find(&objects, "Service", "frontend");
    let fields = text.lines().filter(|l| !l.starts_with("  ")).count();
    assert_eq!(fields, leaves(service), "{text}");
}

/// The scalars, empty maps and empty lists of `value`.
fn leaves(value: &Value) -> usize {
    match value {
        Value::Object(map) if !map.is_empty() => map.values().map(leaves).sum(),
        Value::Array(items) if !items.is_empty() => items.iter().map(leaves).sum(),
        _ => 1,
    }
}

#[test]
fn explain_errors_name_what_there_is() {
    let stderr = run(&["explain", "examples/shop", "Deployment/frontnd"])
        .failed()
        .to_string();
    assert!(
        stderr.contains("no object Deployment/frontnd") && stderr.contains("Deployment/frontend"),
        "{stderr}"
    );
    let stderr = run(&[
        "explain",
        "examples/shop",
        "Deployment/frontend",
        "spec.replica",
    ])
    .failed()
    .to_string();
    assert!(
        stderr.contains("has no field spec.replica (did you mean spec.replicas?)"),
        "{stderr}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.wasm"), b"not a component").unwrap();
    let d = dir.path().to_str().unwrap();
    let stderr = run(&["explain", "examples/shop", "Deployment/frontend", "-d", d])
        .failed()
        .to_string();
    assert!(stderr.contains("broken") && stderr.contains(d), "{stderr}");
}

#[test]
fn render_trace_writes_the_provenance_and_prints_the_same_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.json");
    let traced = run(&[
        "render",
        "examples/shop",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    let plain = run(&["render", "examples/shop"]);
    assert_eq!(
        traced.ok(),
        plain.ok(),
        "a trace changes nothing in the output"
    );
    let document: Value = serde_json::from_slice(&std::fs::read(&trace).unwrap()).unwrap();
    assert_eq!(document["application"], "shop");
    let objects = document["objects"].as_array().unwrap();
    assert_eq!(objects.len(), crate::common::objects(plain.ok()).len());
    let frontend = objects
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["name"] == "frontend")
        .unwrap();
    assert_eq!(frontend["namespace"], "shop");
    let replicas = &frontend["fields"]["/spec/replicas"][0];
    assert_eq!(replicas["stage"], "trait");
    assert_eq!(replicas["definition"]["name"], "scaler");
    assert_eq!(replicas["definition"]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(replicas["source"], "examples/shop/app.yaml:28:13");
    assert_eq!(replicas["set"], 3);
}

#[test]
fn render_trace_refuses_recursive_and_an_unwritable_file_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.json");
    let stderr = run(&[
        "render",
        "examples",
        "--recursive",
        "--trace",
        trace.to_str().unwrap(),
    ])
    .failed()
    .to_string();
    assert!(
        stderr.contains("--trace") && stderr.contains("--recursive"),
        "{stderr}"
    );
    // Under a regular file: no directory can be made there.
    std::fs::write(dir.path().join("file"), "").unwrap();
    let missing = dir.path().join("file/trace.json");
    let stderr = run(&[
        "render",
        "examples/shop",
        "--trace",
        missing.to_str().unwrap(),
    ])
    .failed()
    .to_string();
    assert!(
        stderr.contains("writing the trace to") && stderr.contains("file/trace.json"),
        "{stderr}"
    );
    assert!(!trace.exists() && !missing.exists());
}

#[test]
fn explain_still_answers_when_the_platform_denies_the_application() {
    let dir = tempfile::tempdir().unwrap();
    let platform = dir.path().join("platform.yaml");
    std::fs::write(&platform, "policies:\n  - type: disallow-latest-tag\n").unwrap();
    let app = dir.path().join("vela.yaml");
    std::fs::write(&app, "name: shop\nservices:\n  web:\n    image: nginx\n").unwrap();
    let image = "spec.template.spec.containers[0].image";
    let run = run(&[
        "--platform",
        platform.to_str().unwrap(),
        "explain",
        app.to_str().unwrap(),
        "Deployment/web",
        image,
    ]);
    assert!(
        run.ok()
            .starts_with(&format!("Deployment/web {image} = \"nginx\"\n")),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("warning: the platform's policies deny this application"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("disallow-latest-tag"), "{}", run.stderr);
}
