//! `kiln convert PATH --to application|appfile`: an application file in the other form.

use anyhow::Result;
use kiln::app::{Application, Source};
use kiln::convert::{self, Form};

use crate::args::{ConvertArgs, ConvertTo, Flags};
use crate::commands::render::read_text;
use crate::output::Output;
use crate::setup::Setup;

/// Prints the converted file; what cannot be converted fails it (or, `--lossy`, warns).
pub fn run(setup: Setup, flags: &Flags, args: &ConvertArgs) -> Result<Output> {
    // The registry tells an appfile's trait keys from its properties, as a render does.
    let registry = setup.registry(flags)?;
    let to = match args.to {
        ConvertTo::Application => Form::Application,
        ConvertTo::Appfile => Form::Appfile,
    };
    let is_trait = |name: &str| registry.is_trait(name);
    let output = read_text(&args.path).and_then(|text| {
        let source = text.parse()?;
        // Only what renders is converted: a trait the registry lacks (a forgotten -d)
        // would otherwise become a property without a word.
        let copy = Source::from_node(source.file.clone(), source.root().clone());
        let app = Application::from_source_named(copy, &is_trait, Some("unnamed"))?;
        kiln::render::check(&setup.sandbox, &registry, &app)?;
        let converted = convert::convert(&source, &is_trait, to)?;
        if converted.lost.is_empty() || args.lossy {
            let warnings = converted
                .lost
                .iter()
                .map(|lost| match lost {
                    kiln::Error::Invalid { site, message } => {
                        format!("{site}warning: left out: {message}")
                    }
                    other => format!("warning: left out: {other}"),
                })
                .collect();
            return Ok(Output {
                stdout: converted.text.into(),
                warnings,
                failed: false,
            });
        }
        let form = match to {
            Form::Application => "an Application",
            Form::Appfile => "an appfile",
        };
        Err(anyhow::anyhow!(
            "{} cannot say everything this file says (--lossy leaves it out):{}",
            form,
            converted
                .lost
                .iter()
                .map(|lost| format!("\n  - {lost}"))
                .collect::<String>()
        ))
    });
    setup.finish(registry, output)
}
