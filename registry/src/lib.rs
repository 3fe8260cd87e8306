//! Kiln's definitions to and from OCI registries: the network half of the platform
//! team's release path, **build → `kiln test` → push → lock → Argo CD pulls by digest**.
//!
//! A definition travels as a standard Wasm OCI artifact (the CNCF TAG-Runtime format, as
//! Kubewarden policies, Spin apps and wasmCloud components do): an OCI image manifest whose
//! config is `application/vnd.wasm.config.v0+json` (with the component's exports, imports
//! and world) and whose one layer is the component, `application/wasm`. [`artifact`] says
//! what is written and what is accepted; [`Client`] pushes and pulls it, with the
//! credentials of [`auth`], and checks everything it receives before handing it over:
//! media types, sizes against a cap before and while downloading, and every digest.
//!
//! This crate is the only one that talks to a network. The `kiln` library renders from the
//! local [`kiln::store::Store`] only, by the digests the lock pins, so a render makes no
//! network call and cannot be changed by a registry.
//!
//! ```no_run
//! use kiln::definitions::Reference;
//! use kiln_registry::{Client, Options};
//!
//! let client = Client::new(Options::default())?;
//! let reference: Reference = "oci://registry.example.com/platform/pdb:1.0".parse()?;
//! let pulled = client.pull(&reference)?;
//! pulled.store(&kiln::store::Store::new("/var/lib/kiln/store".into()))?;
//! println!("{} is {}", reference, pulled.manifest_digest);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod artifact;
pub mod auth;
mod client;
mod error;

pub use artifact::Artifact;
pub use auth::Credentials;
pub use client::{Client, Options, Pushed};
pub use error::RegistryError;
