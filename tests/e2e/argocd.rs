//! A harness that runs Kiln the way Argo CD does, and the CMP contract's cases.
//!
//! Modelled on Argo CD v3.5.1, line for line where it decides something:
//! - Plugin selection, before every `generate` and every Parameters-tab query:
//!   `DetectConfigManagementPlugin` and `cmpSupports` (util/app/discovery/discovery.go),
//!   asking the sidecar's `MatchRepository` (cmpserver/plugin/plugin.go,
//!   `matchRepository`), as [`select_plugin`] does. A named plugin is used without a look
//!   at the files only when its plugin.yaml configures no discovery
//!   (`isDiscoveryConfigured`); with one, the discovery must match too, or the app fails
//!   with `could not find cmp-server plugin with name "kiln" supporting the given
//!   repository`. Discovery uses the first rule set: `fileName` (Go's `filepath.Glob` of
//!   `<app dir>/<fileName>`), else `find.glob` (`zglob.Glob` of `<app dir>/<glob>`: only
//!   `*` and `**/` are special, symlinks never match), else `find.command` (exec'd in the
//!   app dir with the sidecar's environment plus the request's; it matches when it exits 0
//!   with non-empty stdout, and fails the selection on another exit).
//! - The environment: `newEnv` and `getPluginEnvs` for `generate`, `populatePluginAppDetails`
//!   (a reduced set: no namespace, revision or KUBE_*) for the parameters
//!   (reposerver/repository/repository.go), each plus `getPluginParamEnvs`' `ARGOCD_ENV_*`
//!   and parameters.
//! - Running a command (`runCommand`, `generateManifest`, `getParametersAnnouncement`): the
//!   repository copied into `<tmp>/<uuid>/`, the command of `examples/argocd/plugin.yaml`
//!   exec'd without a shell in the app's directory, stdout read by Argo CD's rules: a JSON
//!   object stream when the first non-space byte is `{`, else YAML split on `---`; empty
//!   documents skipped; every document an object with `kind`; `List` items flattened.
//!
//! The plugin's paths are mapped to the test's: `/usr/local/bin/kiln` to the built binary and
//! `/kiln/definitions` to a definitions directory the test provides.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

/// The shipped plugin.yaml.
fn shipped_plugin() -> Plugin {
    Plugin::parse(&std::fs::read_to_string(repo().join("examples/argocd/plugin.yaml")).unwrap())
}

/// A plugin.yaml, read as argocd-cmp-server reads it (`ReadPluginConfig`).
#[derive(Debug, Clone)]
struct Plugin {
    /// The socket's name: `<name>.sock`, or `<name>-<version>.sock` with `spec.version`.
    socket_name: String,
    generate: Vec<String>,
    parameters: Vec<String>,
    discover_file_name: String,
    discover_glob: String,
    discover_command: Vec<String>,
}

impl Plugin {
    fn parse(text: &str) -> Plugin {
        let plugin = kiln::app::yaml::parse(text).unwrap().to_json();
        let spec = &plugin["spec"];
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        let argv = |cmd: &Value| {
            let mut argv = strings(&cmd["command"]);
            argv.extend(strings(&cmd["args"]));
            argv
        };
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let name = text(&plugin["metadata"]["name"]);
        let version = text(&spec["version"]);
        Plugin {
            socket_name: if version.is_empty() {
                name
            } else {
                format!("{name}-{version}")
            },
            generate: argv(&spec["generate"]),
            parameters: argv(&spec["parameters"]["dynamic"]),
            discover_file_name: text(&spec["discover"]["fileName"]),
            discover_glob: text(&spec["discover"]["find"]["glob"]),
            // `Find` embeds `Command`: `find: {command: [...], args: [...]}`.
            discover_command: argv(&spec["discover"]["find"]),
        }
    }

    /// `isDiscoveryConfigured`.
    fn discovery_configured(&self) -> bool {
        !self.discover_file_name.is_empty()
            || !self.discover_glob.is_empty()
            || !self.discover_command.is_empty()
    }
}

/// Which of plugin.yaml's commands to run.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Call {
    Generate,
    Parameters,
}

/// An Application's `spec.source.plugin`, as the repository server receives it.
#[derive(Debug, Clone, Default)]
struct AppPlugin {
    /// `plugin.name`; `None` for `plugin: {}` (discovery picks one).
    name: Option<String>,
    /// `plugin.env`, exported as `ARGOCD_ENV_<name>`.
    env: Vec<(String, String)>,
    /// `plugin.parameters` as the JSON of `ARGOCD_APP_PARAMETERS`.
    parameters: Option<String>,
}

impl AppPlugin {
    fn named(name: &str) -> AppPlugin {
        AppPlugin {
            name: Some(name.into()),
            ..AppPlugin::default()
        }
    }
}

/// The shipped Application: its source path and plugin block.
fn shipped_application() -> (String, AppPlugin) {
    let text = std::fs::read_to_string(repo().join("examples/argocd/application.yaml")).unwrap();
    let app = kiln::app::yaml::parse(&text).unwrap().to_json();
    let source = &app["spec"]["source"];
    let plugin = &source["plugin"];
    let env = plugin["env"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let text = |v: &Value| v.as_str().unwrap().to_string();
            (text(&e["name"]), text(&e["value"]))
        })
        .collect();
    let parameters = plugin
        .get("parameters")
        .map(|p| serde_json::to_string(p).unwrap());
    (
        source["path"].as_str().unwrap().to_string(),
        AppPlugin {
            name: plugin["name"].as_str().map(str::to_string),
            env,
            parameters,
        },
    )
}

/// A repository copy laid out as argocd-cmp-server lays it out.
struct Checkout {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    definitions: PathBuf,
    plugin: Plugin,
}

impl Checkout {
    /// Copies `examples/` of this repository into `<tmp>/<uuid>/`.
    fn new() -> Checkout {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("7f3c9a2e-uuid");
        copy_dir(&repo().join("examples/shop"), &root.join("examples/shop"));
        copy_dir(&repo().join("examples/hello"), &root.join("examples/hello"));
        let definitions = tmp.path().join("kiln-definitions");
        std::fs::create_dir_all(&definitions).unwrap();
        Checkout {
            _tmp: tmp,
            root,
            definitions,
            plugin: shipped_plugin(),
        }
    }

    /// Writes `text` at `path` in the repository.
    fn write(&self, path: &str, text: &str) {
        let file = self.root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }

    /// The environment the repository server sends with `call` for the app at `app_path`
    /// (`newEnv` + `getPluginEnvs`, or `populatePluginAppDetails`), `getPluginParamEnvs`'
    /// additions for `plugin` included.
    fn argo_env(&self, call: Call, app_path: &str, plugin: &AppPlugin) -> Vec<(String, String)> {
        let pairs: &[(&str, &str)] = match call {
            Call::Generate => &[
                ("ARGOCD_APP_NAME", "shop"),
                ("ARGOCD_APP_NAMESPACE", "shop"),
                ("ARGOCD_APP_PROJECT_NAME", "default"),
                (
                    "ARGOCD_APP_REVISION",
                    "4f1b2c3d5e6f708192a3b4c5d6e7f8091a2b3c4d",
                ),
                ("ARGOCD_APP_REVISION_SHORT", "4f1b2c3"),
                ("ARGOCD_APP_REVISION_SHORT_8", "4f1b2c3d"),
                (
                    "ARGOCD_APP_SOURCE_REPO_URL",
                    "https://git.example.com/shop.git",
                ),
                ("ARGOCD_APP_SOURCE_PATH", app_path),
                ("ARGOCD_APP_SOURCE_TARGET_REVISION", "HEAD"),
                ("KUBE_VERSION", "1.31.2"),
                ("KUBE_API_VERSIONS", API_VERSIONS),
            ],
            Call::Parameters => &[
                ("ARGOCD_APP_NAME", "shop"),
                (
                    "ARGOCD_APP_SOURCE_REPO_URL",
                    "https://git.example.com/shop.git",
                ),
                ("ARGOCD_APP_SOURCE_PATH", app_path),
                ("ARGOCD_APP_SOURCE_TARGET_REVISION", "HEAD"),
            ],
        };
        let mut env: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (name, value) in &plugin.env {
            env.push((format!("ARGOCD_ENV_{name}"), value.clone()));
        }
        if let Some(parameters) = &plugin.parameters {
            env.push(("ARGOCD_APP_PARAMETERS".into(), parameters.clone()));
        }
        env
    }

    /// `argv` (a plugin.yaml command) exec'd in `dir` as `runCommand` does: the sidecar's
    /// environment (`os.Environ()`: the Kiln settings of sidecar-patch.yaml) plus `env`.
    fn exec(&self, argv: &[String], dir: &Path, env: &[(String, String)]) -> Command {
        let argv: Vec<String> = argv
            .iter()
            .map(|a| match a.as_str() {
                "/usr/local/bin/kiln" => env!("CARGO_BIN_EXE_kiln").to_string(),
                "/kiln/definitions" => self.definitions.display().to_string(),
                _ => a.clone(),
            })
            .collect();
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(dir)
            .env_clear()
            .env("KILN_CACHE_DIR", shared_cache())
            .envs(env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// The plugin command `call`, run in `app_path` with Argo CD's environment plus `env`,
    /// without plugin selection.
    fn command(&self, call: Call, app_path: &str, env: &[(&str, &str)]) -> Command {
        let argv = match call {
            Call::Generate => &self.plugin.generate,
            Call::Parameters => &self.plugin.parameters,
        };
        let mut cmd = self.exec(
            argv,
            &self.root.join(app_path),
            &self.argo_env(call, app_path, &AppPlugin::named("kiln")),
        );
        cmd.envs(env.iter().copied());
        cmd
    }

    fn generate(&self, app_path: &str, env: &[(&str, &str)]) -> Run {
        run_cmd(self.command(Call::Generate, app_path, env), None)
    }

    /// What Argo CD does for `call` of an Application whose source is `app_path` with
    /// `plugin`: select the plugin ([`select_plugin`]), then run its command; the error
    /// Argo CD shows when no plugin is selected.
    fn argo(&self, call: Call, app_path: &str, plugin: &AppPlugin) -> Result<Run, String> {
        let env = self.argo_env(call, app_path, plugin);
        select_plugin(self, app_path, plugin, &env)?;
        let argv = match call {
            Call::Generate => &self.plugin.generate,
            Call::Parameters => &self.plugin.parameters,
        };
        Ok(run_cmd(
            self.exec(argv, &self.root.join(app_path), &env),
            None,
        ))
    }
}

/// `KUBE_API_VERSIONS` as the harness's cluster serves them.
const API_VERSIONS: &str = "v1,v1/Service,apps/v1,apps/v1/Deployment,networking.k8s.io/v1,\
     networking.k8s.io/v1/Ingress,autoscaling/v2,autoscaling/v2/HorizontalPodAutoscaler";

/// `DetectConfigManagementPlugin` with the checkout's one sidecar plugin: Ok when Argo CD
/// would send the app to it, else the error Argo CD reports.
fn select_plugin(
    checkout: &Checkout,
    app_path: &str,
    plugin: &AppPlugin,
    env: &[(String, String)],
) -> Result<(), String> {
    match &plugin.name {
        Some(name) => match cmp_supports(checkout, app_path, name, env, true) {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!(
                "could not find cmp-server plugin with name \"{name}\" supporting the given \
                 repository"
            )),
            Err(e) => Err(format!(
                "could not find cmp-server plugin with name \"{name}\" supporting the given \
                 repository: {e}"
            )),
        },
        // Every socket in the plugins directory, in turn: here the one.
        None => {
            let socket = checkout.plugin.socket_name.clone();
            match cmp_supports(checkout, app_path, &socket, env, false) {
                Ok(true) => Ok(()),
                Ok(false) => Err("could not find plugin supporting the given repository".into()),
                Err(e) => Err(format!(
                    "could not find plugin supporting the given repository: {e}"
                )),
            }
        }
    }
}

/// `cmpSupports`: whether the plugin listening on `<name>.sock` takes the app.
fn cmp_supports(
    checkout: &Checkout,
    app_path: &str,
    name: &str,
    env: &[(String, String)],
    named: bool,
) -> Result<bool, String> {
    let plugin = &checkout.plugin;
    if name != plugin.socket_name {
        return Err(format!(
            "error dialing to cmp-server for plugin {name}.sock: no such socket"
        ));
    }
    if !plugin.discovery_configured() {
        return Ok(named);
    }
    let (supported, discovery_enabled) = match_repository(checkout, app_path, env)
        .map_err(|e| format!("error checking repository support for plugin {name}.sock: {e}"))?;
    Ok(supported || (!discovery_enabled && named))
}

/// argocd-cmp-server's `matchRepository`: (is supported, is discovery enabled).
fn match_repository(
    checkout: &Checkout,
    app_path: &str,
    env: &[(String, String)],
) -> Result<(bool, bool), String> {
    let plugin = &checkout.plugin;
    let app_dir = checkout.root.join(app_path);
    if !plugin.discover_file_name.is_empty() {
        return Ok((
            !go_filepath_glob(&app_dir, &plugin.discover_file_name).is_empty(),
            true,
        ));
    }
    if !plugin.discover_glob.is_empty() {
        return Ok((!zglob(&app_dir, &plugin.discover_glob).is_empty(), true));
    }
    if !plugin.discover_command.is_empty() {
        let run = run_cmd(checkout.exec(&plugin.discover_command, &app_dir, env), None);
        if run.code != Some(0) {
            // `runCommand`'s `CmdError`.
            return Err(format!(
                "match repository error: error running find command: `{}` failed exit status \
                 {}: {}",
                plugin.discover_command.join(" "),
                run.code.unwrap_or(-1),
                run.stderr.trim()
            ));
        }
        return Ok((!run.stdout.trim_end_matches('\n').is_empty(), true));
    }
    Ok((false, false))
}

/// Go's `filepath.Glob(filepath.Join(dir, pattern))`: `*`, `?` and `[...]` within one path
/// element, `\` escapes; an element without them must exist (`Lstat`).
fn go_filepath_glob(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let mut found = vec![dir.to_path_buf()];
    // `filepath.Join` cleans: `./vela.yaml` is `vela.yaml`.
    for element in pattern.split('/').filter(|e| !e.is_empty() && *e != ".") {
        let mut next = Vec::new();
        for base in &found {
            if !element.contains(['*', '?', '[', '\\']) {
                let path = base.join(element);
                if std::fs::symlink_metadata(&path).is_ok() {
                    next.push(path);
                }
                continue;
            }
            let matcher = regex::Regex::new(&go_element_regex(element)).unwrap();
            let Ok(entries) = std::fs::read_dir(base) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| matcher.is_match(n))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| base.join(n)));
        }
        found = next;
    }
    found
}

/// One element of a `filepath.Match` pattern, as an anchored regex.
fn go_element_regex(element: &str) -> String {
    let mut out = String::from("^");
    let mut chars = element.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            '\\' => out.push_str(&regex::escape(&chars.next().unwrap_or('\\').to_string())),
            '[' => {
                out.push('[');
                for c in chars.by_ref() {
                    match c {
                        '^' if out.ends_with('[') => out.push('^'),
                        ']' => break,
                        '-' => out.push('-'),
                        c => out.push_str(&regex::escape(&c.to_string())),
                    }
                }
                out.push(']');
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    out
}

/// mattn/go-zglob's `Glob(filepath.Join(dir, pattern))`: `**/` is any number of
/// directories, `*` any name part; everything else is literal. Without a `*` the path must
/// exist (`os.Stat`); with one, symlinks never match.
fn zglob(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let pattern = pattern.trim_start_matches("./");
    if !pattern.contains('*') {
        let path = dir.join(pattern);
        return if path.exists() {
            vec![path]
        } else {
            Vec::new()
        };
    }
    let mut expression = String::from("^");
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("**/") {
            expression.push_str("(.*/)?");
            rest = after;
        } else if let Some(after) = rest.strip_prefix('*') {
            expression.push_str("[^/]*");
            rest = after;
        } else {
            expression.push_str(&regex::escape(&c.to_string()));
            rest = &rest[c.len_utf8()..];
        }
    }
    expression.push('$');
    let matcher = regex::Regex::new(&expression).unwrap();
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).into_iter().flatten().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path.clone());
            }
            let relative = path
                .strip_prefix(dir)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            if !kind.is_symlink() && matcher.is_match(&relative) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Reads a plugin's stdout by Argo CD's rules; panics where Argo CD would fail the app.
fn argo_objects(stdout: &str) -> Vec<Value> {
    let mut documents: Vec<Value> = Vec::new();
    if stdout.trim_start().starts_with('{') {
        for value in serde_json::Deserializer::from_str(stdout).into_iter::<Value>() {
            documents.push(value.expect("a JSON object stream"));
        }
    } else {
        for doc in stdout.split("\n---") {
            let value = kiln::app::yaml::parse(doc)
                .expect("YAML documents")
                .to_json();
            documents.push(value);
        }
    }
    let mut objects = Vec::new();
    for doc in documents {
        if doc.is_null() {
            continue;
        }
        assert!(
            doc.get("kind").is_some(),
            "Argo CD fails an app on a document without kind: {doc}"
        );
        match doc.get("items").and_then(Value::as_array) {
            Some(items) => objects.extend(items.iter().cloned()),
            None => objects.push(doc),
        }
    }
    objects
}

/// What Argo CD shows for a failure: stderr must be one short paragraph.
#[track_caller]
fn assert_ui_error(run: &Run, contains: &str) {
    assert_ne!(run.code, Some(0), "expected a failure");
    assert_eq!(
        run.stdout, "",
        "Argo CD discards stdout on failure, but nothing partial is printed"
    );
    let err = run.stderr.trim_end();
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        !err.contains("\n\n") && !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    assert!(err.contains(contains), "expected {contains:?} in {err}");
}

#[test]
fn generate_prints_what_render_prints_for_the_same_cluster() {
    let checkout = Checkout::new();
    let run = checkout.generate("examples/shop", &[]);
    assert!(run.ok().starts_with('{'), "a JSON object stream");
    let objects = argo_objects(&run.stdout);

    // The revision label included: `kiln render` shows what Argo CD applies.
    let expected: Vec<Value> = run_cmd(
        {
            let mut c = kiln();
            c.args(["render", "examples/shop", "-o", "json"]).args([
                "--cluster-version",
                "1.31.2",
                "--api-versions",
                API_VERSIONS,
            ]);
            c
        },
        None,
    )
    .ok()
    .lines()
    .map(|l| serde_json::from_str(l).unwrap())
    .collect();
    assert_eq!(objects, expected);
    let revision = objects[0]["metadata"]["labels"]["app.oam.dev/appRevision"]
        .as_str()
        .unwrap();
    assert!(
        revision.starts_with("shop-") && revision.len() == "shop-".len() + 8,
        "{revision}"
    );
}

#[test]
fn the_namespace_comes_from_argo_cd_when_the_app_names_none() {
    let checkout = Checkout::new();
    let objects = argo_objects(
        checkout
            .generate("examples/hello", &[("ARGOCD_APP_NAMESPACE", "web")])
            .ok(),
    );
    assert!(!objects.is_empty());
    for o in &objects {
        assert_eq!(o["metadata"]["namespace"], "web");
    }
}

#[test]
fn the_app_name_comes_from_argo_cd_when_the_file_names_none() {
    let checkout = Checkout::new();
    checkout.write(
        "apps/noname/vela.yaml",
        "services:\n  web:\n    image: nginx\n",
    );
    let objects = argo_objects(
        checkout
            .generate(
                "apps/noname",
                &[("ARGOCD_APP_NAME", "argocd-apps_storefront")],
            )
            .ok(),
    );
    assert_eq!(
        objects[0]["metadata"]["labels"]["app.oam.dev/name"],
        "storefront"
    );
}

#[test]
fn every_parameter_kind_reaches_the_objects() {
    let checkout = Checkout::new();
    let parameters = r#"[
        {"name": "api.image", "string": "ghcr.io/example/shop-api:2.1.0"},
        {"name": "properties", "map": {"frontend.cpu": "300m", "mailer.cmd[1]": "--queue=vip"}},
        {"name": "labels", "array": ["env=prod", "tier = gold"]}
    ]"#;
    let objects = argo_objects(
        checkout
            .generate("examples/shop", &[("ARGOCD_APP_PARAMETERS", parameters)])
            .ok(),
    );
    let api = find(&objects, "Deployment", "api");
    assert_eq!(
        api["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/example/shop-api:2.1.0"
    );
    let frontend = find(&objects, "Deployment", "frontend");
    assert_eq!(
        frontend["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"],
        "300m"
    );
    let mailer = find(&objects, "Deployment", "mailer");
    assert_eq!(
        mailer["spec"]["template"]["spec"]["containers"][0]["command"][1],
        "--queue=vip"
    );
    for o in &objects {
        assert_eq!(o["metadata"]["labels"]["env"], "prod");
        assert_eq!(o["metadata"]["labels"]["tier"], "gold");
    }
}

#[test]
fn absent_and_null_parameters_render_the_file_as_it_is() {
    let checkout = Checkout::new();
    let absent = checkout.generate("examples/shop", &[]);
    let null = checkout.generate("examples/shop", &[("ARGOCD_APP_PARAMETERS", "null")]);
    assert_eq!(absent.ok(), null.ok());
}

#[test]
fn parameters_are_validated_like_the_file() {
    let checkout = Checkout::new();
    let run = checkout.generate(
        "examples/shop",
        &[(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"properties","map":{"frontend.cpu":"1"}}]"#,
        )],
    );
    assert_ui_error(
        &run,
        "component \"frontend\", field \"cpu\": expected string, found a number (1)",
    );
    let run = checkout.generate(
        "examples/shop",
        &[(
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"replicas","string":"3"}]"#,
        )],
    );
    assert_ui_error(
        &run,
        "ARGOCD_APP_PARAMETERS: unknown parameter \"replicas\"",
    );
    let run = checkout.generate("examples/shop", &[("ARGOCD_APP_PARAMETERS", "{not json")]);
    assert_ui_error(&run, "ARGOCD_APP_PARAMETERS: not a JSON array");
}

#[test]
fn param_variables_are_never_read() {
    let checkout = Checkout::new();
    let with = checkout.generate(
        "examples/shop",
        &[
            ("PARAM_API_IMAGE", "evil:1"),
            ("PARAM_PROPERTIES_FRONTEND_CPU", "9"),
        ],
    );
    let without = checkout.generate("examples/shop", &[]);
    assert_eq!(with.ok(), without.ok());
}

#[test]
fn a_broken_app_fails_with_one_paragraph_naming_the_file() {
    let checkout = Checkout::new();
    checkout.write(
        "apps/broken/vela.yaml",
        "name: shop\nservices:\n  web:\n    image: [nginx\n",
    );
    let run = checkout.generate("apps/broken", &[]);
    assert_ui_error(&run, "apps/broken/vela.yaml:5:1: invalid YAML");
}

#[test]
fn zero_objects_is_an_error_unless_the_app_says_so() {
    let checkout = Checkout::new();
    let empty = "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: shop\nspec:\n  components: []\n";
    checkout.write("apps/empty/app.yaml", empty);
    assert_ui_error(&checkout.generate("apps/empty", &[]), "renders no objects");
    checkout.write(
        "apps/empty/app.yaml",
        &empty.replace(
            "  name: shop\n",
            "  name: shop\n  annotations:\n    kiln.dev/allow-empty: \"true\"\n",
        ),
    );
    let run = checkout.generate("apps/empty", &[]);
    assert_eq!(run.ok(), "");
}

/// Makes `app_dir`'s `vela.yaml` a symlink to an application outside the repository copy.
fn escape_through_a_symlink(checkout: &Checkout, app_dir: &str) {
    let outside = checkout.root.parent().unwrap().join("outside.yaml");
    std::fs::write(
        &outside,
        "name: stolen\nservices:\n  web:\n    image: nginx\n",
    )
    .unwrap();
    std::fs::create_dir_all(checkout.root.join(app_dir)).unwrap();
    std::os::unix::fs::symlink(&outside, checkout.root.join(app_dir).join("vela.yaml")).unwrap();
}

#[test]
fn a_symlink_leaving_the_repository_is_refused() {
    let checkout = Checkout::new();
    escape_through_a_symlink(&checkout, "apps/escape");
    assert_ui_error(
        &checkout.generate("apps/escape", &[]),
        "apps/escape/vela.yaml: refused: the path leaves the repository",
    );
    // A relative symlink that climbs out is refused the same way.
    std::fs::create_dir_all(checkout.root.join("apps/climb")).unwrap();
    std::os::unix::fs::symlink(
        "../../../outside.yaml",
        checkout.root.join("apps/climb/vela.yaml"),
    )
    .unwrap();
    assert_ui_error(
        &checkout.generate("apps/climb", &[]),
        "refused: the path leaves the repository",
    );
}

#[test]
fn settings_with_dot_dot_or_absolute_paths_are_refused() {
    let checkout = Checkout::new();
    let run = checkout.generate(
        "examples/shop",
        &[("ARGOCD_ENV_KILN_DEFINITIONS", "../kiln-definitions")],
    );
    assert_ui_error(
        &run,
        "KILN_DEFINITIONS: \"../kiln-definitions\" leaves the repository",
    );
    let run = checkout.generate("examples/shop", &[("ARGOCD_ENV_KILN_DEFINITIONS", "/etc")]);
    assert_ui_error(&run, "is absolute");
    let run = checkout.generate(
        "examples/shop",
        &[("ARGOCD_ENV_KILN_APP_FILE", "../../etc/passwd")],
    );
    assert_ui_error(&run, "leaves the repository");
    // A definitions directory that is a symlink out of the repository.
    std::os::unix::fs::symlink(&checkout.definitions, checkout.root.join("defs")).unwrap();
    let run = checkout.generate("examples/shop", &[("ARGOCD_ENV_KILN_DEFINITIONS", "defs")]);
    assert_ui_error(&run, "refused: the path leaves the repository");
}

#[test]
fn definitions_from_the_repository_and_from_the_plugin_mount() {
    let checkout = Checkout::new();
    let wasm = build_guest("examples/custom-trait", "pod-disruption-budget");
    std::fs::create_dir_all(checkout.root.join("platform/defs")).unwrap();
    std::fs::copy(&wasm, checkout.root.join("platform/defs/pdb.wasm")).unwrap();
    let app = "name: shop\nservices:\n  web:\n    image: nginx\n    pod-disruption-budget:\n      minAvailable: 1\n";
    checkout.write("apps/pdb/vela.yaml", app);
    let objects = argo_objects(
        checkout
            .generate(
                "apps/pdb",
                &[("ARGOCD_ENV_KILN_DEFINITIONS", "platform/defs")],
            )
            .ok(),
    );
    assert_eq!(objects[1]["kind"], "PodDisruptionBudget");
    // The same module mounted by the operator at /kiln/definitions.
    let checkout = Checkout::new();
    std::fs::copy(&wasm, checkout.definitions.join("pdb.wasm")).unwrap();
    checkout.write("apps/pdb/vela.yaml", app);
    let objects = argo_objects(checkout.generate("apps/pdb", &[]).ok());
    assert_eq!(objects[1]["kind"], "PodDisruptionBudget");
}

#[test]
fn the_dynamic_parameters_command_announces_images_and_overrides() {
    let checkout = Checkout::new();
    // The dynamic command gets a reduced environment (`Call::Parameters`).
    let run = run_cmd(
        checkout.command(Call::Parameters, "examples/shop", &[]),
        None,
    );
    let announced: Value = serde_json::from_str(run.ok()).expect("a JSON array");
    let names: Vec<&str> = announced
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "frontend.image",
            "api.image",
            "mailer.image",
            "properties",
            "labels"
        ]
    );
    assert_eq!(announced[1]["string"], "ghcr.io/example/shop-api:2.0.1");
    assert_eq!(announced[3]["collectionType"], "map");
    assert_eq!(announced[4]["collectionType"], "array");
}

#[test]
fn two_checkouts_render_byte_identical_output() {
    let a = Checkout::new().generate("examples/shop", &[]);
    let b = Checkout::new().generate("examples/shop", &[]);
    assert_eq!(a.ok(), b.ok());
}

#[test]
fn sigterm_stops_kiln_within_a_second() {
    let checkout = Checkout::new();
    let wasm = build_guest("tests/guests", "misbehave");
    std::fs::copy(&wasm, checkout.definitions.join("misbehave.wasm")).unwrap();
    checkout.write(
        "apps/slow/vela.yaml",
        "name: slow\nservices:\n  web:\n    image: nginx\n    misbehave:\n      mode: loop\n",
    );
    let mut cmd = checkout.command(Call::Generate, "apps/slow", &[]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let sent = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        sent.elapsed() < Duration::from_secs(1),
        "took {:?}",
        sent.elapsed()
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing on stdout");
}

#[test]
fn the_shipped_platform_file_admits_the_example_and_denies_a_privileged_pod() {
    let checkout = Checkout::new();
    let platform = repo().join("examples/argocd/platform.yaml");
    let platform = platform.to_str().unwrap();
    let run = checkout.generate("examples/shop", &[("KILN_PLATFORM", platform)]);
    assert!(!argo_objects(run.ok()).is_empty());
    assert_eq!(run.stderr, "", "pinned images: no audit warning");

    checkout.write(
        "examples/root/vela.yaml",
        "name: root\nservices:\n  tools:\n    type: webservice\n    image: busybox\n    \
         securitycontext:\n      privileged: true\n",
    );
    let run = checkout.generate("examples/root", &[("KILN_PLATFORM", platform)]);
    assert_ui_error(
        &run,
        "policy \"disallow-privileged\": Deployment/shop/tools",
    );
    // The audit-mode policy's warning is kept with the denial.
    assert!(
        run.stderr
            .contains("warning: policy \"disallow-latest-tag\""),
        "{}",
        run.stderr
    );
}

#[test]
fn the_app_picks_its_environment_with_argocd_env_kiln_env() {
    let checkout = Checkout::new();
    checkout.write(
        "envs/vela.yaml",
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: envs\nspec:\n  \
         components:\n    - name: api\n      type: webservice\n      properties:\n        \
         image: nginx:1.27\n  policies:\n    - name: staging\n      type: topology\n      \
         properties: {namespace: staging}\n    - name: prod\n      type: topology\n      \
         properties: {namespace: prod}\n",
    );
    let run = checkout.generate("envs", &[("ARGOCD_ENV_KILN_ENV", "prod")]);
    let objects = argo_objects(run.ok());
    assert_eq!(objects[0]["metadata"]["namespace"], "prod");
    let run = checkout.generate("envs", &[]);
    assert_ui_error(&run, "has 2 environments (staging, prod)");
}

#[test]
fn the_shipped_application_renders_and_shows_its_parameters_as_is() {
    let checkout = Checkout::new();
    let (path, plugin) = shipped_application();
    let run = checkout
        .argo(Call::Generate, &path, &plugin)
        .unwrap_or_else(|e| panic!("Argo CD: {e}"));
    let objects = argo_objects(run.ok());
    let api = find(&objects, "Deployment", "api");
    assert_eq!(
        api["spec"]["template"]["spec"]["containers"][0]["image"], "ghcr.io/example/shop-api:2.1.0",
        "the Application's parameter applies"
    );
    let run = checkout
        .argo(Call::Parameters, &path, &plugin)
        .unwrap_or_else(|e| panic!("Argo CD's Parameters tab: {e}"));
    let announced: Value = serde_json::from_str(run.ok()).expect("a JSON array");
    assert_eq!(announced[0]["name"], "frontend.image");
}

/// Each file name Kiln reads, and KILN_APP_FILE, through Argo CD's plugin selection with
/// the shipped plugin.yaml and the plugin name of the shipped Application.
#[test]
fn every_application_file_name_kiln_reads_gets_through_plugin_selection() {
    let checkout = Checkout::new();
    // The shipped Application's plugin name (its parameters are for examples/shop).
    let shipped = AppPlugin::named(&shipped_application().1.name.unwrap());
    let appfile = "name: shop\nservices:\n  web:\n    image: nginx:1.27\n";
    let json = r#"{"name": "shop", "services": {"web": {"image": "nginx:1.27"}}}"#;
    let oam = "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: shop\n\
               spec:\n  components:\n    - name: web\n      type: webservice\n      \
               properties:\n        image: nginx:1.27\n";
    let mut cases: Vec<(String, &str, AppPlugin)> = kiln::app::APP_FILE_NAMES
        .iter()
        .map(|name| {
            let text = match *name {
                "vela.json" => json,
                "app.yaml" => oam,
                _ => appfile,
            };
            (name.to_string(), text, shipped.clone())
        })
        .collect();
    let mut custom = shipped.clone();
    custom
        .env
        .push(("KILN_APP_FILE".into(), "shop.yaml".into()));
    cases.push(("shop.yaml".into(), oam, custom));
    for (i, (file, text, plugin)) in cases.iter().enumerate() {
        let path = format!("apps/{i}");
        checkout.write(&format!("{path}/{file}"), text);
        for call in [Call::Generate, Call::Parameters] {
            let run = checkout
                .argo(call, &path, plugin)
                .unwrap_or_else(|e| panic!("{file}, {call:?}: Argo CD: {e}"));
            assert_eq!(run.code, Some(0), "{file}, {call:?}: {}", run.stderr);
        }
        let run = checkout.argo(Call::Generate, &path, plugin).unwrap();
        let objects = argo_objects(run.ok());
        assert_eq!(
            find(&objects, "Deployment", "web")["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:1.27",
            "{file}"
        );
    }
}

#[test]
fn an_application_that_names_no_plugin_is_not_sent_to_kiln() {
    // No `discover` in plugin.yaml: Kiln never claims a directory by its file names (a
    // plain manifest directory may well hold an app.yaml).
    let checkout = Checkout::new();
    let err = checkout
        .argo(Call::Generate, "examples/hello", &AppPlugin::default())
        .unwrap_err();
    assert_eq!(err, "could not find plugin supporting the given repository");
}

/// The model itself, on plugin.yaml variants: each discovery rule decides as Argo CD's
/// does, and a named plugin with a discovery rule must match it too (the failure the
/// shipped `fileName: ./vela.yaml` caused for examples/shop).
#[test]
fn the_plugin_selection_model_follows_argo_cds_rules() {
    let mut checkout = Checkout::new();
    let named = AppPlugin::named("kiln");
    let select = |checkout: &Checkout, path: &str, plugin: &AppPlugin| {
        let env = checkout.argo_env(Call::Generate, path, plugin);
        select_plugin(checkout, path, plugin, &env)
    };
    let with_discover = |discover: &str| {
        let text = std::fs::read_to_string(repo().join("examples/argocd/plugin.yaml")).unwrap();
        Plugin::parse(&format!("{text}  discover:\n{discover}"))
    };

    checkout.plugin = with_discover("    fileName: \"./vela.yaml\"\n");
    assert_eq!(
        select(&checkout, "examples/shop", &named).unwrap_err(),
        "could not find cmp-server plugin with name \"kiln\" supporting the given repository"
    );
    assert_eq!(select(&checkout, "examples/hello", &named), Ok(()));
    assert_eq!(
        select(&checkout, "examples/hello", &AppPlugin::default()),
        Ok(())
    );
    checkout.plugin = with_discover("    fileName: \"*.y?ml\"\n");
    assert_eq!(select(&checkout, "examples/shop", &named), Ok(()));

    checkout.write("examples/shop/deep/er/app.yaml", "x");
    checkout.plugin = with_discover("    find:\n      glob: \"**/er/app.yaml\"\n");
    assert_eq!(select(&checkout, "examples/shop", &named), Ok(()));
    assert!(select(&checkout, "examples/hello", &named).is_err());

    // find.command: exit 0 with output matches, without output does not, another exit
    // fails the selection.
    let command = |script: &str| {
        with_discover(&format!(
            "    find:\n      command: [/bin/sh, -c, '{script}']\n"
        ))
    };
    checkout.plugin = command("test -n \"$ARGOCD_APP_SOURCE_PATH\" && echo found");
    assert_eq!(select(&checkout, "examples/shop", &named), Ok(()));
    checkout.plugin = command("true");
    assert!(select(&checkout, "examples/shop", &named).is_err());
    checkout.plugin = command("echo no >&2; exit 3");
    let err = select(&checkout, "examples/shop", &named).unwrap_err();
    assert!(err.ends_with("failed exit status 3: no"), "{err}");

    // Another plugin name, or a version in plugin.yaml the Application does not name.
    checkout.plugin = shipped_plugin();
    assert!(select(&checkout, "examples/shop", &AppPlugin::named("kiln-v1.0")).is_err());
}

#[test]
fn a_commit_that_leaves_the_app_alone_leaves_its_objects_alone() {
    let checkout = Checkout::new();
    let (path, plugin) = shipped_application();
    let at = |commit: &str| {
        let mut env = checkout.argo_env(Call::Generate, &path, &plugin);
        for (key, value) in &mut env {
            match key.as_str() {
                "ARGOCD_APP_REVISION" => *value = commit.to_string(),
                "ARGOCD_APP_REVISION_SHORT" => *value = commit[..7].to_string(),
                "ARGOCD_APP_REVISION_SHORT_8" => *value = commit[..8].to_string(),
                _ => {}
            }
        }
        let cmd = checkout.exec(&checkout.plugin.generate, &checkout.root.join(&path), &env);
        run_cmd(cmd, None).ok().to_string()
    };
    let first = at("4f1b2c3d5e6f708192a3b4c5d6e7f8091a2b3c4d");
    let second = at("9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807");
    assert_eq!(first, second, "byte-identical across commits");

    // What the objects depend on does change the label.
    let label = |stdout: &str| {
        argo_objects(stdout)[0]["metadata"]["labels"]["app.oam.dev/appRevision"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let app = format!("{path}/app.yaml");
    let text = std::fs::read_to_string(checkout.root.join(&app)).unwrap();
    checkout.write(&app, &text.replace("replicas: 3", "replicas: 4"));
    let edited = at("9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807");
    assert_ne!(label(&edited), label(&first));
    assert_ne!(edited, first);
}

/// A definition whose bytes change (a custom section appended: same behaviour, another
/// digest) changes the label of the apps using it, and only theirs.
#[test]
fn a_changed_definition_changes_the_revision_of_the_apps_using_it() {
    let checkout = Checkout::new();
    let wasm = build_guest("examples/custom-trait", "pod-disruption-budget");
    std::fs::create_dir_all(checkout.root.join("platform/defs")).unwrap();
    std::fs::copy(&wasm, checkout.root.join("platform/defs/pdb.wasm")).unwrap();
    checkout.write(
        "apps/pdb/vela.yaml",
        "name: shop\nservices:\n  web:\n    image: nginx\n    pod-disruption-budget:\n      \
         minAvailable: 1\n",
    );
    let env = [("ARGOCD_ENV_KILN_DEFINITIONS", "platform/defs")];
    let label = |app: &str| {
        let run = checkout.generate(app, &env);
        argo_objects(run.ok())[0]["metadata"]["labels"]["app.oam.dev/appRevision"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (pdb, hello) = (label("apps/pdb"), label("examples/hello"));
    let mut bytes = std::fs::read(&wasm).unwrap();
    // A custom section: id 0, size, name length, name, payload.
    bytes.extend_from_slice(&[0, 6, 4, b'k', b'i', b'l', b'n', b'!']);
    std::fs::write(checkout.root.join("platform/defs/pdb.wasm"), bytes).unwrap();
    assert_ne!(label("apps/pdb"), pdb);
    assert_eq!(label("examples/hello"), hello);
}

// --- The resident renderer (`kiln serve`, `KILN_SERVER`) ---------------------------------

/// A `kiln serve` for a checkout, started with the plugin command's flags (`-d` of the
/// checkout's definitions) plus `extra`, logging each request (`--verbose`). Killed on drop.
struct Server {
    child: std::process::Child,
    socket: PathBuf,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(checkout: &Checkout, extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("kiln.sock");
        let log = dir.path().join("server.log");
        let child = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(["serve", "--verbose", "--socket"])
            .arg(&socket)
            .arg("-d")
            .arg(&checkout.definitions)
            .args(extra)
            // Anywhere but the repository: it is reached through the client's descriptor.
            .current_dir(dir.path())
            .env_clear()
            .env("KILN_CACHE_DIR", shared_cache())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let server = Server {
            child,
            socket,
            log,
            _dir: dir,
        };
        let started = Instant::now();
        while std::os::unix::net::UnixStream::connect(&server.socket).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the server did not listen: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    /// How many requests the server answered with `outcome` (`rendered`, `failed`,
    /// `refused`).
    fn answered(&self, outcome: &str) -> usize {
        self.log()
            .lines()
            .filter(|l| l.starts_with("kiln serve: ") && l.contains(&format!(" {outcome} ")))
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `call` for `app_path`, once rendered by the plugin process itself and once through
/// `server`: the two runs, in that order.
fn here_and_served(
    checkout: &Checkout,
    server: &Server,
    call: Call,
    app_path: &str,
    env: &[(&str, &str)],
) -> (Run, Run) {
    let here = run_cmd(checkout.command(call, app_path, env), None);
    let mut served = checkout.command(call, app_path, env);
    served.env("KILN_SERVER", &server.socket);
    (here, run_cmd(served, None))
}

#[test]
fn a_served_render_is_byte_identical_to_one_rendered_in_the_plugin_process() {
    let checkout = Checkout::new();
    std::fs::copy(
        example_trait_wasm(),
        checkout.definitions.join("pod-disruption-budget.wasm"),
    )
    .unwrap();
    checkout.write(
        "apps/broken/vela.yaml",
        "name: broken\nservices:\n  web:\n    image: nginx\n    scaler:\n      replicas: many\n",
    );
    escape_through_a_symlink(&checkout, "apps/escape");
    let server = Server::start(&checkout, &[]);

    let parameters = r#"[{"name":"labels","array":["team=shop"]},
        {"name":"properties","map":{"frontend.cpu":"750m"}}]"#;
    /// A plugin command, its app and the environment added to Argo CD's.
    type Case<'a> = (Call, &'a str, &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        (Call::Generate, "examples/shop", &[]),
        (
            Call::Generate,
            "examples/shop",
            &[("ARGOCD_APP_PARAMETERS", parameters)],
        ),
        (Call::Generate, "examples/hello", &[]),
        (Call::Parameters, "examples/shop", &[]),
        // Failures: the same message, exit code and empty stdout.
        (Call::Generate, "apps/broken", &[]),
        (Call::Generate, "apps/escape", &[]),
        (
            Call::Generate,
            "examples/shop",
            &[("ARGOCD_ENV_KILN_APP_FILE", "../../etc/passwd")],
        ),
    ];
    for (call, app_path, env) in cases {
        let (here, served) = here_and_served(&checkout, &server, *call, app_path, env);
        assert_eq!(served.stdout, here.stdout, "{app_path} {env:?}");
        assert_eq!(served.stderr, here.stderr, "{app_path} {env:?}");
        assert_eq!(served.code, here.code, "{app_path} {env:?}");
    }
    // Every one was the server's, none rendered by a client that fell back.
    assert_eq!(server.answered("rendered"), 4, "{}", server.log());
    assert_eq!(server.answered("failed"), 3, "{}", server.log());
    assert_eq!(server.answered("refused"), 0, "{}", server.log());
}

#[test]
fn many_clients_at_once_each_get_their_own_render() {
    let checkout = Checkout::new();
    let server = Server::start(&checkout, &[]);
    let expected = checkout.generate("examples/shop", &[]).ok().to_string();
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..8)
            .map(|i| {
                let (checkout, server) = (&checkout, &server);
                scope.spawn(move || {
                    // Half of them with a parameter: no request sees another's.
                    let label = format!(r#"[{{"name":"labels","array":["client={i}"]}}]"#);
                    let env: &[(&str, &str)] = if i % 2 == 0 {
                        &[]
                    } else {
                        &[("ARGOCD_APP_PARAMETERS", &label)]
                    };
                    let (here, served) =
                        here_and_served(checkout, server, Call::Generate, "examples/shop", env);
                    (i, here, served)
                })
            })
            .collect();
        for run in runs {
            let (i, here, served) = run.join().unwrap();
            assert_eq!(served.ok(), here.ok(), "client {i}");
            if i % 2 == 0 {
                assert_eq!(served.stdout, expected);
            } else {
                assert!(served.stdout.contains(&format!("\"client\":\"{i}\"")));
            }
        }
    });
    assert_eq!(server.answered("rendered"), 8, "{}", server.log());
}

#[test]
fn without_an_answering_server_the_plugin_renders_itself() {
    let checkout = Checkout::new();
    let expected = checkout.generate("examples/shop", &[]).ok().to_string();

    // No server at the path.
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent.sock");
    let run = checkout.generate(
        "examples/shop",
        &[("KILN_SERVER", absent.to_str().unwrap())],
    );
    assert_eq!(run.stdout, expected);
    assert!(
        run.stderr.contains("did not answer") && run.stderr.contains("rendering in this process"),
        "{}",
        run.stderr
    );

    // A server with other limits than the client's: refused, rendered here, and the
    // reason says what to do.
    let server = Server::start(&checkout, &["--fuel", "1000000000"]);
    let socket = server.socket.to_str().unwrap();
    let run = checkout.generate("examples/shop", &[("KILN_SERVER", socket)]);
    assert_eq!(run.stdout, expected);
    assert!(
        run.stderr.contains("refused the request")
            && run.stderr.contains("restart it with the client's"),
        "{}",
        run.stderr
    );
    assert_eq!(server.answered("refused"), 1, "{}", server.log());

    // A server that is gone (killed mid-life): its stale socket is no answer either.
    drop(server);
    let run = checkout.generate(
        "examples/shop",
        &[("KILN_SERVER", absent.to_str().unwrap())],
    );
    assert_eq!(run.stdout, expected);
}

#[test]
fn the_server_survives_clients_that_are_not_kiln_and_is_owner_only() {
    use std::io::{Read, Write};
    use std::os::unix::fs::PermissionsExt;

    let checkout = Checkout::new();
    let server = Server::start(&checkout, &[]);
    let mode = std::fs::metadata(&server.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "owner-only socket");

    // Bytes that are not a request, a request that announces too much, and a client that
    // hangs up at once: each gets no answer (the connection is closed, or reset when the
    // server left bytes unread), and the server goes on.
    let mut answer = Vec::new();
    let mut garbage = std::os::unix::net::UnixStream::connect(&server.socket).unwrap();
    garbage.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let _ = garbage.read_to_end(&mut answer);
    let mut huge = std::os::unix::net::UnixStream::connect(&server.socket).unwrap();
    huge.write_all(b"KILN\xff\xff\xff\xff").unwrap();
    let _ = huge.read_to_end(&mut answer);
    assert!(answer.is_empty(), "no answer to a client that is not Kiln");
    drop(std::os::unix::net::UnixStream::connect(&server.socket).unwrap());

    let socket = server.socket.to_str().unwrap();
    let run = checkout.generate("examples/shop", &[("KILN_SERVER", socket)]);
    run.ok();
    assert!(
        !run.stderr.contains("rendering in this process"),
        "{}",
        run.stderr
    );
    let log = server.log();
    assert!(log.contains("not a Kiln request"), "{log}");
    assert!(log.contains("the limit is"), "{log}");
    assert_eq!(server.answered("rendered"), 1, "{log}");

    // A second server on a live socket is refused; the first keeps serving.
    let second = kiln().args(["serve", "--socket", socket]).output().unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("a server is already listening"), "{stderr}");
}

#[test]
fn the_server_sees_definitions_as_a_new_plugin_process_would() {
    let checkout = Checkout::new();
    let app = "name: shop\nservices:\n  web:\n    image: nginx\n    pod-disruption-budget:\n      minAvailable: 1\n";
    checkout.write("apps/pdb/vela.yaml", app);
    let server = Server::start(&checkout, &[]);
    let same = |env: &[(&str, &str)]| {
        let (here, served) = here_and_served(&checkout, &server, Call::Generate, "apps/pdb", env);
        assert_eq!(
            (&served.stdout, &served.stderr, served.code),
            (&here.stdout, &here.stderr, here.code)
        );
        served
    };
    // Not there yet: both fail alike.
    assert_ne!(same(&[]).code, Some(0));
    // The operator mounts it (a ConfigMap update): the next request renders with it.
    std::fs::copy(
        example_trait_wasm(),
        checkout.definitions.join("pod-disruption-budget.wasm"),
    )
    .unwrap();
    let objects = argo_objects(same(&[]).ok());
    assert_eq!(objects[1]["kind"], "PodDisruptionBudget");
    // The repository's own definitions (KILN_DEFINITIONS) are read for that request only.
    std::fs::remove_file(checkout.definitions.join("pod-disruption-budget.wasm")).unwrap();
    std::fs::create_dir_all(checkout.root.join("platform/defs")).unwrap();
    std::fs::copy(
        example_trait_wasm(),
        checkout.root.join("platform/defs/pdb.wasm"),
    )
    .unwrap();
    let objects = argo_objects(same(&[("ARGOCD_ENV_KILN_DEFINITIONS", "platform/defs")]).ok());
    assert_eq!(objects[1]["kind"], "PodDisruptionBudget");
    assert_ne!(same(&[]).code, Some(0), "and not for the next one");
    assert_eq!(server.answered("rendered"), 2, "{}", server.log());
    assert_eq!(server.answered("failed"), 2, "{}", server.log());
}

#[test]
fn a_client_of_another_uid_is_refused_by_the_server() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;

    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: only root can run a client as another uid");
        return;
    }
    let checkout = Checkout::new();
    let server = Server::start(&checkout, &[]);
    // Let uid 65534 reach the socket and the repository copy: only the uid check stands.
    let open = |path: &Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    open(checkout.root.parent().unwrap(), 0o755);
    open(server.socket.parent().unwrap(), 0o755);
    open(&server.socket, 0o666);
    let socket = server.socket.to_str().unwrap();
    let mut cmd = checkout.command(Call::Generate, "examples/shop", &[("KILN_SERVER", socket)]);
    cmd.uid(65534).gid(65534);
    let run = run_cmd(cmd, None);
    assert!(
        run.stderr.contains("did not answer") && run.stderr.contains("rendering in this process"),
        "{}",
        run.stderr
    );
    let log = server.log();
    assert!(
        log.contains("refused a client of uid 65534") && log.contains("only uid 0 may render here"),
        "{log}"
    );
    assert_eq!(server.answered("rendered"), 0, "{log}");
}
