//! What can go wrong between Kiln and a registry, each naming the reference and the cause.

use kiln::store::StoreError;

/// Why a push or a pull failed. Every variant names the reference it was about; nothing
/// has been written to the store when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry could not be reached (down, a wrong port, DNS, a TLS handshake).
    #[error("{reference}: cannot reach the registry: {cause}")]
    Unreachable { reference: String, cause: String },
    /// The registry refused the credentials, or asked for some and none were given.
    #[error(
        "{reference}: the registry refused access (401/403){detail}; log in with \
         `docker login`, a credential helper, or --username and --password-stdin"
    )]
    Unauthorized { reference: String, detail: String },
    /// No such repository, tag or digest.
    #[error("{reference}: not found in the registry (404){detail}")]
    NotFound { reference: String, detail: String },
    /// The manifest is not a Wasm OCI artifact (a container image, an index, several
    /// layers...).
    #[error("{reference}: not a Wasm OCI artifact: {why}")]
    NotWasm { reference: String, why: String },
    /// A blob larger than Kiln reads, refused before or while it was downloaded.
    #[error("{reference}: the {what} is {size} bytes; at most {max} are read")]
    TooLarge {
        reference: String,
        what: &'static str,
        size: u64,
        max: u64,
    },
    /// What the registry sent is not what its digest says: a tampered or damaged blob.
    #[error("{reference}: the {what} does not match its digest: expected {expected}, got {actual}")]
    DigestMismatch {
        reference: String,
        what: &'static str,
        expected: String,
        actual: String,
    },
    /// Plain HTTP or an unverified certificate, asked for a registry that is not this
    /// machine.
    #[error(
        "{reference}: --insecure is allowed only for a registry on this machine (localhost, \
         127.0.0.1, [::1]); for {registry}, give its CA with --ca-file"
    )]
    InsecureRemote { reference: String, registry: String },
    /// A reference that cannot be used for this operation (e.g. pushing to a digest).
    #[error("{reference}: {why}")]
    Reference { reference: String, why: String },
    /// The credentials could not be read (a broken docker config, a failing helper).
    #[error("credentials for {registry}: {cause}")]
    Credentials { registry: String, cause: String },
    /// The file to push is not a WebAssembly component.
    #[error("{file}: {why}")]
    Module { file: String, why: String },
    /// A TLS setting that cannot be used (an unreadable --ca-file).
    #[error("{0}")]
    Tls(String),
    /// The registry answered something else that went wrong.
    #[error("{reference}: {cause}")]
    Registry { reference: String, cause: String },
    /// The local store refused the artifact.
    #[error(transparent)]
    Store(#[from] StoreError),
}
