//! `kiln new trait|workload|policy NAME`: scaffolds a definition crate in the current
//! directory.

use std::path::Path;

use anyhow::Result;

use crate::args::{NewArgs, NewKind};
use crate::output::Output;
use crate::scaffold::{self, Template};

/// Writes the crate and prints the next steps.
pub fn run(args: &NewArgs) -> Result<Output> {
    let template = match args.kind {
        NewKind::Trait => Template::Trait,
        NewKind::Workload => Template::Workload,
        NewKind::Policy => Template::Policy,
    };
    // The SDK this binary was built with, unless told otherwise.
    let sdk = args
        .sdk
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk"));
    let next_steps = scaffold::create(template, &args.name, Path::new(&args.name), &sdk)?;
    Ok(Output::print(next_steps))
}
