//! The application model and its two input formats: KubeVela's OAM `Application`
//! (`core.oam.dev/v1beta1`) and the appfile (`name` + `services`).
//!
//! Both become one [`Application`]. Every component and trait keeps the path of its node in
//! the file, so later stages can report errors at the right line ([`Source::site`]).
//!
//! An Application's `spec.policies` and `spec.workflow.steps` are kept as read ([`Policy`],
//! [`WorkflowStep`]): [`crate::environment`] applies the `override` and `topology` policies
//! the selected `deploy` step names; other policy types are left to later stages.

mod appfile;
mod application;
pub mod yaml;

pub(crate) use appfile::{DEFAULT_TYPE, NON_PROPERTY_KEYS};
pub(crate) use application::{API_VERSIONS, IGNORED_COMPONENT_KEYS};

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use crate::error::{Error, Result, Site};
use yaml::{Node, NodeValue, Segment};

/// The file names looked for, in order, when the input is a directory.
pub const APP_FILE_NAMES: &[&str] = &["vela.yaml", "vela.json", "Appfile", "app.yaml"];

/// Largest application file read (bigger inputs are refused, not parsed).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// An application file's text, parsed, with the name to show in errors.
///
/// The tree, which keeps every node's position, is several times the size of the text and
/// about that of the values read from it. Once an [`Application`] is read, only errors
/// still need positions (components and traits keep their own), so the tree is dropped,
/// and parsed again from the text if an error asks: a render holds the application once,
/// not twice.
#[derive(Debug)]
pub struct Source {
    /// The file as the user named it, or `<stdin>`.
    pub file: String,
    /// The text the tree was parsed from; `None` for a tree built another way, which is
    /// then kept.
    text: Option<String>,
    /// The parsed document, while held.
    root: OnceLock<Node>,
}

impl Source {
    /// Parses `text`, read from `file`.
    pub fn parse(file: impl Into<String>, text: &str) -> Result<Source> {
        Source::parse_owned(file.into(), text.to_string())
    }

    /// [`Source::parse`] of a text the caller gives up, kept without a copy.
    fn parse_owned(file: String, text: String) -> Result<Source> {
        let root = yaml::parse(&text).map_err(|e| Error::Syntax {
            site: Box::new(Site {
                file: Some(file.clone()),
                position: Some((e.position.line, e.position.column)),
                ..Site::default()
            }),
            message: e.message,
        })?;
        Ok(Source {
            file,
            text: Some(text),
            root: OnceLock::from(root),
        })
    }

    /// A source for a document already parsed (an application embedded in another file):
    /// positions are those of `root`'s nodes.
    pub fn from_node(file: impl Into<String>, root: Node) -> Source {
        Source {
            file: file.into(),
            text: None,
            root: OnceLock::from(root),
        }
    }

    /// The parsed document, parsed again from the text if it was dropped.
    pub fn root(&self) -> &Node {
        self.root.get_or_init(|| {
            let text = self.text.as_deref().unwrap_or_default();
            // The same text parsed once already, so this cannot fail; a null document
            // keeps positions at the top of the file if it ever did.
            yaml::parse(text).unwrap_or(Node {
                position: yaml::Position { line: 1, column: 1 },
                value: NodeValue::Null,
            })
        })
    }

    /// Drops the tree when it can be parsed again from the text.
    fn drop_tree(&mut self) {
        if self.text.is_some() {
            self.root = OnceLock::new();
        }
    }

    /// Reads and parses a file, or the application file in a directory.
    pub fn read(path: &Path) -> Result<Source> {
        Text::read(path)?.parse()
    }

    /// A [`Site`] at `path` in this file: the file, and the line and column of the deepest
    /// node of `path` that exists.
    pub fn site(&self, path: &[Segment]) -> Site {
        let node = self.root().locate(path);
        self.site_of(path, Some(node.position.into()))
    }

    /// [`Source::site`] at `path`, whose line and column are already `known` when given.
    pub fn site_of(&self, path: &[Segment], known: Option<(usize, usize)>) -> Site {
        match known {
            Some(position) => Site {
                file: Some(self.file.clone()),
                position: Some(position),
                ..Site::default()
            },
            None => self.site(path),
        }
    }

    pub(crate) fn invalid(&self, path: &[Segment], message: impl Into<String>) -> Error {
        Error::Invalid {
            site: Box::new(Site {
                // The whole document is no field: `app.yaml:1:1: missing apiVersion`.
                field: (!path.is_empty()).then(|| dotted(path)),
                ..self.site(path)
            }),
            message: message.into(),
        }
    }
}

/// The application file of `path`: `path` itself, or the first of [`APP_FILE_NAMES`] in
/// it when it is a directory.
pub fn find_app_file(path: &Path) -> Result<PathBuf> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        error: source,
    })?;
    if !meta.is_dir() {
        return Ok(path.to_path_buf());
    }
    APP_FILE_NAMES
        .iter()
        .map(|name| path.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| Error::Invalid {
            site: Box::new(Site {
                file: Some(path.display().to_string()),
                ..Site::default()
            }),
            message: format!(
                "no application file in this directory (looked for {})",
                APP_FILE_NAMES.join(", ")
            ),
        })
}

/// Every application file under `root`, sorted by path: in each directory, the one
/// [`find_app_file`] would pick. `target` and hidden directories are skipped, and symbolic
/// links are not followed (a link cannot make the walk loop or leave the tree).
pub fn find_app_files(root: &Path) -> Result<Vec<PathBuf>> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| Error::Io { path, error }
    };
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let kind = entry.file_type().map_err(io(&entry.path()))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if kind.is_dir() && name != "target" && !name.starts_with('.') {
                dirs.push(entry.path());
            } else if kind.is_file() {
                files.push(name.into_owned());
            }
        }
        if let Some(name) = APP_FILE_NAMES
            .iter()
            .find(|n| files.iter().any(|f| f == *n))
        {
            found.push(dir.join(name));
        }
    }
    found.sort();
    Ok(found)
}

/// An application file read but not parsed yet: what a caller can look at before it waits
/// for the parse (see [`Text::type_names`]).
#[derive(Debug, Clone)]
pub struct Text {
    /// The file as the user named it, or `<stdin>`.
    pub file: String,
    pub text: String,
}

impl Text {
    /// Reads a file, or the application file in a directory.
    pub fn read(path: &Path) -> Result<Text> {
        let file = find_app_file(path)?;
        let text = read_bounded(&file)?;
        Ok(Text {
            file: file.display().to_string(),
            text,
        })
    }

    /// Parses the text, kept without a copy.
    pub fn parse(self) -> Result<Source> {
        Source::parse_owned(self.file, self.text)
    }

    /// The values of the text's `type:` lines (`type: webservice`, `- type: scaler`), each
    /// once, found without parsing it: the definitions an application most likely uses,
    /// known early enough to load them while it is parsed
    /// ([`crate::definitions::Registry::preload`]). A hint only: what the parse finds is
    /// what counts.
    pub fn type_names(&self) -> std::collections::BTreeSet<&str> {
        self.text
            .lines()
            .filter_map(|line| {
                let line = line.trim_start();
                let line = line.strip_prefix("- ").map_or(line, str::trim_start);
                let value = line.strip_prefix("type:")?;
                let value = value.split(" #").next().unwrap_or_default().trim();
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                    .unwrap_or(value);
                (!value.is_empty()).then_some(value)
            })
            .collect()
    }
}

fn read_bounded(file: &Path) -> Result<String> {
    let io = |source| Error::Io {
        path: file.to_path_buf(),
        error: source,
    };
    let meta = std::fs::metadata(file).map_err(io)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(Error::Invalid {
            site: Box::new(Site {
                file: Some(file.display().to_string()),
                ..Site::default()
            }),
            message: format!(
                "the file is {} bytes; application files are limited to {MAX_FILE_BYTES}",
                meta.len()
            ),
        });
    }
    let bytes = std::fs::read(file).map_err(io)?;
    String::from_utf8(bytes).map_err(|e| Error::Invalid {
        site: Box::new(Site {
            file: Some(file.display().to_string()),
            ..Site::default()
        }),
        message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })
}

/// An application: components with their traits, as read from either format.
#[derive(Debug, Clone)]
pub struct Application {
    pub name: String,
    /// `metadata.namespace`, when the file sets one.
    pub namespace: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Components in file order.
    pub components: Vec<Component>,
    /// `spec.policies`, in file order (none in an appfile).
    pub policies: Vec<Policy>,
    /// `spec.workflow.steps`, in file order (none in an appfile).
    pub workflow_steps: Vec<WorkflowStep>,
    /// The file it came from (for error positions).
    pub source: Arc<Source>,
}

/// One component: its type, properties and traits.
#[derive(Debug, Clone)]
pub struct Component {
    pub name: String,
    /// The component type, e.g. `webservice`.
    pub type_name: String,
    /// The properties (KubeVela's `parameter`), a JSON object.
    pub properties: Map<String, Value>,
    /// Traits in the order they apply.
    pub traits: Vec<TraitUse>,
    /// Path of the component's node in the file.
    pub path: Vec<Segment>,
    /// Path of the properties' node (the component itself, in an appfile).
    pub properties_path: Vec<Segment>,
    /// Line and column of the component's node: errors name it without the file's tree.
    pub position: Option<(usize, usize)>,
}

/// A trait attached to a component.
#[derive(Debug, Clone)]
pub struct TraitUse {
    pub type_name: String,
    pub properties: Map<String, Value>,
    pub path: Vec<Segment>,
    pub properties_path: Vec<Segment>,
    /// Line and column of the trait's node, when it was read from the file (`None` for a
    /// trait an environment added: [`Source::site`] finds it).
    pub position: Option<(usize, usize)>,
}

/// A policy of `spec.policies` (KubeVela's `AppPolicy`), or an inline policy of a `deploy`
/// step. Its properties are not checked here: each stage reads the types it knows.
#[derive(Debug, Clone)]
pub struct Policy {
    pub name: String,
    /// The policy type, e.g. `override`, `topology`.
    pub type_name: String,
    /// The properties, a JSON object (empty when the file gives none).
    pub properties: Map<String, Value>,
    /// Path of the policy's node in the file.
    pub path: Vec<Segment>,
    /// Path of the properties' node (absent from the file when it gives none).
    pub properties_path: Vec<Segment>,
}

/// A step of `spec.workflow.steps`, or of a step group's `subSteps`. Only what choosing an
/// environment needs is read; the other fields of a step are ignored.
#[derive(Debug, Clone)]
pub struct WorkflowStep {
    /// The step's name (a `deploy` step's names its environment).
    pub name: Option<String>,
    /// The step type, e.g. `deploy`, `suspend`, `step-group`.
    pub type_name: String,
    /// `properties.policies` of a `deploy` step: names of `spec.policies`, in the order they
    /// apply; empty for other step types.
    pub policies: Vec<String>,
    /// `properties.inlinePolicies` of a `deploy` step, applied after `policies`; unnamed ones
    /// are called `inline-<type>-policy-<index>`, like KubeVela does.
    pub inline_policies: Vec<Policy>,
    /// `subSteps` of a step group, in file order.
    pub sub_steps: Vec<WorkflowStep>,
    /// Path of the step's node in the file.
    pub path: Vec<Segment>,
}

/// Which definition names are traits (an appfile's service keys depend on it).
pub trait TraitNames {
    /// True when a trait definition named `name` is loaded.
    fn is_trait(&self, name: &str) -> bool;
}

impl<F: Fn(&str) -> bool> TraitNames for F {
    fn is_trait(&self, name: &str) -> bool {
        self(name)
    }
}

impl Application {
    /// Reads an application from a parsed file: an OAM `Application` when the document has
    /// `apiVersion`, else an appfile (whose service keys are traits when `traits` says so).
    pub fn from_source(source: Source, traits: &dyn TraitNames) -> Result<Application> {
        Self::from_source_named(source, traits, None)
    }

    /// [`Application::from_source`], with a name to use when the file names none (Argo CD's
    /// application name).
    pub fn from_source_named(
        source: Source,
        traits: &dyn TraitNames,
        fallback_name: Option<&str>,
    ) -> Result<Application> {
        let source = Arc::new(source);
        if !matches!(source.root().value, NodeValue::Map(_)) {
            return Err(source.invalid(
                &[],
                format!(
                    "expected a map (an Application or an appfile), found {}",
                    source.root().type_name()
                ),
            ));
        }
        let mut app =
            if source.root().get("apiVersion").is_some() || source.root().get("kind").is_some() {
                application::read(source, fallback_name)
            } else {
                appfile::read(source, traits, fallback_name)
            }?;
        if let Some(source) = Arc::get_mut(&mut app.source) {
            source.drop_tree();
        }
        Ok(app)
    }
}

/// `ports[0].port` → the path segments it names: the inverse of [`dotted`] for the paths
/// users write.
pub fn parse_field(field: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    for part in field.split('.') {
        let (name, rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            out.push(Segment::Key(name.to_string()));
        }
        for index in rest.split('[') {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                out.push(Segment::Index(i));
            }
        }
    }
    out
}

/// `spec.components[0].properties.image`: a path as users read it.
pub fn dotted(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(k) if k.contains(['.', ' ', '[', '/']) || k.is_empty() => {
                let _ = write!(out, "[{k:?}]");
            }
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

/// Appends a key to a path.
pub(crate) fn key(path: &[Segment], key: &str) -> Vec<Segment> {
    let mut p = path.to_vec();
    p.push(Segment::Key(key.to_string()));
    p
}

/// Reads a node that must be a string.
pub(crate) fn string(source: &Source, node: &Node, path: &[Segment]) -> Result<String> {
    match &node.value {
        NodeValue::String(s) => Ok(s.clone()),
        _ => Err(source.invalid(
            path,
            format!("expected a string, found {}", node.type_name()),
        )),
    }
}

/// Reads a node that must be a map (or null, meaning empty) into a JSON object.
pub(crate) fn object(source: &Source, node: &Node, path: &[Segment]) -> Result<Map<String, Value>> {
    match node.to_json() {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(source.invalid(path, format!("expected a map, found {}", node.type_name()))),
    }
}

/// Reads a map of strings (labels, annotations).
pub(crate) fn string_map(
    source: &Source,
    node: &Node,
    path: &[Segment],
) -> Result<BTreeMap<String, String>> {
    let NodeValue::Map(entries) = &node.value else {
        if node.value == NodeValue::Null {
            return Ok(BTreeMap::new());
        }
        return Err(source.invalid(path, format!("expected a map, found {}", node.type_name())));
    };
    entries
        .iter()
        .map(|(k, v)| Ok((k.clone(), string(source, v, &key(path, k))?)))
        .collect()
}

/// Checks a Kubernetes object name (RFC 1123 label: what a component name must be, since it
/// names the workload and its Service).
pub(crate) fn check_name(source: &Source, name: &str, path: &[Segment]) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(source.invalid(
            path,
            format!(
                "\"{name}\" is not a valid name: use at most 63 lowercase letters, digits and \
                 '-', starting and ending with a letter or digit"
            ),
        ))
    }
}

#[cfg(test)]
mod tests;
