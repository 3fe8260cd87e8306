//! `kiln new trait|workload|policy NAME [--lang rust|python]`: a definition project that
//! builds, with one unit test (`cargo test` or `pytest`) and one sandbox test (`kiln test`)
//! that pass as generated. The templates of each language are in their own module; this
//! one checks the name and writes the files.

mod python;
mod rust;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// What `kiln new` scaffolds.
#[derive(Debug, Clone, Copy)]
pub enum Template {
    Trait,
    Workload,
    Policy,
}

impl Template {
    /// The definition kind, as `describe` and `[package.metadata.kiln]` say it.
    fn kind(self) -> &'static str {
        match self {
            Template::Trait => "trait",
            Template::Workload => "workload",
            Template::Policy => "policy",
        }
    }
}

/// The language a project is written in.
#[derive(Debug, Clone, Copy)]
pub enum Language {
    /// A crate on `sdk/`, built with cargo for wasm32-wasip2.
    Rust,
    /// A module on `sdk/python`, built with componentize-py.
    Python,
}

/// A project's files and the commands that come next, for people.
struct Project {
    files: Vec<(PathBuf, String)>,
    next_steps: String,
}

/// Writes the project for definition `name` into `dir` (which must not exist), depending
/// on the SDK at `sdk` (the crate `sdk/` for Rust, `sdk/python` for Python). Returns the
/// next steps, for people.
pub fn create(
    template: Template,
    language: Language,
    name: &str,
    dir: &Path,
    sdk: &Path,
) -> Result<String> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        bail!(
            "\"{name}\" is not a valid definition name: lowercase letters, digits and '-', \
             starting with a letter"
        );
    }
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    let sdk = sdk_at(language, sdk)?;
    let project = match language {
        Language::Rust => rust::project(template, name, dir, &sdk),
        Language::Python => python::project(template, name, dir, &sdk),
    };
    // Written into a temporary sibling and renamed: no half-made project on failure.
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".kiln-new-")
        .tempdir_in(parent)
        .with_context(|| format!("creating a directory in {}", parent.display()))?;
    for (path, text) in &project.files {
        let path = temp.path().join(path);
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    std::fs::rename(temp.keep(), dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(project.next_steps)
}

/// The SDK at `sdk`, made absolute, if it is the one `language` needs.
fn sdk_at(language: Language, sdk: &Path) -> Result<PathBuf> {
    let (manifest, package, flag_help) = match language {
        Language::Rust => ("Cargo.toml", "name = \"kiln-sdk\"", "the kiln-sdk crate"),
        Language::Python => (
            "pyproject.toml",
            "name = \"kiln-sdk\"",
            "sdk/python, the kiln-sdk Python package",
        ),
    };
    match std::fs::canonicalize(sdk) {
        Ok(sdk)
            if std::fs::read_to_string(sdk.join(manifest))
                .is_ok_and(|text| text.contains(package)) =>
        {
            Ok(sdk)
        }
        _ => bail!(
            "no Kiln SDK at {} (pass --sdk with the path of {flag_help})",
            sdk.display()
        ),
    }
}

/// `name.test.yaml`: the sandbox test of a project, loading the component at `wasm`.
fn test_file(name: &str, build: &str, wasm: &str, cases: String) -> (PathBuf, String) {
    (
        PathBuf::from(format!("{name}.test.yaml")),
        format!(
            "# Sandbox tests of {name}: {build}, then run `kiln test`.\n\
             definitions: [{wasm}]\n{cases}"
        ),
    )
}

/// The cases of a sandbox test, the same whatever the language.
fn test_cases(template: Template, name: &str) -> String {
    match template {
        Template::Trait => trait_test(name),
        Template::Workload => workload_test(name),
        Template::Policy => policy_test(name),
    }
}

fn trait_test(name: &str) -> String {
    format!(
        r#"tests:
  - name: annotates the pods
    component:
      name: api
      type: webservice
      properties: {{ image: "nginx:1.27" }}
      traits:
        - type: {name}
          properties: {{ note: hi }}
    expect:
      objects:
        - kind: Deployment
          name: api
          fields:
            'spec.template.metadata.annotations["example.com/note"]': hi
"#
    )
}

fn workload_test(name: &str) -> String {
    format!(
        r#"tests:
  - name: renders a deployment
    component:
      name: api
      type: {name}
      properties: {{ image: "nginx:1.27", replicas: 2 }}
    expect:
      count: 1
      objects:
        - kind: Deployment
          name: api
          fields:
            spec.replicas: 2
            spec.template.spec.containers[0].image: "nginx:1.27"
"#
    )
}

fn policy_test(name: &str) -> String {
    format!(
        r#"policies:
  - type: {name}
tests:
  - name: an ordinary deployment passes
    component:
      name: api
      type: webservice
      properties: {{ image: "nginx:1.27" }}
    expect:
      count: 1
  - name: a pod on the host network is denied
    component:
      name: api
      type: webservice
      properties: {{ image: "nginx:1.27" }}
      traits:
        - type: json-merge-patch
          properties: {{ spec: {{ template: {{ spec: {{ hostNetwork: true }} }} }} }}
    expect:
      denials:
        - policy: {name}
          object: Deployment/default/api
          field: spec.template.spec.hostNetwork
          message: host's network
"#
    )
}
