//! The lock file (`kiln.lock`, written by `kiln definitions lock DIR`): the sha256 of each
//! external definition the platform allows, checked before a module is compiled.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::app::{Source, parse_field};
use crate::error::{Error, Result};

/// The pinned digests of external definitions (`kiln.lock`, written by
/// `kiln definitions lock DIR`). With pinning on, a module whose sha256 is not listed is
/// refused before it is compiled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// The lock format's version (1).
    pub version: u32,
    /// Pinned definitions by name.
    pub definitions: BTreeMap<String, Pin>,
}

/// One pinned definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// The file it was read from, relative to its directory.
    pub file: String,
    /// sha256 of the file, lowercase hex.
    pub sha256: String,
}

impl Lock {
    /// Reads a lock file.
    pub fn read(path: &Path) -> Result<Lock> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            error: source,
        })?;
        Lock::parse(path.display().to_string(), &text)
    }

    /// Checks the text of a lock file named `file`.
    pub fn parse(file: String, text: &str) -> Result<Lock> {
        let source = Source::parse(file, text)?;
        let lock: Lock =
            serde_path_to_error::deserialize(source.root().to_json()).map_err(|e| {
                source.invalid(&parse_field(&e.path().to_string()), e.inner().to_string())
            })?;
        if lock.version != 1 {
            return Err(source.invalid(
                &parse_field("version"),
                format!(
                    "unsupported lock version {} (this Kiln reads 1)",
                    lock.version
                ),
            ));
        }
        Ok(lock)
    }

    /// Checks a module before it is compiled: its digest must be pinned. Returns the
    /// name it is pinned as, which its `describe` must then confirm.
    pub fn check(&self, file: &str, digest: &str) -> std::result::Result<&str, String> {
        if let Some((name, _)) = self.definitions.iter().find(|(_, p)| p.sha256 == digest) {
            return Ok(name);
        }
        let file_name = Path::new(file)
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or(file);
        match self.definitions.iter().find(|(_, p)| p.file == file_name) {
            Some((name, pin)) => Err(format!(
                "sha256 {digest} does not match the digest pinned for \"{name}\" ({}); \
                 re-run `kiln definitions lock` if the change is intended",
                pin.sha256
            )),
            None => Err(format!(
                "is not pinned in the lock file (sha256 {digest}); pinning is on, so only \
                 listed definitions load"
            )),
        }
    }

    /// The lock file's text: YAML with a header that says what it is.
    pub fn to_yaml(&self) -> String {
        let mut out = String::from(
            "# Written by `kiln definitions lock`. With `lock:` in the platform configuration,\n\
             # Kiln loads only these definitions, with exactly these digests.\n",
        );
        let value = serde_json::to_value(self).expect("a lock is plain data");
        crate::manifest::yaml::document(&value, &mut out);
        out.push('\n');
        out
    }
}
