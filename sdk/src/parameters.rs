//! A definition's parameters: their JSON Schema, derived from the type, and their parsing
//! from the host's JSON text with errors that name the field. Shared by the export glue
//! ([`crate::runtime`]) and the native test helpers ([`crate::testing`]).

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;

/// The JSON Schema (2020-12) the definition announces for its parameters.
pub fn schema_of<P: JsonSchema>() -> Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<P>();
    schema.to_value()
}

/// Parses the user's properties, naming the parameter path on failure.
pub(crate) fn parse<P: DeserializeOwned>(text: &str) -> crate::Result<P> {
    // Tracking the path costs an allocation per key; only a failure needs it, and parsing
    // is deterministic, so the text is parsed again with it then.
    if let Ok(parameters) = serde_json::from_str(text) {
        return Ok(parameters);
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        // serde_json appends " at line 1 column N" of the host's JSON text: noise here.
        let message = e.inner().to_string();
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_string(),
            None => message,
        };
        // "missing field `image`" is about the field, not its parent.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'));
        match (path.as_str(), missing) {
            (".", Some(field)) => Error::field(field, message.clone()),
            (_, Some(field)) => Error::field(format!("{path}.{field}"), message.clone()),
            (".", None) => Error::msg(message),
            _ => Error::field(path, message),
        }
    })
}

#[cfg(test)]
mod tests {
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
}
