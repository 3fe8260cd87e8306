//! KubeVela's OAM `Application` (`core.oam.dev/v1beta1`).

use std::sync::Arc;

use super::yaml::{NodeValue, Segment};
use super::{
    Application, Component, Source, TraitUse, check_name, key, object, string, string_map,
};
use crate::error::Result;

const API_VERSIONS: &[&str] = &["core.oam.dev/v1beta1", "core.oam.dev/v1alpha2"];
/// Component keys KubeVela defines that rendering does not use.
const IGNORED_COMPONENT_KEYS: &[&str] = &[
    "dependsOn",
    "inputs",
    "outputs",
    "externalRevision",
    "scopes",
];

pub(super) fn read(source: Arc<Source>, fallback_name: Option<&str>) -> Result<Application> {
    let root = &source.root;
    let api_version = match root.get("apiVersion") {
        Some(node) => string(&source, node, &[Segment::Key("apiVersion".into())])?,
        None => return Err(source.invalid(&[], "missing apiVersion")),
    };
    if !API_VERSIONS.contains(&api_version.as_str()) {
        return Err(source.invalid(
            &[Segment::Key("apiVersion".into())],
            format!(
                "unsupported apiVersion \"{api_version}\"; expected {}",
                API_VERSIONS.join(" or ")
            ),
        ));
    }
    match root.get("kind") {
        Some(node) => {
            let kind = string(&source, node, &[Segment::Key("kind".into())])?;
            if kind != "Application" {
                return Err(source.invalid(
                    &[Segment::Key("kind".into())],
                    format!("expected kind Application, found \"{kind}\""),
                ));
            }
        }
        None => return Err(source.invalid(&[], "missing kind (expected Application)")),
    }

    let meta_path = vec![Segment::Key("metadata".into())];
    let Some(metadata) = root.get("metadata") else {
        return Err(source.invalid(&[], "missing metadata"));
    };
    let name_path = key(&meta_path, "name");
    let name = match metadata.get("name") {
        Some(node) => string(&source, node, &name_path)?,
        None => match fallback_name {
            Some(name) => name.to_string(),
            None => return Err(source.invalid(&meta_path, "missing metadata.name")),
        },
    };
    check_name(&source, &name, &name_path)?;
    let namespace = match metadata.get("namespace") {
        Some(node) => Some(string(&source, node, &key(&meta_path, "namespace"))?),
        None => None,
    };
    let labels = match metadata.get("labels") {
        Some(node) => string_map(&source, node, &key(&meta_path, "labels"))?,
        None => Default::default(),
    };
    let annotations = match metadata.get("annotations") {
        Some(node) => string_map(&source, node, &key(&meta_path, "annotations"))?,
        None => Default::default(),
    };

    let spec_path = vec![Segment::Key("spec".into())];
    let Some(spec) = root.get("spec") else {
        return Err(source.invalid(&[], "missing spec"));
    };
    let components_path = key(&spec_path, "components");
    let Some(components_node) = spec.get("components") else {
        return Err(source.invalid(&spec_path, "missing spec.components"));
    };
    let NodeValue::Seq(items) = &components_node.value else {
        return Err(source.invalid(
            &components_path,
            format!("expected a list, found {}", components_node.type_name()),
        ));
    };

    let mut components = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let mut path = components_path.clone();
        path.push(Segment::Index(i));
        let component = read_component(&source, item, path)?;
        if components
            .iter()
            .any(|c: &Component| c.name == component.name)
        {
            return Err(source.invalid(
                &key(&component.path, "name"),
                format!("duplicate component name \"{}\"", component.name),
            ));
        }
        components.push(component);
    }

    Ok(Application {
        name,
        namespace,
        labels,
        annotations,
        components,
        source,
    })
}

fn read_component(
    source: &Source,
    node: &super::yaml::Node,
    path: Vec<Segment>,
) -> Result<Component> {
    let NodeValue::Map(entries) = &node.value else {
        return Err(source.invalid(&path, format!("expected a map, found {}", node.type_name())));
    };
    for (k, _) in entries {
        if !matches!(k.as_str(), "name" | "type" | "properties" | "traits")
            && !IGNORED_COMPONENT_KEYS.contains(&k.as_str())
        {
            return Err(source.invalid(
                &key(&path, k),
                format!(
                    "unknown component field \"{k}\" (expected name, type, properties, traits)"
                ),
            ));
        }
    }
    let name = match node.get("name") {
        Some(n) => string(source, n, &key(&path, "name"))?,
        None => return Err(source.invalid(&path, "missing component name")),
    };
    check_name(source, &name, &key(&path, "name"))?;
    let type_name = match node.get("type") {
        Some(n) => string(source, n, &key(&path, "type"))?,
        None => return Err(source.invalid(&path, format!("component \"{name}\" has no type"))),
    };
    let properties_path = key(&path, "properties");
    let properties = match node.get("properties") {
        Some(n) => object(source, n, &properties_path)?,
        None => Default::default(),
    };
    let traits_path = key(&path, "traits");
    let traits = match node.get("traits") {
        None => Vec::new(),
        Some(n) => {
            let NodeValue::Seq(items) = &n.value else {
                return Err(source.invalid(
                    &traits_path,
                    format!("expected a list, found {}", n.type_name()),
                ));
            };
            let mut traits = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let mut tpath = traits_path.clone();
                tpath.push(Segment::Index(i));
                traits.push(read_trait(source, item, tpath)?);
            }
            traits
        }
    };
    Ok(Component {
        name,
        type_name,
        properties,
        traits,
        path,
        properties_path,
    })
}

fn read_trait(source: &Source, node: &super::yaml::Node, path: Vec<Segment>) -> Result<TraitUse> {
    let NodeValue::Map(entries) = &node.value else {
        return Err(source.invalid(&path, format!("expected a map, found {}", node.type_name())));
    };
    for (k, _) in entries {
        if !matches!(k.as_str(), "type" | "properties") {
            return Err(source.invalid(
                &key(&path, k),
                format!("unknown trait field \"{k}\" (expected type, properties)"),
            ));
        }
    }
    let type_name = match node.get("type") {
        Some(n) => string(source, n, &key(&path, "type"))?,
        None => return Err(source.invalid(&path, "missing trait type")),
    };
    let properties_path = key(&path, "properties");
    let properties = match node.get("properties") {
        Some(n) => object(source, n, &properties_path)?,
        None => Default::default(),
    };
    Ok(TraitUse {
        type_name,
        properties,
        path,
        properties_path,
    })
}
