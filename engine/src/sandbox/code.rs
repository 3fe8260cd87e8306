//! Where compiled code runs. Kiln's built-ins are precompiled by the build and placed in the
//! executable's own text (`engine/build.rs`), page-aligned: on Linux they run where the
//! binary is mapped, shared with every other `kiln` process through the page cache, never
//! copied and never read from a cache directory that someone could have written. Every
//! other module's code is made executable the way wasmtime does it by default.
//!
//! wasmtime supports this through a [`CustomCodeMemory`]: code it is handed in place
//! ([`wasmtime::component::Component::deserialize_raw`]) is published by us, and we know
//! that the executable's text is already executable.

use std::ops::Range;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use wasmtime::component::Component;
use wasmtime::{Config, CustomCodeMemory, Engine};

/// Whether built-in artifacts are in the executable's text on this platform (the build
/// places them there under the same condition: see `engine/build.rs`).
pub(super) const EMBEDDED_IN_TEXT: bool = cfg!(all(target_os = "linux", target_env = "gnu"));

/// The ranges of the executable's text handed to wasmtime as code.
static IN_TEXT: Mutex<Vec<Range<usize>>> = Mutex::new(Vec::new());

/// The built-ins loaded in place, by the address of their artifact: wasmtime registers
/// code by address for the whole process, so each artifact is loaded in place once, by
/// the first sandbox that asks (a process has one; tests have several).
static LOADED: Mutex<Vec<Loaded>> = Mutex::new(Vec::new());

struct Loaded {
    start: usize,
    sandbox: u64,
    component: Component,
}

/// Has `config` publish code through [`Publisher`] (Linux only; elsewhere built-ins are
/// copied out of the binary instead).
pub(super) fn configure(config: &mut Config) {
    if EMBEDDED_IN_TEXT {
        config.with_custom_code_memory(Some(Arc::new(Publisher)));
    }
}

/// The built-in whose precompiled `artifact` is part of the executable's text, loaded in
/// place for `sandbox` (whose engine is `engine`); `None` when another sandbox of the
/// process loaded it in place first, or on a platform where artifacts are not in the
/// text: the caller then copies it out.
pub(super) fn load_in_place(
    engine: &Engine,
    sandbox: u64,
    artifact: &'static [u8],
) -> Option<wasmtime::Result<Component>> {
    if !EMBEDDED_IN_TEXT {
        return None;
    }
    let start = artifact.as_ptr() as usize;
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(done) = loaded.iter().find(|l| l.start == start) {
        return (done.sandbox == sandbox).then(|| Ok(done.component.clone()));
    }
    IN_TEXT
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(start..start + artifact.len());
    // SAFETY: a built-in's artifact, compiled by the build script for this engine
    // configuration (the caller checked the keys), in this binary's text: page-aligned,
    // executable, never written, there for the life of the process; and loaded in place
    // only this once.
    let component = unsafe { Component::deserialize_raw(engine, NonNull::from(artifact)) };
    if let Ok(component) = &component {
        loaded.push(Loaded {
            start,
            sandbox,
            component: component.clone(),
        });
    }
    Some(component)
}

fn in_text(ptr: *const u8, len: usize) -> bool {
    let (start, end) = (ptr as usize, ptr as usize + len);
    IN_TEXT
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|range| range.start <= start && end <= range.end)
}

/// Makes code executable: a no-op for code in the executable's text (read-only and
/// executable already), `mprotect` for the rest, as wasmtime would.
struct Publisher;

impl CustomCodeMemory for Publisher {
    fn required_alignment(&self) -> usize {
        page_size()
    }

    fn publish_executable(&self, ptr: *const u8, len: usize) -> wasmtime::Result<()> {
        if in_text(ptr, len) {
            return Ok(());
        }
        protect(ptr, len, libc::PROT_READ | libc::PROT_EXEC)
    }

    fn unpublish_executable(&self, ptr: *const u8, len: usize) -> wasmtime::Result<()> {
        if in_text(ptr, len) {
            return Ok(());
        }
        protect(ptr, len, libc::PROT_READ | libc::PROT_WRITE)
    }
}

fn protect(ptr: *const u8, len: usize, protection: libc::c_int) -> wasmtime::Result<()> {
    if len == 0 {
        return Ok(());
    }
    // SAFETY: wasmtime hands over a page-aligned range of a mapping it owns, with no code
    // running from it while it changes (the trait's contract).
    let rc = unsafe { libc::mprotect(ptr as *mut libc::c_void, len, protection) };
    if rc == 0 {
        Ok(())
    } else {
        Err(wasmtime::Error::msg(format!(
            "mprotect of compiled code failed: {}",
            std::io::Error::last_os_error()
        )))
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}
