//! Write Kiln definitions — component types (workloads), traits and guardrail policies —
//! as ordinary Rust functions, and ship them as WebAssembly components.
//!
//! A definition is a function over typed parameters. The SDK derives the parameter JSON
//! Schema with [`schemars`], parses the user's properties with [`serde`] (errors carry the
//! parameter path), and hides the WIT interface (`kiln:definition@0.1.0`, in `sdk/wit/`),
//! JSON text and guest memory behind one macro: [`export_trait!`], [`export_workload!`] or
//! [`export_policy!`].
//!
//! The host owns every policy: merging patches, labels, names, namespaces, ordering and
//! output. A definition only computes.
//!
//! # A trait in a dozen lines
//!
//! ```
//! use kiln_sdk::prelude::*;
//!
//! /// Manually scale K8s pod for your workload.
//! #[derive(Deserialize, Serialize, JsonSchema)]
//! #[serde(deny_unknown_fields)]
//! struct Params {
//!     /// Specify the number of workload
//!     #[serde(default = "one")]
//!     replicas: u32,
//! }
//! fn one() -> u32 { 1 }
//!
//! fn scaler(params: Params, _ctx: &TraitContext) -> Result<TraitOutput> {
//!     Ok(TraitOutput::new().patch(Patch::merge(json!({
//!         "spec": { "$patchStrategy/replicas": "retainKeys", "replicas": params.replicas }
//!     }))))
//! }
//!
//! kiln_sdk::export_trait! {
//!     name: "scaler",
//!     description: "Manually scale K8s pod for your workload.",
//!     applies_to: ["deployments.apps", "statefulsets.apps"],
//!     render: scaler,
//! }
//!
//! // Unit-test it natively, with `cargo test`:
//! let out = scaler(Params { replicas: 3 }, &TraitContext::for_test(json!({}))).unwrap();
//! assert_eq!(out.patch_value().unwrap()["spec"]["replicas"], 3);
//! ```
//!
//! Build it for the sandbox with `cargo build --release --target wasm32-wasip2` and load the
//! `.wasm` with `kiln render -d DIR`.

mod context;
mod error;
mod output;
mod parameters;
mod policy;
#[doc(hidden)]
pub mod runtime;
pub mod testing;

/// The bindings generated from `sdk/wit/` (used by the export macros; not needed by authors).
#[cfg(not(feature = "library"))]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "definition",
        pub_export_macro: true,
        export_macro_name: "__export_definition",
        default_bindings_module: "kiln_sdk::bindings",
    });
}

/// The bindings of Kiln's standard library (`sdk/wit/library/`): with the `library`
/// feature, which only Kiln's own `traits/library` crate enables.
#[cfg(feature = "library")]
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: ["wit", "wit/library/library.wit"],
        world: "kiln:library/library",
        pub_export_macro: true,
        export_macro_name: "__export_library",
        generate_all,
        default_bindings_module: "kiln_sdk::bindings",
    });
}

pub use context::{ClusterVersion, Context, LazyJson, TraitContext};
pub use error::{Error, Result};
pub use output::{Patch, TraitOutput, WorkloadOutput};
pub use policy::{PolicyInput, PolicyObject, PolicyOutput, Violation, container_label};

#[doc(hidden)]
pub use schemars;
#[doc(hidden)]
pub use serde_json;

/// Everything a definition usually needs, in one `use`.
pub mod prelude {
    pub use crate::{
        ClusterVersion, Context, Error, Patch, PolicyInput, PolicyObject, PolicyOutput, Result,
        TraitContext, TraitOutput, WorkloadOutput,
    };
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::{Map, Value, json};
}

/// Export a trait: a function `fn(P, &TraitContext) -> Result<TraitOutput>` where `P`
/// implements `Deserialize` and `JsonSchema`.
///
/// `applies_to` (default: every workload) and `conflicts_with` (default: none) are
/// enforced by the host. `version` defaults to the crate's version.
#[macro_export]
macro_rules! export_trait {
    (
        name: $name:expr,
        description: $description:expr,
        $(version: $version:expr,)?
        $(applies_to: [$($applies:expr),* $(,)?],)?
        $(conflicts_with: [$($conflicts:expr),* $(,)?],)?
        render: $render:path $(,)?
    ) => {
        #[doc(hidden)]
        pub struct __KilnDefinition;

        impl $crate::runtime::Definition for __KilnDefinition {
            fn name() -> &'static str {
                $name
            }

            fn describe() -> $crate::runtime::Metadata {
                $crate::runtime::describe_trait(
                    $crate::runtime::Facts {
                        name: $name,
                        description: $description,
                        version: $crate::__version!($($version)?),
                        applies_to: &[$($($applies),*)?],
                        conflicts_with: &[$($($conflicts),*)?],
                        workload_type: None,
                    },
                    &$render,
                )
            }

            fn render(request: $crate::runtime::Request) -> $crate::runtime::Rendered {
                $crate::runtime::render_trait(&$render, request)
            }
        }

        $crate::__export_definition_world!(__KilnDefinition);
    };
}

/// Export a component type: a function `fn(P, &Context) -> Result<WorkloadOutput>` where
/// `P` implements `Deserialize` and `JsonSchema`.
///
/// `workload_type` is the `<resource>.<group>` of the object it renders (e.g.
/// `deployments.apps`), which traits' `applies_to` lists match against.
#[macro_export]
macro_rules! export_workload {
    (
        name: $name:expr,
        description: $description:expr,
        $(version: $version:expr,)?
        workload_type: $workload_type:expr,
        render: $render:path $(,)?
    ) => {
        #[doc(hidden)]
        pub struct __KilnDefinition;

        impl $crate::runtime::Definition for __KilnDefinition {
            fn name() -> &'static str {
                $name
            }

            fn describe() -> $crate::runtime::Metadata {
                $crate::runtime::describe_workload(
                    $crate::runtime::Facts {
                        name: $name,
                        description: $description,
                        version: $crate::__version!($($version)?),
                        applies_to: &[],
                        conflicts_with: &[],
                        workload_type: Some($workload_type),
                    },
                    &$render,
                )
            }

            fn render(request: $crate::runtime::Request) -> $crate::runtime::Rendered {
                $crate::runtime::render_workload(&$render, request)
            }
        }

        $crate::__export_definition_world!(__KilnDefinition);
    };
}

/// Export a guardrail policy: a function `fn(P, &PolicyInput) -> Result<PolicyOutput>`
/// where `P` implements `Deserialize` and `JsonSchema`. The platform configures it (its
/// `P` comes from the platform configuration); it sees every object an application
/// renders.
///
/// ```
/// use kiln_sdk::prelude::*;
///
/// #[derive(Deserialize, Serialize, JsonSchema)]
/// #[serde(deny_unknown_fields)]
/// struct Params {}
///
/// fn no_host_network(_: Params, input: &PolicyInput) -> Result<PolicyOutput> {
///     let mut out = PolicyOutput::new();
///     for object in &input.objects {
///         if let Some((path, spec)) = object.pod_spec() {
///             if spec["hostNetwork"] == json!(true) {
///                 let field = format!("{path}.hostNetwork");
///                 out = out.deny(object, Some(&field), "pods may not use the host's network");
///             }
///         }
///     }
///     Ok(out)
/// }
///
/// kiln_sdk::export_policy! {
///     name: "no-host-network",
///     description: "Pods may not use the host's network.",
///     check: no_host_network,
/// }
/// ```
#[macro_export]
macro_rules! export_policy {
    (
        name: $name:expr,
        description: $description:expr,
        $(version: $version:expr,)?
        check: $check:path $(,)?
    ) => {
        #[doc(hidden)]
        pub struct __KilnDefinition;

        impl $crate::runtime::Definition for __KilnDefinition {
            fn name() -> &'static str {
                $name
            }

            fn describe() -> $crate::runtime::Metadata {
                $crate::runtime::describe_policy(
                    $crate::runtime::Facts {
                        name: $name,
                        description: $description,
                        version: $crate::__version!($($version)?),
                        applies_to: &[],
                        conflicts_with: &[],
                        workload_type: None,
                    },
                    &$check,
                )
            }

            fn render(request: $crate::runtime::Request) -> $crate::runtime::Rendered {
                $crate::runtime::render_policy(&$check, request)
            }
        }

        $crate::__export_definition_world!(__KilnDefinition);
    };
}

/// Exports the definition `$ty` (a [`runtime::Definition`]) as the component's
/// `kiln:definition` world.
#[cfg(not(feature = "library"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __export_definition_world {
    ($ty:ident) => {
        impl $crate::bindings::Guest for $ty {
            fn describe() -> $crate::runtime::Metadata {
                <$ty as $crate::runtime::Definition>::describe()
            }

            fn render(request: $crate::runtime::Request) -> $crate::runtime::Rendered {
                <$ty as $crate::runtime::Definition>::render(request)
            }
        }

        $crate::bindings::__export_definition!($ty with_types_in $crate::bindings);
    };
}

/// In Kiln's standard library a definition exports nothing itself: [`export_library!`]
/// exports every member through one `kiln:library` world.
#[cfg(feature = "library")]
#[doc(hidden)]
#[macro_export]
macro_rules! __export_definition_world {
    ($ty:ident) => {};
}

/// Exports Kiln's standard library: the definitions `$definition` (each a crate's
/// `__KilnDefinition`, made by an export macro) as one component of the `kiln:library`
/// world (`sdk/wit/library/`), each called by its name. For Kiln's own `traits/library`
/// crate, with the `library` feature; a definition of anyone else's is a component of its
/// own.
#[cfg(feature = "library")]
#[doc(hidden)]
#[macro_export]
macro_rules! export_library {
    ($($definition:path),+ $(,)?) => {
        #[doc(hidden)]
        pub struct __KilnLibrary;

        impl $crate::bindings::Guest for __KilnLibrary {
            fn members() -> ::std::vec::Vec<::std::string::String> {
                ::std::vec![$(<$definition as $crate::runtime::Definition>::name().into()),+]
            }

            fn describe(
                name: ::std::string::String,
            ) -> ::core::option::Option<$crate::runtime::Metadata> {
                $(
                    if name == <$definition as $crate::runtime::Definition>::name() {
                        return Some(<$definition as $crate::runtime::Definition>::describe());
                    }
                )+
                None
            }

            fn render(
                name: ::std::string::String,
                request: $crate::runtime::Request,
            ) -> $crate::runtime::Rendered {
                $(
                    if name == <$definition as $crate::runtime::Definition>::name() {
                        return <$definition as $crate::runtime::Definition>::render(request);
                    }
                )+
                Err($crate::runtime::no_such_member(&name))
            }
        }

        $crate::bindings::__export_library!(__KilnLibrary with_types_in $crate::bindings);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __version {
    () => {
        env!("CARGO_PKG_VERSION")
    };
    ($version:expr) => {
        $version
    };
}
