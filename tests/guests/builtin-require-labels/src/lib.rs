//! The built-in `require-labels` as a definition of its own: its source (`traits/policies/require-labels`),
//! compiled alone to a component of the `kiln:definition` world, for the end-to-end tests
//! that need a built-in's own module as a file. Kiln embeds it as a member of its standard
//! library instead (`traits/library`).

#[path = "../../../../traits/policies/require-labels/src/lib.rs"]
mod require_labels;
