//! `kiln argocd generate|parameters`: the Config Management Plugin's commands, run by
//! argocd-cmp-server in the application's directory. Everything is read through the
//! confined repository copy ([`kiln::argocd::Repository`]), and the request comes from
//! Argo CD's environment ([`kiln::argocd::Environment`]).

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

/// Runs `command` for the application in the current directory.
pub fn run(setup: Setup, flags: &Flags, command: &ArgocdCommand) -> Result<Output> {
    let mut registry = setup.registry(flags)?;
    let output = plugin(&setup, &mut registry, command);
    setup.finish(registry, output)
}

fn plugin(setup: &Setup, registry: &mut Registry, command: &ArgocdCommand) -> Result<Output> {
    let env = Environment::from_vars(std::env::vars())?;
    let cwd = std::env::current_dir().context("reading the working directory")?;
    let (root, app_dir) = argocd::repository_root(&cwd, env.source_path.as_deref())?;
    let repo = Repository::open(&root)?;
    add_repository_definitions(&setup.sandbox, registry, &repo, &env)?;
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

/// The definitions of the repository's `KILN_DEFINITIONS` directories: never a built-in's
/// or the platform's replacement, never a policy, whatever `--override-builtins` says.
fn add_repository_definitions(
    sandbox: &Sandbox,
    registry: &mut Registry,
    repo: &Repository,
    env: &Environment,
) -> Result<()> {
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
