//! The local store of definitions pulled from registries: blobs named by their sha256, the
//! `blobs/sha256/` directory of an OCI image layout.
//!
//! It is what makes renders offline. `kiln definitions pull` and `kiln cache warm` write
//! here (the network is theirs), and a render reads here by the digests the lock pins,
//! verifying each blob every time it reads one: a file changed on disk is refused, never
//! run. Writes are whole or nothing ([`crate::files::write_atomically`]), and a blob is
//! written only once its digest is verified, so the store never holds half a pull.
//!
//! ```no_run
//! use kiln::store::Store;
//!
//! let store = Store::new("/var/lib/kiln/store".into());
//! let digest = store.write(b"bytes")?;
//! assert_eq!(store.read(&digest, 1 << 20)?, b"bytes");
//! # Ok::<(), kiln::store::StoreError>(())
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};

/// A content-addressed directory of blobs.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Why a blob could not be read from or written to the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The blob is not in the store: it was never pulled (or the store was cleared).
    #[error("{digest} is not in the store {dir}")]
    Missing { digest: String, dir: PathBuf },
    /// The file holds other bytes than its name says: changed on disk since it was pulled.
    #[error(
        "{path} does not match its digest (its sha256 is {actual}): the store was changed on disk"
    )]
    Corrupt { path: PathBuf, actual: String },
    /// The blob is larger than the caller reads.
    #[error("{path} is {size} bytes; at most {max} are read")]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    /// A digest that is not `sha256:` and 64 lowercase hex digits.
    #[error("{0}")]
    Digest(String),
    /// The file system refused.
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl Store {
    /// The store at `dir` (created on first write).
    pub fn new(dir: PathBuf) -> Store {
        Store { dir }
    }

    /// Where the store is.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds `digest` (`sha256:HEX`), whether or not it exists.
    pub fn path(&self, digest: &str) -> Result<PathBuf, StoreError> {
        let digest = crate::digest::parse_oci(digest).map_err(StoreError::Digest)?;
        Ok(self
            .dir
            .join("blobs/sha256")
            .join(&digest["sha256:".len()..]))
    }

    /// True when the store holds `digest` (not verified: [`Store::read`] verifies).
    pub fn contains(&self, digest: &str) -> bool {
        self.path(digest).is_ok_and(|path| path.is_file())
    }

    /// The bytes of `digest`, verified against it, refusing a blob over `max` bytes before
    /// reading it.
    pub fn read(&self, digest: &str, max: u64) -> Result<Vec<u8>, StoreError> {
        let path = self.path(digest)?;
        let io = |error: std::io::Error| StoreError::Io {
            path: path.clone(),
            error,
        };
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::Missing {
                    digest: digest.to_string(),
                    dir: self.dir.clone(),
                });
            }
            Err(error) => return Err(io(error)),
        };
        let size = file.metadata().map_err(io)?.len();
        if size > max {
            return Err(StoreError::TooLarge { path, size, max });
        }
        let mut bytes = Vec::with_capacity(size as usize);
        // `take`: a file that grows after its size was read is still read only so far.
        file.take(max + 1).read_to_end(&mut bytes).map_err(io)?;
        let actual = crate::digest::oci(&bytes);
        if actual != digest {
            return Err(StoreError::Corrupt { path, actual });
        }
        Ok(bytes)
    }

    /// Stores `bytes` under their digest, which it returns (`sha256:HEX`). A blob already
    /// stored is not written again; concurrent writers of one blob write the same bytes.
    pub fn write(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let digest = crate::digest::oci(bytes);
        let path = self.path(&digest)?;
        if !self.holds(&path, bytes) {
            crate::files::write_atomically(&path, bytes)
                .map_err(|error| StoreError::Io { path, error })?;
        }
        Ok(digest)
    }

    /// True when `path` exists with exactly `bytes`: a damaged copy is replaced.
    fn holds(&self, path: &Path, bytes: &[u8]) -> bool {
        std::fs::read(path).is_ok_and(|stored| stored == bytes)
    }
}

#[cfg(test)]
mod tests;
