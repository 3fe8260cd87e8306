//! What a module may use, and the meter that holds it to that.
//!
//! [`Limits`] are per call (time, fuel, output) and per instance (memory, tables); the
//! [`LimitPolicy`] adds what the platform decides for the whole process: per-definition
//! overrides, which external definitions may keep an instance between calls, and the
//! memory budget of all live instances together. The [`Meter`] is each store's
//! [`ResourceLimiter`]: it enforces the memory and table caps and the shared budget, and
//! records which limit a module hit, so that a failed call is classified from that record
//! rather than from wasmtime's message text.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use wasmtime::ResourceLimiter;

use super::engine_config;
use crate::error::Limit;

/// Core instances one store may create. A Rust definition built for `wasm32-wasip2` has
/// about five (its module, WASI's adapter and the shims that tie them); interpreters
/// built with componentize-py or componentize-js a dozen. wasmtime's default is 10,000.
pub const STORE_INSTANCES: usize = 32;
/// Linear memories one store may create (a Rust definition has one or two).
pub const STORE_MEMORIES: usize = 4;
/// Tables one store may create (a Rust definition has two to four).
pub const STORE_TABLES: usize = 16;

/// The default memory budget of all live instances together ([`LimitPolicy::budget`]):
/// two definitions at the default 256 MiB each, so that a sidecar with 1 GiB keeps half
/// of it for the host whatever the definitions do.
pub const DEFAULT_RENDER_MEMORY: usize = 512 * 1024 * 1024;

/// Limits on every module call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time of one call (a backstop even when fuel is on). Time a module asks
    /// to sleep counts too, although the pinned clock never waits.
    pub time: Duration,
    /// Fuel of one call (roughly one unit per wasm instruction); `None`: no fuel metering.
    /// Unlike time, running out of fuel happens at the same point on every machine.
    pub fuel: Option<u64>,
    /// Linear memory of one instance, in bytes.
    pub memory: usize,
    /// Elements of each table of one instance (function-pointer tables).
    pub table_elements: usize,
    /// Wasm stack, in bytes. One value for the whole process (wasmtime sets it per
    /// engine): only the default applies.
    pub stack: usize,
    /// Bytes of JSON one call may return.
    pub output: usize,
    /// Objects (workload plus auxiliaries) one call may return.
    pub objects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            time: Duration::from_secs(5),
            fuel: None,
            memory: engine_config::DEFAULT_MEMORY,
            table_elements: 100_000,
            stack: engine_config::DEFAULT_STACK,
            output: 16 * 1024 * 1024,
            objects: 10_000,
        }
    }
}

/// The limits of every definition: defaults, the platform's overrides by name, and what
/// holds for the process as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitPolicy {
    /// Limits of definitions without an override.
    pub defaults: Limits,
    /// Limits of the named definitions (their `stack` is ignored: see [`Limits::stack`]).
    pub per_definition: BTreeMap<String, Limits>,
    /// External definitions whose instance may serve several calls of one render (the
    /// platform's `reuse: true`). Kiln's own built-ins always may; every other definition
    /// gets a fresh instance per call, so that nothing one component's call leaves in its
    /// memory reaches another's.
    pub reuse: BTreeSet<String>,
    /// Bytes of linear memory all live instances of the process may hold together.
    pub budget: usize,
    /// Bytes the compiled-module cache may hold on disk.
    pub cache_max: u64,
}

impl Default for LimitPolicy {
    fn default() -> Self {
        LimitPolicy {
            defaults: Limits::default(),
            per_definition: BTreeMap::new(),
            reuse: BTreeSet::new(),
            budget: DEFAULT_RENDER_MEMORY,
            cache_max: super::cache::DEFAULT_MAX_BYTES,
        }
    }
}

impl LimitPolicy {
    /// The limits of definition `name`.
    pub fn of(&self, name: &str) -> &Limits {
        self.per_definition.get(name).unwrap_or(&self.defaults)
    }

    /// Every set of limits in the policy.
    pub(super) fn all(&self) -> impl Iterator<Item = &Limits> {
        std::iter::once(&self.defaults).chain(self.per_definition.values())
    }
}

impl From<Limits> for LimitPolicy {
    fn from(defaults: Limits) -> Self {
        LimitPolicy {
            defaults,
            ..LimitPolicy::default()
        }
    }
}

/// A limit a module hit, as the meter saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub limit: Limit,
    /// How, with the limit's value, for people.
    pub detail: String,
}

/// The error a host hook returns when it stops a module for a limit: the call traps with
/// it, and the store's [`Meter`] has recorded which limit it was.
#[derive(Debug)]
pub(super) struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped by a sandbox limit")
    }
}

impl std::error::Error for Stopped {}

/// The memory all live instances of a process hold, against [`LimitPolicy::budget`].
#[derive(Debug)]
pub(super) struct MemoryBudget {
    limit: usize,
    used: AtomicUsize,
}

impl MemoryBudget {
    pub(super) fn new(limit: usize) -> Arc<MemoryBudget> {
        Arc::new(MemoryBudget {
            limit,
            used: AtomicUsize::new(0),
        })
    }

    /// Takes `bytes` from the budget, or nothing if that would exceed it.
    fn take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Bytes held now.
    #[cfg(test)]
    pub(super) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// A store's [`ResourceLimiter`]: caps its memories and tables, charges its memory to the
/// process's [`MemoryBudget`] (given back when the store is dropped), and records the
/// first limit the module hit.
pub(super) struct Meter {
    memory: usize,
    table_elements: usize,
    budget: Arc<MemoryBudget>,
    /// Bytes of linear memory this store holds.
    held: usize,
    hit: Option<Hit>,
}

impl Meter {
    pub(super) fn new(limits: &Limits, budget: Arc<MemoryBudget>) -> Meter {
        Meter {
            memory: limits.memory,
            table_elements: limits.table_elements,
            budget,
            held: 0,
            hit: None,
        }
    }

    /// Records that the module hit `limit` (the first one counts) and returns the error
    /// that stops it.
    pub(super) fn stop(&mut self, limit: Limit, detail: String) -> wasmtime::Error {
        self.hit.get_or_insert(Hit { limit, detail });
        wasmtime::Error::new(Stopped)
    }

    /// The limit the module hit, if it hit one; clears the record.
    pub(super) fn take_hit(&mut self) -> Option<Hit> {
        self.hit.take()
    }
}

impl ResourceLimiter for Meter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory {
            return Err(self.stop(
                Limit::Memory,
                format!(
                    "tried to grow memory to {}, limit {}",
                    human_bytes(desired),
                    human_bytes(self.memory)
                ),
            ));
        }
        let more = desired.saturating_sub(current);
        if !self.budget.take(more) {
            return Err(self.stop(
                Limit::RenderMemory,
                format!(
                    "tried to grow memory to {} while the render's instances hold {} together, \
                     limit {}",
                    human_bytes(desired),
                    human_bytes(self.budget.used.load(Ordering::Acquire)),
                    human_bytes(self.budget.limit)
                ),
            ));
        }
        self.held += more;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        // The host could not map the memory: the module gets no more, like at a limit.
        Err(error)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            return Err(self.stop(
                Limit::Table,
                format!(
                    "tried to grow a table to {desired} elements, limit {}",
                    self.table_elements
                ),
            ));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        STORE_INSTANCES
    }

    fn memories(&self) -> usize {
        STORE_MEMORIES
    }

    fn tables(&self) -> usize {
        STORE_TABLES
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.budget.give_back(self.held);
    }
}

/// `512 MiB`, `64 KiB`, `1500 bytes`: a size for people.
pub(super) fn human_bytes(n: usize) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests;
