//! `kiln new trait|workload|policy NAME [--lang rust|python]`: scaffolds a definition
//! project in the current directory.

use std::path::Path;

use anyhow::Result;

use crate::args::{NewArgs, NewKind, NewLanguage};
use crate::output::Output;
use crate::scaffold::{self, Language, Template};

/// Writes the project and prints the next steps.
pub fn run(args: &NewArgs) -> Result<Output> {
    let template = match args.kind {
        NewKind::Trait => Template::Trait,
        NewKind::Workload => Template::Workload,
        NewKind::Policy => Template::Policy,
    };
    let (language, sdk_dir) = match args.lang {
        NewLanguage::Rust => (Language::Rust, "../sdk"),
        NewLanguage::Python => (Language::Python, "../sdk/python"),
    };
    // The SDK this binary was built with, unless told otherwise.
    let sdk = args
        .sdk
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(sdk_dir));
    let next_steps = scaffold::create(template, language, &args.name, Path::new(&args.name), &sdk)?;
    Ok(Output::print(next_steps))
}
