//! The lock file (`kiln.lock`, written by `kiln definitions lock`): the sha256 of each
//! external definition the platform allows, checked before a module is compiled. A
//! definition comes from a file of a `-d` directory, or from a registry: then the lock also
//! holds the reference the platform file names and the manifest digest it resolved to, so
//! that a tag is resolved once, by `kiln definitions lock`, and never by a render.

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

/// One pinned definition: from a file (`file`) or from a registry (`source` and
/// `manifest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// The file it was read from, relative to its directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The reference it comes from, exactly as the platform file's `definitions.sources`
    /// writes it (`oci://registry.example.com/platform/pdb:1.4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The manifest that reference resolved to when it was locked (`sha256:HEX`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// sha256 of the module, lowercase hex.
    pub sha256: String,
}

impl Pin {
    /// A definition read from `file`.
    pub fn file(file: String, sha256: String) -> Pin {
        Pin {
            file: Some(file),
            source: None,
            manifest: None,
            sha256,
        }
    }

    /// A definition pulled from `source`, whose manifest is `manifest`.
    pub fn source(source: String, manifest: String, sha256: String) -> Pin {
        Pin {
            file: None,
            source: Some(source),
            manifest: Some(manifest),
            sha256,
        }
    }

    /// What is wrong with this pin, if anything.
    fn problem(&self) -> Option<String> {
        if self.sha256.len() != 64
            || !self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Some("sha256 must be 64 lowercase hex digits".into());
        }
        match (&self.file, &self.source, &self.manifest) {
            (Some(_), None, None) => None,
            (None, Some(source), Some(manifest)) => source
                .parse::<super::Reference>()
                .err()
                .or_else(|| crate::digest::parse_oci(manifest).err()),
            (None, Some(_), None) => Some("a pinned source needs its manifest digest".into()),
            _ => Some("a pin names either a file or a source (with its manifest)".into()),
        }
    }
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
        for (name, pin) in &lock.definitions {
            if let Some(problem) = pin.problem() {
                return Err(source.invalid(&parse_field(&format!("definitions.{name}")), problem));
            }
        }
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
        let pinned_here =
            |p: &Pin| p.file.as_deref() == Some(file_name) || p.source.as_deref() == Some(file);
        match self.definitions.iter().find(|(_, p)| pinned_here(p)) {
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

    /// The definition pinned for `source` (as the platform file writes it): its name and pin.
    pub fn source(&self, source: &str) -> Option<(&str, &Pin)> {
        self.definitions
            .iter()
            .find(|(_, pin)| pin.source.as_deref() == Some(source))
            .map(|(name, pin)| (name.as_str(), pin))
    }

    /// This lock with every pin of a file replaced by `files`, the sources' pins kept:
    /// `kiln definitions lock DIR` rewrites what it found in the directory, and nothing else.
    pub fn with_files(&self, files: BTreeMap<String, Pin>) -> Lock {
        self.with_pins(files, |pin| pin.source.is_some())
    }

    /// This lock with every pin of a source replaced by `sources`, the files' pins kept.
    pub fn with_sources(&self, sources: BTreeMap<String, Pin>) -> Lock {
        self.with_pins(sources, |pin| pin.file.is_some())
    }

    fn with_pins(&self, new: BTreeMap<String, Pin>, keep: impl Fn(&Pin) -> bool) -> Lock {
        let mut definitions: BTreeMap<String, Pin> = self
            .definitions
            .iter()
            .filter(|(_, pin)| keep(pin))
            .map(|(name, pin)| (name.clone(), pin.clone()))
            .collect();
        definitions.extend(new);
        Lock {
            version: 1,
            definitions,
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
