use super::*;

/// The built-in traits these tests use.
fn is_trait(name: &str) -> bool {
    matches!(name, "scaler" | "labels" | "sidecar" | "gateway")
}

fn to(text: &str, form: Form) -> Converted {
    let source = Source::parse("app.yaml", text).expect("YAML");
    convert(&source, &is_trait, form).expect("converts")
}

/// A component as the reader sees it: name, type, properties and traits, as JSON text.
type ComponentRead = (String, String, String, Vec<(String, String)>);

/// What the reader makes of `text`, per component.
fn read(text: &str) -> Vec<ComponentRead> {
    let source = Source::parse("app.yaml", text).expect("YAML");
    let app = Application::from_source(source, &is_trait).expect("reads");
    app.components
        .iter()
        .map(|c| {
            let traits = c
                .traits
                .iter()
                .map(|t| {
                    (
                        t.type_name.clone(),
                        serde_json::to_string(&t.properties).unwrap(),
                    )
                })
                .collect();
            (
                c.name.clone(),
                c.type_name.clone(),
                serde_json::to_string(&c.properties).unwrap(),
                traits,
            )
        })
        .collect()
}

const APPFILE: &str = "\
name: shop
services:
  web:
    image: nginx:1.27
    scaler:
      replicas: 2
    ports:
      - port: 80
        expose: true
    sidecar: {name: log, image: busybox}
  jobs:
    type: worker
    image: busybox
    labels:
    dependsOn: [web]
";

#[test]
fn an_appfile_becomes_an_application_in_file_order() {
    let converted = to(APPFILE, Form::Application);
    assert!(converted.lost.is_empty(), "{:?}", converted.lost);
    assert_eq!(
        converted.text,
        "\
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: shop
spec:
  components:
  - name: web
    type: webservice
    properties:
      image: nginx:1.27
      ports:
      - port: 80
        expose: true
    traits:
    - type: scaler
      properties:
        replicas: 2
    - type: sidecar
      properties:
        name: log
        image: busybox
  - name: jobs
    type: worker
    properties:
      image: busybox
    dependsOn:
    - web
    traits:
    - type: labels
"
    );
    assert_eq!(read(&converted.text), read(APPFILE));
}

#[test]
fn an_application_becomes_an_appfile_and_back_to_the_same_text() {
    let application = to(APPFILE, Form::Application).text;
    let appfile = to(&application, Form::Appfile);
    assert!(appfile.lost.is_empty(), "{:?}", appfile.lost);
    assert_eq!(read(&appfile.text), read(APPFILE));
    // A webservice says no type; properties first, then dependsOn, then traits in order.
    assert!(
        appfile
            .text
            .starts_with("name: shop\nservices:\n  web:\n    image: nginx:1.27\n"),
        "{}",
        appfile.text
    );
    assert!(appfile.text.contains("  jobs:\n    type: worker\n    image: busybox\n    dependsOn:\n    - web\n    labels: {}\n"), "{}", appfile.text);
    assert_eq!(to(&appfile.text, Form::Application).text, application);
}

#[test]
fn what_an_appfile_cannot_say_is_listed_at_its_line() {
    let application = "\
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: shop
  namespace: prod
  labels: {team: payments}
spec:
  components:
    - name: web
      type: webservice
      properties:
        image: nginx
        labels: {tier: web}
      traits:
        - type: scaler
          properties: {replicas: 2}
        - type: scaler
          properties: {replicas: 3}
  policies:
    - name: prod
      type: topology
      properties: {namespace: prod}
";
    let converted = to(application, Form::Appfile);
    let lost: Vec<String> = converted.lost.iter().map(ToString::to_string).collect();
    let expect = [
        ("app.yaml:5:", "metadata.namespace", "no namespace"),
        ("app.yaml:6:", "metadata.labels", "no application labels"),
        (
            "app.yaml:13:",
            "spec.components[0].properties.labels",
            "the trait of that name",
        ),
        ("app.yaml:17:", "spec.components[0].traits[1]", "used twice"),
        ("app.yaml:20:", "spec.policies", "no policies"),
    ];
    assert_eq!(lost.len(), expect.len(), "{lost:#?}");
    for ((at, field, why), message) in expect.iter().zip(&lost) {
        assert!(message.starts_with(at), "{message}");
        assert!(message.contains(field), "{message}");
        assert!(message.contains(why), "{message}");
    }
    // What could be said is written: the first scaler, the image.
    assert!(
        converted
            .text
            .contains("    image: nginx\n    scaler:\n      replicas: 2\n"),
        "{}",
        converted.text
    );
}

#[test]
fn what_an_application_cannot_say_is_listed_at_its_line() {
    let appfile = "name: shop\nservices:\n  web:\n    image: nginx\n    build: {docker: {file: Dockerfile}}\nsecrets: {token: abc}\n";
    let converted = to(appfile, Form::Application);
    let lost: Vec<String> = converted.lost.iter().map(ToString::to_string).collect();
    assert_eq!(lost.len(), 2, "{lost:?}");
    assert!(
        lost[0].starts_with("app.yaml:5:") && lost[0].contains("build"),
        "{lost:?}"
    );
    assert!(
        lost[1].starts_with("app.yaml:6:") && lost[1].contains("secrets"),
        "{lost:?}"
    );
}

#[test]
fn a_file_in_the_target_form_or_invalid_is_refused() {
    let source = Source::parse("app.yaml", APPFILE).unwrap();
    let error = convert(&source, &is_trait, Form::Appfile)
        .unwrap_err()
        .to_string();
    assert!(error.contains("an appfile already"), "{error}");
    // The reader's own error, with its line.
    let source = Source::parse("app.yaml", "services:\n  web: [1]\n").unwrap();
    let error = convert(&source, &is_trait, Form::Application)
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("app.yaml:2:"), "{error}");
    assert!(error.contains("expected a map"), "{error}");
}

#[test]
fn without_a_name_the_application_keeps_an_empty_metadata() {
    let converted = to("services:\n  web:\n    image: nginx\n", Form::Application);
    assert!(
        converted.text.contains("metadata: {}\n"),
        "{}",
        converted.text
    );
    let back = to(&converted.text, Form::Appfile);
    assert_eq!(back.text, "services:\n  web:\n    image: nginx\n");
}
