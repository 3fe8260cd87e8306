//! `kiln explain PATH KIND/NAME [FIELD]`: who set a field of a rendered object, step by
//! step, from a traced render of the application as `kiln render` renders it.

use anyhow::Result;
use kiln::app::Text;
use kiln::pipeline::{self, Input};

use crate::args::{ExplainArgs, Flags};
use crate::commands::render::{read_text, request_for};
use crate::output::Output;
use crate::setup::Setup;

/// Renders the application with a trace and prints the provenance of the field asked for.
///
/// When the platform's policies deny the application, which is when a developer most
/// wants to know where a field came from, the denial is printed as a warning and the
/// objects are explained as rendered before the policies.
pub fn run(setup: Setup, flags: &Flags, args: &ExplainArgs) -> Result<Output> {
    let registry = setup.registry(flags)?;
    setup.platform.check_names(&registry)?;
    let mut request = request_for(&args.destination, &setup);
    request.options.trace = true;
    let render = |text: Text, request: &pipeline::Request| {
        pipeline::render(&setup.sandbox, &registry, Input::Text(text), request)
    };
    let output = read_text(&args.path).and_then(|text| {
        let (output, denial) = match render(text.clone(), &request) {
            Err(denied @ kiln::Error::Denied { .. }) => {
                let mut unchecked = request.clone();
                unchecked.options.policies.clear();
                let explained = "explaining the objects as rendered before the policies";
                (
                    render(text, &unchecked)?,
                    Some(format!("warning: {denied}\n{explained}")),
                )
            }
            rendered => (rendered?, None),
        };
        let object = kiln::explain::find(&output.objects, &args.object)?;
        let text = kiln::explain::describe(object, args.field.as_deref())?;
        Ok(Output {
            stdout: text.into(),
            warnings: output.warnings.into_iter().chain(denial).collect(),
            failed: false,
        })
    });
    setup.finish(registry, output)
}
