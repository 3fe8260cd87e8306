//! `kiln test`: test files for definitions and policies, run in the real sandbox with the
//! real limits.
//!
//! A test file (`*.test.yaml`) names the definitions under test and holds cases. Each case
//! renders a whole application or a component fragment and checks what came out: objects
//! and fields, a snapshot of the whole output, an expected error, policy denials or
//! warnings.
//!
//! ```yaml
//! definitions: [../target/wasm32-wasip2/release/my_trait.wasm]  # files or directories
//! platform: ../kiln-platform.yaml   # optional: its limits and policies
//! policies:                         # optional: the platform policies of every case
//!   - type: require-labels
//!     properties: { labels: [team] }
//! tests:
//!   - name: scales the deployment
//!     component:                    # or `app: |` with a whole application
//!       name: api
//!       type: webservice
//!       properties: { image: "nginx:1.27" }
//!       traits: [{ type: scaler, properties: { replicas: 3 } }]
//!     context: { namespace: prod, clusterVersion: "1.29", env: prod }
//!     expect:
//!       objects:
//!         - kind: Deployment
//!           name: api
//!           fields: { spec.replicas: 3, 'metadata.labels["app.oam.dev/component"]': api }
//!       count: 1
//!       snapshot: snapshots/scaler.yaml   # `kiln test --update` writes it
//! ```
//!
//! Expectations of failure: `error: <pattern>` (the render must fail with a matching
//! message), `denials: [{policy, object, field, message}]` (exactly these denials), and
//! `warnings: [{message}]`. A pattern is a substring, or a regular expression between
//! slashes (`/replicas: \d+/`).
//!
//! `kiln test --under-test WASM` runs a file's cases against another build of the same
//! definition, in place of the file's own `definitions:`: one test file proves the Rust and
//! Python builds of a trait alike (`examples/custom-trait`, docs/authoring.md).
//!
//! Test files are repository content, and CI runs them, so they are trusted no more than an
//! application file:
//!
//! - Every path in one (`definitions`, `platform`, the lock its platform names, and
//!   `expect.snapshot`) is relative to the file and stays inside its [`Tree`]: the
//!   directory `kiln test` was pointed at, or the file's own directory when pointed at a
//!   file. That root, not the file's directory, so that a file in `tests/` may name
//!   `../kiln-platform.yaml` or `../target/...` when `kiln test` runs at the crate or
//!   repository root (the scaffold of `kiln new`, `examples/custom-trait` and CI's
//!   `kiln test traits tests/kiln examples/custom-trait` all name paths inside their
//!   root). Absolute paths and `..` above the root are refused when the file is read,
//!   with the file, line and field; reads and `--update`'s writes go through a
//!   [`cap_std::fs::Dir`] on the root, which refuses symlinks out of it. A snapshot is
//!   written through a temporary file and a rename inside that directory.
//! - The platform given to `kiln test` (`--platform`, `KILN_PLATFORM`) is the base: a
//!   file's `platform:` can only tighten it ([`Platform::tightened_by`]: the base's lock
//!   stays, and with two locks a definition must be pinned by both; each limit is the
//!   stricter; the base's policies run first). The file's `policies:` and a case's
//!   `policies:` replace the file's own policies, never the base's, and the file's
//!   definitions may not replace (`overrideBuiltins`) a definition a base policy uses.
//!   Without `--platform`, the file's platform applies alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::app::Source;
use crate::app::parse_field;
use crate::app::yaml::{Node, NodeValue, Position};
use crate::definitions::{Origin, Registry};
use crate::error::{Error, Result, Site};
use crate::guardrails::Violation;
use crate::manifest::{self, Format};
use crate::pipeline::{self, Input, Request, Revision};
use crate::platform::{Lock, Platform, PolicySettings, PolicyUse, policy_uses};
use crate::render::{self, ClusterVersion, RenderOptions};
use crate::sandbox::Sandbox;

/// The directory tree test files are confined to: the directory `kiln test` was pointed
/// at, or a file's own directory when it was pointed at a file. Every path a test file
/// names is read (and a snapshot written) through a [`cap_std::fs::Dir`] opened on it.
#[derive(Debug, Clone)]
pub struct Tree {
    /// The root as given (empty for the working directory), for messages.
    root: PathBuf,
    dir: Arc<cap_std::fs::Dir>,
}

impl Tree {
    /// The tree of `path` as given to `kiln test`: the directory itself, or a file's own
    /// directory.
    pub fn of(path: &Path) -> Result<Tree> {
        let io = |error| Error::Io {
            path: path.to_path_buf(),
            error,
        };
        let root = if std::fs::metadata(path).map_err(io)?.is_dir() {
            path
        } else {
            path.parent().unwrap_or(Path::new(""))
        };
        let open = if root.as_os_str().is_empty() {
            Path::new(".")
        } else {
            root
        };
        let dir = cap_std::fs::Dir::open_ambient_dir(open, cap_std::ambient_authority()).map_err(
            |error| Error::Io {
                path: open.to_path_buf(),
                error,
            },
        )?;
        Ok(Tree {
            root: root.to_path_buf(),
            dir: Arc::new(dir),
        })
    }

    /// Where `relative` (to the root) is, for people.
    fn display(&self, relative: &Path) -> String {
        self.root.join(relative).display().to_string()
    }

    /// The root, for people.
    fn root_display(&self) -> String {
        match self.root.as_os_str().is_empty() {
            true => ".".to_string(),
            false => self.root.display().to_string(),
        }
    }

    /// `path`, written in a file whose directory is `from` (both relative to the root),
    /// relative to the root; refused when absolute or when its `..` climb above the root.
    fn resolve(&self, from: &Path, path: &Path) -> std::result::Result<PathBuf, String> {
        let mut resolved = from.to_path_buf();
        for component in path.components() {
            match component {
                Component::Normal(part) => resolved.push(part),
                Component::CurDir => {}
                Component::ParentDir => {
                    if !resolved.pop() {
                        return Err(format!(
                            "\"{}\" leaves the test tree {} (\"..\" above its root is refused)",
                            path.display(),
                            self.root_display()
                        ));
                    }
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(format!(
                        "\"{}\" is absolute; paths are relative to the test file, inside the \
                         test tree {}",
                        path.display(),
                        self.root_display()
                    ));
                }
            }
        }
        Ok(resolved)
    }

    /// An I/O error on `path` (relative to the root), saying when it left the tree.
    fn io_message(&self, path: &Path, error: &std::io::Error) -> String {
        // cap-std refuses a symlink out of the root as "permission denied"; `..` and
        // absolute paths are refused before any access.
        if error.kind() == std::io::ErrorKind::PermissionDenied {
            format!(
                "{}: refused: it leaves the test tree {} through a symlink, or may not be read \
                 ({error})",
                self.display(path),
                self.root_display()
            )
        } else {
            format!("{}: {error}", self.display(path))
        }
    }

    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.dir.read(path)
    }

    fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        self.dir.read_to_string(path)
    }

    /// Writes `bytes` to `path` (relative to the root) through a temporary file in the
    /// same directory, synced, and a rename, as [`crate::files::write_atomically`] does,
    /// without leaving the tree.
    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let parent = path.parent().unwrap_or(Path::new(""));
        let name = path.file_name().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name")
        })?;
        if !parent.as_os_str().is_empty() {
            self.dir.create_dir_all(parent)?;
        }
        let temp = parent.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let mut options = cap_std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        let written = self
            .dir
            .open_with(&temp, &options)
            .map(cap_std::fs::File::into_std)
            .and_then(|mut file| {
                file.write_all(bytes)?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
                }
                file.sync_data()
            });
        let renamed = written.and_then(|()| self.dir.rename(&temp, &self.dir, path));
        if renamed.is_err() {
            let _ = self.dir.remove_file(&temp);
        }
        renamed
    }
}

/// A path a test file names, confined to its tree.
#[derive(Debug, Clone)]
struct TreePath {
    /// Relative to the tree's root, without `..` or `.`.
    relative: PathBuf,
    /// Where it is written: the test file, line and field.
    site: Site,
}

/// A test file, read and checked.
#[derive(Debug)]
pub struct TestFile {
    /// The file as given.
    pub path: PathBuf,
    tree: Tree,
    definitions: Vec<TreePath>,
    override_builtins: bool,
    /// The file's own platform configuration (`platform:`), if it names one.
    platform: Option<Platform>,
    /// The file's policies (`policies:`), replacing its platform's.
    policies: Option<Vec<PolicyUse>>,
    cases: Vec<Case>,
}

/// The platform configuration a test file runs under (see [`TestFile::platform`]).
#[derive(Debug, Clone)]
pub struct TestPlatform {
    /// Limits, lock, and the policies of the cases that list none of their own.
    pub platform: Platform,
    /// The command line's policies: every case runs them first, whatever it lists.
    fixed_policies: Vec<PolicyUse>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileSpec {
    #[serde(default)]
    definitions: Vec<PathBuf>,
    #[serde(default)]
    override_builtins: bool,
    platform: Option<PathBuf>,
    policies: Option<Vec<PolicySettings>>,
    tests: Vec<CaseSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseSpec {
    name: String,
    app: Option<String>,
    component: Option<Value>,
    #[serde(default)]
    context: ContextSpec,
    policies: Option<Vec<PolicySettings>>,
    #[serde(default)]
    expect: Expect,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ContextSpec {
    namespace: Option<String>,
    cluster_version: Option<String>,
    #[serde(default)]
    api_versions: Vec<String>,
    revision: Option<String>,
    env: Option<String>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    objects: Vec<ObjectSpec>,
    count: Option<usize>,
    snapshot: Option<PathBuf>,
    error: Option<String>,
    denials: Option<Vec<DenialSpec>>,
    #[serde(default)]
    warnings: Vec<WarningSpec>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct ObjectSpec {
    kind: String,
    name: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct DenialSpec {
    policy: Option<String>,
    object: Option<String>,
    field: Option<String>,
    message: Option<String>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct WarningSpec {
    message: String,
}

/// One case of a test file.
#[derive(Debug)]
struct Case {
    name: String,
    /// The application document, its positions those of the test file.
    app: Node,
    context: ContextSpec,
    policies: Option<Vec<PolicyUse>>,
    expect: Expect,
    /// `expect.snapshot`, confined to the tree.
    snapshot: Option<TreePath>,
}

/// How one case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// Passed after writing its snapshot (`--update`).
    Updated,
    /// Why it failed, for people.
    Failed(String),
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// `<file> :: <case name>`.
    pub name: String,
    pub outcome: Outcome,
}

/// The test files at `path`: the file itself, or every `*.test.yaml` under the directory
/// (skipping `target` and hidden directories), sorted.
pub fn discover(path: &Path) -> Result<Vec<PathBuf>> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            path,
            error: source,
        }
    };
    if !std::fs::metadata(path).map_err(io(path))?.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().map_err(io(&path))?.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    dirs.push(path);
                }
            } else if name.ends_with(".test.yaml") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

impl TestFile {
    /// Reads and checks the test file at `path` inside `tree` (one [`discover`] found under
    /// the tree's root, or the file the tree was opened for).
    pub fn read(tree: &Tree, path: &Path) -> Result<TestFile> {
        let whole = Site {
            file: Some(path.display().to_string()),
            ..Site::default()
        };
        let relative = path
            .strip_prefix(&tree.root)
            .map_err(|_| format!("not inside the test tree {}", tree.root_display()))
            .and_then(|p| tree.resolve(Path::new(""), p))
            .map_err(|message| refused(&whole, message))?;
        let text = tree
            .read_to_string(&relative)
            .map_err(|e| refused(&Site::default(), tree.io_message(&relative, &e)))?;
        let source = Source::parse(path.display().to_string(), &text)?;
        let spec: FileSpec =
            serde_path_to_error::deserialize(source.root().to_json()).map_err(|e| {
                source.invalid(&parse_field(&e.path().to_string()), e.inner().to_string())
            })?;
        let from = relative.parent().unwrap_or(Path::new(""));
        let confine = |field: String, path: &Path| -> Result<TreePath> {
            let at = parse_field(&field);
            let relative = tree
                .resolve(from, path)
                .map_err(|message| source.invalid(&at, message))?;
            Ok(TreePath {
                relative,
                site: Site {
                    field: Some(field),
                    ..source.site(&at)
                },
            })
        };
        let definitions = spec
            .definitions
            .iter()
            .enumerate()
            .map(|(i, d)| confine(format!("definitions[{i}]"), d))
            .collect::<Result<Vec<_>>>()?;
        let platform = match &spec.platform {
            Some(p) => Some(read_platform(tree, &confine("platform".into(), p)?)?),
            None => None,
        };
        let policies = spec
            .policies
            .as_ref()
            .map(|p| policy_uses(&source, "policies", p));
        let cases = spec
            .tests
            .into_iter()
            .enumerate()
            .map(|(i, case)| {
                let at = format!("tests[{i}]");
                let node = |key: &str| source.root().locate(&parse_field(&format!("{at}.{key}")));
                let app = match (case.app, case.component) {
                    (Some(app), None) => embedded_app(&source, &text, &app, node("app"))?,
                    (None, Some(_)) => wrap_component(node("component")),
                    _ => {
                        return Err(source.invalid(
                            &parse_field(&at),
                            "give either `app` (a whole application) or `component`",
                        ));
                    }
                };
                let snapshot = case
                    .expect
                    .snapshot
                    .as_ref()
                    .map(|p| confine(format!("{at}.expect.snapshot"), p))
                    .transpose()?;
                Ok(Case {
                    name: case.name,
                    app,
                    context: case.context,
                    policies: case
                        .policies
                        .map(|p| policy_uses(&source, &format!("{at}.policies"), &p)),
                    expect: case.expect,
                    snapshot,
                })
            })
            .collect::<Result<_>>()?;
        Ok(TestFile {
            path: path.to_path_buf(),
            tree: tree.clone(),
            definitions,
            override_builtins: spec.override_builtins,
            platform,
            policies,
            cases,
        })
    }

    /// The platform configuration the file runs under. `base` is the one given to
    /// `kiln test` (`--platform`), if any: the file's own (`platform:`) can only tighten
    /// it ([`Platform::tightened_by`]), and its `policies:` replace its own platform's,
    /// never `base`'s. Without `base`, the file's platform (or the defaults) applies.
    pub fn platform(&self, base: Option<&Platform>) -> TestPlatform {
        let mut platform = match (base, &self.platform) {
            (Some(base), Some(own)) => base.tightened_by(own),
            (Some(base), None) => base.clone(),
            (None, own) => own.clone().unwrap_or_default(),
        };
        let fixed_policies = base.map(|b| b.policies.clone()).unwrap_or_default();
        if let Some(policies) = &self.policies {
            platform.policies = fixed_policies.iter().chain(policies).cloned().collect();
        }
        TestPlatform {
            platform,
            fixed_policies,
        }
    }

    /// Runs every case with `sandbox` under `platform` (see [`TestFile::platform`]), with
    /// the built-ins and `definitions`; with `update`, writes snapshots instead of comparing
    /// them.
    pub fn run(
        &self,
        sandbox: &Sandbox,
        platform: &TestPlatform,
        definitions: &Definitions<'_>,
        update: bool,
    ) -> Result<Vec<CaseResult>> {
        let mut registry = Registry::builtin();
        if let Some(lock) = &platform.platform.lock {
            registry.pin(lock.clone());
        }
        for dir_or_file in definitions.extra {
            add_definitions(&mut registry, sandbox, dir_or_file, self.override_builtins)?;
        }
        let fixed: Vec<(&PolicyUse, Option<Origin>)> = platform
            .fixed_policies
            .iter()
            .map(|p| (p, registry.origin(&p.type_name).cloned()))
            .collect();
        if definitions.under_test.is_empty() {
            for at in &self.definitions {
                self.add_tree_definitions(&mut registry, sandbox, at)?;
            }
        } else {
            // Named on the command line, like `extra`, so not confined to the tree; they
            // stand where the file's own would, `overrideBuiltins` included.
            for dir_or_file in definitions.under_test {
                add_definitions(&mut registry, sandbox, dir_or_file, self.override_builtins)?;
            }
        }
        // `overrideBuiltins` must not swap a policy of the command line's platform for one
        // of the repository's.
        for (policy, before) in fixed {
            if before.is_some() && registry.origin(&policy.type_name) != before.as_ref() {
                return Err(Error::Invalid {
                    site: Box::new(Site {
                        file: Some(self.path.display().to_string()),
                        field: Some("overrideBuiltins".into()),
                        ..Site::default()
                    }),
                    message: format!(
                        "the file's definitions replace \"{}\", a policy of the platform \
                         configuration given to `kiln test`; that is refused",
                        policy.type_name
                    ),
                });
            }
        }
        platform.platform.check_names(&registry)?;
        Ok(self
            .cases
            .iter()
            .map(|case| CaseResult {
                name: format!("{} :: {}", self.path.display(), case.name),
                outcome: self.run_case(sandbox, &registry, platform, case, update),
            })
            .collect())
    }

    /// Adds the definitions at `at`: a `.wasm` file, or every `*.wasm` file in a directory,
    /// read through the tree.
    fn add_tree_definitions(
        &self,
        registry: &mut Registry,
        sandbox: &Sandbox,
        at: &TreePath,
    ) -> Result<()> {
        let tree = &self.tree;
        let refuse = |path: &Path, e: std::io::Error| refused(&at.site, tree.io_message(path, &e));
        let meta = tree
            .dir
            .metadata(&at.relative)
            .map_err(|e| refuse(&at.relative, e))?;
        let paths = if meta.is_dir() {
            let mut paths = Vec::new();
            let entries = tree
                .dir
                .read_dir(&at.relative)
                .map_err(|e| refuse(&at.relative, e))?;
            for entry in entries {
                let path = at
                    .relative
                    .join(entry.map_err(|e| refuse(&at.relative, e))?.file_name());
                if path.extension().is_some_and(|e| e == "wasm")
                    && tree
                        .dir
                        .metadata(&path)
                        .map_err(|e| refuse(&path, e))?
                        .is_file()
                {
                    paths.push(path);
                }
            }
            paths.sort();
            paths
        } else {
            vec![at.relative.clone()]
        };
        let files = paths
            .iter()
            .map(|path| {
                Ok((
                    tree.display(path),
                    tree.read(path).map_err(|e| refuse(path, e))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        registry.add_modules(sandbox, files, self.override_builtins)
    }

    fn run_case(
        &self,
        sandbox: &Sandbox,
        registry: &Registry,
        platform: &TestPlatform,
        case: &Case,
        update: bool,
    ) -> Outcome {
        let source = Source::from_node(self.path.display().to_string(), case.app.clone());
        let rendered = render_case(sandbox, registry, platform, case, source);
        let failures = match rendered {
            Ok((rendered, app_name)) => self.check_success(case, &rendered, &app_name, update),
            Err(error) => check_failure(&case.expect, &error),
        };
        match failures {
            Ok(updated) if updated => Outcome::Updated,
            Ok(_) => Outcome::Passed,
            Err(problems) => Outcome::Failed(problems.join("\n")),
        }
    }

    /// Checks a successful render; `Ok(true)` when a snapshot was written.
    fn check_success(
        &self,
        case: &Case,
        rendered: &render::Rendered,
        app_name: &str,
        update: bool,
    ) -> std::result::Result<bool, Vec<String>> {
        let expect = &case.expect;
        let mut problems = Vec::new();
        if let Some(pattern) = &expect.error {
            problems.push(format!(
                "expected an error matching {pattern:?}, but the render succeeded"
            ));
        }
        if let Some(denials) = &expect.denials
            && !denials.is_empty()
        {
            problems.push(format!(
                "expected {} denial(s), but the policies allowed the application",
                denials.len()
            ));
        }
        for spec in &expect.objects {
            if let Err(problem) = check_object(spec, &rendered.objects) {
                problems.push(problem);
            }
        }
        if let Some(count) = expect.count
            && count != rendered.objects.len()
        {
            problems.push(format!(
                "expected {count} objects, got {}: {}",
                rendered.objects.len(),
                rendered
                    .objects
                    .iter()
                    .map(|o| object_label(&o.value))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        check_warnings(&expect.warnings, &rendered.warnings, &mut problems);
        let mut updated = false;
        if let Some(snapshot) = &case.snapshot {
            let text = manifest::write(&rendered.objects, Format::Yaml, app_name, false);
            match compare_snapshot(&self.tree, snapshot, &text, update) {
                Ok(wrote) => updated = wrote,
                Err(problem) => problems.push(problem),
            }
        }
        if problems.is_empty() {
            Ok(updated)
        } else {
            Err(problems)
        }
    }
}

/// Parses an `app: |` text; positions are moved to where the text sits in the test file.
/// A block scalar's node starts at its first content line, and every line of it has the
/// same indentation; a quoted scalar keeps positions relative to its text.
fn embedded_app(source: &Source, file_text: &str, text: &str, at: &Node) -> Result<Node> {
    let at_text = file_text
        .lines()
        .nth(at.position.line.saturating_sub(1))
        .and_then(|line| line.get(at.position.column.saturating_sub(1)..))
        .unwrap_or("");
    let first = text.lines().next().unwrap_or("");
    let (line_offset, column_offset) = if !first.is_empty() && at_text.starts_with(first) {
        (at.position.line - 1, at.position.column - 1)
    } else {
        (0, 0)
    };
    let shifted = |p: Position| Position {
        line: p.line + line_offset,
        column: p.column + column_offset,
    };
    let mut node = crate::app::yaml::parse(text).map_err(|e| Error::Syntax {
        site: Box::new(crate::error::Site {
            file: Some(source.file.clone()),
            position: Some({
                let p = shifted(e.position);
                (p.line, p.column)
            }),
            ..Default::default()
        }),
        message: e.message,
    })?;
    shift(&mut node, &shifted);
    Ok(node)
}

fn shift(node: &mut Node, shifted: &impl Fn(Position) -> Position) {
    node.position = shifted(node.position);
    match &mut node.value {
        NodeValue::Seq(items) => items.iter_mut().for_each(|n| shift(n, shifted)),
        NodeValue::Map(entries) => entries.iter_mut().for_each(|(_, n)| shift(n, shifted)),
        _ => {}
    }
}

/// A component fragment inside an application named `test-app`, keeping the fragment's
/// positions in the test file.
fn wrap_component(component: &Node) -> Node {
    let at = |value| Node {
        position: component.position,
        value,
    };
    let text = |s: &str| at(NodeValue::String(s.to_string()));
    at(NodeValue::Map(vec![
        ("apiVersion".into(), text("core.oam.dev/v1beta1")),
        ("kind".into(), text("Application")),
        (
            "metadata".into(),
            at(NodeValue::Map(vec![("name".into(), text("test-app"))])),
        ),
        (
            "spec".into(),
            at(NodeValue::Map(vec![(
                "components".into(),
                at(NodeValue::Seq(vec![component.clone()])),
            )])),
        ),
    ]))
}

/// The platform file at `at`, and the lock file it names, read through the tree.
fn read_platform(tree: &Tree, at: &TreePath) -> Result<Platform> {
    let text = tree
        .read_to_string(&at.relative)
        .map_err(|e| refused(&at.site, tree.io_message(&at.relative, &e)))?;
    let source = Source::parse(tree.display(&at.relative), &text)?;
    let from = at.relative.parent().unwrap_or(Path::new(""));
    Platform::parse_with(source, &|lock: &Path| {
        let relative = tree
            .resolve(from, lock)
            .map_err(|message| refused(&Site::default(), message))?;
        let text = tree
            .read_to_string(&relative)
            .map_err(|e| refused(&Site::default(), tree.io_message(&relative, &e)))?;
        Lock::parse(tree.display(&relative), &text)
    })
}

fn refused(site: &Site, message: String) -> Error {
    Error::Invalid {
        site: Box::new(site.clone()),
        message,
    }
}

/// The definitions a test file runs with, besides the built-ins and its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct Definitions<'a> {
    /// Added before the file's own (`kiln -d DIR test`).
    pub extra: &'a [PathBuf],
    /// When not empty, these replace the file's own `definitions:` (`kiln test
    /// --under-test WASM`): one test file, run against builds of the same definition in
    /// other languages.
    pub under_test: &'a [PathBuf],
}

/// Adds the definitions of `kiln -d` (given on the command line, so not confined).
fn add_definitions(
    registry: &mut Registry,
    sandbox: &Sandbox,
    path: &Path,
    override_builtins: bool,
) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        error: source,
    };
    if std::fs::metadata(path).map_err(io)?.is_dir() {
        return registry.add_dir(sandbox, path, override_builtins);
    }
    let bytes = std::fs::read(path).map_err(io)?;
    registry.add_modules(
        sandbox,
        vec![(path.display().to_string(), bytes)],
        override_builtins,
    )
}

/// Renders a case's application; returns the objects and the application's name.
fn render_case(
    sandbox: &Sandbox,
    registry: &Registry,
    platform: &TestPlatform,
    case: &Case,
    source: Source,
) -> Result<(render::Rendered, String)> {
    let cluster_version = match &case.context.cluster_version {
        Some(text) => text
            .parse::<ClusterVersion>()
            .map_err(|message| Error::Invalid {
                site: Box::default(),
                message: format!("context.clusterVersion: {message}"),
            })?,
        None => render::DEFAULT_CLUSTER_VERSION,
    };
    let request = Request {
        environment: case.context.env.clone(),
        revision: Revision::Fixed(case.context.revision.clone().unwrap_or_default()),
        options: RenderOptions {
            namespace: case.context.namespace.clone(),
            cluster_version,
            api_versions: case.context.api_versions.clone(),
            revision: String::new(),
            policies: match &case.policies {
                Some(own) => platform.fixed_policies.iter().chain(own).cloned().collect(),
                None => platform.platform.policies.clone(),
            },
            serialize: None,
            trace: false,
        },
        ..Request::default()
    };
    let output = pipeline::render(sandbox, registry, Input::Source(source), &request)?;
    let rendered = render::Rendered {
        objects: output.objects,
        warnings: output.warnings,
    };
    Ok((rendered, output.app.name))
}

/// Checks a failed render against what the case expected of failure.
fn check_failure(expect: &Expect, error: &Error) -> std::result::Result<bool, Vec<String>> {
    let message = error.to_string();
    if let Some(denials) = &expect.denials {
        let Error::Denied {
            violations: actual,
            warnings,
        } = error
        else {
            return Err(vec![format!(
                "expected denials, but the render failed otherwise:\n{message}"
            )]);
        };
        let mut problems = check_denials(denials, actual).err().unwrap_or_default();
        check_warnings(&expect.warnings, warnings, &mut problems);
        return if problems.is_empty() {
            Ok(false)
        } else {
            Err(problems)
        };
    }
    match &expect.error {
        Some(pattern) if matches(pattern, &message) => Ok(false),
        Some(pattern) => Err(vec![format!(
            "expected an error matching {pattern:?}, got:\n{message}"
        )]),
        None => Err(vec![format!("the render failed:\n{message}")]),
    }
}

/// Every expected denial matches one actual denial, and every actual one is expected.
fn check_denials(
    expected: &[DenialSpec],
    actual: &[Violation],
) -> std::result::Result<(), Vec<String>> {
    let mut unmatched: Vec<&Violation> = actual.iter().collect();
    let mut problems = Vec::new();
    for spec in expected {
        let found = unmatched.iter().position(|v| {
            spec.policy.as_ref().is_none_or(|p| *p == v.policy)
                && spec.object.as_ref().is_none_or(|o| *o == v.object)
                && spec
                    .field
                    .as_ref()
                    .is_none_or(|f| Some(f) == v.field.as_ref())
                && spec.message.as_ref().is_none_or(|m| matches(m, &v.message))
        });
        match found {
            Some(i) => {
                unmatched.remove(i);
            }
            None => problems.push(format!(
                "no denial matches {{policy: {}, object: {}, field: {}, message: {}}}",
                spec.policy.as_deref().unwrap_or("*"),
                spec.object.as_deref().unwrap_or("*"),
                spec.field.as_deref().unwrap_or("*"),
                spec.message.as_deref().unwrap_or("*"),
            )),
        }
    }
    for v in unmatched {
        problems.push(format!("unexpected denial: {v}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check_warnings(expected: &[WarningSpec], actual: &[String], problems: &mut Vec<String>) {
    for spec in expected {
        if !actual.iter().any(|w| matches(&spec.message, w)) {
            problems.push(format!(
                "no warning matches {:?}; warnings: {}",
                spec.message,
                if actual.is_empty() {
                    "(none)".to_string()
                } else {
                    actual.join(" | ")
                }
            ));
        }
    }
}

/// One expected object: some rendered object of that kind (and name) has every field.
fn check_object(
    spec: &ObjectSpec,
    objects: &[manifest::Object],
) -> std::result::Result<(), String> {
    let candidates: Vec<&Value> = objects
        .iter()
        .map(|o| &o.value)
        .filter(|v| v["kind"] == spec.kind.as_str())
        .filter(|v| {
            spec.name
                .as_ref()
                .is_none_or(|n| v["metadata"]["name"] == n.as_str())
        })
        .collect();
    let wanted = match &spec.name {
        Some(name) => format!("{} \"{name}\"", spec.kind),
        None => spec.kind.clone(),
    };
    if candidates.is_empty() {
        let all: Vec<String> = objects.iter().map(|o| object_label(&o.value)).collect();
        return Err(format!(
            "no {wanted} was rendered (rendered: {})",
            all.join(", ")
        ));
    }
    let mut first_miss = None;
    for candidate in &candidates {
        let misses: Vec<String> = spec
            .fields
            .iter()
            .filter_map(|(path, expected)| {
                // `~` (null) expects the field absent or null.
                let actual = lookup(candidate, path);
                (actual.clone().unwrap_or(Value::Null) != *expected).then(|| {
                    format!(
                        "{path}: expected {expected}, got {}",
                        actual.map_or("nothing".to_string(), |v| v.to_string())
                    )
                })
            })
            .collect();
        if misses.is_empty() {
            return Ok(());
        }
        first_miss.get_or_insert(misses);
    }
    Err(format!(
        "{wanted}: {}",
        first_miss.unwrap_or_default().join("; ")
    ))
}

fn object_label(value: &Value) -> String {
    format!(
        "{} \"{}\"",
        value["kind"].as_str().unwrap_or("?"),
        value["metadata"]["name"].as_str().unwrap_or("?")
    )
}

/// The value at a dotted path: `spec.replicas`, `containers[0].image`,
/// `metadata.labels["app.oam.dev/name"]`. An absent field is `None`.
fn lookup(value: &Value, path: &str) -> Option<Value> {
    let mut current = value;
    let mut rest = path;
    while !rest.is_empty() {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if let Some(after) = rest.strip_prefix("[\"") {
            let end = after.find("\"]")?;
            current = current.get(&after[..end])?;
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            current = current.get(after[..end].parse::<usize>().ok()?)?;
            rest = &after[end + 1..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            current = current.get(&rest[..end])?;
            rest = &rest[end..];
        }
    }
    Some(current.clone())
}

/// A substring, or a regular expression between slashes.
fn matches(pattern: &str, text: &str) -> bool {
    match pattern
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix('/'))
        .filter(|p| !p.is_empty())
    {
        Some(re) => regex::Regex::new(re).is_ok_and(|re| re.is_match(text)),
        None => text.contains(pattern),
    }
}

/// Compares `text` with the snapshot at `at`, or writes it (atomically, inside the tree)
/// when `update`. `Ok(true)`: written.
fn compare_snapshot(
    tree: &Tree,
    at: &TreePath,
    text: &str,
    update: bool,
) -> std::result::Result<bool, String> {
    let path = tree.display(&at.relative);
    let existing = match tree.read_to_string(&at.relative) {
        Ok(existing) => Some(existing),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidData
            ) =>
        {
            None
        }
        Err(e) => return Err(format!("{}{}", at.site, tree.io_message(&at.relative, &e))),
    };
    if existing.as_deref() == Some(text) {
        return Ok(false);
    }
    if update {
        tree.write_atomically(&at.relative, text.as_bytes())
            .map_err(|e| {
                format!(
                    "{}cannot write {}",
                    at.site,
                    tree.io_message(&at.relative, &e)
                )
            })?;
        return Ok(true);
    }
    let Some(existing) = existing else {
        return Err(format!(
            "snapshot {path} does not exist; run `kiln test --update` to write it"
        ));
    };
    let mut diff = String::new();
    for (i, (want, got)) in existing.lines().zip(text.lines()).enumerate() {
        if want != got {
            let _ = write!(
                diff,
                "line {}:\n  snapshot: {want}\n  rendered: {got}",
                i + 1
            );
            break;
        }
    }
    if diff.is_empty() {
        let _ = write!(
            diff,
            "the snapshot has {} lines, the render {}",
            existing.lines().count(),
            text.lines().count()
        );
    }
    Err(format!(
        "the output differs from snapshot {path} ({diff}); run `kiln test --update` if the change is intended"
    ))
}

#[cfg(test)]
mod tests;
