//! The command line, declared: every command, subcommand and flag, parsed by clap. Nothing
//! here runs; [`crate::setup`] resolves the flags and [`crate::commands`] runs the command.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use kiln::render::{self, ClusterVersion};

use crate::threads::Threads;

/// Render KubeVela applications to Kubernetes manifests, through definitions that run as
/// sandboxed WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, about)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub flags: Flags,
}

/// The options every command takes, resolved once into a platform and a sandbox
/// ([`crate::setup`]) before the command runs.
#[derive(Debug, clap::Args)]
pub struct Flags {
    /// A directory of definition components (`NAME.wasm`); repeatable.
    #[arg(short = 'd', long = "definitions", value_name = "DIR", global = true)]
    pub definitions: Vec<PathBuf>,

    /// Let definitions from -d replace built-ins of the same name.
    #[arg(long, global = true)]
    pub override_builtins: bool,

    /// Where compiled modules are cached [default: $XDG_CACHE_HOME/kiln or ~/.cache/kiln].
    #[arg(long, value_name = "DIR", env = "KILN_CACHE_DIR", global = true)]
    pub cache_dir: Option<PathBuf>,

    /// Where definitions pulled from registries are kept, by digest [default:
    /// $XDG_DATA_HOME/kiln/store or ~/.local/share/kiln/store].
    #[arg(long, value_name = "DIR", env = "KILN_STORE", global = true)]
    pub store: Option<PathBuf>,

    /// Compile every module afresh and cache nothing.
    #[arg(long, global = true)]
    pub no_cache: bool,

    /// The platform configuration: sandbox limits, digest pinning and guardrail policies
    /// (see docs/platform.md). Set it in the Argo CD sidecar's environment, where app
    /// authors cannot change it.
    #[arg(long, value_name = "FILE", env = "KILN_PLATFORM", global = true)]
    pub platform: Option<PathBuf>,

    /// Wall-clock limit of one definition call, in milliseconds [default: 5000, or the
    /// platform's].
    #[arg(long, value_name = "MS", global = true)]
    pub time_limit_ms: Option<u64>,

    /// Linear-memory limit of one definition instance, in MiB [default: 256, or the
    /// platform's].
    #[arg(long, value_name = "MIB", global = true)]
    pub memory_limit_mib: Option<usize>,

    /// Fuel (instructions) of one definition call: a deterministic limit [default: off, or
    /// the platform's].
    #[arg(long, value_name = "N", global = true)]
    pub fuel: Option<u64>,

    /// Size cap of the compiled-module cache, e.g. 512Mi; least recently used artifacts are
    /// evicted beyond it [default: 512Mi, or the platform's `limits.cacheSize`].
    #[arg(long, value_name = "SIZE", env = "KILN_CACHE_MAX", global = true,
          value_parser = kiln::platform::parse_size)]
    pub cache_max: Option<u64>,

    /// Say more: a trapped definition's wasm backtrace (also `KILN_LOG=debug`).
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Threads to work on: `auto` renders an application file under 8 KiB on the calling
    /// thread alone (a second thread would cost CPU and save no time) and a larger one on
    /// every core; or a number.
    #[arg(
        long,
        value_name = "N|auto",
        env = "KILN_THREADS",
        global = true,
        default_value = "auto"
    )]
    pub threads: Threads,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render an application file to Kubernetes manifests on stdout.
    Render(RenderArgs),
    /// List or describe the available definitions.
    #[command(subcommand)]
    Definitions(DefinitionsCommand),
    /// The Argo CD Config Management Plugin commands (run by argocd-cmp-server).
    Argocd(ArgocdArgs),
    /// Keep a renderer resident on a Unix socket for `kiln argocd` (--server or
    /// KILN_SERVER): the engine, the standard library and the compiled modules stay
    /// loaded between renders. Each request gets its own stores and memory budget, reads
    /// the repository only through the directory the client passes it, and renders the
    /// bytes the client would.
    Serve(ServeArgs),
    /// Manage the compiled-module cache.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Run test files (`*.test.yaml`) for definitions and policies in the sandbox.
    Test(TestArgs),
    /// Scaffold a new definition crate with one passing test.
    New(NewArgs),
    /// Show who set a field of a rendered object: each definition (name, version, sha256),
    /// stage and line of the application file, and the value it set or removed.
    Explain(ExplainArgs),
    /// Print the JSON Schema of application files for editors (draft-07, as the YAML
    /// language server reads it): every component type and trait, with its parameters.
    Schema(SchemaArgs),
    /// Rewrite an appfile as an OAM Application, or an Application as an appfile, on
    /// stdout. What the other form cannot say is an error listing each place, unless
    /// --lossy.
    Convert(ConvertArgs),
}

#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// The application file, a directory holding one, or - for stdin.
    #[arg(default_value = ".")]
    pub path: String,

    /// The form to write.
    #[arg(long, value_enum)]
    pub to: ConvertTo,

    /// Leave out what the other form cannot say, with a warning for each, instead of
    /// failing.
    #[arg(long)]
    pub lossy: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ConvertTo {
    /// An OAM `Application` (`core.oam.dev/v1beta1`).
    Application,
    /// An appfile (`name` and `services`).
    Appfile,
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The application file, a directory holding one, or - for stdin.
    pub path: String,

    /// The object: KIND/NAME (e.g. Deployment/frontend), or KIND/NAMESPACE/NAME.
    pub object: String,

    /// The field, dotted (spec.replicas, spec.template.spec.containers[0].image) or a JSON
    /// pointer (/metadata/labels/app.oam.dev~1name) [default: every field].
    pub field: Option<String>,

    #[command(flatten)]
    pub destination: DestinationArgs,
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Which application files the schema describes [default: both, told apart by
    /// `apiVersion`].
    #[arg(long, value_enum)]
    pub format: Option<SchemaFormat>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaFormat {
    /// OAM `Application` files (`apiVersion: core.oam.dev/v1beta1`).
    Application,
    /// Appfiles (`name` and `services`).
    Appfile,
}

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Test files, or directories searched for `*.test.yaml`.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Write snapshot files instead of comparing against them.
    #[arg(long)]
    pub update: bool,

    /// A definition component (`.wasm`, or a directory of them) to test in place of every
    /// test file's own `definitions:`; repeatable. Runs one test file against builds of the
    /// same definition in other languages.
    #[arg(long, value_name = "WASM")]
    pub under_test: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// What to scaffold.
    #[arg(value_enum)]
    pub kind: NewKind,

    /// The definition's name (lowercase letters, digits and '-'); also the crate's
    /// directory.
    pub name: String,

    /// The language to write it in.
    #[arg(long, value_enum, default_value = "rust")]
    pub lang: NewLanguage,

    /// Where the Kiln SDK is: a path to its crate, or to `sdk/python` with `--lang python`
    /// [default: the SDK this kiln was built with].
    #[arg(long, value_name = "PATH")]
    pub sdk: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum NewLanguage {
    /// A crate on the Rust SDK, built with cargo.
    Rust,
    /// A module on the Python SDK, built with componentize-py.
    Python,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum NewKind {
    Trait,
    Workload,
    Policy,
}

#[derive(Debug, clap::Args)]
pub struct ArgocdArgs {
    #[command(subcommand)]
    pub command: ArgocdCommand,

    /// The socket of a resident renderer (`kiln serve`) to render through. When it is
    /// absent, refuses the request or fails to answer, this process renders itself (and
    /// says so on stderr): the output is the same either way.
    #[arg(long, value_name = "SOCKET", env = "KILN_SERVER", global = true)]
    pub server: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Where to listen. Created owner-only (0600); a stale socket left by a server that
    /// is gone is replaced, a live one is an error.
    #[arg(long, value_name = "PATH")]
    pub socket: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ArgocdCommand {
    /// Render the app in the current directory as a JSON object stream, from Argo CD's
    /// environment (plugin.yaml's `generate`).
    Generate,
    /// Print the parameter announcements of the app in the current directory
    /// (plugin.yaml's `parameters.dynamic`).
    Parameters,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Pull the platform's definition sources not yet in the store, and compile every
    /// definition into the cache, e.g. in Argo CD's init container. Best effort: a
    /// definition that does not pull or load is reported on stderr and skipped, and the
    /// command still exits 0 (`kiln definitions check` is the gate that fails).
    Warm(RegistryArgs),
}

/// How to reach registries: credentials and TLS. Without --username, credentials come
/// from the Docker configuration ($DOCKER_CONFIG/config.json or ~/.docker/config.json,
/// with its credential helpers), else access is anonymous.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RegistryArgs {
    /// The registry user name; the password is read from stdin (--password-stdin).
    #[arg(long, requires = "password_stdin")]
    pub username: Option<String>,

    /// Read the password (or token) for --username from stdin.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,

    /// PEM CA certificates to trust besides the system's roots.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Plain HTTP, for a registry on this machine (localhost, 127.0.0.1, [::1]) only.
    #[arg(long)]
    pub insecure: bool,
}

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The application file, a directory holding one (vela.yaml, vela.json, Appfile,
    /// app.yaml), or - for stdin.
    #[arg(default_value = ".")]
    pub path: String,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Yaml)]
    pub output: OutputFormat,

    #[command(flatten)]
    pub destination: DestinationArgs,

    /// Add `vela dry-run`'s comment headers (YAML only), to diff against KubeVela.
    #[arg(long)]
    pub vela_headers: bool,

    /// Also write who set each field of each object (definition, stage, the app file's
    /// line) to FILE, as JSON (see `kiln explain`).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,

    /// Render every application under the directory PATH (a monorepo), in parallel: one
    /// stream in path order, or one file per application with --out-dir.
    #[arg(short, long)]
    pub recursive: bool,

    /// With --recursive: write `<OUT>/<app's directory>.yaml` (or `.json`) per application
    /// instead of one stream.
    #[arg(long, value_name = "OUT")]
    pub out_dir: Option<PathBuf>,
}

/// What a render is for: the namespace, the cluster and the environment.
#[derive(Debug, clap::Args)]
pub struct DestinationArgs {
    /// Namespace of the objects (overrides the application's).
    #[arg(short, long)]
    pub namespace: Option<String>,

    /// Kubernetes version to render for, e.g. 1.29 (picks API versions).
    #[arg(long, value_name = "X.Y", env = "KUBE_VERSION", default_value_t = render::DEFAULT_CLUSTER_VERSION)]
    pub cluster_version: ClusterVersion,

    /// API versions the cluster serves, comma-separated (`apps/v1,networking.k8s.io/v1,...`;
    /// Argo CD's form with kinds is accepted). Definitions pick API versions from it.
    #[arg(long, value_name = "LIST", env = "KUBE_API_VERSIONS")]
    pub api_versions: Option<String>,

    /// The environment to render: a `deploy` step of the workflow (or a topology policy),
    /// whose override and topology policies apply.
    #[arg(long, value_name = "NAME", env = "KILN_ENV")]
    pub env: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    /// A YAML stream.
    Yaml,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum DefinitionsCommand {
    /// One line per definition: name, kind, origin, description.
    List,
    /// A definition's parameters, with types, defaults and descriptions.
    Show {
        /// The definition's name.
        name: String,
    },
    /// Pin definitions for the platform configuration's `lock:`. With DIR: write
    /// DIR/kiln.lock with the sha256 of each definition in DIR. Without: resolve each of
    /// the platform file's `definitions.sources` (a tag to its digest), pull it into the
    /// store, and write the platform's lock file.
    Lock {
        /// A directory of definition components [default: the platform file's sources].
        dir: Option<PathBuf>,

        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Push a definition component to a registry as a Wasm OCI artifact, and print its
    /// digest.
    Push {
        /// The component (`.wasm`).
        file: PathBuf,

        /// Where: oci://REGISTRY/REPOSITORY:TAG.
        reference: String,

        /// An annotation of the manifest, KEY=VALUE; repeatable.
        #[arg(long = "annotation", value_name = "KEY=VALUE")]
        annotations: Vec<String>,

        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Pull a definition from a registry into the store, and print its digest, name, kind
    /// and version.
    Pull {
        /// What: oci://REGISTRY/REPOSITORY:TAG or oci://REGISTRY/REPOSITORY@sha256:DIGEST.
        reference: String,

        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Load every `*.wasm` in DIR as a render would, and report each one that fails; exits
    /// 1 if any does. For a platform team's CI, before the definitions ship.
    Check {
        /// A directory of definition components.
        dir: PathBuf,
    },
}
