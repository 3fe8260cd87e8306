use super::*;
use crate::argocd::ParameterValue;
use crate::manifest::Format;
use crate::sandbox::Limits;

const APP: &str = "\
name: hello
services:
  hello:
    image: nginx:1.27
    ports:
      - port: 8000
        expose: true
    scaler:
      replicas: 2
";

fn text() -> Input {
    Input::Text(Text {
        file: "vela.yaml".into(),
        text: APP.into(),
    })
}

fn render_with(request: &Request, input: Input) -> Output {
    let sandbox = Sandbox::new(Limits::default(), None).unwrap();
    let registry = Registry::builtin();
    render(&sandbox, &registry, input, request).unwrap()
}

fn yaml(output: &Output) -> String {
    crate::manifest::write(&output.objects, Format::Yaml, &output.app.name, false)
}

fn revision_of(output: &Output) -> String {
    output.objects[0].value["metadata"]["labels"]["app.oam.dev/appRevision"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn text_and_parsed_source_render_the_same_objects() {
    let request = Request {
        revision: Revision::Fixed("hello-v1".into()),
        ..Request::default()
    };
    let from_text = render_with(&request, text());
    let source = Source::parse("vela.yaml", APP).unwrap();
    let from_source = render_with(&request, Input::Source(source));
    assert_eq!(yaml(&from_text), yaml(&from_source));
    assert_eq!(revision_of(&from_text), "hello-v1");
}

#[test]
fn the_content_revision_is_stable_and_follows_the_parameters() {
    let plain = render_with(&Request::default(), text());
    let again = render_with(&Request::default(), text());
    assert_eq!(revision_of(&plain), revision_of(&again));
    assert!(
        revision_of(&plain).starts_with("hello-"),
        "{}",
        revision_of(&plain)
    );

    let with_parameter = Request {
        parameters: vec![Parameter {
            name: "hello.image".into(),
            value: ParameterValue::String("nginx:1.28".into()),
        }],
        ..Request::default()
    };
    let changed = render_with(&with_parameter, text());
    assert_ne!(revision_of(&plain), revision_of(&changed));
    let image = &changed.objects[0].value["spec"]["template"]["spec"]["containers"][0]["image"];
    assert_eq!(image, "nginx:1.28");
}

#[test]
fn the_default_namespace_applies_only_where_the_application_sets_none() {
    let request = Request {
        default_namespace: Some("team-a".into()),
        ..Request::default()
    };
    let output = render_with(&request, text());
    assert_eq!(output.objects[0].value["metadata"]["namespace"], "team-a");

    let overridden = Request {
        options: RenderOptions {
            namespace: Some("forced".into()),
            ..RenderOptions::default()
        },
        ..request
    };
    let output = render_with(&overridden, text());
    assert_eq!(output.objects[0].value["metadata"]["namespace"], "forced");
}
