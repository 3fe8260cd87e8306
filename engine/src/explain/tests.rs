use serde_json::json;

use super::*;
use crate::app::Text;
use crate::definitions::Registry;
use crate::patch::trace::Stage;
use crate::pipeline::{Input, Request, Revision, render};
use crate::sandbox::{Limits, Sandbox};

/// A component whose image the workload sets and a trait replaces, whose replicas a trait
/// sets, and whose pull policy a JSON patch removes.
const APP: &str = "\
name: shop
services:
  web:
    image: nginx:1.27
    imagePullPolicy: IfNotPresent
    container-image:
      image: nginx:1.28
    scaler:
      replicas: 3
    json-patch:
      operations:
        - {op: remove, path: /spec/template/spec/containers/0/imagePullPolicy}
";

fn traced(trace: bool) -> Vec<Object> {
    let sandbox = Sandbox::new(Limits::default(), None).unwrap();
    let mut request = Request {
        revision: Revision::Fixed("shop-v1".into()),
        ..Request::default()
    };
    request.options.trace = trace;
    let text = Text {
        file: "vela.yaml".into(),
        text: APP.into(),
    };
    render(&sandbox, &Registry::builtin(), Input::Text(text), &request)
        .unwrap()
        .objects
}

#[test]
fn a_field_set_by_the_workload_and_patched_by_a_trait_shows_both_steps() {
    let objects = traced(true);
    let deployment = find(&objects, "Deployment/web").unwrap();
    let trace = deployment.trace.as_ref().unwrap();
    let steps = trace.steps("/spec/template/spec/containers/0/image");
    assert_eq!(steps.len(), 2, "{steps:#?}");
    assert_eq!(steps[0].by.stage, Stage::Workload);
    let workload = steps[0].by.definition.as_ref().unwrap();
    assert_eq!(workload.name, "webservice");
    assert_eq!(workload.sha256.len(), 64);
    assert_eq!(steps[0].by.source.as_deref(), Some("vela.yaml:4:5"));
    assert_eq!(steps[0].change, Change::Set(json!("nginx:1.27")));
    assert_eq!(steps[1].by.stage, Stage::Trait);
    assert_eq!(
        steps[1].by.definition.as_ref().unwrap().name,
        "container-image"
    );
    assert_eq!(steps[1].by.source.as_deref(), Some("vela.yaml:7:7"));
    assert_eq!(steps[1].change, Change::Set(json!("nginx:1.28")));

    let text = describe(deployment, Some("spec.template.spec.containers[0].image")).unwrap();
    assert!(
        text.starts_with(
            "Deployment/web spec.template.spec.containers[0].image = \"nginx:1.28\"\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  1. workload webservice 0.1.0 (sha256 "),
        "{text}"
    );
    assert!(
        text.contains(" at vela.yaml:4:5 set \"nginx:1.27\"\n"),
        "{text}"
    );
    assert!(
        text.contains("  2. trait    container-image 0.1.0 (sha256 "),
        "{text}"
    );
}

#[test]
fn a_removed_field_shows_its_removal() {
    let objects = traced(true);
    let deployment = find(&objects, "Deployment/web").unwrap();
    let text = describe(
        deployment,
        Some("/spec/template/spec/containers/0/imagePullPolicy"),
    )
    .unwrap();
    assert!(
        text.starts_with(
            "Deployment/web spec.template.spec.containers[0].imagePullPolicy (removed)\n"
        ),
        "{text}"
    );
    assert!(text.contains("json-patch"), "{text}");
    assert!(text.contains("  1. workload webservice"), "{text}");
    assert!(text.contains(" removed \"IfNotPresent\"\n"), "{text}");
}

#[test]
fn the_hosts_labels_and_namespace_are_the_hosts_steps() {
    let objects = traced(true);
    let deployment = find(&objects, "deployment/web").unwrap();
    let trace = deployment.trace.as_ref().unwrap();
    for pointer in ["/metadata/namespace", "/metadata/labels/app.oam.dev~1name"] {
        let steps = trace.steps(pointer);
        assert_eq!(steps.len(), 1, "{pointer}: {steps:#?}");
        assert_eq!(steps[0].by.stage, Stage::Host);
        assert!(steps[0].by.definition.is_none());
    }
    let text = describe(deployment, Some("metadata.namespace")).unwrap();
    assert!(
        text.contains("host     kiln: labels, name and namespace at vela.yaml:4:5 set \"default\""),
        "{text}"
    );
    // Every leaf of the object has a step, and the last step set what is there.
    let whole = describe(deployment, None).unwrap();
    assert!(
        whole.contains("Deployment/web spec.replicas = 3\n"),
        "{whole}"
    );
    for (pointer, steps) in trace.fields() {
        if let Some(value) = deployment.value.pointer(pointer) {
            assert_eq!(
                steps.last().unwrap().change,
                Change::Set(value.clone()),
                "{pointer}"
            );
        }
    }
}

#[test]
fn tracing_changes_no_object() {
    let plain = traced(false);
    let with_trace = traced(true);
    assert!(plain.iter().all(|o| o.trace.is_none()));
    let values = |objects: &[Object]| objects.iter().map(|o| o.value.clone()).collect::<Vec<_>>();
    assert_eq!(values(&plain), values(&with_trace));
    let error = describe(&plain[0], None).unwrap_err().to_string();
    assert!(error.contains("rendered without a trace"), "{error}");
}

#[test]
fn an_unknown_object_or_field_is_an_error_that_says_what_there_is() {
    let objects = traced(true);
    let error = find(&objects, "Deployment/api").unwrap_err().to_string();
    assert!(
        error.contains("no object Deployment/api") && error.contains("Deployment/web"),
        "{error}"
    );
    let error = find(&objects, "web").unwrap_err().to_string();
    assert!(error.contains("not KIND/NAME"), "{error}");
    let deployment = find(&objects, "Deployment/web").unwrap();
    let error = describe(deployment, Some("spec.replica"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("Deployment/web has no field spec.replica (did you mean spec.replicas?)"),
        "{error}"
    );
}

#[test]
fn the_document_has_every_object_and_its_fields_by_pointer() {
    let objects = traced(true);
    let document = serde_json::to_value(document("shop", &objects).unwrap()).unwrap();
    assert_eq!(document["application"], "shop");
    let entries = document["objects"].as_array().unwrap();
    assert_eq!(entries.len(), objects.len());
    let deployment = entries.iter().find(|e| e["kind"] == "Deployment").unwrap();
    assert_eq!(deployment["name"], "web");
    assert_eq!(deployment["namespace"], "default");
    assert_eq!(deployment["apiVersion"], "apps/v1");
    let replicas = &deployment["fields"]["/spec/replicas"];
    assert_eq!(replicas[0]["stage"], "trait");
    assert_eq!(replicas[0]["definition"]["name"], "scaler");
    assert_eq!(replicas[0]["source"], "vela.yaml:9:7");
    assert_eq!(replicas[0]["set"], 3);
}

#[test]
fn a_field_is_dotted_as_explain_prints_it_or_a_json_pointer() {
    let key = |k: &str| Segment::Key(k.into());
    assert_eq!(
        parse_dotted(r#"spec.containers[0]["a.b/c"].x"#),
        Some(vec![
            key("spec"),
            key("containers"),
            Segment::Index(0),
            key("a.b/c"),
            key("x")
        ])
    );
    for malformed in [
        "containers[x]",
        "a..b",
        ".a",
        "a[0]b",
        "a[\"unclosed]",
        "a[",
    ] {
        assert_eq!(parse_dotted(malformed), None, "{malformed}");
    }
    // What describe prints, it reads back.
    let objects = traced(true);
    let deployment = find(&objects, "Deployment/web").unwrap();
    let shown = describe(
        deployment,
        Some(r#"spec.template.metadata.labels["app.oam.dev/name"]"#),
    )
    .unwrap();
    assert!(
        shown.starts_with(
            "Deployment/web spec.template.metadata.labels[\"app.oam.dev/name\"] = \"shop\"\n"
        ),
        "{shown}"
    );
    let error = describe(deployment, Some("spec.template.spec.containers[x]"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("is not a field path"), "{error}");
}
