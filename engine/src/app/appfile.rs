//! The appfile: `name` and a `services` map, each service's keys being its `type`, traits
//! (when a trait definition of that name is loaded) or properties. File order is kept.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::yaml::{NodeValue, Segment};
use super::{Application, Component, Source, TraitNames, TraitUse, check_name, key, string};
use crate::error::Result;

/// The component type of a service that names none (KubeVela's default).
pub const DEFAULT_TYPE: &str = "webservice";
/// Service keys that are neither traits nor properties.
pub(crate) const NON_PROPERTY_KEYS: &[&str] = &["type", "dependsOn", "build"];

pub(super) fn read(
    source: Arc<Source>,
    traits: &dyn TraitNames,
    fallback_name: Option<&str>,
) -> Result<Application> {
    let root = source.root();
    if let NodeValue::Map(entries) = &root.value {
        for (k, _) in entries {
            if !matches!(k.as_str(), "name" | "services" | "secrets") {
                return Err(source.invalid(
                    &[Segment::Key(k.clone())],
                    format!(
                        "unknown appfile field \"{k}\" (an appfile has name and services; an \
                         Application starts with apiVersion and kind)"
                    ),
                ));
            }
        }
    }
    let name_path = [Segment::Key("name".into())];
    let name = match root.get("name") {
        Some(node) => string(&source, node, &name_path)?,
        None => match fallback_name {
            Some(name) => name.to_string(),
            None => {
                return Err(source.invalid(&[], "missing name (an appfile has name and services)"));
            }
        },
    };
    check_name(&source, &name, &name_path)?;
    let services_path = vec![Segment::Key("services".into())];
    let Some(services) = root.get("services") else {
        return Err(source.invalid(&[], "missing services"));
    };
    let NodeValue::Map(entries) = &services.value else {
        return Err(source.invalid(
            &services_path,
            format!("expected a map of services, found {}", services.type_name()),
        ));
    };

    let mut components = Vec::with_capacity(entries.len());
    for (service, node) in entries {
        let path = key(&services_path, service);
        check_name(&source, service, &path)?;
        let NodeValue::Map(fields) = &node.value else {
            return Err(
                source.invalid(&path, format!("expected a map, found {}", node.type_name()))
            );
        };
        let type_name = match node.get("type") {
            Some(n) => string(&source, n, &key(&path, "type"))?,
            None => DEFAULT_TYPE.to_string(),
        };
        let mut properties = Map::new();
        let mut trait_uses = Vec::new();
        for (field, value) in fields {
            if NON_PROPERTY_KEYS.contains(&field.as_str()) {
                continue;
            }
            let field_path = key(&path, field);
            if traits.is_trait(field) {
                let props = match value.to_json() {
                    Value::Object(map) => map,
                    Value::Null => Map::new(),
                    _ => {
                        return Err(source.invalid(
                            &field_path,
                            format!(
                                "\"{field}\" is a trait, so its value must be a map of its \
                                 properties, found {}",
                                value.type_name()
                            ),
                        ));
                    }
                };
                trait_uses.push(TraitUse {
                    type_name: field.clone(),
                    properties: props,
                    path: field_path.clone(),
                    properties_path: field_path,
                    position: Some(value.position.into()),
                });
            } else {
                properties.insert(field.clone(), value.to_json());
            }
        }
        components.push(Component {
            name: service.clone(),
            type_name,
            properties,
            traits: trait_uses,
            properties_path: path.clone(),
            path,
            position: Some(node.position.into()),
        });
    }

    Ok(Application {
        name,
        namespace: None,
        labels: Default::default(),
        annotations: Default::default(),
        components,
        policies: Vec::new(),
        workflow_steps: Vec::new(),
        source,
    })
}
