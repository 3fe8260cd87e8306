//! Checking every component's and trait's properties against the JSON Schema its
//! definition announces, for the whole application at once. [`crate::render`] runs the
//! check beside the modules' calls; when it refuses, its errors are the render's, and what
//! the modules computed is discarded.
//!
//! KubeVela's parameters are closed: a property the definition does not declare is an
//! error, with the nearest declared name suggested. Each violation names the component,
//! the trait, the parameter path and the line in the file.

pub mod schema;

use std::collections::HashMap;
use std::sync::Arc;

use jsonschema::ValidationError;
use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;
use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::app::yaml::Segment;
use crate::app::{Application, dotted};
use crate::error::{Error, Result, Site};

/// One definition's parameter schema, compiled.
pub struct ParameterSchema {
    schema: Value,
    validator: Validator,
}

impl ParameterSchema {
    /// Compiles the schema of definition `name` (its `describe` JSON text).
    ///
    /// `jsonschema` checks the schema against JSON Schema 2020-12's meta-schema first; its
    /// `macros` feature makes that check generated code, where it would otherwise compile the
    /// meta-schema once per process (about 1 ms of CPU; docs/performance.md, fifth round).
    pub fn compile(name: &str, schema_text: &str) -> Result<ParameterSchema> {
        let invalid = |message: String| Error::Definition {
            module: name.to_string(),
            message: format!("its parameter schema is invalid: {message}"),
        };
        let schema: Value =
            serde_json::from_str(schema_text).map_err(|e| invalid(e.to_string()))?;
        let validator = jsonschema::options()
            .build(&schema)
            .map_err(|e| invalid(e.to_string()))?;
        Ok(ParameterSchema { schema, validator })
    }
}

/// Compiled parameter schemas, by definition name.
#[derive(Default)]
pub struct Schemas {
    validators: HashMap<String, Arc<ParameterSchema>>,
}

impl Schemas {
    /// Adds the compiled schema of definition `name`.
    pub fn insert(&mut self, name: &str, schema: Arc<ParameterSchema>) {
        self.validators.insert(name.to_string(), schema);
    }

    /// Checks every component and trait of `app`; reports every violation at once.
    pub fn check_app(&self, app: &Application) -> Result<()> {
        // Components in parallel; their errors in file order.
        let per_component: Vec<Vec<Error>> = app
            .components
            .par_iter()
            .map(|component| {
                let mut errors = Vec::new();
                let site = Site {
                    component: Some(component.name.clone()),
                    ..Site::default()
                };
                self.check(
                    app,
                    &component.type_name,
                    &component.properties,
                    &component.properties_path,
                    &site,
                    &mut errors,
                );
                for t in &component.traits {
                    let site = Site {
                        trait_name: Some(t.type_name.clone()),
                        ..site.clone()
                    };
                    self.check(
                        app,
                        &t.type_name,
                        &t.properties,
                        &t.properties_path,
                        &site,
                        &mut errors,
                    );
                }
                errors
            })
            .collect();
        let mut errors: Vec<Error> = per_component.into_iter().flatten().collect();
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(Error::Many(errors)),
        }
    }

    fn check(
        &self,
        app: &Application,
        definition: &str,
        properties: &Map<String, Value>,
        properties_path: &[Segment],
        site: &Site,
        errors: &mut Vec<Error>,
    ) {
        let Some(compiled) = self.validators.get(definition) else {
            return;
        };
        let (schema, validator) = (&compiled.schema, &compiled.validator);
        let instance = Value::Object(properties.clone());
        let at = Place {
            app,
            properties_path,
            site,
            schema,
        };
        for error in validator.iter_errors(&instance) {
            self.report(&at, &error, errors);
        }
    }

    /// Turns one schema violation into errors for people (several for unknown fields).
    fn report(&self, at: &Place<'_>, error: &ValidationError<'_>, errors: &mut Vec<Error>) {
        let mut field: Vec<Segment> = error
            .instance_path()
            .into_iter()
            .map(|step| match step {
                jsonschema::paths::LocationSegment::Property(p) => Segment::Key(p.to_string()),
                jsonschema::paths::LocationSegment::Index(i) => Segment::Index(i),
            })
            .collect();
        let message = match error.kind() {
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default().to_string();
                let message = format!("missing required parameter \"{name}\"");
                field.push(Segment::Key(name));
                message
            }
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let declared = declared_at(at.schema, &field);
                for name in unexpected {
                    let mut path = field.clone();
                    path.push(Segment::Key(name.clone()));
                    let suggestion = nearest(name, &declared)
                        .map(|s| format!(" (did you mean \"{s}\"?)"))
                        .unwrap_or_default();
                    let known = if declared.is_empty() {
                        String::new()
                    } else {
                        format!("; known parameters: {}", declared.join(", "))
                    };
                    errors.push(self.error(
                        at,
                        &path,
                        format!("unknown parameter \"{name}\"{suggestion}{known}"),
                    ));
                }
                return;
            }
            ValidationErrorKind::Type { .. } => type_message(&error.to_string(), error.instance()),
            // An optional parameter is `anyOf: [T, null]`: what is wrong is what T says.
            ValidationErrorKind::AnyOf { context }
            | ValidationErrorKind::OneOfNotValid { context } => {
                let candidates: Vec<&Vec<ValidationError<'static>>> = context
                    .iter()
                    .filter(|alternative| !only_not_null(alternative))
                    .collect();
                if let [only] = candidates[..] {
                    for inner in only {
                        self.report(at, inner, errors);
                    }
                    return;
                }
                error.to_string()
            }
            _ => error.to_string(),
        };
        errors.push(self.error(at, &field, message));
    }

    fn error(&self, at: &Place<'_>, field: &[Segment], message: String) -> Error {
        let (app, site) = (at.app, at.site);
        let mut path = at.properties_path.to_vec();
        path.extend_from_slice(field);
        Error::Parameter {
            site: Box::new(Site {
                field: (!field.is_empty()).then(|| dotted(field)),
                ..Site {
                    component: site.component.clone(),
                    trait_name: site.trait_name.clone(),
                    ..app.source.site(&path)
                }
            }),
            message,
        }
    }
}

/// The property names the schema declares for the object at `field`.
fn declared_at(root: &Value, field: &[Segment]) -> Vec<String> {
    let mut schema = schema::non_null(root, root);
    for segment in field {
        let next = match segment {
            Segment::Key(k) => schema.get("properties").and_then(|p| p.get(k)),
            Segment::Index(_) => schema.get("items"),
        };
        match next {
            Some(next) => schema = schema::non_null(root, next),
            None => return Vec::new(),
        }
    }
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// Where the properties being checked are: for positions and names in messages.
struct Place<'a> {
    app: &'a Application,
    properties_path: &'a [Segment],
    site: &'a Site,
    schema: &'a Value,
}

/// True for the errors of an `anyOf`/`oneOf` alternative that only says "not null".
fn only_not_null(alternative: &[ValidationError<'_>]) -> bool {
    matches!(alternative, [e] if matches!(e.kind(), ValidationErrorKind::Type { .. })
        && e.to_string().ends_with("\"null\""))
}

/// "expected a string, found a number" from jsonschema's `1 is not of types "null",
/// "string"` (`null` is how an optional parameter is written, not a type users pick).
fn type_message(message: &str, instance: &Value) -> String {
    let expected: Vec<&str> = message
        .rsplit(" is not of type")
        .next()
        .unwrap_or_default()
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|t| *t != "null")
        .collect();
    let found = match instance {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    };
    if expected.is_empty() {
        return message.to_string();
    }
    format!(
        "expected {}, found {found} ({instance})",
        expected.join(" or ")
    )
}

/// The declared name closest to `name`, when close enough to be a typo.
fn nearest(name: &str, declared: &[String]) -> Option<String> {
    declared
        .iter()
        .map(|d| (strsim::damerau_levenshtein(name, d), d))
        .filter(|(distance, d)| *distance <= (d.len() / 3).max(1))
        .min()
        .map(|(_, d)| d.clone())
}
