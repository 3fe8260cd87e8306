//! References to definitions in an OCI registry, as the platform file and the command line
//! write them: `oci://REGISTRY/REPOSITORY:TAG` or `oci://REGISTRY/REPOSITORY@sha256:HEX`.
//!
//! Parsing is strict and offline: the same rules as the OCI distribution spec's names, so a
//! reference that parses here is one a registry can be asked for, and a typo is reported
//! where it is written rather than as a registry's 404.

use std::fmt;

use crate::error::Site;

/// A parsed `oci://` reference.
///
/// ```
/// use kiln::definitions::Reference;
///
/// let r: Reference = "oci://registry.example.com/platform/pdb:1.4".parse()?;
/// assert_eq!(r.registry, "registry.example.com");
/// assert_eq!(r.repository, "platform/pdb");
/// assert_eq!(r.tag.as_deref(), Some("1.4"));
/// assert!(r.digest.is_none());
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    /// The registry's host, with its port if it has one (`127.0.0.1:5000`).
    pub registry: String,
    /// The repository inside the registry (`platform/pdb`).
    pub repository: String,
    /// The tag, if the reference names one.
    pub tag: Option<String>,
    /// The manifest's digest (`sha256:` and 64 lowercase hex digits), if the reference pins
    /// one. With both a tag and a digest, the digest is what is fetched.
    pub digest: Option<String>,
}

/// A definition the platform takes from a registry: one entry of `definitions.sources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceUse {
    /// The reference exactly as written: the key the lock pins it by.
    pub text: String,
    /// The reference, parsed.
    pub reference: Reference,
    /// Where it is written, for messages.
    pub site: Site,
}

/// The scheme every reference starts with: it says "a registry", where a bare path would
/// be a directory.
pub const SCHEME: &str = "oci://";

/// Longest reference accepted (the distribution spec bounds names by 255 characters).
const MAX_LEN: usize = 512;

impl Reference {
    /// This reference pinned to `digest`, its tag kept for people to read.
    pub fn with_digest(&self, digest: &str) -> Reference {
        Reference {
            digest: Some(digest.to_string()),
            ..self.clone()
        }
    }

    /// The registry's host without its port.
    pub fn host(&self) -> &str {
        // A bracketed IPv6 literal keeps its colons.
        match self.registry.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => host,
            _ => &self.registry,
        }
    }

    /// True when the registry is this machine (`localhost`, `127.0.0.0/8` or `[::1]`): the
    /// only registries Kiln talks to without TLS, and only when asked to.
    pub fn is_loopback(&self) -> bool {
        let host = self.host();
        host == "localhost"
            || host == "[::1]"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Reference {
    type Err = String;

    /// Parses `oci://REGISTRY/REPOSITORY[:TAG][@sha256:HEX]`; the error says what is wrong
    /// with it, in words.
    fn from_str(text: &str) -> Result<Reference, String> {
        if text.len() > MAX_LEN {
            return Err(format!("a reference is at most {MAX_LEN} characters"));
        }
        let rest = text.strip_prefix(SCHEME).ok_or_else(|| {
            format!("\"{text}\" is not an OCI reference: it must start with {SCHEME}")
        })?;
        let (rest, digest) = match rest.split_once('@') {
            Some((rest, digest)) => (rest, Some(crate::digest::parse_oci(digest)?)),
            None => (rest, None),
        };
        let (registry, name) = rest.split_once('/').ok_or_else(|| {
            format!("\"{text}\" names no repository: write {SCHEME}REGISTRY/REPOSITORY:TAG")
        })?;
        check_registry(registry)?;
        // A tag follows the last ':' after the last '/': a port's ':' is in the registry.
        let (repository, tag) = match name.rsplit_once(':') {
            Some((repository, tag)) => (repository, Some(tag)),
            None => (name, None),
        };
        check_repository(repository)?;
        if let Some(tag) = tag {
            check_tag(tag)?;
        }
        if tag.is_none() && digest.is_none() {
            return Err(format!(
                "\"{text}\" names neither a tag nor a digest: add :TAG or @sha256:DIGEST \
                 (Kiln never assumes \"latest\")"
            ));
        }
        Ok(Reference {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag: tag.map(str::to_string),
            digest,
        })
    }
}

fn check_registry(registry: &str) -> Result<(), String> {
    let (host, port) = match registry.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (registry, None),
    };
    let host_ok = !host.is_empty()
        && (host.starts_with('[') && host.ends_with(']')
            || host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            }));
    if !host_ok {
        return Err(format!("\"{registry}\" is not a registry host"));
    }
    if let Some(port) = port
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err(format!("\"{registry}\" has an invalid port \"{port}\""));
    }
    Ok(())
}

/// The distribution spec's repository name: lowercase path components of `[a-z0-9]`
/// separated by `.`, `_`, `__` or runs of `-`, joined by `/`.
fn check_repository(repository: &str) -> Result<(), String> {
    let component_ok = |c: &str| {
        let bytes = c.as_bytes();
        let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        !bytes.is_empty()
            && bytes.first().is_some_and(alnum)
            && bytes.last().is_some_and(alnum)
            && bytes
                .iter()
                .all(|b| alnum(b) || matches!(b, b'.' | b'_' | b'-'))
            && !c.contains("..")
            && !c.contains("___")
            && !c.contains("._")
            && !c.contains("_.")
    };
    if repository.len() > 255 || !repository.split('/').all(component_ok) {
        return Err(format!(
            "\"{repository}\" is not a repository name (lowercase letters, digits and \
             single '.', '_' or '-' between them, in parts joined by '/')"
        ));
    }
    Ok(())
}

/// The distribution spec's tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
fn check_tag(tag: &str) -> Result<(), String> {
    let bytes = tag.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !ok {
        return Err(format!(
            "\"{tag}\" is not a tag (letters, digits, '_', '.' and '-', at most 128, not \
             starting with '.' or '-')"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
