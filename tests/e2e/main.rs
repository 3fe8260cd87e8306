//! End-to-end tests of the `kiln` binary: whole applications in, manifests (or errors) out.
//!
//! Every test runs the real binary as a separate process, with a compiled-module cache in the
//! test's scratch directory, and checks stdout, stderr and the exit code.

mod common;

mod argocd;
mod authoring;
mod cache;
mod cache_trust;
mod cli_errors;
mod convert;
mod custom_definitions;
mod editor_schema;
mod explain;
mod hardening;
mod hostile;
mod kubevela_builtin;
mod kubevela_dryrun;
mod kubevela_fixtures;
mod platform;
mod python_guests;
mod registry;
mod registry_rig;
mod render;
mod sandbox_limits;
mod schema;
mod test_files;
mod yaml_limits;
