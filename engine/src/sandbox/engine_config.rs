//! The wasmtime configuration definitions are compiled and run with, and the key that names
//! it in the compiled-module cache.
//!
//! This file is also compiled into the build script (`#[path]`), which precompiles the
//! built-in definitions for the default configuration: both sides must build the very same
//! `Config`, so it lives in one place and uses nothing but `wasmtime` and `sha2`.

use std::hash::Hasher;

use sha2::{Digest, Sha256};
use wasmtime::Config;

/// The default cap on a module's linear memory, in bytes.
pub const DEFAULT_MEMORY: usize = 256 * 1024 * 1024;
/// The default cap on a module's wasm stack, in bytes.
pub const DEFAULT_STACK: usize = 1024 * 1024;

/// The engine configuration for definitions: metering fuel or not, with linear memories of
/// at most `memory` bytes and a wasm stack of `stack` bytes.
///
/// `fuel` and `memory` change the compiled code (fuel checks; bounds checks sized to the
/// reservation), so artifacts compiled under one configuration do not load under another.
pub fn engine_config(fuel: bool, memory: usize, stack: usize) -> Config {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(fuel)
        .max_wasm_stack(stack)
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true)
        // Reserve only what the memory limit allows (not wasmtime's 4 GiB per memory):
        // a one-shot process should not map a terabyte of address space for its pool.
        .memory_reservation(memory as u64)
        .memory_guard_size(64 * 1024)
        .memory_reservation_for_growth(0);
    // Instances come from the on-demand allocator, not the pooling allocator: for a
    // short-lived process whose instances live microseconds, the pool's slot reset
    // (memset, madvise and the TLB shootdowns it sends to every core) cost more than it
    // saved. Measured on the benchmark app, 2 cores: N=100 89.7 ms vs 124.5 ms pooled,
    // N=1 6.9 ms vs 12.7 ms.
    //
    // Their memories map the module's data as a copy-on-write image instead of copying
    // it in: a Python definition starts from ~13 MiB of snapshot, which copied into every
    // fresh instance cost 3,200 page faults and ~9 ms each (N=100 with one Python trait per
    // component, one thread: 1,152 ms of CPU and 317,000 faults copied, 457 ms and 81,600
    // with images). For the built-ins it changes nothing measurable (examples/shop and the
    // benchmark app at N=10, 100 and 1000, interleaved `perf stat`: CPU within noise,
    // 2-5 % fewer faults). docs/performance.md, "Definitions in Python".
    config.memory_init_cow(true);
    config
}

/// A name for `engine`'s compatibility (wasmtime version, configuration, cargo features and
/// CPU features): artifacts compiled by one engine load in another with the same key.
/// Stable across processes, unlike `Hash` output fed to the std hasher.
pub fn engine_key(engine: &wasmtime::Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    hasher
        .0
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Feeds `Hash` output into sha256.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        unreachable!("only the sha256 digest is read")
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
