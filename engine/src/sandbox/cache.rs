//! The on-disk cache of compiled modules. Its artifacts are native code that Kiln maps and
//! runs, so nothing in it is trusted on its word:
//!
//! - **Bound to its content.** Every artifact (and every stored description) carries an
//!   HMAC-SHA256 under a key kept beside the cache (`<root>/key`, 32 random bytes, created
//!   with mode 0600 by the cache's owner). An artifact whose MAC does not verify — planted,
//!   truncated, from another key — is reported once as a warning, and recompiled.
//! - **Owned, not shared.** The cache root, its engine directory and the key must belong
//!   to the current user (or root) and must not be writable by group or others; files are
//!   opened without following symlinks and must be regular files with the same owner rule.
//!   A cache that fails these checks is not used (one warning), and Kiln compiles instead.
//! - **Bounded.** The cache holds at most [`CompiledCache::max_bytes`] (default 512 MiB,
//!   `KILN_CACHE_MAX`); after a store it evicts the least recently used artifacts. Loads
//!   refresh an artifact's modification time. Eviction is safe under concurrent processes:
//!   a file unlinked while another process maps it stays valid for that process.
//!
//! Writes go to a temporary file in the same directory, then `rename` into place (the MAC
//! first, then the artifact): a reader sees a whole file or none, and any number of `kiln`
//! processes can share the cache.
//!
//! Kiln's built-ins do not use the cache at all when the binary's own precompiled artifacts
//! fit the engine: the artifact embedded in the binary is loaded instead.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::digest::hex;

/// The cache's default size cap.
pub const DEFAULT_MAX_BYTES: u64 = 512 * 1024 * 1024;

/// Bytes of the MAC key.
const KEY_BYTES: usize = 32;

/// A directory of compiled artifacts for one engine configuration.
#[derive(Debug)]
pub struct CompiledCache {
    root: PathBuf,
    dir: PathBuf,
    engine_key: String,
    key: [u8; KEY_BYTES],
    max_bytes: u64,
    /// What was found wrong, for the user, each said once.
    warnings: Mutex<Vec<String>>,
}

/// Why a cache directory is not used.
#[derive(Debug, thiserror::Error)]
#[error("not using the compiled-module cache {dir}: {reason}")]
pub struct Refused {
    pub dir: PathBuf,
    pub reason: String,
}

impl CompiledCache {
    /// The cache under `root` for `engine`'s configuration, holding at most `max_bytes`;
    /// refused when `root`, its engine directory or its key can be written by another
    /// user (see the module's documentation).
    pub fn open(root: &Path, engine: &Engine, max_bytes: u64) -> Result<CompiledCache, Refused> {
        let engine_key = super::engine_config::engine_key(engine);
        let dir = root.join(format!("wasmtime-{engine_key}"));
        let refuse = |dir: &Path, reason: String| Refused {
            dir: dir.to_path_buf(),
            reason,
        };
        trusted::directory(root).map_err(|r| refuse(root, r))?;
        trusted::directory(&dir).map_err(|r| refuse(&dir, r))?;
        let key = trusted::key(&root.join("key")).map_err(|r| refuse(root, r))?;
        Ok(CompiledCache {
            root: root.to_path_buf(),
            dir,
            engine_key,
            key,
            max_bytes,
            warnings: Mutex::new(Vec::new()),
        })
    }

    /// The directory artifacts are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The size cap.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Where the artifact of the module with `digest` lives.
    pub fn artifact_path(&self, digest: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.cwasm", hex(digest)))
    }

    fn mac_path(&self, digest: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.mac", hex(digest)))
    }

    fn description_path(&self, digest: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.describe", hex(digest)))
    }

    /// What the cache found wrong since the last call (each once).
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn warn(&self, message: String) {
        let mut warnings = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        if !warnings.contains(&message) {
            warnings.push(message);
        }
    }

    /// Compiles `bytes` (whose sha256 is `digest`) and stores the artifact. A cache that
    /// cannot be written is not an error: the component is still returned.
    pub fn compile(
        &self,
        engine: &Engine,
        digest: &[u8; 32],
        bytes: &[u8],
    ) -> wasmtime::Result<Component> {
        let artifact = engine.precompile_component(bytes)?;
        self.store_artifact(digest, &artifact);
        // SAFETY: `artifact` was produced just now by this engine.
        unsafe { Component::deserialize(engine, &artifact) }
    }

    /// The cached artifact of `digest`, if there is one whose MAC verifies.
    pub fn load(&self, engine: &Engine, digest: &[u8; 32]) -> Option<Component> {
        let path = self.artifact_path(digest);
        let mut file = match trusted::open(&path) {
            Ok(Some(file)) => file,
            Ok(None) => return None,
            Err(reason) => {
                self.warn(format!("{}: {reason}; recompiling it", path.display()));
                return None;
            }
        };
        let mut artifact = Vec::new();
        if let Err(e) = file.read_to_end(&mut artifact) {
            self.warn(format!("{}: {e}; recompiling it", path.display()));
            return None;
        }
        let mac = std::fs::read_to_string(self.mac_path(digest)).unwrap_or_default();
        if !self.verify(b"artifact", digest, &artifact, mac.trim()) {
            self.warn(format!(
                "{}: the artifact is not one this cache wrote (its MAC does not verify: \
                 planted, damaged or from another key); recompiling it",
                path.display()
            ));
            return None;
        }
        // Recently used: eviction removes the least recently used first.
        let _ = file.set_modified(std::time::SystemTime::now());
        // SAFETY: the bytes carry this cache's MAC over the engine key, the module's
        // digest and the artifact: this cache wrote them, for an engine with this
        // compatibility key, from the module with this digest. wasmtime checks the header.
        unsafe { Component::deserialize(engine, &artifact) }.ok()
    }

    /// What the module with `digest` described itself as, if this cache stored it.
    pub fn description(&self, digest: &[u8; 32]) -> Option<Vec<u8>> {
        let mut file = trusted::open(&self.description_path(digest)).ok()??;
        let mut text = Vec::new();
        file.read_to_end(&mut text).ok()?;
        let newline = text.iter().position(|b| *b == b'\n')?;
        let (mac, body) = (&text[..newline], &text[newline + 1..]);
        let mac = std::str::from_utf8(mac).ok()?;
        self.verify(b"describe", digest, body, mac)
            .then(|| body.to_vec())
    }

    /// Stores what the module with `digest` described itself as. Best effort, like
    /// artifacts.
    pub fn store_description(&self, digest: &[u8; 32], text: &[u8]) {
        let mut file = self.mac(b"describe", digest, text).into_bytes();
        file.push(b'\n');
        file.extend_from_slice(text);
        let _ = crate::files::write_atomically(&self.description_path(digest), &file);
    }

    /// Stores an artifact (its MAC first, so that a reader never finds an artifact whose
    /// MAC is not there yet), then keeps the cache under its cap.
    fn store_artifact(&self, digest: &[u8; 32], artifact: &[u8]) {
        let mac = self.mac(b"artifact", digest, artifact);
        let stored = crate::files::write_atomically(&self.mac_path(digest), mac.as_bytes())
            .and_then(|()| crate::files::write_atomically(&self.artifact_path(digest), artifact));
        if stored.is_ok() {
            self.evict(&self.artifact_path(digest));
        }
    }

    /// `HMAC-SHA256(key, what || engine key || digest || bytes)`, as hex.
    fn mac(&self, what: &[u8], digest: &[u8; 32], bytes: &[u8]) -> String {
        hex(&self.hmac(what, digest, bytes).finalize().into_bytes())
    }

    fn verify(&self, what: &[u8], digest: &[u8; 32], bytes: &[u8], mac_hex: &str) -> bool {
        let Some(mac) = unhex(mac_hex) else {
            return false;
        };
        // Constant time: the MAC must not leak through timing.
        self.hmac(what, digest, bytes).verify_slice(&mac).is_ok()
    }

    fn hmac(&self, what: &[u8], digest: &[u8; 32], bytes: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        for part in [what, self.engine_key.as_bytes(), digest, bytes] {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        mac
    }

    /// Removes the least recently used artifacts (every engine's) until the cache holds
    /// at most its cap, never `keep` (the one just stored).
    fn evict(&self, keep: &Path) {
        let mut artifacts: Vec<(std::time::SystemTime, u64, PathBuf)> = Vec::new();
        let engine_dirs = std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten();
        for dir in engine_dirs {
            let Ok(entries) = std::fs::read_dir(dir.path()) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_file() && path.extension().is_some_and(|e| e == "cwasm") {
                    let used = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
                    artifacts.push((used, meta.len(), path));
                }
            }
        }
        let mut total: u64 = artifacts.iter().map(|(_, size, _)| size).sum();
        if total <= self.max_bytes {
            return;
        }
        artifacts.sort();
        for (_, size, path) in artifacts {
            if total <= self.max_bytes {
                break;
            }
            if path == keep {
                continue;
            }
            // Another process may have removed it first: either way it is gone.
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(path.with_extension("mac"));
            let _ = std::fs::remove_file(path.with_extension("describe"));
            total = total.saturating_sub(size);
        }
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The ownership and permission rules a cache must meet.
mod trusted {
    use std::fs::File;
    use std::io::Read;
    use std::path::Path;

    use super::KEY_BYTES;

    /// Creates `dir` (mode 0700) if needed, and checks it is a directory that only its
    /// owner, the current user or root, can write.
    pub(super) fn directory(dir: &Path) -> Result<(), String> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("cannot create it: {e}"))?;
        }
        #[cfg(not(unix))]
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create it: {e}"))?;
        let meta = std::fs::metadata(dir).map_err(|e| e.to_string())?;
        if !meta.is_dir() {
            return Err("it is not a directory".into());
        }
        owned_and_private(&meta)
    }

    /// Opens an existing cache file without following a symlink; `None` if there is none.
    /// Refuses a file that is not regular or that another user can write.
    pub(super) fn open(path: &Path) -> Result<Option<File>, String> {
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NOFOLLOW);
        }
        let file = match options.open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            #[cfg(unix)]
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err("it is a symbolic link, which the cache never writes".into());
            }
            Err(e) => return Err(e.to_string()),
        };
        let meta = file.metadata().map_err(|e| e.to_string())?;
        if !meta.is_file() {
            return Err("it is not a regular file".into());
        }
        owned_and_private(&meta)?;
        Ok(Some(file))
    }

    /// The cache's MAC key at `path`, created (32 random bytes, mode 0600) if there is
    /// none. Two processes creating it at once agree: the first link wins.
    pub(super) fn key(path: &Path) -> Result<[u8; KEY_BYTES], String> {
        if let Some(key) = read_key(path)? {
            return Ok(key);
        }
        let mut key = [0u8; KEY_BYTES];
        getrandom::fill(&mut key).map_err(|e| format!("no randomness for its key: {e}"))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let temp = tempfile::NamedTempFile::new_in(dir)
            .and_then(|mut temp| {
                std::io::Write::write_all(&mut temp, &key)?;
                temp.as_file().sync_data()?;
                Ok(temp)
            })
            .map_err(|e| format!("cannot write its key: {e}"))?;
        // NamedTempFile creates files with mode 0600. A hard link, unlike a rename, fails
        // when the key exists: then the other process's key is the one.
        match std::fs::hard_link(temp.path(), path) {
            Ok(()) => Ok(key),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                read_key(path)?.ok_or_else(|| "its key vanished while it was created".to_string())
            }
            Err(e) => Err(format!("cannot write its key: {e}")),
        }
    }

    fn read_key(path: &Path) -> Result<Option<[u8; KEY_BYTES]>, String> {
        let Some(mut file) = open(path).map_err(|r| format!("its key {}: {r}", path.display()))?
        else {
            return Ok(None);
        };
        let mut key = [0u8; KEY_BYTES];
        let mut rest = Vec::new();
        file.read_exact(&mut key)
            .and_then(|()| file.read_to_end(&mut rest))
            .map_err(|e| format!("its key {}: {e}", path.display()))?;
        if !rest.is_empty() {
            return Err(format!(
                "its key {} is not {KEY_BYTES} bytes",
                path.display()
            ));
        }
        Ok(Some(key))
    }

    /// Owned by the current user or root, and not writable by group or others.
    fn owned_and_private(meta: &std::fs::Metadata) -> Result<(), String> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // SAFETY: geteuid has no preconditions and cannot fail.
            let me = unsafe { libc::geteuid() };
            if meta.uid() != me && meta.uid() != 0 {
                return Err(format!(
                    "it belongs to user {}, not to the current user {me} (or root)",
                    meta.uid()
                ));
            }
            if meta.mode() & 0o022 != 0 {
                return Err(format!(
                    "it is writable by group or others (mode {:o})",
                    meta.mode() & 0o7777
                ));
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
