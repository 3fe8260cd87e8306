//! What a render is, whole, said once: read the application, apply Argo CD's parameters,
//! select the environment, label the revision, render every component through its
//! definitions ([`crate::render`]), then run the platform's guardrail policies over the
//! final object set ([`crate::guardrails`]). `kiln render`, `kiln argocd generate` and
//! `kiln test` all call [`render`]; they differ only in the [`Request`] they make.
//!
//! The last stage of the crate but [`crate::testsuite`], its caller.

use sha2::{Digest, Sha256};

use crate::app::{Application, Source, Text};
use crate::argocd::{self, Parameter, RevisionInputs};
use crate::definitions::Registry;
use crate::environment;
use crate::error::Result;
use crate::manifest::Object;
use crate::render::{self, RenderOptions, Rendered};
use crate::sandbox::Sandbox;

/// The application to render, as it reaches the pipeline.
#[derive(Debug)]
pub enum Input {
    /// An application file's text, not parsed yet: the definitions its `type:` lines name
    /// load while it is parsed ([`Text::type_names`]), and its sha256 is the content
    /// revision's first input.
    Text(Text),
    /// An application already parsed (a `kiln test` case's, embedded in its test file):
    /// the content revision hashes its document as JSON.
    Source(Source),
}

/// How the `app.oam.dev/appRevision` label is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Revision {
    /// From every input of the render ([`argocd::content_revision`]): what Argo CD applies,
    /// the same for `kiln render` and `kiln argocd generate` given the same inputs.
    #[default]
    Content,
    /// This value, possibly empty (`vela dry-run`'s empty label, a test case's own).
    Fixed(String),
}

/// Everything a render varies by besides the application and the definitions.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The application's name when its file gives none (Argo CD's application name).
    pub app_name: Option<String>,
    /// Argo CD's parameters, applied to the application before anything else.
    pub parameters: Vec<Parameter>,
    /// The environment to render (a `deploy` step or topology policy), if any.
    pub environment: Option<String>,
    /// The namespace when neither the application nor its environment sets one (Argo CD's
    /// destination namespace). [`RenderOptions::namespace`] overrides all three.
    pub default_namespace: Option<String>,
    /// How the revision label is set; [`RenderOptions::revision`] is overwritten with it.
    pub revision: Revision,
    /// Cluster version, API versions, policies, namespace override and output format.
    pub options: RenderOptions,
}

/// A finished render.
#[derive(Debug)]
pub struct Output {
    /// The application as rendered: the environment's overrides applied.
    pub app: Application,
    /// The objects in output order (already serialised when the request asked for it).
    pub objects: Vec<Object>,
    /// The environment's warnings first, then the definitions' and the policies'.
    pub warnings: Vec<String>,
}

/// Renders `input` as `request` says, with the definitions of `registry` run in `sandbox`.
///
/// ```no_run
/// use kiln::{app, definitions::Registry, pipeline, sandbox::{Limits, Sandbox}};
///
/// let sandbox = Sandbox::new(Limits::default(), None)?;
/// let registry = Registry::builtin();
/// let text = app::Text::read("examples/hello".as_ref())?;
/// let request = pipeline::Request::default();
/// let output = pipeline::render(&sandbox, &registry, pipeline::Input::Text(text), &request)?;
/// assert!(!output.objects.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render(
    sandbox: &Sandbox,
    registry: &Registry,
    input: Input,
    request: &Request,
) -> Result<Output> {
    match input {
        Input::Text(text) => {
            let digest = argocd::text_digest(&text.text);
            // The definitions the text names load while it is parsed.
            rayon::in_place_scope(|scope| {
                registry.preload(scope, sandbox, text.type_names());
                render_source(sandbox, registry, text.parse()?, digest, request)
            })
        }
        Input::Source(source) => {
            let document = serde_json::to_vec(&source.root().to_json()).unwrap_or_default();
            let digest = Sha256::digest(&document).into();
            render_source(sandbox, registry, source, digest, request)
        }
    }
}

/// [`render`] of a parsed application whose text (or document) has the sha256 `digest`.
fn render_source(
    sandbox: &Sandbox,
    registry: &Registry,
    source: Source,
    digest: [u8; 32],
    request: &Request,
) -> Result<Output> {
    let mut app = Application::from_source_named(
        source,
        &|name: &str| registry.is_trait(name),
        request.app_name.as_deref(),
    )?;
    argocd::apply_parameters(&mut app, &request.parameters)?;
    let selected = environment::select_environment(app, request.environment.as_deref())?;
    let mut app = selected.app;
    if app.namespace.is_none() {
        app.namespace.clone_from(&request.default_namespace);
    }
    let mut options = request.options.clone();
    options.revision = match &request.revision {
        Revision::Fixed(revision) => revision.clone(),
        Revision::Content => argocd::content_revision(&RevisionInputs {
            text: digest,
            parameters: &request.parameters,
            environment: selected.name.as_deref(),
            app: &app,
            registry,
            options: &options,
        }),
    };
    let rendered = render_app(sandbox, registry, &app, &options)?;
    Ok(Output {
        app,
        objects: rendered.objects,
        warnings: selected
            .warnings
            .into_iter()
            .chain(rendered.warnings)
            .collect(),
    })
}

/// Renders an application already read and rewritten for its environment: every
/// component through its definitions, then the policies of `options` over what it
/// rendered (which may mutate it, or deny the whole application). The core of [`render`],
/// for callers that build the [`Application`] themselves (benchmarks, tests).
///
/// ```no_run
/// use kiln::{app, definitions::Registry, pipeline, sandbox::{Limits, Sandbox}};
///
/// let sandbox = Sandbox::new(Limits::default(), None)?;
/// let registry = Registry::builtin();
/// let source = app::Source::read("examples/hello".as_ref())?;
/// let application = app::Application::from_source(source, &|n: &str| registry.is_trait(n))?;
/// let rendered = pipeline::render_app(&sandbox, &registry, &application, &Default::default())?;
/// assert!(!rendered.objects.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render_app(
    sandbox: &Sandbox,
    registry: &Registry,
    app: &Application,
    options: &RenderOptions,
) -> Result<Rendered> {
    let (mut rendered, namespace) = render::render_components(sandbox, registry, app, options)?;
    crate::guardrails::enforce(sandbox, registry, app, &namespace, options, &mut rendered)?;
    Ok(rendered)
}

#[cfg(test)]
mod tests;
