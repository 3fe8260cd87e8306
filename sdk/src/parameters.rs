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
mod tests;
