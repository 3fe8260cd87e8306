//! Kiln renders KubeVela applications into Kubernetes manifests. What each component type
//! and trait means is a WebAssembly component run in a sandbox, not code in this crate.
//!
//! The data flows one way, one module per stage. Each module uses only those listed
//! before it (`../shared/tools/module-graph.py engine/src` finds no circle), so the crate
//! reads bottom-up:
//!
//! - foundations: [`digest`] (sha256, hex and the OCI form), [`files`] (whole-or-nothing
//!   writes), [`store`] (definitions pulled from registries, by digest, verified on every
//!   read),
//!   [`patch`] (every merge is the host's: strategic merge, RFC 7396 and RFC 6902, and
//!   [`patch::trace`], who set each field), and
//!   [`error`] (typed errors with their site, and a policy's [`error::Violation`]);
//! - [`app`]: the application file (OAM `Application` or appfile) becomes an
//!   [`app::Application`], which can name the line and column of any of its nodes;
//! - [`environment`]: the chosen environment's `override` and `topology` policies rewrite
//!   the application (components patched or left out, the namespace set);
//! - [`manifest`]: labels, names and namespaces, object identities, and the YAML or JSON
//!   stream;
//! - [`convert`]: an application file rewritten in the other form (appfile or
//!   `Application`), in the file's order, saying what the other form cannot hold;
//! - [`sandbox`]: wasmtime — limits, WASI with nothing granted, traps in words, the
//!   compiled-module cache — which runs a definition's `describe` and `render`;
//! - [`parameters`]: every property is checked against its definition's JSON Schema, for
//!   the whole application, beside the render: its verdict comes before anything a module
//!   computed;
//! - [`definitions`]: the names an application uses resolve to definitions (built-in,
//!   `.wasm` files, or `oci://` sources read from the [`store`], pinned by a
//!   [`definitions::Lock`]), loaded into the [`sandbox`];
//! - [`app_schema`]: the JSON Schema of application files for editors, from the
//!   definitions' names, descriptions and parameter schemas (`kiln schema`);
//! - [`platform`]: the platform team's file (limits, pins, guardrail policies);
//! - [`render`]: per component, the workload, then each trait in order, merged by
//!   [`patch`]; lists flattened and objects of one identity merged;
//! - [`guardrails`]: the platform's policies check, and may mutate, the final object set;
//!   a denial fails the render listing every violation;
//! - [`argocd`]: the Config Management Plugin's contract — Argo CD's environment and
//!   parameters, the confined repository copy, the content revision label;
//! - [`pipeline`]: what a render is, said once — read, parameters, environment, revision,
//!   components, guardrails — for every caller: [`pipeline::render`] of an [`app::Text`] or
//!   an [`app::Source`] and a [`pipeline::Request`];
//! - [`explain`]: why a field is what it is — the steps a traced render recorded, by object
//!   and field, for people (`kiln explain`) and tools (`kiln render --trace`);
//! - [`testsuite`]: `kiln test` files, run through the [`pipeline`].
//!
//! The `kiln` binary is another crate (`cli/`, package `kiln-cli`): it parses the command
//! line, resolves it into a platform, a sandbox and a registry, and runs one command, each
//! a file of its own. This crate has no command-line, terminal, allocator or network
//! dependency: pushing and pulling definitions is the `kiln-registry` crate's (`registry/`),
//! and a render reads only the [`store`].
//!
//! ```no_run
//! use kiln::{app, definitions::Registry, manifest, pipeline, sandbox::{Limits, Sandbox}};
//!
//! let sandbox = Sandbox::new(Limits::default(), None)?;
//! let registry = Registry::builtin();
//! let text = app::Text::read("examples/hello".as_ref())?;
//! let request = pipeline::Request::default();
//! let output = pipeline::render(&sandbox, &registry, pipeline::Input::Text(text), &request)?;
//! print!("{}", manifest::write(&output.objects, manifest::Format::Yaml, &output.app.name, false));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod app;
pub mod app_schema;
pub mod argocd;
pub mod convert;
pub mod definitions;
pub mod digest;
pub mod environment;
pub mod error;
pub mod explain;
pub mod files;
pub mod guardrails;
pub mod manifest;
pub mod parameters;
pub mod patch;
pub mod pipeline;
pub mod platform;
pub mod render;
pub mod sandbox;
pub mod store;
pub mod testsuite;

pub use error::{Error, Result};
