//! Errors a definition reports to the user.

use std::fmt;

/// A render failure: one or more messages, each optionally naming the parameter at fault
/// (a dotted path such as `ports[0].port`). The host shows them with the component, trait
/// and file line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub(crate) messages: Vec<(Option<String>, String)>,
}

/// `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error about the definition's input as a whole.
    pub fn msg(message: impl Into<String>) -> Self {
        Error {
            messages: vec![(None, message.into())],
        }
    }

    /// An error about one parameter, named by its dotted path.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            messages: vec![(Some(field.into()), message.into())],
        }
    }

    /// Adds another message (KubeVela's `errs` list reports them all).
    pub fn and(mut self, other: Error) -> Self {
        self.messages.extend(other.messages);
        self
    }

    /// The messages, with the parameter path of each when it has one.
    pub fn messages(&self) -> impl Iterator<Item = (Option<&str>, &str)> {
        self.messages
            .iter()
            .map(|(field, message)| (field.as_deref(), message.as_str()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (field, message)) in self.messages.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            match field {
                Some(field) => write!(f, "{field}: {message}")?,
                None => f.write_str(message)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
