//! What a command that ran gives back to `main` to print.

use kiln::manifest;

/// What a command that ran prints.
#[derive(Default)]
pub struct Output {
    /// What to print: pieces written one after the other (see [`manifest::Text`]).
    pub stdout: manifest::Text,
    /// Printed on stderr, one per line, before stdout is written.
    pub warnings: Vec<String>,
    /// The command ran but its verdict is failure (`kiln test` with a failing case).
    pub failed: bool,
}

impl Output {
    /// An output that prints `stdout` and nothing else.
    pub fn print(stdout: impl Into<manifest::Text>) -> Output {
        Output {
            stdout: stdout.into(),
            ..Output::default()
        }
    }
}

/// `1 test`, `2 tests`.
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}
