//! A render, whole: every component through its definitions ([`crate::render`]), then the
//! platform's guardrail policies over the final object set ([`crate::guardrails`]). The
//! last stage of the crate: every command that renders calls [`render_app`].

use crate::app::Application;
use crate::definitions::Registry;
use crate::error::Result;
use crate::render::{self, RenderOptions, Rendered};
use crate::sandbox::Sandbox;

/// Renders `app` with the definitions of `registry`, then runs the policies of `options`
/// over what it rendered (which may mutate it, or deny the whole application).
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
