//! Kiln renders KubeVela applications into Kubernetes manifests. What each component type
//! and trait means is a WebAssembly component run in a sandbox, not code in this crate.
//!
//! The data flows one way, one module per stage:
//!
//! 1. [`app`]: the application file (OAM `Application` or appfile) becomes an
//!    [`app::Application`], which can name the line and column of any of its nodes;
//! 2. [`environment`]: the chosen environment's `override` and `topology` policies rewrite
//!    the application (components patched or left out, the namespace set);
//! 3. [`definitions`]: the names it uses resolve to definitions (built-in or `.wasm` files),
//!    which the [`sandbox`] compiles (or loads from its cache) and runs;
//! 4. [`parameters`]: every property is checked against its definition's JSON Schema, for
//!    the whole application, beside the render: its verdict comes before anything a module
//!    computed;
//! 5. [`render`]: per component, the workload, then each trait in order, merged by
//!    [`patch`];
//! 6. [`guardrails`]: the platform's policies (configured in [`platform`]) check, and may
//!    mutate, the final object set; a denial fails the render listing every violation;
//! 7. [`manifest`]: labels, names and namespaces, and the YAML or JSON stream.
//!
//! [`testsuite`] runs `kiln test` files through the same pipeline.
//!
//! ```no_run
//! use kiln::{app, definitions::Registry, render, sandbox::{Limits, Sandbox}};
//!
//! let sandbox = Sandbox::new(Limits::default(), None)?;
//! let registry = Registry::builtin();
//! let source = app::Source::read("examples/hello".as_ref())?;
//! let application = app::Application::from_source(source, &|n: &str| registry.is_trait(n))?;
//! let rendered = render::render_app(&sandbox, &registry, &application, &Default::default())?;
//! print!("{}", kiln::manifest::write(&rendered.objects, kiln::manifest::Format::Yaml, &application.name, false));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod app;
pub mod argocd;
pub mod definitions;
pub mod digest;
pub mod environment;
pub mod error;
pub mod files;
pub mod guardrails;
pub mod manifest;
pub mod parameters;
pub mod patch;
pub mod platform;
pub mod render;
pub mod sandbox;
pub mod testsuite;

pub use error::{Error, Result};
