//! Content digests: the sha256 that names a module, pins it in a lock and keys the cache,
//! its hex form, and the OCI form (`sha256:HEX`) registries name blobs by.

use sha2::{Digest, Sha256};

/// sha256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Checks a digest in the OCI form (`sha256:` and 64 lowercase hex digits, the only
/// algorithm Kiln reads), returning it unchanged; the error says what is wrong, in words.
pub fn parse_oci(digest: &str) -> Result<String, String> {
    let hex = digest.strip_prefix("sha256:").ok_or_else(|| {
        format!("digest \"{digest}\" is not a sha256 digest (write sha256: and 64 hex digits)")
    })?;
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!(
            "digest \"{digest}\" must be sha256: followed by 64 lowercase hex digits"
        ));
    }
    Ok(digest.to_string())
}

/// The OCI form of `bytes`' digest: `sha256:` and its hex.
pub fn oci(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&sha256(bytes)))
}

#[cfg(test)]
mod tests;
