//! KubeVela's OAM `Application` (`core.oam.dev/v1beta1`).

use std::collections::HashSet;
use std::sync::Arc;

use rayon::prelude::*;

use super::yaml::{Node, NodeValue, Segment};
use super::{
    Application, Component, Policy, Source, TraitUse, WorkflowStep, check_name, key, object,
    string, string_map,
};
use crate::error::Result;

pub(crate) const API_VERSIONS: &[&str] = &["core.oam.dev/v1beta1", "core.oam.dev/v1alpha2"];
/// Component keys KubeVela defines that rendering does not use.
pub(crate) const IGNORED_COMPONENT_KEYS: &[&str] = &[
    "dependsOn",
    "inputs",
    "outputs",
    "externalRevision",
    "scopes",
];

pub(super) fn read(source: Arc<Source>, fallback_name: Option<&str>) -> Result<Application> {
    let root = source.root();
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

    // Components are read in parallel (a large application has thousands), then checked in
    // file order, so the first error reported is the same as a sequential read's.
    let read: Vec<Result<Component>> = items
        .par_iter()
        .enumerate()
        .map(|(i, item)| {
            let mut path = components_path.clone();
            path.push(Segment::Index(i));
            read_component(&source, item, path)
        })
        .collect();
    let mut components = Vec::with_capacity(items.len());
    let mut names = HashSet::with_capacity(items.len());
    for component in read {
        let component = component?;
        if !names.insert(component.name.clone()) {
            return Err(source.invalid(
                &key(&component.path, "name"),
                format!("duplicate component name \"{}\"", component.name),
            ));
        }
        components.push(component);
    }

    let policies = match spec.get("policies") {
        Some(node) => read_policies(&source, node, key(&spec_path, "policies"))?,
        None => Vec::new(),
    };
    let workflow_steps = match spec.get("workflow") {
        Some(node) => read_workflow(&source, node, key(&spec_path, "workflow"))?,
        None => Vec::new(),
    };

    Ok(Application {
        name,
        namespace,
        labels,
        annotations,
        components,
        policies,
        workflow_steps,
        source,
    })
}

/// The items of a list node (null is an empty list), with their paths.
fn list<'a>(
    source: &Source,
    node: &'a Node,
    path: &[Segment],
) -> Result<Vec<(&'a Node, Vec<Segment>)>> {
    match &node.value {
        NodeValue::Seq(items) => Ok(items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let mut item_path = path.to_vec();
                item_path.push(Segment::Index(i));
                (item, item_path)
            })
            .collect()),
        NodeValue::Null => Ok(Vec::new()),
        _ => Err(source.invalid(path, format!("expected a list, found {}", node.type_name()))),
    }
}

/// `spec.policies`: every policy needs a name (steps refer to it) and a type.
fn read_policies(source: &Source, node: &Node, path: Vec<Segment>) -> Result<Vec<Policy>> {
    let mut policies: Vec<Policy> = Vec::new();
    for (item, item_path) in list(source, node, &path)? {
        if !matches!(item.value, NodeValue::Map(_)) {
            return Err(source.invalid(
                &item_path,
                format!("expected a map, found {}", item.type_name()),
            ));
        }
        let name_path = key(&item_path, "name");
        let name = match item.get("name") {
            Some(n) => string(source, n, &name_path)?,
            None => return Err(source.invalid(&item_path, "missing policy name")),
        };
        if name.is_empty() {
            return Err(source.invalid(&name_path, "a policy name cannot be empty"));
        }
        if policies.iter().any(|p| p.name == name) {
            return Err(source.invalid(&name_path, format!("duplicate policy name \"{name}\"")));
        }
        policies.push(read_policy(source, item, item_path, Some(name))?);
    }
    Ok(policies)
}

/// One policy; `name` is read already (a named policy) or made up (an inline one).
fn read_policy(
    source: &Source,
    node: &Node,
    path: Vec<Segment>,
    name: Option<String>,
) -> Result<Policy> {
    let NodeValue::Map(entries) = &node.value else {
        return Err(source.invalid(&path, format!("expected a map, found {}", node.type_name())));
    };
    for (k, _) in entries {
        if !matches!(k.as_str(), "name" | "type" | "properties") {
            return Err(source.invalid(
                &key(&path, k),
                format!("unknown policy field \"{k}\" (expected name, type, properties)"),
            ));
        }
    }
    let type_name = match node.get("type") {
        Some(n) => string(source, n, &key(&path, "type"))?,
        None => return Err(source.invalid(&path, "missing policy type")),
    };
    let name = match (name, node.get("name")) {
        (Some(name), _) => name,
        (None, Some(n)) => string(source, n, &key(&path, "name"))?,
        (None, None) => {
            let index = match path.last() {
                Some(Segment::Index(i)) => *i,
                _ => 0,
            };
            format!("inline-{type_name}-policy-{index}")
        }
    };
    let properties_path = key(&path, "properties");
    let properties = match node.get("properties") {
        Some(n) => object(source, n, &properties_path)?,
        None => Default::default(),
    };
    Ok(Policy {
        name,
        type_name,
        properties,
        path,
        properties_path,
    })
}

/// `spec.workflow`: its `steps` (a workflow `ref` or `mode` means nothing offline).
fn read_workflow(source: &Source, node: &Node, path: Vec<Segment>) -> Result<Vec<WorkflowStep>> {
    match &node.value {
        NodeValue::Map(_) => {}
        NodeValue::Null => return Ok(Vec::new()),
        _ => {
            return Err(
                source.invalid(&path, format!("expected a map, found {}", node.type_name()))
            );
        }
    }
    match node.get("steps") {
        Some(steps) => read_steps(source, steps, &key(&path, "steps")),
        None => Ok(Vec::new()),
    }
}

fn read_steps(source: &Source, node: &Node, path: &[Segment]) -> Result<Vec<WorkflowStep>> {
    list(source, node, path)?
        .into_iter()
        .map(|(item, item_path)| read_step(source, item, item_path))
        .collect()
}

/// One workflow step: its name and type; a deploy step's policies; a group's sub-steps.
fn read_step(source: &Source, node: &Node, path: Vec<Segment>) -> Result<WorkflowStep> {
    if !matches!(node.value, NodeValue::Map(_)) {
        return Err(source.invalid(&path, format!("expected a map, found {}", node.type_name())));
    }
    let name = match node.get("name") {
        Some(n) => Some(string(source, n, &key(&path, "name"))?),
        None => None,
    };
    let type_name = match node.get("type") {
        Some(n) => string(source, n, &key(&path, "type"))?,
        None => return Err(source.invalid(&path, "missing workflow step type")),
    };
    let mut policies = Vec::new();
    let mut inline_policies = Vec::new();
    let properties_path = key(&path, "properties");
    let properties = node.get("properties");
    if let Some(props) = properties
        && !matches!(props.value, NodeValue::Map(_) | NodeValue::Null)
    {
        return Err(source.invalid(
            &properties_path,
            format!("expected a map, found {}", props.type_name()),
        ));
    }
    if type_name == "deploy"
        && let Some(props) = properties
    {
        if let Some(names) = props.get("policies") {
            for (item, item_path) in list(source, names, &key(&properties_path, "policies"))? {
                policies.push(string(source, item, &item_path)?);
            }
        }
        if let Some(inline) = props.get("inlinePolicies") {
            for (item, item_path) in list(source, inline, &key(&properties_path, "inlinePolicies"))?
            {
                inline_policies.push(read_policy(source, item, item_path, None)?);
            }
        }
    }
    let sub_steps = match node.get("subSteps") {
        Some(n) => read_steps(source, n, &key(&path, "subSteps"))?,
        None => Vec::new(),
    };
    Ok(WorkflowStep {
        name,
        type_name,
        policies,
        inline_policies,
        sub_steps,
        path,
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
        position: Some(node.position.into()),
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
        position: Some(node.position.into()),
    })
}
