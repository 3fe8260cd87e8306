//! `kiln schema`: the JSON Schema of application files, for editors, from the definitions
//! this `kiln` would load (built-ins, `-d` directories, the platform's pins).

use anyhow::Result;
use kiln::app_schema::{self, Form};

use crate::args::{Flags, SchemaArgs, SchemaFormat};
use crate::output::Output;
use crate::setup::Setup;

/// Prints the schema of the forms `args` asks for, as indented JSON.
pub fn run(setup: Setup, flags: &Flags, args: &SchemaArgs) -> Result<Output> {
    let registry = setup.registry(flags)?;
    setup.platform.check_names(&registry)?;
    let form = match args.format {
        Some(SchemaFormat::Application) => Form::Application,
        Some(SchemaFormat::Appfile) => Form::Appfile,
        None => Form::Either,
    };
    let output = app_schema::definitions(&setup.sandbox, &registry)
        .and_then(|definitions| app_schema::generate(&definitions, form))
        .map_err(anyhow::Error::from)
        .and_then(|schema| {
            let mut text = serde_json::to_string_pretty(&schema)?;
            text.push('\n');
            Ok(Output::print(text))
        });
    setup.finish(registry, output)
}
