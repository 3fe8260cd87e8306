//! Kiln's typed errors. Each says *where*: the file, line and column when the input has
//! them, and the component, trait and field — so that a message read in the Argo CD UI
//! points at the fix.

use std::fmt;
use std::path::PathBuf;

/// Where in the application an error is: any of file, position, component, trait, field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Site {
    /// The file as the user named it (`<stdin>` for standard input).
    pub file: Option<String>,
    /// 1-based line and column.
    pub position: Option<(usize, usize)>,
    pub component: Option<String>,
    pub trait_name: Option<String>,
    /// Dotted path of the field or parameter (e.g. `ports[0].port`).
    pub field: Option<String>,
}

/// `file:line:column: component "c", trait "t", field "f": ` — the prefix of a message,
/// with its separator; nothing when the site is empty.
impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(file) = &self.file {
            match self.position {
                Some((line, column)) => parts.push(format!("{file}:{line}:{column}")),
                None => parts.push(file.clone()),
            }
        }
        let mut what = Vec::new();
        if let Some(c) = &self.component {
            what.push(format!("component \"{c}\""));
        }
        if let Some(t) = &self.trait_name {
            what.push(format!("trait \"{t}\""));
        }
        if let Some(field) = &self.field {
            what.push(format!("field \"{field}\""));
        }
        if !what.is_empty() {
            parts.push(what.join(", "));
        }
        if parts.is_empty() {
            return Ok(());
        }
        write!(f, "{}: ", parts.join(": "))
    }
}

/// One denial: which policy, which object (and the component that rendered it), which
/// field, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub policy: String,
    /// The object's identity, `<kind>/<namespace>/<name>`.
    pub object: String,
    /// The component whose render produced the object.
    pub component: String,
    /// Where that component is written (`app.yaml:12:7`), for the app author.
    pub location: String,
    /// Dotted path of the field at fault in the object.
    pub field: Option<String>,
    pub message: String,
}

impl Violation {
    /// The violation without its location: policy, object, component, field, message.
    pub fn describe(&self) -> String {
        let field = self
            .field
            .as_ref()
            .map(|f| format!(", field \"{f}\""))
            .unwrap_or_default();
        format!(
            "policy \"{}\": {} (component \"{}\"){field}: {}",
            self.policy, self.object, self.component, self.message
        )
    }
}

/// `app.yaml:12:7: policy "p": Deployment/prod/api (component "api"), field "f": message`.
impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.describe())
    }
}

/// Which sandbox limit a module broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Wall-clock time of one call.
    Time,
    /// Fuel (instructions) of one call.
    Fuel,
    /// Linear memory of one instance.
    Memory,
    /// Linear memory of all live instances together.
    RenderMemory,
    /// Elements of a table of one instance.
    Table,
    /// Bytes a call returned.
    Output,
    /// Objects a call returned.
    Objects,
    /// Wasm stack depth.
    Stack,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Time => "time",
            Limit::Fuel => "fuel",
            Limit::Memory => "memory",
            Limit::RenderMemory => "render memory budget",
            Limit::Table => "table",
            Limit::Output => "output size",
            Limit::Objects => "object count",
            Limit::Stack => "stack",
        })
    }
}

/// Everything that can go wrong between an application file and its manifests.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        /// Shown in the message (not as a `source`, which would print it twice).
        error: std::io::Error,
    },

    /// The application file is not well-formed YAML or JSON.
    #[error("{site}invalid YAML: {message}")]
    Syntax { site: Box<Site>, message: String },

    /// The application is well-formed but not a valid application (wrong type, missing
    /// field, ...).
    #[error("{site}{message}")]
    Invalid { site: Box<Site>, message: String },

    /// A component type or trait that no loaded definition provides.
    #[error("{site}unknown {kind} \"{name}\"{}; known {kind}s: {}", suggestion.as_ref().map(|s| format!(" (did you mean \"{s}\"?)")).unwrap_or_default(), if known.is_empty() { "(none)".to_string() } else { known.join(", ") })]
    UnknownDefinition {
        site: Box<Site>,
        /// `component type` or `trait`.
        kind: &'static str,
        name: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },

    /// A definition module could not be loaded (not a component, wrong world, name clash).
    #[error("definition {module}: {message}")]
    Definition { module: String, message: String },

    /// A definition rejected its input (its own `errs`, or a parameter of the wrong shape).
    #[error("{site}{message}")]
    Parameter { site: Box<Site>, message: String },

    /// A module trapped (panicked, executed `unreachable`, ...): one line that says why
    /// in words, with the module's own panic message when it printed one.
    #[error("{site}definition \"{module}\" {message}")]
    Trap {
        site: Box<Site>,
        module: String,
        message: String,
        /// wasmtime's report with the wasm backtrace: see [`Error::backtraces`].
        backtrace: String,
    },

    /// A module broke a sandbox limit.
    #[error("{site}definition \"{module}\" exceeded its {limit} limit ({detail})")]
    LimitExceeded {
        site: Box<Site>,
        module: String,
        limit: Limit,
        detail: String,
    },

    /// A module returned something that is not what the contract says.
    #[error("{site}definition \"{module}\" returned invalid output: {message}")]
    BadOutput {
        site: Box<Site>,
        module: String,
        message: String,
    },

    /// Two parties set the same field to different values.
    #[error("{site}{conflict}")]
    Conflict {
        site: Box<Site>,
        /// A [`crate::patch::PatchError::Conflict`], naming both parties and values.
        conflict: Box<crate::patch::PatchError>,
    },

    /// The platform's guardrail policies deny the application: every denial, and the
    /// policies' warnings (which would otherwise be lost with the output).
    #[error("the platform's policies deny this application:{}{}", violations.iter().map(|v| format!("\n  - {v}")).collect::<String>(), warnings.iter().map(|w| format!("\n{w}")).collect::<String>())]
    Denied {
        violations: Vec<Violation>,
        warnings: Vec<String>,
    },

    /// Several independent errors (e.g. one per component).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Many(Vec<Error>),

    /// The sandbox itself failed (not the module's fault).
    #[error("sandbox: {0}")]
    Sandbox(String),
}

impl Error {
    /// The wasm backtraces behind this error (one per trap it holds), for `-v` or
    /// `KILN_LOG=debug`: the message itself is one line.
    pub fn backtraces(&self) -> Vec<&str> {
        match self {
            Error::Trap { backtrace, .. } if !backtrace.is_empty() => vec![backtrace],
            Error::Many(errors) => errors.iter().flat_map(Error::backtraces).collect(),
            _ => Vec::new(),
        }
    }
}

/// `Result` with Kiln's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
