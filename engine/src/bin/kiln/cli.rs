//! Command-line arguments and the commands they run.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use rayon::prelude::*;
use serde_json::Value;

use crate::{scaffold, tree};
use kiln::app::{Application, Source, Text};
use kiln::definitions::{Kind, Registry};
use kiln::manifest::{self, Format};
use kiln::platform::{Lock, Pin, Platform};
use kiln::render::{self, ClusterVersion, RenderOptions};
use kiln::sandbox::Sandbox;
use kiln::{argocd, environment, testsuite};

/// Render KubeVela applications to Kubernetes manifests, through definitions that run as
/// sandboxed WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, about)]
pub struct Args {
    #[command(subcommand)]
    command: Command,

    /// A directory of definition components (`NAME.wasm`); repeatable.
    #[arg(short = 'd', long = "definitions", value_name = "DIR", global = true)]
    definitions: Vec<PathBuf>,

    /// Let definitions from -d replace built-ins of the same name.
    #[arg(long, global = true)]
    override_builtins: bool,

    /// Where compiled modules are cached [default: $XDG_CACHE_HOME/kiln or ~/.cache/kiln].
    #[arg(long, value_name = "DIR", env = "KILN_CACHE_DIR", global = true)]
    cache_dir: Option<PathBuf>,

    /// Compile every module afresh and cache nothing.
    #[arg(long, global = true)]
    no_cache: bool,

    /// The platform configuration: sandbox limits, digest pinning and guardrail policies
    /// (see docs/platform.md). Set it in the Argo CD sidecar's environment, where app
    /// authors cannot change it.
    #[arg(long, value_name = "FILE", env = "KILN_PLATFORM", global = true)]
    platform: Option<PathBuf>,

    /// Wall-clock limit of one definition call, in milliseconds [default: 5000, or the
    /// platform's].
    #[arg(long, value_name = "MS", global = true)]
    time_limit_ms: Option<u64>,

    /// Linear-memory limit of one definition instance, in MiB [default: 256, or the
    /// platform's].
    #[arg(long, value_name = "MIB", global = true)]
    memory_limit_mib: Option<usize>,

    /// Fuel (instructions) of one definition call: a deterministic limit [default: off, or
    /// the platform's].
    #[arg(long, value_name = "N", global = true)]
    fuel: Option<u64>,

    /// Size cap of the compiled-module cache, e.g. 512Mi; least recently used artifacts are
    /// evicted beyond it [default: 512Mi, or the platform's `limits.cacheSize`].
    #[arg(long, value_name = "SIZE", env = "KILN_CACHE_MAX", global = true,
          value_parser = kiln::platform::parse_size)]
    cache_max: Option<u64>,

    /// Say more: a trapped definition's wasm backtrace (also `KILN_LOG=debug`).
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render an application file to Kubernetes manifests on stdout.
    Render(RenderArgs),
    /// List or describe the available definitions.
    #[command(subcommand)]
    Definitions(DefinitionsCommand),
    /// The Argo CD Config Management Plugin commands (run by argocd-cmp-server).
    #[command(subcommand)]
    Argocd(ArgocdCommand),
    /// Manage the compiled-module cache.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Run test files (`*.test.yaml`) for definitions and policies in the sandbox.
    Test(TestArgs),
    /// Scaffold a new definition crate with one passing test.
    New(NewArgs),
}

#[derive(Debug, clap::Args)]
struct TestArgs {
    /// Test files, or directories searched for `*.test.yaml`.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,

    /// Write snapshot files instead of comparing against them.
    #[arg(long)]
    update: bool,
}

#[derive(Debug, clap::Args)]
struct NewArgs {
    /// What to scaffold.
    #[arg(value_enum)]
    kind: NewKind,

    /// The definition's name (lowercase letters, digits and '-'); also the crate's
    /// directory.
    name: String,

    /// Where the Kiln SDK is: a path to its crate [default: the SDK this kiln was built
    /// with].
    #[arg(long, value_name = "PATH")]
    sdk: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum NewKind {
    Trait,
    Workload,
    Policy,
}

#[derive(Debug, Subcommand)]
enum ArgocdCommand {
    /// Render the app in the current directory as a JSON object stream, from Argo CD's
    /// environment (plugin.yaml's `generate`).
    Generate,
    /// Print the parameter announcements of the app in the current directory
    /// (plugin.yaml's `parameters.dynamic`).
    Parameters,
}

#[derive(Debug, Subcommand)]
enum CacheCommand {
    /// Compile every definition into the cache, e.g. while building a container image.
    /// Best effort: a definition that does not load is reported on stderr and skipped, and
    /// the command still exits 0 (`kiln definitions check` is the gate that fails).
    Warm,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RenderArgs {
    /// The application file, a directory holding one (vela.yaml, vela.json, Appfile,
    /// app.yaml), or - for stdin.
    #[arg(default_value = ".")]
    pub(crate) path: String,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Yaml)]
    pub(crate) output: OutputFormat,

    /// Namespace of the objects (overrides the application's).
    #[arg(short, long)]
    namespace: Option<String>,

    /// Kubernetes version to render for, e.g. 1.29 (picks API versions).
    #[arg(long, value_name = "X.Y", env = "KUBE_VERSION", default_value_t = render::DEFAULT_CLUSTER_VERSION)]
    cluster_version: ClusterVersion,

    /// API versions the cluster serves, comma-separated (`apps/v1,networking.k8s.io/v1,...`;
    /// Argo CD's form with kinds is accepted). Definitions pick API versions from it.
    #[arg(long, value_name = "LIST", env = "KUBE_API_VERSIONS")]
    api_versions: Option<String>,

    /// Add `vela dry-run`'s comment headers (YAML only), to diff against KubeVela.
    #[arg(long)]
    vela_headers: bool,

    /// The environment to render: a `deploy` step of the workflow (or a topology policy),
    /// whose override and topology policies apply.
    #[arg(long, value_name = "NAME", env = "KILN_ENV")]
    env: Option<String>,

    /// Render every application under the directory PATH (a monorepo), in parallel: one
    /// stream in path order, or one file per application with --out-dir.
    #[arg(short, long)]
    pub(crate) recursive: bool,

    /// With --recursive: write `<OUT>/<app's directory>.yaml` (or `.json`) per application
    /// instead of one stream.
    #[arg(long, value_name = "OUT")]
    pub(crate) out_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum OutputFormat {
    /// A YAML stream.
    Yaml,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum DefinitionsCommand {
    /// One line per definition: name, kind, origin, description.
    List,
    /// A definition's parameters, with types, defaults and descriptions.
    Show {
        /// The definition's name.
        name: String,
    },
    /// Pin the definitions in DIR: write DIR/kiln.lock with each one's sha256, for the
    /// platform configuration's `lock:`.
    Lock {
        /// A directory of definition components.
        dir: PathBuf,
    },
    /// Load every `*.wasm` in DIR as a render would, and report each one that fails; exits
    /// 1 if any does. For a platform team's CI, before the definitions ship.
    Check {
        /// A directory of definition components.
        dir: PathBuf,
    },
}

/// What a command that ran prints.
#[derive(Default)]
pub struct Output {
    /// What to print: pieces written one after the other (see [`manifest::Text`]).
    pub stdout: manifest::Text,
    pub warnings: Vec<String>,
    /// The command ran but its verdict is failure (`kiln test` with a failing case).
    pub failed: bool,
}

/// Runs the command.
pub fn run(args: Args) -> Result<Output> {
    if let Command::New(new_args) = &args.command {
        return new_definition(new_args);
    }
    // Best effort from the start: a broken platform file must not fail it either.
    if let Command::Cache(CacheCommand::Warm) = &args.command {
        return Ok(warm(&args));
    }
    let platform = platform(&args)?;
    // `kiln test` builds a sandbox and registry per test file (with the -d directories).
    if let Command::Test(test_args) = &args.command {
        return test(&args, &platform, test_args);
    }
    let sandbox = sandbox(&args, &platform)?;
    if let Command::Definitions(DefinitionsCommand::Lock { dir }) = &args.command {
        return lock(&sandbox, dir, args.override_builtins);
    }
    let mut registry = Registry::builtin();
    if let Some(lock) = &platform.lock {
        registry.pin(lock.clone());
    }
    if let Command::Definitions(DefinitionsCommand::Check { dir }) = &args.command {
        return Ok(check(&sandbox, registry, dir, args.override_builtins));
    }
    for dir in &args.definitions {
        registry
            .add_dir(&sandbox, dir, args.override_builtins)
            .with_context(|| format!("loading definitions from {}", dir.display()))?;
    }
    // Argo CD adds the repository's definitions first.
    if !matches!(args.command, Command::Argocd(_)) {
        platform.check_names(&registry)?;
    }
    let output = run_command(&args, &sandbox, registry, &platform);
    let warnings = sandbox.take_warnings();
    // The process exits next, and the kernel unmaps the loaded modules at once; dropping
    // them one by one here would cost a measurable part of a small render (~0.5 ms for 7).
    std::mem::forget(sandbox);
    match output {
        Ok(mut output) => {
            output.warnings.splice(0..0, warnings);
            Ok(output)
        }
        Err(error) => {
            warnings.iter().for_each(|w| eprintln!("{w}"));
            Err(error)
        }
    }
}

/// Runs a command that takes the shared sandbox and registry.
fn run_command(
    args: &Args,
    sandbox: &Sandbox,
    mut registry: Registry,
    platform: &Platform,
) -> Result<Output> {
    let output = match &args.command {
        Command::Render(render_args) => render_command(sandbox, &registry, platform, render_args),
        Command::Definitions(DefinitionsCommand::List) => list(sandbox, &registry),
        Command::Definitions(DefinitionsCommand::Show { name }) => show(sandbox, &registry, name),
        Command::Definitions(
            DefinitionsCommand::Lock { .. } | DefinitionsCommand::Check { .. },
        ) => unreachable!("handled above"),
        Command::Argocd(command) => argocd_command(sandbox, &mut registry, platform, command),
        Command::Cache(CacheCommand::Warm) => unreachable!("handled above"),
        Command::Test(_) => unreachable!("handled above"),
        Command::New(_) => unreachable!("handled above"),
    };
    // See `run`: the kernel unmaps the modules at exit.
    std::mem::forget(registry);
    output
}

/// `1 test`, `2 tests`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// `kiln new`: scaffolds a definition crate in the current directory.
fn new_definition(args: &NewArgs) -> Result<Output> {
    let template = match args.kind {
        NewKind::Trait => scaffold::Template::Trait,
        NewKind::Workload => scaffold::Template::Workload,
        NewKind::Policy => scaffold::Template::Policy,
    };
    // The SDK this binary was built with, unless told otherwise.
    let sdk = args
        .sdk
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk"));
    let stdout = scaffold::create(template, &args.name, Path::new(&args.name), &sdk)?;
    Ok(Output {
        stdout: stdout.into(),
        ..Output::default()
    })
}

/// `kiln test`: every case of every file, reported like `cargo test`.
fn test(args: &Args, base: &Platform, test_args: &TestArgs) -> Result<Output> {
    let started = std::time::Instant::now();
    // Each file is confined to the tree of the PATH that found it.
    let mut files = Vec::new();
    for path in &test_args.paths {
        let found = testsuite::discover(path)?;
        if found.is_empty() {
            bail!("{}: no test files (*.test.yaml) found", path.display());
        }
        let tree = testsuite::Tree::of(path)?;
        files.extend(found.into_iter().map(|file| (tree.clone(), file)));
    }
    // A file's own platform only tightens the one given on the command line.
    let base = args.platform.is_some().then_some(base);
    let mut out = String::new();
    let (mut passed, mut updated, mut failures) = (0, 0, Vec::new());
    for (tree, path) in &files {
        let file = testsuite::TestFile::read(tree, path)?;
        let mut platform = file.platform(base);
        apply_limit_flags(args, &mut platform.platform);
        let sandbox = sandbox(args, &platform.platform)?;
        let results = file
            .run(&sandbox, &platform, &args.definitions, test_args.update)
            .with_context(|| format!("loading the definitions of {}", path.display()))?;
        let _ = writeln!(
            out,
            "\nrunning {} from {}",
            count(results.len(), "test"),
            path.display()
        );
        for result in results {
            let status = match &result.outcome {
                testsuite::Outcome::Passed => "ok",
                testsuite::Outcome::Updated => "ok (snapshot written)",
                testsuite::Outcome::Failed(_) => "FAILED",
            };
            let case = result.name.rsplit(" :: ").next().unwrap_or_default();
            let _ = writeln!(out, "test {case} ... {status}");
            match result.outcome {
                testsuite::Outcome::Passed => passed += 1,
                testsuite::Outcome::Updated => updated += 1,
                testsuite::Outcome::Failed(why) => failures.push((result.name, why)),
            }
        }
    }
    if !failures.is_empty() {
        out.push_str("\nfailures:\n");
        for (name, why) in &failures {
            let _ = writeln!(out, "\n---- {name} ----\n{why}");
        }
    }
    let _ = writeln!(
        out,
        "\ntest result: {}. {} passed; {} failed; {} written; finished in {:.2}s",
        if failures.is_empty() { "ok" } else { "FAILED" },
        passed + updated,
        failures.len(),
        count(updated, "snapshot"),
        started.elapsed().as_secs_f64()
    );
    Ok(Output {
        stdout: out.into(),
        warnings: Vec::new(),
        failed: !failures.is_empty(),
    })
}

/// The platform configuration, with the limits given on the command line on top.
fn platform(args: &Args) -> Result<Platform> {
    let mut platform = match &args.platform {
        Some(path) => Platform::read(path)
            .with_context(|| format!("reading the platform configuration {}", path.display()))?,
        None => Platform::default(),
    };
    apply_limit_flags(args, &mut platform);
    Ok(platform)
}

/// Command-line limits win over the platform file's defaults.
fn apply_limit_flags(args: &Args, platform: &mut Platform) {
    let defaults = &mut platform.limits;
    if let Some(ms) = args.time_limit_ms {
        defaults.time = std::time::Duration::from_millis(ms);
    }
    if let Some(mib) = args.memory_limit_mib {
        defaults.memory = mib.saturating_mul(1024 * 1024);
    }
    if let Some(fuel) = args.fuel {
        defaults.fuel = Some(fuel);
    }
    if let Some(max) = args.cache_max {
        platform.cache_size = Some(max);
    }
}

/// `kiln definitions lock DIR`: pins every definition in `dir`, written atomically.
fn lock(sandbox: &Sandbox, dir: &Path, override_builtins: bool) -> Result<Output> {
    let mut registry = Registry::builtin();
    registry
        .add_dir(sandbox, dir, override_builtins)
        .with_context(|| format!("loading definitions from {}", dir.display()))?;
    let mut lock = Lock {
        version: 1,
        definitions: Default::default(),
    };
    for (name, path, digest) in registry.external() {
        let file = path
            .file_name()
            .and_then(|f| f.to_str())
            .with_context(|| format!("{}: the file name is not UTF-8", path.display()))?;
        lock.definitions.insert(
            name.to_string(),
            Pin {
                file: file.to_string(),
                sha256: kiln::digest::hex(&digest),
            },
        );
    }
    let target = dir.join("kiln.lock");
    kiln::files::write_atomically(&target, lock.to_yaml().as_bytes())
        .with_context(|| format!("writing {}", target.display()))?;
    Ok(Output {
        stdout: format!(
            "pinned {} in {}\n",
            count(lock.definitions.len(), "definition"),
            target.display()
        )
        .into(),
        warnings: Vec::new(),
        failed: false,
    })
}

/// The Argo CD plugin: everything read through the confined repository copy.
fn argocd_command(
    sandbox: &Sandbox,
    registry: &mut Registry,
    platform: &Platform,
    command: &ArgocdCommand,
) -> Result<Output> {
    let env = argocd::Environment::from_vars(std::env::vars())?;
    let cwd = std::env::current_dir().context("reading the working directory")?;
    let (root, app_dir) = argocd::repository_root(&cwd, env.source_path.as_deref())?;
    let repo = argocd::Repository::open(&root)?;
    if let Some(dirs) = env.settings.get("DEFINITIONS") {
        for dir in dirs.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            let files = repo
                .read_definitions(dir)
                .with_context(|| format!("reading definitions from {dir} (KILN_DEFINITIONS)"))?;
            // The repository's definitions: never a built-in's or the platform's
            // replacement, never a policy, whatever --override-builtins says.
            registry
                .add_repository_modules(sandbox, files)
                .with_context(|| format!("loading definitions from {dir} (KILN_DEFINITIONS)"))?;
        }
    }
    platform.check_names(registry)?;
    let registry: &Registry = registry;
    let text = repo.read_app(&app_dir, env.settings.get("APP_FILE").map(String::as_str))?;
    let text_digest = argocd::text_digest(&text.text);
    let read = |text: Text| {
        Application::from_source_named(
            text.parse()?,
            &|name: &str| registry.is_trait(name),
            env.app_name.as_deref(),
        )
    };
    if let ArgocdCommand::Parameters = command {
        // Announced with the file's values: Argo CD shows them as the defaults.
        return Ok(Output {
            stdout: format!("{}\n", argocd::announcements(&read(text)?)).into(),
            warnings: Vec::new(),
            failed: false,
        });
    }
    // The definitions the text names load while it is parsed.
    rayon::in_place_scope(|scope| {
        registry.preload(scope, sandbox, text.type_names());
        argocd_generate(sandbox, registry, platform, &env, read(text)?, text_digest)
    })
}

/// `kiln argocd generate` of the application read from the repository, whose text has
/// the sha256 `text_digest`.
fn argocd_generate(
    sandbox: &Sandbox,
    registry: &Registry,
    platform: &Platform,
    env: &argocd::Environment,
    mut app: Application,
    text_digest: [u8; 32],
) -> Result<Output> {
    argocd::apply_parameters(&mut app, &env.parameters)?;
    // The app author picks the environment (ARGOCD_ENV_KILN_ENV in the Application).
    let selected =
        environment::select_environment(app, env.settings.get("ENV").map(String::as_str))?;
    let mut app = selected.app;
    if app.namespace.is_none() {
        app.namespace = env.namespace.clone();
    }
    let mut options = RenderOptions {
        namespace: None,
        cluster_version: env
            .cluster_version
            .unwrap_or(render::DEFAULT_CLUSTER_VERSION),
        api_versions: env.api_versions.clone(),
        revision: String::new(),
        policies: platform.policies.clone(),
        serialize: Some(Format::Json),
    };
    options.revision = argocd::content_revision(&argocd::RevisionInputs {
        text: text_digest,
        parameters: &env.parameters,
        environment: selected.name.as_deref(),
        app: &app,
        registry,
        options: &options,
    });
    let rendered = kiln::pipeline::render_app(sandbox, registry, &app, &options)?;
    // An empty success would make Argo CD prune everything: only when the app says so.
    let allow_empty = app
        .annotations
        .get(argocd::ALLOW_EMPTY_ANNOTATION)
        .is_some_and(|v| v == "true");
    if rendered.objects.is_empty() && !allow_empty {
        bail!(
            "{}: the application renders no objects, which would make Argo CD prune everything; \
             annotate it with {}: \"true\" if that is intended",
            app.source.file,
            argocd::ALLOW_EMPTY_ANNOTATION
        );
    }
    Ok(Output {
        stdout: manifest::into_text(rendered.objects, Format::Json, &app.name, false),
        warnings: selected
            .warnings
            .into_iter()
            .chain(rendered.warnings)
            .collect(),
        failed: false,
    })
}

/// The outcome of adding one definition file: the name it describes itself as, or why it
/// does not load.
struct FileOutcome {
    file: String,
    result: std::result::Result<String, String>,
}

/// Adds the `*.wasm` files of `dir` to `registry` one at a time, with the checks of `-d`
/// (a valid definition, pinned if the platform pins, no name clash), so that one bad file
/// does not hide the others: each file's outcome, in name order. A directory that cannot
/// be read is one failed outcome.
fn add_each(
    sandbox: &Sandbox,
    registry: &mut Registry,
    dir: &Path,
    allow_override: bool,
) -> Vec<FileOutcome> {
    let files = match kiln::definitions::definition_files(dir) {
        Ok(files) => files,
        Err(e) => {
            return vec![FileOutcome {
                file: dir.display().to_string(),
                result: Err(e.to_string()),
            }];
        }
    };
    files
        .into_iter()
        .map(|path| {
            let file = path.display().to_string();
            let result = std::fs::read(&path)
                .map_err(|e| format!("{file}: {e}"))
                .and_then(|bytes| {
                    registry
                        .add_modules(sandbox, vec![(file.clone(), bytes)], allow_override)
                        .map_err(|e| e.to_string())
                })
                .map(|()| {
                    registry
                        .external()
                        .find(|(_, origin, _)| *origin == path)
                        .map(|(name, _, _)| name.to_string())
                        .unwrap_or_default()
                });
            FileOutcome { file, result }
        })
        .collect()
}

/// `kiln cache warm`: every definition compiled (or its precompiled built-in copied) into
/// the cache, saying how many artifacts that added. Best effort: Argo CD runs it in an
/// init container of the repository server, which a failure would keep from starting
/// for every application, Kiln's or not. So every failure (the platform file, a -d
/// directory, a definition) is a warning on stderr, and it exits 0.
fn warm(args: &Args) -> Output {
    let mut warnings = Vec::new();
    let platform = platform(args).unwrap_or_else(|e| {
        warnings.push(format!(
            "warning: {e:#}; warming with the default limits instead"
        ));
        Platform::default()
    });
    let sandbox = match sandbox(args, &platform) {
        Ok(sandbox) => sandbox,
        Err(e) => {
            warnings.push(format!("warning: nothing warmed: {e:#}"));
            return Output {
                warnings,
                ..Output::default()
            };
        }
    };
    // Counted before the -d directories load (and compile) anything.
    let before = sandbox.cache().map(|cache| cached_artifacts(cache.dir()));
    let mut registry = Registry::builtin();
    if let Some(lock) = &platform.lock {
        registry.pin(lock.clone());
    }
    let mut failed = 0;
    for dir in &args.definitions {
        for outcome in add_each(&sandbox, &mut registry, dir, args.override_builtins) {
            if let Err(why) = outcome.result {
                failed += 1;
                warnings.push(format!("warning: not warmed: {why}"));
            }
        }
    }
    let names: Vec<&str> = registry.names().collect();
    // One at a time in name order for the report, loaded in parallel.
    let loaded: Vec<kiln::Result<_>> = names
        .par_iter()
        .map(|name| registry.module(&sandbox, name))
        .collect();
    let mut ready = 0;
    for (name, result) in names.iter().zip(loaded) {
        match result {
            Ok(_) => ready += 1,
            Err(e) => {
                failed += 1;
                warnings.push(format!("warning: not warmed: definition \"{name}\": {e}"));
            }
        }
    }
    let failures = if failed == 0 {
        String::new()
    } else {
        format!("; {failed} failed (see above)")
    };
    let stdout = match (sandbox.cache(), before) {
        (Some(cache), Some(before)) => format!(
            "{} ready in {} ({} newly cached){failures}\n",
            count(ready, "definition"),
            cache.dir().display(),
            // Another process warming the same directory may add some too.
            cached_artifacts(cache.dir()).saturating_sub(before),
        ),
        _ => format!(
            "{} loaded; nothing cached (--no-cache){failures}\n",
            count(ready, "definition")
        ),
    };
    warnings.extend(sandbox.take_warnings());
    std::mem::forget(registry);
    std::mem::forget(sandbox);
    Output {
        stdout: stdout.into(),
        warnings,
        failed: false,
    }
}

/// `kiln definitions check DIR`: loads each definition of `dir` as a render would (module,
/// pin, name, parameter schema) and reports every failure; fails if any.
fn check(sandbox: &Sandbox, mut registry: Registry, dir: &Path, allow_override: bool) -> Output {
    let outcomes = add_each(sandbox, &mut registry, dir, allow_override);
    let mut out = String::new();
    let mut warnings = Vec::new();
    for outcome in &outcomes {
        // The parameter schema compiles at a definition's first use in a render.
        let result = outcome.result.clone().and_then(|name| {
            registry
                .load(sandbox, &[name.as_str()].into_iter().collect())
                .map(|_| name)
                .map_err(|e| e.to_string())
        });
        match result {
            Ok(name) => {
                let kind = registry
                    .kind(&name)
                    .map(|k| k.to_string())
                    .unwrap_or_default();
                let _ = writeln!(out, "ok: {}: {name} ({kind})", outcome.file);
            }
            Err(why) => warnings.push(format!("error: {why}")),
        }
    }
    let failed = warnings.len();
    let _ = writeln!(
        out,
        "{}: {} checked, {failed} failed",
        dir.display(),
        count(outcomes.len(), "definition")
    );
    std::mem::forget(registry);
    Output {
        stdout: out.into(),
        warnings,
        failed: failed > 0,
    }
}

/// How many compiled artifacts `dir` holds (none if it does not exist yet).
fn cached_artifacts(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.path().extension().is_some_and(|e| e == "cwasm"))
            .count()
    })
}

fn sandbox(args: &Args, platform: &Platform) -> Result<Sandbox> {
    let cache_dir = if args.no_cache {
        None
    } else {
        args.cache_dir.clone().or_else(default_cache_dir)
    };
    Sandbox::new(platform.limit_policy(), cache_dir)
        .map_err(|e| anyhow::anyhow!("{e:#}"))
        .context("starting the WebAssembly sandbox")
}

fn default_cache_dir() -> Option<PathBuf> {
    let non_empty = |var| std::env::var_os(var).filter(|v| !v.is_empty());
    non_empty("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| Path::new(&home).join(".cache")))
        .map(|dir| dir.join("kiln"))
}

fn render_command(
    sandbox: &Sandbox,
    registry: &Registry,
    platform: &Platform,
    args: &RenderArgs,
) -> Result<Output> {
    if args.recursive {
        return tree::render_tree(sandbox, registry, platform, args);
    }
    if args.out_dir.is_some() {
        bail!("--out-dir writes one file per application: it needs --recursive");
    }
    let text = if args.path == "-" {
        let mut text = String::new();
        std::io::stdin()
            .take(kiln::app::MAX_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .context("reading the application from stdin")?;
        if text.len() as u64 > kiln::app::MAX_FILE_BYTES {
            bail!(
                "<stdin>: the application is larger than {} bytes",
                kiln::app::MAX_FILE_BYTES
            );
        }
        Text {
            file: "<stdin>".into(),
            text,
        }
    } else {
        Text::read(Path::new(&args.path))?
    };
    let (stdout, warnings) = render_text(sandbox, registry, platform, args, text)?;
    Ok(Output {
        stdout,
        warnings,
        failed: false,
    })
}

/// Renders one application's text as `args` say, loading the definitions its `type:` lines
/// name while it is parsed: its output text and its warnings.
pub(crate) fn render_text(
    sandbox: &Sandbox,
    registry: &Registry,
    platform: &Platform,
    args: &RenderArgs,
    text: Text,
) -> kiln::Result<(manifest::Text, Vec<String>)> {
    let text_digest = argocd::text_digest(&text.text);
    rayon::in_place_scope(|scope| {
        registry.preload(scope, sandbox, text.type_names());
        render_source(
            sandbox,
            registry,
            platform,
            args,
            text.parse()?,
            text_digest,
        )
    })
}

/// Renders one parsed application, whose text has the sha256 `text_digest`, as `args` say:
/// its output text and its warnings.
fn render_source(
    sandbox: &Sandbox,
    registry: &Registry,
    platform: &Platform,
    args: &RenderArgs,
    source: Source,
    text_digest: [u8; 32],
) -> kiln::Result<(manifest::Text, Vec<String>)> {
    let app = Application::from_source(source, &|name: &str| registry.is_trait(name))?;
    let selected = environment::select_environment(app, args.env.as_deref())?;
    let selected_name = selected.name;
    let app = selected.app;
    let format = match args.output {
        OutputFormat::Yaml => Format::Yaml,
        OutputFormat::Json => Format::Json,
    };
    let mut options = RenderOptions {
        namespace: args.namespace.clone(),
        cluster_version: args.cluster_version,
        api_versions: args
            .api_versions
            .as_deref()
            .map(render::parse_api_versions)
            .unwrap_or_default(),
        revision: String::new(),
        policies: platform.policies.clone(),
        serialize: Some(format),
    };
    // The label Argo CD's `kiln argocd generate` gives the same inputs; `vela dry-run`
    // prints an empty one, which the KubeVela diff mode keeps.
    if !args.vela_headers {
        options.revision = argocd::content_revision(&argocd::RevisionInputs {
            text: text_digest,
            parameters: &[],
            environment: selected_name.as_deref(),
            app: &app,
            registry,
            options: &options,
        });
    }
    let rendered = kiln::pipeline::render_app(sandbox, registry, &app, &options)?;
    let text = manifest::into_text(rendered.objects, format, &app.name, args.vela_headers);
    Ok((
        text,
        selected
            .warnings
            .into_iter()
            .chain(rendered.warnings)
            .collect(),
    ))
}

fn list(sandbox: &Sandbox, registry: &Registry) -> Result<Output> {
    let names: Vec<&str> = registry.names().collect();
    let loaded = registry.load(sandbox, &names.iter().copied().collect())?;
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
    let mut out = String::new();
    for kind in [Kind::Workload, Kind::Trait, Kind::Policy] {
        let of_kind: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| registry.kind(n) == Some(kind))
            .collect();
        if of_kind.is_empty() {
            continue;
        }
        let heading = match kind {
            Kind::Workload => "Workloads (component types)",
            Kind::Trait => "Traits",
            Kind::Policy => "Policies (set in the platform configuration)",
        };
        let _ = writeln!(out, "{heading}:");
        for name in of_kind {
            let module = loaded.get(name).expect("loaded above");
            let origin = match registry.origin(name) {
                Some(kiln::definitions::Origin::File(path)) => format!(" [{}]", path.display()),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  {name:width$}  {}{origin}",
                module
                    .metadata
                    .description
                    .lines()
                    .next()
                    .unwrap_or_default()
            );
        }
    }
    out.push_str("Not available (KubeVela built-ins Kiln does not ship):\n");
    for (name, why) in kiln::definitions::UNAVAILABLE {
        let _ = writeln!(out, "  {name:width$}  {why}");
    }
    Ok(Output {
        stdout: out.into(),
        warnings: Vec::new(),
        failed: false,
    })
}

fn show(sandbox: &Sandbox, registry: &Registry, name: &str) -> Result<Output> {
    let Some(kind) = registry.kind(name) else {
        let suggestion = [Kind::Workload, Kind::Trait]
            .into_iter()
            .find_map(|k| registry.suggest(name, k))
            .map(|s| format!(" (did you mean \"{s}\"?)"))
            .unwrap_or_default();
        bail!("no definition named \"{name}\"{suggestion}; `kiln definitions list` shows them all");
    };
    let module = registry.module(sandbox, name)?;
    let meta = &module.metadata;
    let mut out = String::new();
    let _ = writeln!(out, "{name} ({kind}, version {})", meta.version);
    let _ = writeln!(out, "{}", meta.description);
    if let Some(w) = &meta.workload_type {
        let _ = writeln!(out, "Renders: {w}");
    }
    if !meta.applies_to.is_empty() {
        let _ = writeln!(out, "Applies to: {}", meta.applies_to.join(", "));
    }
    if !meta.conflicts_with.is_empty() {
        let _ = writeln!(out, "Conflicts with: {}", meta.conflicts_with.join(", "));
    }
    let schema: Value = serde_json::from_str(&meta.parameter_schema)
        .with_context(|| format!("definition \"{name}\" announced an invalid parameter schema"))?;
    out.push_str("\nParameters:\n");
    let mut rows = Vec::new();
    kiln::parameters::schema::parameter_rows(&schema, &schema, "", 0, &mut rows);
    if rows.is_empty() {
        out.push_str("  (none)\n");
    }
    for row in rows {
        let _ = writeln!(out, "{row}");
    }
    Ok(Output {
        stdout: out.into(),
        warnings: Vec::new(),
        failed: false,
    })
}
