//! The on-disk cache of compiled modules.
//!
//! Compiling a component with Cranelift takes tens of milliseconds; loading its
//! precompiled artifact (an mmap) takes tens of microseconds. Artifacts are keyed by the
//! module's sha256 inside a directory named for the engine's compatibility hash (wasmtime
//! version, configuration and features), so a new Kiln never loads an old artifact.
//!
//! Writes go to a temporary file in the same directory, then `rename` into place: a reader
//! sees a whole artifact or none, and any number of `kiln` processes can share the cache.
//! The cache directory must be as trusted as the binary: its artifacts are native code.
//!
//! Next to each artifact lies what the module's `describe` returned (`<sha256>.describe`):
//! a pure function of the module's bytes, so a warm process loads a module without
//! instantiating it at all.

use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::hex;

/// A directory of compiled artifacts for one engine configuration.
#[derive(Debug, Clone)]
pub struct CompiledCache {
    dir: PathBuf,
}

impl CompiledCache {
    /// The cache under `root` for `engine`'s configuration.
    pub fn new(root: &Path, engine: &Engine) -> CompiledCache {
        CompiledCache {
            dir: root.join(format!(
                "wasmtime-{}",
                super::engine_config::engine_key(engine)
            )),
        }
    }

    /// The directory artifacts are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the artifact of the module with `digest` lives.
    pub fn artifact_path(&self, digest: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.cwasm", hex(digest)))
    }

    /// The compiled component for `bytes` (whose sha256 is `digest`): loaded from the
    /// cache, or compiled (or taken from `precompiled`, an artifact for this engine) and
    /// then stored. A cache that cannot be written is not an error: the component is still
    /// returned.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        digest: &[u8; 32],
        bytes: &[u8],
        precompiled: Option<&[u8]>,
    ) -> wasmtime::Result<Component> {
        let path = self.artifact_path(digest);
        if path.is_file() {
            // SAFETY: artifacts in this directory were written by `store` below, whole
            // (rename is atomic), for an engine with this compatibility hash; wasmtime
            // also checks the header. The directory is trusted like the binary.
            if let Ok(component) = unsafe { Component::deserialize_file(engine, &path) } {
                return Ok(component);
            }
            // Corrupt or foreign: fall through, recompile and replace it.
        }
        if let Some(artifact) = precompiled {
            let _ = self.store(&path, artifact);
            // SAFETY: compiled for an engine with this compatibility key (the caller
            // checked), by the build script of this binary.
            return unsafe { Component::deserialize(engine, artifact) };
        }
        let artifact = engine.precompile_component(bytes)?;
        let _ = self.store(&path, &artifact);
        // SAFETY: `artifact` was produced just now by this engine.
        unsafe { Component::deserialize(engine, &artifact) }
    }

    /// What the module with `digest` described itself as, if a process stored it.
    pub fn description(&self, digest: &[u8; 32]) -> Option<Vec<u8>> {
        std::fs::read(self.description_path(digest)).ok()
    }

    /// Stores what the module with `digest` described itself as. Best effort, like
    /// artifacts.
    pub fn store_description(&self, digest: &[u8; 32], text: &[u8]) {
        let _ = self.store(&self.description_path(digest), text);
    }

    fn description_path(&self, digest: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.describe", hex(digest)))
    }

    /// Writes a cache file whole (readable by every user: a cache warmed while building an
    /// image is read by the plugin's own user).
    fn store(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        crate::files::write_atomically(path, bytes)
    }
}
