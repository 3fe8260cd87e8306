//! The Argo CD Config Management Plugin contract: what `argocd-cmp-server` gives Kiln (its
//! environment, the repository copy) and what it expects back.
//!
//! - Files are read through a [`cap_std::fs::Dir`] opened on the repository root: absolute
//!   paths, `..` and symlinks that leave the root are refused by construction.
//! - `ARGOCD_APP_PARAMETERS` (absent, `null`, or a JSON array of string/array/map
//!   parameters) maps onto the application: `<component>.image` (string), `properties` (map
//!   of `<component>.<path>` to a YAML scalar) and `labels` (array of `key=value`).
//! - Settings come from `ARGOCD_ENV_KILN_*` only (never `PARAM_*`, whose names collide).
//! - The `app.oam.dev/appRevision` label is `<app>-<8 hex>` of what the render depends on
//!   ([`content_revision`]), never the commit: a commit that leaves an app alone leaves its
//!   objects alone, so auto-sync does not re-apply every app of the repository.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component as PathComponent, Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::app::yaml::{self, Segment};
use crate::app::{APP_FILE_NAMES, Application, MAX_FILE_BYTES, Text};
use crate::definitions::{BUILTINS, Registry};
use crate::error::{Error, Result, Site};
use crate::manifest::Object;
use crate::platform::Action;
use crate::render::RenderOptions;

/// The application annotation that lets it render zero objects (an empty success makes
/// Argo CD prune everything, so it must be asked for).
pub const ALLOW_EMPTY_ANNOTATION: &str = "kiln.dev/allow-empty";

/// Refuses an application that renders no objects unless it carries
/// [`ALLOW_EMPTY_ANNOTATION`]: an empty success makes Argo CD prune everything the
/// application had deployed.
pub fn refuse_empty(app: &Application, objects: &[Object]) -> Result<()> {
    let allowed = app
        .annotations
        .get(ALLOW_EMPTY_ANNOTATION)
        .is_some_and(|v| v == "true");
    if objects.is_empty() && !allowed {
        return Err(Error::Invalid {
            site: Box::new(Site {
                file: Some(app.source.file.clone()),
                ..Site::default()
            }),
            message: format!(
                "the application renders no objects, which would make Argo CD prune \
                 everything; annotate it with {ALLOW_EMPTY_ANNOTATION}: \"true\" if that is intended"
            ),
        });
    }
    Ok(())
}

/// What Argo CD tells a plugin, read from its environment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Environment {
    /// `ARGOCD_APP_NAME` without the `<namespace>_` prefix Argo CD adds for applications
    /// outside its own namespace.
    pub app_name: Option<String>,
    /// `ARGOCD_APP_NAMESPACE`: the destination namespace (may be empty).
    pub namespace: Option<String>,
    /// `ARGOCD_APP_REVISION`: the commit being rendered. Not part of the output: the
    /// revision label is [`content_revision`]'s.
    pub revision: Option<String>,
    /// `ARGOCD_APP_SOURCE_PATH`: the app's path inside the repository.
    pub source_path: Option<String>,
    /// `ARGOCD_APP_PARAMETERS`, parsed.
    pub parameters: Vec<Parameter>,
    /// `ARGOCD_ENV_KILN_<NAME>` settings, by `<NAME>`.
    pub settings: BTreeMap<String, String>,
    /// `KUBE_VERSION`: the destination cluster's version, when Argo CD knows it.
    pub cluster_version: Option<crate::render::ClusterVersion>,
    /// `KUBE_API_VERSIONS`: the group/versions the cluster serves (empty when unknown).
    pub api_versions: Vec<String>,
}

/// One parameter from `ARGOCD_APP_PARAMETERS`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Parameter {
    pub name: String,
    #[serde(flatten)]
    pub value: ParameterValue,
}

/// A parameter's value: Argo CD's three collection types.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParameterValue {
    String(String),
    Array(Vec<String>),
    Map(BTreeMap<String, String>),
}

impl Environment {
    /// Reads the plugin environment from `vars` (e.g. `std::env::vars()`).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Result<Environment> {
        let mut env = Environment::default();
        let non_empty = |v: String| (!v.is_empty()).then_some(v);
        for (key, value) in vars {
            match key.as_str() {
                "ARGOCD_APP_NAME" => {
                    // `<ns>_<name>` for apps outside the control-plane namespace; names
                    // cannot hold `_`, so the last part is the name.
                    env.app_name = non_empty(value.rsplit('_').next().unwrap_or("").into());
                }
                "ARGOCD_APP_NAMESPACE" => env.namespace = non_empty(value),
                "ARGOCD_APP_REVISION" => env.revision = non_empty(value),
                "ARGOCD_APP_SOURCE_PATH" => env.source_path = non_empty(value),
                "ARGOCD_APP_PARAMETERS" => env.parameters = parse_parameters(&value)?,
                "KUBE_VERSION" if !value.is_empty() => {
                    env.cluster_version =
                        Some(value.parse().map_err(|message| Error::Invalid {
                            site: Box::new(Site {
                                file: Some("KUBE_VERSION".into()),
                                ..Site::default()
                            }),
                            message,
                        })?);
                }
                "KUBE_API_VERSIONS" => {
                    env.api_versions = crate::render::parse_api_versions(&value);
                }
                _ => {
                    if let Some(name) = key.strip_prefix("ARGOCD_ENV_KILN_") {
                        env.settings.insert(name.to_string(), value);
                    }
                }
            }
        }
        Ok(env)
    }
}

fn parameter_error(message: impl Into<String>) -> Error {
    Error::Invalid {
        site: Box::new(Site {
            file: Some("ARGOCD_APP_PARAMETERS".into()),
            ..Site::default()
        }),
        message: message.into(),
    }
}

/// Parses `ARGOCD_APP_PARAMETERS`: empty, `null` (a plugin block without parameters) or a
/// JSON array of `{name, string|array|map}`.
pub fn parse_parameters(text: &str) -> Result<Vec<Parameter>> {
    let text = text.trim();
    if text.is_empty() || text == "null" {
        return Ok(Vec::new());
    }
    serde_json::from_str(text).map_err(|e| {
        parameter_error(format!(
            "not a JSON array of {{name, string|array|map}} parameters ({e})"
        ))
    })
}

/// The repository root and the app directory relative to it, from the working directory
/// Argo CD runs the plugin in and `ARGOCD_APP_SOURCE_PATH`. Without a source path the app
/// directory is the root.
pub fn repository_root(cwd: &Path, source_path: Option<&str>) -> Result<(PathBuf, PathBuf)> {
    let Some(source_path) = source_path.filter(|p| !matches!(*p, "" | ".")) else {
        return Ok((cwd.to_path_buf(), PathBuf::new()));
    };
    let relative = confined_path(source_path, "ARGOCD_APP_SOURCE_PATH")?;
    let mut root = cwd.to_path_buf();
    for _ in relative.components() {
        if !root.pop() {
            break;
        }
    }
    if root.join(&relative) != cwd {
        return Err(Error::Invalid {
            site: Box::new(Site::default()),
            message: format!(
                "the working directory {} does not end with ARGOCD_APP_SOURCE_PATH {source_path}",
                cwd.display()
            ),
        });
    }
    Ok((root, relative))
}

/// A relative path without `..`: what a repository path must be.
pub fn confined_path(path: &str, what: &str) -> Result<PathBuf> {
    let p = Path::new(path);
    let mut out = PathBuf::new();
    for component in p.components() {
        match component {
            PathComponent::Normal(part) => out.push(part),
            PathComponent::CurDir => {}
            PathComponent::ParentDir => {
                return Err(Error::Invalid {
                    site: Box::new(Site {
                        file: Some(what.into()),
                        ..Site::default()
                    }),
                    message: format!("\"{path}\" leaves the repository (\"..\" is refused)"),
                });
            }
            PathComponent::RootDir | PathComponent::Prefix(_) => {
                return Err(Error::Invalid {
                    site: Box::new(Site {
                        file: Some(what.into()),
                        ..Site::default()
                    }),
                    message: format!(
                        "\"{path}\" is absolute; paths are relative to the repository root"
                    ),
                });
            }
        }
    }
    Ok(out)
}

/// The repository copy, confined: nothing outside `root` can be read through it.
pub struct Repository {
    dir: cap_std::fs::Dir,
}

impl Repository {
    /// Opens the repository at `root`.
    pub fn open(root: &Path) -> Result<Repository> {
        let dir = cap_std::fs::Dir::open_ambient_dir(root, cap_std::ambient_authority()).map_err(
            |source| Error::Io {
                path: root.to_path_buf(),
                error: source,
            },
        )?;
        Ok(Repository { dir })
    }

    /// The repository whose root directory `file` is open on: how a resident renderer
    /// receives one (an open descriptor passed over its socket), which confines it as
    /// [`Repository::open`] does. `file` must be a directory.
    pub fn from_file(file: std::fs::File) -> Result<Repository> {
        let is_dir = file.metadata().map(|m| m.is_dir()).unwrap_or(false);
        if !is_dir {
            return Err(Error::Invalid {
                site: Box::new(Site::default()),
                message: "the repository descriptor is not an open directory".into(),
            });
        }
        Ok(Repository {
            dir: cap_std::fs::Dir::from_std_file(file),
        })
    }

    /// The open root directory, to pass to a resident renderer ([`Repository::from_file`]).
    pub fn into_file(self) -> std::fs::File {
        self.dir.into_std_file()
    }

    fn io(&self, path: &Path, source: std::io::Error) -> Error {
        // A symlink leaving the root reads as "permission denied" from cap-std: say why.
        let message = if source.kind() == std::io::ErrorKind::PermissionDenied {
            format!(
                "{}: refused: the path leaves the repository (through a symlink or \"..\")",
                path.display()
            )
        } else {
            format!("{}: {source}", path.display())
        };
        Error::Invalid {
            site: Box::new(Site::default()),
            message,
        }
    }

    /// Reads, without parsing it, the application file of the app directory `app_dir`
    /// (relative to the root): the first of [`APP_FILE_NAMES`], or `file` when given.
    pub fn read_app(&self, app_dir: &Path, file: Option<&str>) -> Result<Text> {
        let candidates: Vec<PathBuf> = match file {
            Some(f) => vec![app_dir.join(confined_path(f, "KILN_APP_FILE")?)],
            None => APP_FILE_NAMES.iter().map(|n| app_dir.join(n)).collect(),
        };
        let path = candidates
            .iter()
            .find(|p| self.dir.symlink_metadata(p).is_ok())
            .cloned()
            .ok_or_else(|| Error::Invalid {
                site: Box::new(Site {
                    file: Some(display(app_dir)),
                    ..Site::default()
                }),
                message: format!(
                    "no application file in the app directory (looked for {})",
                    candidates
                        .iter()
                        .map(|p| display(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        let meta = self.dir.metadata(&path).map_err(|e| self.io(&path, e))?;
        if meta.len() > MAX_FILE_BYTES {
            return Err(Error::Invalid {
                site: Box::new(Site {
                    file: Some(display(&path)),
                    ..Site::default()
                }),
                message: format!(
                    "the file is {} bytes; the limit is {MAX_FILE_BYTES}",
                    meta.len()
                ),
            });
        }
        let text = self
            .dir
            .read_to_string(&path)
            .map_err(|e| self.io(&path, e))?;
        Ok(Text {
            file: display(&path),
            text,
        })
    }

    /// Reads every `*.wasm` in the repository directory `dir` (relative to the root):
    /// (display name, bytes), sorted by name.
    pub fn read_definitions(&self, dir: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let relative = confined_path(dir, "KILN_DEFINITIONS")?;
        let entries = self
            .dir
            .read_dir(&relative)
            .map_err(|e| self.io(&relative, e))?;
        let mut listed = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.io(&relative, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(".wasm") {
                let path = relative.join(name);
                let size = entry.metadata().map_err(|e| self.io(&path, e))?.len();
                listed.push((display(&path), size, path));
            }
        }
        listed.sort();
        // Counted and sized from the listing, before a byte is read.
        let sizes: Vec<(String, u64)> = listed.iter().map(|(n, s, _)| (n.clone(), *s)).collect();
        crate::definitions::check_directory(dir, &sizes)?;
        listed
            .into_iter()
            .map(|(name, _, path)| {
                let bytes = self.dir.read(&path).map_err(|e| self.io(&path, e))?;
                Ok((name, bytes))
            })
            .collect()
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Applies Argo CD parameters to the application.
pub fn apply_parameters(app: &mut Application, parameters: &[Parameter]) -> Result<()> {
    // One budget for every value: each within its own, many values could still add up to
    // what one alias bomb may not.
    let text_bytes = parameters
        .iter()
        .map(|p| match &p.value {
            ParameterValue::Map(entries) => entries.values().map(String::len).sum(),
            _ => 0,
        })
        .sum();
    let mut budget = yaml::Budget::for_text(text_bytes);
    for parameter in parameters {
        match (parameter.name.as_str(), &parameter.value) {
            ("properties", ParameterValue::Map(overrides)) => {
                for (key, value) in overrides {
                    let (component, path) = key.split_once('.').ok_or_else(|| {
                        parameter_error(format!(
                            "parameter \"properties\": key \"{key}\" must be <component>.<property path>"
                        ))
                    })?;
                    let value = yaml::parse_within(value, &mut budget)
                        .map_err(|e| {
                            parameter_error(format!(
                                "parameter \"properties\", key \"{key}\", line {}, column {}: {}",
                                e.position.line, e.position.column, e.message
                            ))
                        })?
                        .to_json();
                    set_property(app, component, path, value)?;
                }
            }
            ("labels", ParameterValue::Array(items)) => {
                for item in items {
                    let (k, v) = item.split_once('=').ok_or_else(|| {
                        parameter_error(format!(
                            "parameter \"labels\": \"{item}\" must be key=value"
                        ))
                    })?;
                    app.labels
                        .insert(k.trim().to_string(), v.trim().to_string());
                }
            }
            (name, ParameterValue::String(value)) if name.ends_with(".image") => {
                let component = &name[..name.len() - ".image".len()];
                set_property(app, component, "image", Value::String(value.clone()))?;
            }
            (name, value) => {
                let kind = match value {
                    ParameterValue::String(_) => "string",
                    ParameterValue::Array(_) => "array",
                    ParameterValue::Map(_) => "map",
                };
                return Err(parameter_error(format!(
                    "unknown parameter \"{name}\" ({kind}); Kiln takes <component>.image \
                     (string), properties (map) and labels (array)"
                )));
            }
        }
    }
    Ok(())
}

/// Sets `path` (`ports[0].port`) in the properties of `component`.
fn set_property(app: &mut Application, component: &str, path: &str, value: Value) -> Result<()> {
    let names: Vec<String> = app.components.iter().map(|c| c.name.clone()).collect();
    let Some(c) = app.components.iter_mut().find(|c| c.name == component) else {
        return Err(parameter_error(format!(
            "no component \"{component}\" (components: {})",
            names.join(", ")
        )));
    };
    let segments = crate::app::parse_field(path);
    let mut root = Value::Object(std::mem::take(&mut c.properties));
    let fits = !segments.is_empty() && set_at(&mut root, &segments, value);
    if let Value::Object(map) = root {
        c.properties = map;
    }
    if fits {
        Ok(())
    } else {
        Err(parameter_error(format!(
            "cannot set \"{component}.{path}\": the path does not fit the component's properties"
        )))
    }
}

/// Sets the value at `path` under `node`, creating maps on the way; false when the path
/// crosses a scalar or an index beyond a list.
fn set_at(node: &mut Value, path: &[Segment], value: Value) -> bool {
    let Some((first, rest)) = path.split_first() else {
        *node = value;
        return true;
    };
    let child = match (node, first) {
        (Value::Object(map), Segment::Key(k)) => map
            .entry(k.clone())
            .or_insert_with(|| Value::Object(Map::new())),
        (Value::Array(items), Segment::Index(i)) if *i < items.len() => &mut items[*i],
        _ => return false,
    };
    set_at(child, rest, value)
}

/// The parameter announcements for Argo CD's UI (`parameters.dynamic`): one string per
/// component image, the `properties` map and the `labels` array, with current values.
pub fn announcements(app: &Application) -> Value {
    let mut out = Vec::new();
    for c in &app.components {
        if let Some(Value::String(image)) = c.properties.get("image") {
            out.push(json!({
                "name": format!("{}.image", c.name),
                "title": format!("Image of {}", c.name),
                "tooltip": format!("The container image of component {} ({})", c.name, c.type_name),
                "collectionType": "string",
                "string": image,
            }));
        }
    }
    out.push(json!({
        "name": "properties",
        "title": "Property overrides",
        "tooltip": "<component>.<property path> = value (a YAML scalar), validated like the application file",
        "collectionType": "map",
        "map": {},
    }));
    out.push(json!({
        "name": "labels",
        "title": "Extra labels",
        "tooltip": "key=value labels added to every object",
        "collectionType": "array",
        "array": [],
    }));
    Value::Array(out)
}

/// What one render's objects depend on, besides Kiln's own code: hashed by
/// [`content_revision`] into the `app.oam.dev/appRevision` label.
pub struct RevisionInputs<'a> {
    /// sha256 of the application file's text as read ([`text_digest`]): hashed before it
    /// is parsed, so that the revision costs no re-serialisation of the application.
    pub text: [u8; 32],
    /// The Argo CD parameters applied to the application (none for `kiln render`).
    pub parameters: &'a [Parameter],
    /// The environment the render selected, if the application has named ones.
    pub environment: Option<&'a str>,
    /// The application as rendered: its name, namespace and the definitions it names.
    pub app: &'a Application,
    /// The registry the definitions come from, for their digests.
    pub registry: &'a Registry,
    /// The render's options: cluster version, API versions, namespace, platform policies.
    pub options: &'a RenderOptions,
}

/// The sha256 of an application file's text, the first input of [`content_revision`].
pub fn text_digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The application revision label, `<app>-<8 hex>`: the first 4 bytes of the sha256 of
/// the application file's text, the applied parameters, the digest of every definition
/// the render uses (its component types, traits and the platform's policies, in name
/// order, built-in or not), the platform's policy settings, the cluster version and API
/// versions, the selected environment and the namespace.
///
/// So it changes when, and only when, an input of the render does: a commit elsewhere in
/// the repository leaves it (and so every object) as it was, whereas KubeVela's
/// `<app>-v<N>` counts application revisions a controller stores, which a stateless
/// renderer cannot. `kiln render` computes the same label, so it shows what Argo CD applies.
pub fn content_revision(inputs: &RevisionInputs) -> String {
    let mut hash = Sha256::new();
    // Every field is tagged and length-prefixed: no two input sets hash the same bytes.
    let mut field = |tag: &str, value: &[u8]| {
        hash.update(tag.as_bytes());
        hash.update((value.len() as u64).to_le_bytes());
        hash.update(value);
    };
    field("kiln-app-revision-v1", &[]);
    field("text", &inputs.text);
    // serde_json writes a parameter's map keys sorted: the same parameters, the same bytes.
    let parameters = serde_json::to_vec(inputs.parameters).unwrap_or_default();
    field("parameters", &parameters);
    for (name, digest) in definition_digests(inputs) {
        field("definition", name.as_bytes());
        field("digest", &digest);
    }
    for policy in &inputs.options.policies {
        field("policy", policy.type_name.as_bytes());
        let action = match policy.action {
            Action::Deny => "deny",
            Action::Warn => "warn",
        };
        field("action", action.as_bytes());
        let properties = serde_json::to_vec(&policy.properties).unwrap_or_default();
        field("properties", &properties);
    }
    // What definitions are told: the full version (they see the patch release too).
    field(
        "cluster-version",
        inputs.options.cluster_version.to_string().as_bytes(),
    );
    for version in &inputs.options.api_versions {
        field("api-version", version.as_bytes());
    }
    match inputs.environment {
        Some(name) => field("environment", name.as_bytes()),
        None => field("no-environment", &[]),
    }
    let namespace = inputs
        .options
        .namespace
        .as_deref()
        .or(inputs.app.namespace.as_deref())
        .unwrap_or("default");
    field("namespace", namespace.as_bytes());
    let digest = hash.finalize();
    format!("{}-{}", inputs.app.name, crate::digest::hex(&digest[..4]))
}

/// The digests of the definitions the render uses, by name; a name the registry lacks
/// (the render then fails) is left out.
fn definition_digests(inputs: &RevisionInputs) -> Vec<(String, [u8; 32])> {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for component in &inputs.app.components {
        names.insert(component.type_name.as_str());
        names.extend(component.traits.iter().map(|t| t.type_name.as_str()));
    }
    names.extend(inputs.options.policies.iter().map(|p| p.type_name.as_str()));
    // A file's definition replaces the built-in of its name (--override-builtins).
    let external: BTreeMap<&str, [u8; 32]> = inputs
        .registry
        .external()
        .map(|(name, _, digest)| (name, digest))
        .collect();
    names
        .into_iter()
        .filter_map(|name| {
            let digest = external
                .get(name)
                .copied()
                .or_else(|| BUILTINS.iter().find(|b| b.name == name).map(|b| b.source))?;
            Some((name.to_string(), digest))
        })
        .collect()
}

#[cfg(test)]
mod tests;
