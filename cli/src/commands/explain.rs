//! `kiln explain PATH KIND/NAME [FIELD]`: who set a field of a rendered object, step by
//! step, from a traced render of the application as `kiln render` renders it.

use anyhow::Result;
use kiln::pipeline::{self, Input};

use crate::args::{ExplainArgs, Flags};
use crate::commands::render::{read_text, request_for};
use crate::output::Output;
use crate::setup::Setup;

/// Renders the application with a trace and prints the provenance of the field asked for.
pub fn run(setup: Setup, flags: &Flags, args: &ExplainArgs) -> Result<Output> {
    let registry = setup.registry(flags)?;
    setup.platform.check_names(&registry)?;
    let mut request = request_for(&args.destination, &setup);
    request.options.trace = true;
    let output = read_text(&args.path).and_then(|text| {
        let output = pipeline::render(&setup.sandbox, &registry, Input::Text(text), &request)?;
        let object = kiln::explain::find(&output.objects, &args.object)?;
        let text = kiln::explain::describe(object, args.field.as_deref())?;
        Ok(Output {
            stdout: text.into(),
            warnings: output.warnings,
            failed: false,
        })
    });
    setup.finish(registry, output)
}
