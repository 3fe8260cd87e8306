//! The Argo CD Config Management Plugin contract: what `argocd-cmp-server` gives Kiln (its
//! environment, the repository copy) and what it expects back.
//!
//! - Files are read through a [`cap_std::fs::Dir`] opened on the repository root: absolute
//!   paths, `..` and symlinks that leave the root are refused by construction.
//! - `ARGOCD_APP_PARAMETERS` (absent, `null`, or a JSON array of string/array/map
//!   parameters) maps onto the application: `<component>.image` (string), `properties` (map
//!   of `<component>.<path>` to a YAML scalar) and `labels` (array of `key=value`).
//! - Settings come from `ARGOCD_ENV_KILN_*` only (never `PARAM_*`, whose names collide).

use std::collections::BTreeMap;
use std::path::{Component as PathComponent, Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::app::yaml::{self, Segment};
use crate::app::{APP_FILE_NAMES, Application, MAX_FILE_BYTES, Text};
use crate::error::{Error, Result, Site};

/// The application annotation that lets it render zero objects (an empty success makes
/// Argo CD prune everything, so it must be asked for).
pub const ALLOW_EMPTY_ANNOTATION: &str = "kiln.dev/allow-empty";

/// What Argo CD tells a plugin, read from its environment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Environment {
    /// `ARGOCD_APP_NAME` without the `<namespace>_` prefix Argo CD adds for applications
    /// outside its own namespace.
    pub app_name: Option<String>,
    /// `ARGOCD_APP_NAMESPACE`: the destination namespace (may be empty).
    pub namespace: Option<String>,
    /// `ARGOCD_APP_REVISION`: the commit being rendered.
    pub revision: Option<String>,
    /// `ARGOCD_APP_SOURCE_PATH`: the app's path inside the repository.
    pub source_path: Option<String>,
    /// `ARGOCD_APP_PARAMETERS`, parsed.
    pub parameters: Vec<Parameter>,
    /// `ARGOCD_ENV_KILN_<NAME>` settings, by `<NAME>`.
    pub settings: BTreeMap<String, String>,
}

/// One parameter from `ARGOCD_APP_PARAMETERS`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Parameter {
    pub name: String,
    #[serde(flatten)]
    pub value: ParameterValue,
}

/// A parameter's value: Argo CD's three collection types.
#[derive(Debug, Clone, PartialEq, Deserialize)]
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
                _ => {
                    if let Some(name) = key.strip_prefix("ARGOCD_ENV_KILN_") {
                        env.settings.insert(name.to_string(), value);
                    }
                }
            }
        }
        Ok(env)
    }

    /// The application revision label for `app` (KubeVela's `<app>-<revision>` shape), from
    /// the commit's first 8 characters.
    pub fn app_revision(&self, app: &str) -> String {
        match &self.revision {
            Some(sha) => format!("{app}-{}", sha.chars().take(8).collect::<String>()),
            None => String::new(),
        }
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
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.io(&relative, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(".wasm") {
                let path = relative.join(name);
                let bytes = self.dir.read(&path).map_err(|e| self.io(&path, e))?;
                files.push((display(&path), bytes));
            }
        }
        files.sort();
        Ok(files)
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
    let segments = crate::render::parse_field(path);
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

#[cfg(test)]
mod tests;
