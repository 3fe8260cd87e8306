//! An application file rewritten in the other form: an appfile as an OAM `Application`, or
//! an `Application` as an appfile (`kiln convert`).
//!
//! The conversion works on the file's YAML nodes, not on the [`Application`] read from them,
//! so that what both forms can say keeps its order: properties as written, and traits in
//! the order they apply. The file is read as a render reads it first, so only a valid
//! application is converted, and an appfile's keys are told apart (trait or property) by
//! the same registry of trait names.
//!
//! What the target form cannot say is listed, each at its line, rather than dropped
//! silently: an appfile has no namespace, labels, policies or workflow, and a service's
//! keys cannot hold both a property and a trait of one name, or one trait twice. Reading
//! the result gives the same components, types, properties and traits, so it renders the
//! same objects (`tests/e2e/convert.rs` renders both ways and compares the bytes, the
//! revision label aside: it hashes the file's text). Comments are not kept.
//!
//! This module checks the file's structure; whether its types and traits exist and its
//! properties fit their definitions is [`crate::render::check`]'s, which `kiln convert`
//! runs first: a key the registry does not know as a trait would otherwise silently
//! become a property.
//!
//! ```
//! use kiln::app::Source;
//! use kiln::convert::{convert, Form};
//!
//! let source = Source::parse("vela.yaml", "name: shop\nservices:\n  web:\n    image: nginx\n    scaler:\n      replicas: 2\n")?;
//! let converted = convert(&source, &|name: &str| name == "scaler", Form::Application)?;
//! assert!(converted.lost.is_empty());
//! assert_eq!(converted.text, "\
//! apiVersion: core.oam.dev/v1beta1
//! kind: Application
//! metadata:
//!   name: shop
//! spec:
//!   components:
//!   - name: web
//!     type: webservice
//!     properties:
//!       image: nginx
//!     traits:
//!     - type: scaler
//!       properties:
//!         replicas: 2
//! ");
//! # Ok::<(), kiln::Error>(())
//! ```

use std::collections::BTreeSet;

use crate::app::yaml::{Node, NodeValue, Position, Segment};
use crate::app::{
    Application, DEFAULT_TYPE, IGNORED_COMPONENT_KEYS, NON_PROPERTY_KEYS, Source, TraitNames, key,
};
use crate::error::{Error, Result};
use crate::manifest::yaml;

/// The form to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// An OAM `Application` (`core.oam.dev/v1beta1`).
    Application,
    /// An appfile (`name` and `services`).
    Appfile,
}

/// An application file in the other form.
#[derive(Debug)]
pub struct Converted {
    /// The converted file, as YAML.
    pub text: String,
    /// What the target form cannot say, each at its line in the source: left out of `text`.
    pub lost: Vec<Error>,
}

/// `source` written as `to`. An appfile's keys are traits when `traits` names them.
///
/// Fails when `source` is not a valid application (with the error a render gives), or is
/// in the form `to` already.
pub fn convert(source: &Source, traits: &dyn TraitNames, to: Form) -> Result<Converted> {
    let root = source.root();
    let is_application = root.get("apiVersion").is_some() || root.get("kind").is_some();
    let form = if is_application {
        Form::Application
    } else {
        Form::Appfile
    };
    if form == to {
        let what = match to {
            Form::Application => "an OAM Application",
            Form::Appfile => "an appfile",
        };
        return Err(source.invalid(&[], format!("the file is {what} already")));
    }
    // A render's reading first: what is converted is an application Kiln renders. A file
    // may leave its name to Argo CD (the application's), so any name stands in for it.
    let copy = Source::from_node(source.file.clone(), root.clone());
    Application::from_source_named(copy, traits, Some("unnamed"))?;
    let mut writer = Writer {
        source,
        lost: Vec::new(),
    };
    let document = match to {
        Form::Application => writer.application_of(root, traits),
        Form::Appfile => writer.appfile_of(root, traits),
    };
    let mut text = String::new();
    yaml::document(&document, &mut text);
    Ok(Converted {
        text,
        lost: writer.lost,
    })
}

/// The conversion of one file: what it could not carry.
struct Writer<'s> {
    source: &'s Source,
    lost: Vec<Error>,
}

impl Writer<'_> {
    fn lose(&mut self, path: &[Segment], why: &str) {
        self.lost.push(self.source.invalid(path, why));
    }

    /// An appfile as an `Application`: each service a component, its trait keys its traits.
    fn application_of(&mut self, root: &Node, traits: &dyn TraitNames) -> Node {
        let mut metadata = Vec::new();
        let mut components = Vec::new();
        for (field, value) in entries(root) {
            match field.as_str() {
                "name" => metadata.push(("name".to_string(), value.clone())),
                "services" => {
                    for (service, node) in entries(value) {
                        let path = [
                            Segment::Key("services".into()),
                            Segment::Key(service.clone()),
                        ];
                        components.push(self.component_of(service, node, &path, traits));
                    }
                }
                _ if has_content(value) => self.lose(
                    &[Segment::Key(field.clone())],
                    "an Application has no appfile `secrets`",
                ),
                _ => {}
            }
        }
        let mut document = vec![
            entry("apiVersion", string("core.oam.dev/v1beta1")),
            entry("kind", string("Application")),
        ];
        // The reader wants a `metadata`, even when Argo CD gives the name.
        document.push(entry("metadata", map(metadata)));
        let spec = map(vec![entry("components", seq(components))]);
        document.push(entry("spec", spec));
        map(document)
    }

    /// One appfile service as a component.
    fn component_of(
        &mut self,
        name: &str,
        service: &Node,
        path: &[Segment],
        traits: &dyn TraitNames,
    ) -> Node {
        let type_name = service
            .get("type")
            .cloned()
            .unwrap_or_else(|| string(DEFAULT_TYPE));
        let mut properties = Vec::new();
        let mut trait_uses = Vec::new();
        let mut depends_on = None;
        for (field, value) in entries(service) {
            match field.as_str() {
                "type" => {}
                "dependsOn" => depends_on = Some(value.clone()),
                "build" => self.lose(&key(path, field), "an Application has no appfile `build`"),
                _ if traits.is_trait(field) => {
                    let mut trait_use = vec![entry("type", string(field))];
                    if has_entries(value) {
                        trait_use.push(entry("properties", value.clone()));
                    }
                    trait_uses.push(map(trait_use));
                }
                _ => properties.push((field.clone(), value.clone())),
            }
        }
        let mut component = vec![entry("name", string(name)), entry("type", type_name)];
        if !properties.is_empty() {
            component.push(entry("properties", map(properties)));
        }
        if let Some(depends_on) = depends_on {
            component.push(entry("dependsOn", depends_on));
        }
        if !trait_uses.is_empty() {
            component.push(entry("traits", seq(trait_uses)));
        }
        map(component)
    }

    /// An `Application` as an appfile: each component a service, its traits keys of it.
    fn appfile_of(&mut self, root: &Node, traits: &dyn TraitNames) -> Node {
        let mut document = Vec::new();
        for (field, value) in entries(root) {
            let path = [Segment::Key(field.clone())];
            match field.as_str() {
                "apiVersion" | "kind" | "spec" => {}
                "metadata" => {
                    for (meta, meta_value) in entries(value) {
                        match meta.as_str() {
                            "name" => document.push(entry("name", meta_value.clone())),
                            "namespace" => self.lose(
                                &key(&path, meta),
                                "an appfile has no namespace (render it with -n, or Argo CD's destination)",
                            ),
                            "labels" | "annotations" if has_entries(meta_value) => self.lose(
                                &key(&path, meta),
                                &format!("an appfile has no application {meta}"),
                            ),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        let mut services = Vec::new();
        if let Some(spec) = root.get("spec") {
            let spec_path = [Segment::Key("spec".into())];
            for (field, value) in entries(spec) {
                match field.as_str() {
                    "components" => {
                        for (i, component) in items(value).iter().enumerate() {
                            let path = [
                                Segment::Key("spec".into()),
                                Segment::Key("components".into()),
                                Segment::Index(i),
                            ];
                            if let Some(service) = self.service_of(component, &path, traits) {
                                services.push(service);
                            }
                        }
                    }
                    "policies" | "workflow" if has_content(value) => self.lose(
                        &key(&spec_path, field),
                        &format!("an appfile has no {field}"),
                    ),
                    _ => {}
                }
            }
        }
        document.push(entry("services", map(services)));
        map(document)
    }

    /// One component as a service (`name: {type, properties..., dependsOn, traits...}`).
    fn service_of(
        &mut self,
        component: &Node,
        path: &[Segment],
        traits: &dyn TraitNames,
    ) -> Option<(String, Node)> {
        let Some(NodeValue::String(name)) = component.get("name").map(|n| &n.value) else {
            return None;
        };
        let mut service = Vec::new();
        match component.get("type") {
            Some(Node {
                value: NodeValue::String(t),
                ..
            }) if t == DEFAULT_TYPE => {}
            Some(type_name) => service.push(entry("type", type_name.clone())),
            None => {}
        }
        let mut taken: BTreeSet<String> = BTreeSet::new();
        if let Some(properties) = component.get("properties") {
            let properties_path = key(path, "properties");
            for (field, value) in entries(properties) {
                if traits.is_trait(field) || NON_PROPERTY_KEYS.contains(&field.as_str()) {
                    let why = if traits.is_trait(field) {
                        format!(
                            "in an appfile, a key \"{field}\" is the trait of that name, not a property"
                        )
                    } else {
                        format!(
                            "in an appfile, a key \"{field}\" is the service's own, not a property"
                        )
                    };
                    self.lose(&key(&properties_path, field), &why);
                    continue;
                }
                taken.insert(field.clone());
                service.push((field.clone(), value.clone()));
            }
        }
        for (field, value) in entries(component) {
            match field.as_str() {
                "dependsOn" => service.push(entry("dependsOn", value.clone())),
                _ if IGNORED_COMPONENT_KEYS.contains(&field.as_str()) && has_content(value) => {
                    self.lose(
                        &key(path, field),
                        &format!("an appfile service has no {field}"),
                    );
                }
                _ => {}
            }
        }
        if let Some(trait_uses) = component.get("traits") {
            let traits_path = key(path, "traits");
            for (i, trait_use) in items(trait_uses).iter().enumerate() {
                let Some(NodeValue::String(type_name)) = trait_use.get("type").map(|n| &n.value)
                else {
                    continue;
                };
                let mut trait_path = traits_path.clone();
                trait_path.push(Segment::Index(i));
                if !taken.insert(type_name.clone()) {
                    self.lose(
                        &trait_path,
                        &format!("an appfile service has one key \"{type_name}\": this trait is used twice"),
                    );
                    continue;
                }
                let properties = trait_use
                    .get("properties")
                    .filter(|p| has_entries(p))
                    .cloned()
                    .unwrap_or_else(|| map(Vec::new()));
                service.push((type_name.clone(), properties));
            }
        }
        Some((name.clone(), map(service)))
    }
}

fn entries(node: &Node) -> &[(String, Node)] {
    match &node.value {
        NodeValue::Map(entries) => entries,
        _ => &[],
    }
}

fn items(node: &Node) -> &[Node] {
    match &node.value {
        NodeValue::Seq(items) => items,
        _ => &[],
    }
}

/// A map with at least one entry.
fn has_entries(node: &Node) -> bool {
    !entries(node).is_empty()
}

/// Anything but null, an empty map or an empty list.
fn has_content(node: &Node) -> bool {
    match &node.value {
        NodeValue::Null => false,
        NodeValue::Map(entries) => !entries.is_empty(),
        NodeValue::Seq(items) => !items.is_empty(),
        _ => true,
    }
}

/// Written nodes have no place in the source.
const NOWHERE: Position = Position { line: 0, column: 0 };

fn node(value: NodeValue) -> Node {
    Node {
        position: NOWHERE,
        value,
    }
}

fn string(text: &str) -> Node {
    node(NodeValue::String(text.to_string()))
}

fn map(entries: Vec<(String, Node)>) -> Node {
    node(NodeValue::Map(entries))
}

fn seq(items: Vec<Node>) -> Node {
    node(NodeValue::Seq(items))
}

fn entry(name: &str, value: Node) -> (String, Node) {
    (name.to_string(), value)
}

#[cfg(test)]
mod tests;
