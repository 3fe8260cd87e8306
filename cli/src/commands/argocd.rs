//! `kiln argocd generate|parameters`: the Config Management Plugin's commands, run by
//! argocd-cmp-server in the application's directory. Everything is read through the
//! confined repository copy ([`kiln::argocd::Repository`]), and the request comes from
//! Argo CD's environment ([`kiln::argocd::Environment`]).
//!
//! With `--server` (`KILN_SERVER`), the command is forwarded to a resident renderer
//! ([`super::serve`]) with the repository's root as an open descriptor, and renders here
//! only when that server cannot answer: both ways run [`plugin`], so the bytes are the same.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use kiln::app::Application;
use kiln::argocd::{self, Environment, Repository};
use kiln::definitions::Registry;
use kiln::manifest::{self, Format};
use kiln::pipeline::{self, Input, Request, Revision};
use kiln::render::{self, RenderOptions};
use kiln::sandbox::Sandbox;

use crate::args::{ArgocdCommand, Flags};
use crate::output::Output;
use crate::setup::Setup;
use crate::wire;

/// How long a client waits for the server's whole answer before rendering itself. Argo CD
/// kills a plugin after 90 s (`ARGOCD_EXEC_TIMEOUT`), so a wedged server is found well
/// before that, with time left to render here.
const SERVER_ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `command` for the application in the current directory.
pub fn run(setup: Setup, flags: &Flags, command: &ArgocdCommand) -> Result<Output> {
    let mut registry = setup.registry(flags)?;
    let output = Invocation::from_process().and_then(|call| {
        add_repository_definitions(&setup.sandbox, &mut registry, &call)?;
        plugin(&setup, &registry, command, call)
    });
    setup.finish(registry, output)
}

/// What one run of the plugin reads: Argo CD's environment, the repository copy and the
/// app directory in it.
pub struct Invocation {
    env: Environment,
    repo: Repository,
    app_dir: PathBuf,
}

impl Invocation {
    /// From this process: its environment, and the working directory argocd-cmp-server
    /// runs it in.
    pub fn from_process() -> Result<Invocation> {
        let env = Environment::from_vars(std::env::vars())?;
        let cwd = std::env::current_dir().context("reading the working directory")?;
        let (root, app_dir) = argocd::repository_root(&cwd, env.source_path.as_deref())?;
        let repo = Repository::open(&root)?;
        Ok(Invocation { env, repo, app_dir })
    }

    /// From a request to the resident renderer: the client's variables and app directory,
    /// and the repository root it passed open.
    pub fn from_request(request: &wire::Request, root: std::fs::File) -> Result<Invocation> {
        Ok(Invocation {
            env: Environment::from_vars(request.vars.iter().cloned())?,
            repo: Repository::from_file(root)?,
            app_dir: argocd::confined_path(&request.app_dir, "the request's app directory")?,
        })
    }
}

/// Runs `command` for the application `call` reads, with `registry` (the repository's
/// definitions added, [`add_repository_definitions`]).
pub fn plugin(
    setup: &Setup,
    registry: &Registry,
    command: &ArgocdCommand,
    call: Invocation,
) -> Result<Output> {
    let Invocation { env, repo, app_dir } = call;
    setup.platform.check_names(registry)?;
    let text = repo.read_app(&app_dir, env.settings.get("APP_FILE").map(String::as_str))?;
    match command {
        ArgocdCommand::Parameters => {
            // Announced with the file's values: Argo CD shows them as the defaults.
            let app = Application::from_source_named(
                text.parse()?,
                &|name: &str| registry.is_trait(name),
                env.app_name.as_deref(),
            )?;
            Ok(Output::print(format!("{}\n", argocd::announcements(&app))))
        }
        ArgocdCommand::Generate => {
            let request = request(&env, setup);
            let output = pipeline::render(&setup.sandbox, registry, Input::Text(text), &request)?;
            argocd::refuse_empty(&output.app, &output.objects)?;
            Ok(Output {
                stdout: manifest::into_text(output.objects, Format::Json, &output.app.name, false),
                warnings: output.warnings,
                failed: false,
            })
        }
    }
}

/// Adds the definitions of the repository's `KILN_DEFINITIONS` directories: never a
/// built-in's or the platform's replacement, never a policy, whatever
/// `--override-builtins` says.
pub fn add_repository_definitions(
    sandbox: &Sandbox,
    registry: &mut Registry,
    call: &Invocation,
) -> Result<()> {
    let Invocation { env, repo, .. } = call;
    let Some(dirs) = env.settings.get("DEFINITIONS") else {
        return Ok(());
    };
    for dir in dirs.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let files = repo
            .read_definitions(dir)
            .with_context(|| format!("reading definitions from {dir} (KILN_DEFINITIONS)"))?;
        registry
            .add_repository_modules(sandbox, files)
            .with_context(|| format!("loading definitions from {dir} (KILN_DEFINITIONS)"))?;
    }
    Ok(())
}

/// The request Argo CD's environment makes: its parameters and destination, the app
/// author's environment (`ARGOCD_ENV_KILN_ENV`), the platform's policies.
fn request(env: &Environment, setup: &Setup) -> Request {
    Request {
        app_name: env.app_name.clone(),
        parameters: env.parameters.clone(),
        environment: env.settings.get("ENV").cloned(),
        default_namespace: env.namespace.clone(),
        revision: Revision::Content,
        options: RenderOptions {
            namespace: None,
            cluster_version: env
                .cluster_version
                .unwrap_or(render::DEFAULT_CLUSTER_VERSION),
            api_versions: env.api_versions.clone(),
            revision: String::new(),
            policies: setup.platform.policies.clone(),
            serialize: Some(Format::Json),
            trace: false,
        },
    }
}

/// Renders `command` through the resident renderer at `socket`. `None` when the server
/// could not answer (absent, configured otherwise, busy, gone mid-answer): the caller then
/// renders itself. The reason is said on stderr, where argocd-cmp-server logs it.
pub fn forward(flags: &Flags, socket: &Path, command: &ArgocdCommand) -> Option<Result<Output>> {
    let (request, root) = prepare_request(flags, command)?;
    match ask_server(socket, &request, &root) {
        Ok(Answer::Rendered(head, stdout)) => {
            let Ok(stdout) = String::from_utf8(stdout) else {
                eprintln!(
                    "warning: the Kiln server at {} answered output that is not UTF-8; rendering in this process",
                    socket.display()
                );
                return None;
            };
            Some(match head.error {
                // As a render here: the warnings first, then main prints the error.
                Some(error) => {
                    head.warnings.iter().for_each(|w| eprintln!("{w}"));
                    Err(anyhow::Error::msg(error))
                }
                None => Ok(Output {
                    stdout: stdout.into(),
                    warnings: head.warnings,
                    failed: false,
                }),
            })
        }
        Ok(Answer::Refused(reason)) => {
            eprintln!(
                "warning: the Kiln server at {} refused the request ({reason}); rendering in this process",
                socket.display()
            );
            None
        }
        Err(error) => {
            eprintln!(
                "warning: the Kiln server at {} did not answer ({error:#}); rendering in this process",
                socket.display()
            );
            None
        }
    }
}

enum Answer {
    Rendered(wire::ResponseHead, Vec<u8>),
    Refused(String),
}

/// The request for this process's invocation, and the repository root to pass with it.
/// `None` when the invocation itself is wrong: rendering here reports that as it should.
fn prepare_request(
    flags: &Flags,
    command: &ArgocdCommand,
) -> Option<(wire::Request, std::fs::File)> {
    let vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("ARGOCD_") || k.starts_with("KUBE_"))
        .collect();
    let env = Environment::from_vars(vars.iter().cloned()).ok()?;
    let cwd = std::env::current_dir().ok()?;
    let (root, app_dir) = argocd::repository_root(&cwd, env.source_path.as_deref()).ok()?;
    let root = Repository::open(&root).ok()?.into_file();
    let request = wire::Request {
        identity: wire::identity(flags).ok()?,
        command: match command {
            ArgocdCommand::Generate => "generate",
            ArgocdCommand::Parameters => "parameters",
        }
        .into(),
        vars,
        app_dir: app_dir.to_str()?.into(),
    };
    Some((request, root))
}

fn ask_server(socket: &Path, request: &wire::Request, root: &std::fs::File) -> Result<Answer> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(SERVER_ANSWER_TIMEOUT))?;
    stream.set_write_timeout(Some(SERVER_ANSWER_TIMEOUT))?;
    wire::send_request(&mut stream, request, root)?;
    let (head, stdout) = wire::receive_response(&mut stream)?;
    Ok(match head.refused {
        Some(reason) => Answer::Refused(reason),
        None => Answer::Rendered(head, stdout),
    })
}
