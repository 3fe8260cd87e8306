use super::*;

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Port {
    port: u16,
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Parameters {
    image: String,
    #[serde(default)]
    ports: Vec<Port>,
}

#[test]
fn parameters_parse_and_errors_name_the_field() {
    let parsed: Parameters = parse(r#"{"image": "nginx", "ports": [{"port": 80}]}"#).unwrap();
    assert_eq!(
        parsed,
        Parameters {
            image: "nginx".into(),
            ports: vec![Port { port: 80 }],
        }
    );
    let field_of = |text: &str| match parse::<Parameters>(text) {
        Err(e) => match &e.messages[..] {
            [(Some(field), message)] => (field.clone(), message.clone()),
            _ => panic!("expected one field error, got {e:?}"),
        },
        Ok(p) => panic!("expected an error, got {p:?}"),
    };
    let (field, message) = field_of(r#"{"image": "nginx", "ports": [{"port": "80"}]}"#);
    assert_eq!(field, "ports[0].port");
    assert!(message.starts_with("invalid type: string"), "{message}");
    let (field, message) = field_of(r#"{"ports": []}"#);
    assert_eq!(field, "image");
    assert_eq!(message, "missing field `image`");
}
