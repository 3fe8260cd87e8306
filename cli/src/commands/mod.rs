//! One module per command, each a `run` function over what [`crate::setup`] resolved.

mod argocd;
mod cache;
mod convert;
mod definitions;
mod explain;
mod new;
mod oci;
mod render;
mod schema;
mod serve;
mod test;
mod tree;

use std::path::PathBuf;

use anyhow::Result;

use crate::args::{Args, CacheCommand, Command, DefinitionsCommand};
use crate::output::Output;
use crate::setup::Setup;
use crate::threads;

/// Runs the command `args` name.
pub fn run(args: Args) -> Result<Output> {
    let flags = &args.flags;
    // Forwarded before anything is set up: a served render starts no engine or thread here.
    if let Command::Argocd(argocd_args) = &args.command
        && let Some(socket) = &argocd_args.server
        && let Some(output) = argocd::forward(flags, socket, &argocd_args.command)
    {
        return output;
    }
    threads::configure(threads::count(
        flags.threads,
        input(&args.command).as_deref(),
    ));
    match &args.command {
        Command::New(new_args) => new::run(new_args),
        // Best effort from the start: a broken platform file must not fail it either.
        Command::Cache(CacheCommand::Warm(registry)) => Ok(cache::warm(flags, registry)),
        // A sandbox and registry per test file (with the -d directories).
        Command::Test(test_args) => test::run(flags, test_args),
        Command::Render(render_args) => render::run(Setup::new(flags)?, flags, render_args),
        Command::Definitions(DefinitionsCommand::List) => {
            definitions::list(Setup::new(flags)?, flags)
        }
        Command::Definitions(DefinitionsCommand::Show { name }) => {
            definitions::show(Setup::new(flags)?, flags, name)
        }
        Command::Definitions(DefinitionsCommand::Lock {
            dir: Some(dir),
            registry: _,
        }) => definitions::lock(Setup::new(flags)?, flags, dir),
        Command::Definitions(DefinitionsCommand::Lock {
            dir: None,
            registry,
        }) => oci::lock(flags, registry),
        Command::Definitions(DefinitionsCommand::Push {
            file,
            reference,
            annotations,
            registry,
        }) => oci::push(Setup::new(flags)?, file, reference, annotations, registry),
        Command::Definitions(DefinitionsCommand::Pull {
            reference,
            registry,
        }) => oci::pull(Setup::new(flags)?, reference, registry),
        Command::Definitions(DefinitionsCommand::Check { dir }) => {
            definitions::check(Setup::new(flags)?, flags, dir)
        }
        Command::Argocd(argocd_args) => {
            argocd::run(Setup::new(flags)?, flags, &argocd_args.command)
        }
        Command::Serve(serve_args) => serve::run(Setup::new(flags)?, flags, serve_args),
        Command::Schema(schema_args) => schema::run(Setup::new(flags)?, flags, schema_args),
        Command::Convert(convert_args) => convert::run(Setup::new(flags)?, flags, convert_args),
        Command::Explain(explain_args) => explain::run(Setup::new(flags)?, flags, explain_args),
    }
}

/// The application file or directory `command` reads, which sizes its thread pool
/// ([`threads::count`]); `None` for stdin, a tree of applications, or no application.
fn input(command: &Command) -> Option<PathBuf> {
    let path = match command {
        Command::Render(args) if !args.recursive => &args.path,
        Command::Explain(args) => &args.path,
        Command::Convert(args) => &args.path,
        // argocd-cmp-server runs the plugin in the application's directory.
        Command::Argocd(_) => ".",
        _ => return None,
    };
    (path != "-").then(|| PathBuf::from(path))
}
