//! The built-in `scaler` as a definition of its own: its source (`traits/traits/scaler`),
//! compiled alone to a component of the `kiln:definition` world, for the end-to-end tests
//! that need a built-in's own module as a file. Kiln embeds it as a member of its standard
//! library instead (`traits/library`).

#[path = "../../../../traits/traits/scaler/src/lib.rs"]
mod scaler;
