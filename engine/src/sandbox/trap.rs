//! How a failed call reads: one line that names the limit a module hit or says, in words,
//! why it trapped, plus the guest's own last words (its panic message) when it printed
//! some. The wasm backtrace wasmtime attaches is kept aside for `-v`/`KILN_LOG=debug`:
//! twenty frames of `<unknown>!<wasm function 128>` help nobody reading Argo CD's UI.

use wasmtime::Trap;

use super::limits::{Hit, Stopped};
use crate::error::Limit;

/// Characters of a guest's own message kept in an error.
const MESSAGE_CHARS: usize = 300;

/// How a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The module broke a limit; `detail` says how, with the limit's value.
    Limit { limit: Limit, detail: String },
    /// The module trapped: `message` is one line; `backtrace` is wasmtime's full report,
    /// for those who ask for it.
    Trap { message: String, backtrace: String },
}

impl CallError {
    /// A failure that is no limit and carries no backtrace.
    pub(super) fn other(message: String) -> CallError {
        CallError::Trap {
            message,
            backtrace: String::new(),
        }
    }
}

/// Classifies a failed call: the limit the store's meter recorded (`hit`), a trap that is
/// itself a limit (epoch deadline, fuel, stack), or a trap in words with the guest's last
/// line of stderr.
pub(super) fn classify(
    error: wasmtime::Error,
    hit: Option<Hit>,
    limits: &super::Limits,
    stack: usize,
    stderr: &[u8],
) -> CallError {
    if let Some(Hit { limit, detail }) = hit {
        return CallError::Limit { limit, detail };
    }
    let limit = |limit, detail| CallError::Limit { limit, detail };
    let trap = error.downcast_ref::<Trap>().copied();
    match trap {
        Some(Trap::Interrupt) => {
            return limit(
                Limit::Time,
                format!("ran longer than {} ms", limits.time.as_millis()),
            );
        }
        Some(Trap::OutOfFuel) => {
            return limit(
                Limit::Fuel,
                format!(
                    "ran out of fuel, limit {}",
                    limits.fuel.map_or("none".into(), quantity)
                ),
            );
        }
        Some(Trap::StackOverflow) => {
            return limit(
                Limit::Stack,
                format!(
                    "used more than {} of wasm stack",
                    super::limits::human_bytes(stack)
                ),
            );
        }
        _ => {}
    }
    let backtrace = format!("{error:?}");
    let cause = match trap {
        Some(trap) => format!("trapped: {}", words(trap)),
        // A host hook stopped it without recording why: cannot happen, but say so plainly.
        None if error.downcast_ref::<Stopped>().is_some() => "was stopped by the sandbox".into(),
        None => format!("failed: {}", first_line(&format!("{error}"))),
    };
    let message = match last_words(stderr) {
        Some(said) => format!("{cause}; it said: {said}"),
        None => cause,
    };
    CallError::Trap { message, backtrace }
}

/// A trap code in words, with its usual cause in a definition.
pub fn words(trap: Trap) -> &'static str {
    match trap {
        Trap::StackOverflow => "the wasm call stack was exhausted (unbounded recursion)",
        Trap::MemoryOutOfBounds => {
            "out of bounds memory access (a stack overflow in the definition is the usual \
             cause: Rust's stack lives in linear memory)"
        }
        Trap::HeapMisaligned => "an atomic operation on a misaligned address",
        Trap::TableOutOfBounds => "out of bounds table access",
        Trap::IndirectCallToNull => "an indirect call to an uninitialised table element",
        Trap::BadSignature => "an indirect call with the wrong signature",
        Trap::IntegerOverflow => "integer overflow",
        Trap::IntegerDivisionByZero => "integer division by zero",
        Trap::BadConversionToInteger => "an invalid float-to-integer conversion",
        Trap::UnreachableCodeReached => {
            "it reached an `unreachable` instruction (a panic or an abort in the definition)"
        }
        Trap::Interrupt => "interrupted at its time limit",
        Trap::OutOfFuel => "it ran out of fuel",
        Trap::AtomicWaitNonSharedMemory => "an atomic wait on unshared memory",
        Trap::NullReference => "a null reference",
        Trap::ArrayOutOfBounds => "out of bounds array access",
        Trap::AllocationTooLarge => "an allocation too large to succeed",
        Trap::CastFailure => "a failed reference cast",
        Trap::CannotEnterComponent | Trap::CannotLeaveComponent => {
            "it broke the component model's re-entrance rules"
        }
        Trap::InvalidChar
        | Trap::StringOutOfBounds
        | Trap::ListOutOfBounds
        | Trap::InvalidDiscriminant
        | Trap::UnalignedPointer => "it returned a value that breaks the WIT interface's encoding",
        _ => "a WebAssembly trap",
    }
}

/// The line of a guest's stderr that says why it failed: Rust's panic message (the line
/// after `panicked at <file>:<line>:<column>:`), else the last non-empty line; shortened
/// to [`MESSAGE_CHARS`].
fn last_words(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let panic_line = lines
        .iter()
        .rposition(|line| line.contains("panicked at"))
        .and_then(|i| {
            // `panicked at src/lib.rs:3:5:` then the message; older Rusts put both on one
            // line (`panicked at 'message', src/lib.rs:3:5`).
            let line = lines[i];
            let after = line.split_once("panicked at").map_or("", |(_, rest)| rest);
            if after.trim_end().ends_with(':') {
                lines.get(i + 1).copied()
            } else {
                Some(after.trim())
            }
        });
    let said = panic_line.filter(|line| !line.is_empty()).or_else(|| {
        lines
            .iter()
            .rev()
            .find(|line| !line.is_empty() && !line.starts_with("note: run with"))
            .copied()
    })?;
    let mut said: String = said
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if said.chars().count() > MESSAGE_CHARS {
        said = said.chars().take(MESSAGE_CHARS).collect::<String>() + "...";
    }
    Some(said)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// `500M`, `2G`, `1500`: a count for people.
fn quantity(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 && n.is_multiple_of(1_000_000_000) => {
            format!("{}G", n / 1_000_000_000)
        }
        n if n >= 1_000_000 && n.is_multiple_of(1_000_000) => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n.is_multiple_of(1_000) => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests;
