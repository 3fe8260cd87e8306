//! The JSON Schema of application files, for editors: every component type and trait the
//! registry holds, by name, with its description and its parameters (`kiln schema`).
//!
//! An editor with a YAML language server then completes `type:` with the definitions'
//! names and their parameters with their descriptions, and flags an unknown type, an
//! unknown parameter or a value of the wrong type while the developer types, in the
//! definitions' own words.
//!
//! The document is draft-07 (what yaml-language-server, and so VS Code, IntelliJ and
//! Neovim's YAML support, read the same way; see [`draft07`] for why and how each
//! definition's 2020-12 schema is rewritten). A component or trait selects its parameters
//! by its `type` through an `allOf` of `if {type: const} then {properties: ...}`, beside
//! an `enum` of the names: unlike `oneOf`, that yields one message for one mistake (a
//! `oneOf` reports "matches multiple schemas" and the best-matching branch's unrelated
//! complaints as well). The rules are the reader's ([`crate::app`]): the fields it knows,
//! the fields it refuses, the appfile's trait keys and its default type.
//!
//! ```no_run
//! use kiln::{app_schema::{self, Form}, definitions::Registry, sandbox::{Limits, Sandbox}};
//!
//! let sandbox = Sandbox::new(Limits::default(), None)?;
//! let definitions = app_schema::definitions(&sandbox, &Registry::builtin())?;
//! let schema = app_schema::generate(&definitions, Form::Either)?;
//! println!("{}", serde_json::to_string_pretty(&schema)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod draft07;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::app::{API_VERSIONS, DEFAULT_TYPE, IGNORED_COMPONENT_KEYS, NON_PROPERTY_KEYS};
use crate::definitions::{Kind, Registry};
use crate::error::{Error, Result};
use crate::sandbox::Sandbox;

/// The draft the document is written in.
const DRAFT_07: &str = "http://json-schema.org/draft-07/schema#";

/// Which application files the schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// An OAM `Application` (`apiVersion: core.oam.dev/v1beta1`).
    Application,
    /// An appfile (`name` and `services`).
    Appfile,
    /// Either: a file with an `apiVersion` or a `kind` is an `Application`, any other an
    /// appfile. One editor setting then covers every application file.
    Either,
}

/// What the schema needs of one definition.
#[derive(Debug, Clone)]
pub struct DefinitionSchema {
    /// The name an application uses.
    pub name: String,
    /// A component type or a trait (policies are the platform's, not the application's).
    pub kind: Kind,
    /// What it is, as its module describes it.
    pub description: String,
    /// Its parameter schema (JSON Schema 2020-12), as its module announces it.
    pub parameters: Value,
}

/// The component types and traits of `registry`, loaded into `sandbox` (from the cache
/// when they are there), sorted by name.
///
/// Fails when a definition fails to load or announces a parameter schema that is not
/// JSON, naming it.
pub fn definitions(sandbox: &Sandbox, registry: &Registry) -> Result<Vec<DefinitionSchema>> {
    let mut names: Vec<String> = registry.names_of(Kind::Workload);
    names.extend(registry.names_of(Kind::Trait));
    names.sort();
    let wanted: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let loaded = registry.load_modules(sandbox, &wanted)?;
    let mut out = Vec::with_capacity(names.len());
    for name in &names {
        let (Some(module), Some(kind)) = (loaded.get(name), registry.kind(name)) else {
            continue;
        };
        let parameters = serde_json::from_str(&module.metadata.parameter_schema).map_err(|e| {
            Error::Definition {
                module: name.clone(),
                message: format!("its parameter schema is not JSON: {e}"),
            }
        })?;
        out.push(DefinitionSchema {
            name: name.clone(),
            kind,
            description: module.metadata.description.clone(),
            parameters,
        });
    }
    Ok(out)
}

/// The draft-07 schema of application files of `form`, for the component types and
/// traits `definitions`.
///
/// Fails, naming the definition, when a parameter schema cannot be carried into one
/// document (it names schemas by URI, or refers outside itself); and when the result is
/// not a valid draft-07 schema, which would otherwise silently switch an editor's checks
/// off.
pub fn generate(definitions: &[DefinitionSchema], form: Form) -> Result<Value> {
    let mut schemas = BTreeMap::new();
    for definition in definitions {
        let root = root_name(definition);
        let converted = draft07::convert(&definition.parameters, &root).map_err(|message| {
            Error::Definition {
                module: definition.name.clone(),
                message: format!(
                    "its parameter schema cannot go into the editor schema: {message}"
                ),
            }
        })?;
        for (name, mut schema) in converted {
            if name == root {
                annotate(&mut schema, definition);
            }
            schemas.insert(name, schema);
        }
    }
    let workloads: Vec<&DefinitionSchema> = of_kind(definitions, Kind::Workload);
    let traits: Vec<&DefinitionSchema> = of_kind(definitions, Kind::Trait);
    schemas.insert(
        "componentType".into(),
        type_enum(&workloads, "component type"),
    );
    schemas.insert("traitType".into(), type_enum(&traits, "trait"));

    let body = match form {
        Form::Application => {
            application(&mut schemas, &workloads, &traits);
            json!({
                "title": "KubeVela Application (Kiln)",
                "allOf": [{ "$ref": "#/definitions/application" }],
            })
        }
        Form::Appfile => {
            appfile(&mut schemas, &workloads, &traits);
            json!({
                "title": "KubeVela appfile (Kiln)",
                "allOf": [{ "$ref": "#/definitions/appfile" }],
            })
        }
        Form::Either => {
            application(&mut schemas, &workloads, &traits);
            appfile(&mut schemas, &workloads, &traits);
            json!({
                "title": "KubeVela application file (Kiln)",
                "description": "An OAM Application (it has an apiVersion) or an appfile.",
                // The reader's rule: an `apiVersion` or a `kind` makes it an Application.
                "if": { "anyOf": [{ "required": ["apiVersion"] }, { "required": ["kind"] }] },
                "then": { "$ref": "#/definitions/application" },
                "else": { "$ref": "#/definitions/appfile" },
            })
        }
    };
    let mut root = Map::new();
    root.insert("$schema".into(), DRAFT_07.into());
    if let Value::Object(body) = body {
        root.extend(body);
    }
    root.insert(
        "definitions".into(),
        Value::Object(schemas.into_iter().collect()),
    );
    let root = Value::Object(root);
    check(&root, definitions)?;
    Ok(root)
}

/// The definition's name in the merged document: `workload.webservice`, `trait.scaler`.
fn root_name(definition: &DefinitionSchema) -> String {
    let kind = match definition.kind {
        Kind::Workload => "workload",
        Kind::Trait => "trait",
        Kind::Policy => "policy",
    };
    format!("{kind}.{}", definition.name)
}

fn of_kind(definitions: &[DefinitionSchema], kind: Kind) -> Vec<&DefinitionSchema> {
    definitions.iter().filter(|d| d.kind == kind).collect()
}

/// The definition's name as its parameters' `title` (yaml-language-server names the
/// schema of a diagnostic by it: "yaml-schema: scaler") and its description.
fn annotate(schema: &mut Value, definition: &DefinitionSchema) {
    if let Value::Object(keywords) = schema {
        keywords.insert("title".into(), definition.name.clone().into());
        if !definition.description.is_empty() {
            keywords.insert("description".into(), definition.description.clone().into());
            let markdown = definition.description.clone().into();
            keywords.insert("markdownDescription".into(), markdown);
        }
    }
}

/// `type:`'s schema: the names, each with its description for completion and hover.
fn type_enum(definitions: &[&DefinitionSchema], what: &str) -> Value {
    let names: Vec<&str> = definitions.iter().map(|d| d.name.as_str()).collect();
    let descriptions: Vec<&str> = definitions.iter().map(|d| d.description.as_str()).collect();
    if names.is_empty() {
        // Draft-07 wants an `enum` of one value at least; with no definition, none is valid.
        return json!({
            "type": "string",
            "description": format!("The {what}: none is loaded."),
            "not": {},
        });
    }
    json!({
        "type": "string",
        "description": format!("The {what}: `kiln definitions list` names them all."),
        "enum": names,
        "enumDescriptions": descriptions,
        "markdownEnumDescriptions": descriptions,
    })
}

/// Whether the definition's parameter schema requires any parameter.
fn requires_parameters(definition: &DefinitionSchema) -> bool {
    definition
        .parameters
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(|required| !required.is_empty())
}

/// A `properties:` value: the definition's parameters; absent or empty (`null`) when it
/// requires none, as the reader accepts.
fn parameters_of(definition: &DefinitionSchema) -> Value {
    let target = draft07::reference(&root_name(definition));
    if requires_parameters(definition) {
        json!({ "$ref": target })
    } else {
        // An empty value is null, which the parameters (an object) would refuse; a
        // `oneOf` with null would add a second message to every real mistake.
        json!({
            "type": ["object", "null"],
            "if": { "type": "object" },
            "then": { "$ref": target },
        })
    }
}

/// `object` with an `allOf` of `if type is NAME then THEN` for each definition: how an
/// object selects its schema by its `type`. (None at all when there are no definitions:
/// draft-07 wants one item in an `allOf` at least.)
fn by_type(
    mut object: Value,
    definitions: &[&DefinitionSchema],
    then: impl Fn(&DefinitionSchema) -> Value,
    type_required: impl Fn(&DefinitionSchema) -> bool,
) -> Value {
    if definitions.is_empty() {
        return object;
    }
    object["allOf"] = definitions
        .iter()
        .map(|definition| {
            let mut condition = json!({ "properties": { "type": { "const": definition.name } } });
            // Without it, an object with no `type` would satisfy every condition.
            if type_required(definition) {
                condition["required"] = json!(["type"]);
            }
            json!({ "if": condition, "then": then(definition) })
        })
        .collect();
    object
}

/// `then` of a component's or trait's `if`: its `properties` are the definition's.
fn properties_then(definition: &DefinitionSchema) -> Value {
    let mut then = json!({ "properties": { "properties": parameters_of(definition) } });
    if requires_parameters(definition) {
        then["required"] = json!(["properties"]);
    }
    then
}

/// The OAM `Application` (`crate::app`'s `application.rs`): components, their traits, and
/// the application's policies and workflow.
fn application(
    schemas: &mut BTreeMap<String, Value>,
    workloads: &[&DefinitionSchema],
    traits: &[&DefinitionSchema],
) {
    let mut component_fields = json!({
        "name": { "type": "string", "description": "The component's name, unique in the application." },
        "type": { "$ref": "#/definitions/componentType" },
        "properties": { "type": ["object", "null"], "description": "The component type's parameters." },
        "traits": {
            "type": ["array", "null"],
            "description": "Traits, applied in order to what the component type renders.",
            "items": { "$ref": "#/definitions/trait" },
        },
    });
    for key in IGNORED_COMPONENT_KEYS {
        component_fields[*key] =
            json!({ "description": "Read by KubeVela; Kiln renders without it." });
    }
    let component = json!({
        "type": "object",
        "required": ["name", "type"],
        "additionalProperties": false,
        "properties": component_fields,
    });
    let component = by_type(component, workloads, properties_then, |_| true);
    schemas.insert("component".into(), component);
    let trait_use = json!({
        "type": "object",
        "required": ["type"],
        "additionalProperties": false,
        "properties": {
            "type": { "$ref": "#/definitions/traitType" },
            "properties": { "type": ["object", "null"], "description": "The trait's parameters." },
        },
    });
    let trait_use = by_type(trait_use, traits, properties_then, |_| true);
    schemas.insert("trait".into(), trait_use);
    schemas.insert(
        "policy".into(),
        json!({
            "type": "object",
            "required": ["name", "type"],
            "additionalProperties": false,
            "properties": {
                "name": { "type": "string", "description": "The policy's name, which workflow steps refer to." },
                "type": { "type": "string", "description": "The policy type: Kiln applies `override` and `topology` (environments)." },
                "properties": { "type": ["object", "null"] },
            },
        }),
    );
    schemas.insert(
        "application".into(),
        json!({
            "type": "object",
            "required": ["apiVersion", "kind", "metadata", "spec"],
            "properties": {
                "apiVersion": { "enum": API_VERSIONS },
                "kind": { "const": "Application" },
                "metadata": {
                    "type": "object",
                    "properties": {
                        "name": { "type": "string", "description": "The application's name (in Argo CD, the Argo CD application's name when absent)." },
                        "namespace": { "type": "string" },
                        "labels": { "type": ["object", "null"], "additionalProperties": { "type": "string" } },
                        "annotations": { "type": ["object", "null"], "additionalProperties": { "type": "string" } },
                    },
                },
                "spec": {
                    "type": "object",
                    "required": ["components"],
                    "properties": {
                        "components": { "type": "array", "items": { "$ref": "#/definitions/component" } },
                        "policies": { "type": ["array", "null"], "items": { "$ref": "#/definitions/policy" } },
                        "workflow": { "type": ["object", "null"] },
                    },
                },
            },
        }),
    );
}

/// The appfile (`crate::app`'s `appfile.rs`): services by name; a service's keys are its
/// type's parameters, except those naming a trait, which are that trait.
fn appfile(
    schemas: &mut BTreeMap<String, Value>,
    workloads: &[&DefinitionSchema],
    traits: &[&DefinitionSchema],
) {
    for workload in workloads {
        let service = service_of(schemas, workload, traits);
        schemas.insert(format!("service.{}", workload.name), service);
    }
    let service_then = |definition: &DefinitionSchema| json!({ "$ref": format!("#/definitions/service.{}", definition.name) });
    let service = json!({
        "type": "object",
        "properties": { "type": { "$ref": "#/definitions/componentType" } },
    });
    // A service without `type` is a webservice: its condition does not require it.
    let service = by_type(service, workloads, service_then, |d| d.name != DEFAULT_TYPE);
    schemas.insert("service".into(), service);
    schemas.insert(
        "appfile".into(),
        json!({
            "type": "object",
            "required": ["services"],
            "additionalProperties": false,
            "properties": {
                "name": { "type": "string", "description": "The application's name." },
                "services": {
                    "type": "object",
                    "description": "The services (components), by name.",
                    "additionalProperties": { "$ref": "#/definitions/service" },
                },
                "secrets": { "description": "Read by KubeVela's appfile; Kiln renders without it." },
            },
        }),
    );
}

/// One appfile service of type `workload`: the workload's parameters, one key per trait,
/// and the keys that are neither. One closed object, because draft-07's
/// `additionalProperties` sees only its sibling `properties`.
fn service_of(
    schemas: &BTreeMap<String, Value>,
    workload: &DefinitionSchema,
    traits: &[&DefinitionSchema],
) -> Value {
    let mut service = match schemas.get(&root_name(workload)) {
        Some(Value::Object(parameters)) => parameters.clone(),
        _ => Map::new(),
    };
    let mut properties = match service.remove("properties") {
        Some(Value::Object(properties)) => properties,
        _ => Map::new(),
    };
    // A key that names a trait is the trait, even where the type has a parameter of
    // that name (the reader's rule).
    for definition in traits {
        properties.insert(definition.name.clone(), parameters_of(definition));
    }
    for key in NON_PROPERTY_KEYS {
        let schema = match *key {
            "type" => json!({ "$ref": "#/definitions/componentType" }),
            "dependsOn" => json!({ "type": "array", "items": { "type": "string" } }),
            _ => json!({ "description": "Read by KubeVela's appfile; Kiln renders without it." }),
        };
        properties.insert((*key).to_string(), schema);
    }
    service.insert("properties".into(), Value::Object(properties));
    if let Some(Value::Array(required)) = service.remove("required") {
        let trait_names: BTreeSet<&str> = traits.iter().map(|t| t.name.as_str()).collect();
        let required: Vec<Value> = required
            .into_iter()
            .filter(|name| !name.as_str().is_some_and(|n| trait_names.contains(n)))
            .collect();
        if !required.is_empty() {
            service.insert("required".into(), Value::Array(required));
        }
    }
    service.insert("type".into(), "object".into());
    Value::Object(service)
}

/// The document is a valid draft-07 schema and every `$ref` resolves: an editor shows
/// nothing but the schema's own error otherwise.
fn check(schema: &Value, definitions: &[DefinitionSchema]) -> Result<()> {
    let mut references = Vec::new();
    collect_references(schema, &mut references);
    for reference in references {
        let resolves = reference
            .strip_prefix('#')
            .and_then(draft07::percent_decode)
            .is_some_and(|pointer| schema.pointer(&pointer).is_some());
        if !resolves {
            return Err(blame(
                &reference,
                definitions,
                "a $ref that resolves to nothing",
            ));
        }
    }
    jsonschema::draft7::meta::validate(schema).map_err(|e| {
        let at = e.instance_path().to_string();
        blame(
            &at,
            definitions,
            &format!("an invalid draft-07 schema at {at}: {e}"),
        )
    })?;
    Ok(())
}

/// An error about the generated document at `location`, naming the definition whose
/// part of the document it is.
fn blame(location: &str, definitions: &[DefinitionSchema], what: &str) -> Error {
    let owner = definitions.iter().find(|d| {
        let root = draft07::reference(&root_name(d));
        let token = &root["#/definitions/".len()..];
        location.contains(&format!("/definitions/{token}"))
    });
    match owner {
        Some(definition) => Error::Definition {
            module: definition.name.clone(),
            message: format!("its parameter schema gives the editor schema {what} ({location})"),
        },
        None => Error::Definition {
            module: "(editor schema)".into(),
            message: format!("the generated schema has {what} ({location})"),
        },
    }
}

fn collect_references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => out.push(target.clone()),
                    // Values are not schemas: a `$ref` key inside them is data.
                    ("enum" | "const" | "default" | "examples", _) => {}
                    _ => collect_references(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_references(item, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
