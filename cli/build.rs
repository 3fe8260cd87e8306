//! Links `kiln` as a position-dependent executable: see [`link_position_dependent`].

use std::env;

/// Links the `kiln` binary as a position-dependent executable on Linux (glibc). A PIE
/// applies its ~48,000 relative relocations at every start, writing, and so copying, every
/// page of `.data.rel.ro`: ~1 ms and ~190 page faults of a one-component render that takes
/// ~8 ms (docs/performance.md). Shared libraries, heap, stack and the modules' code stay at
/// random addresses; only the executable's image is fixed, as in Argo CD's own Go binaries.
/// `KILN_PIE=1` at build time keeps the platform's default PIE.
fn link_position_dependent() {
    println!("cargo::rerun-if-env-changed=KILN_PIE");
    let target = |key: &str| env::var(key).unwrap_or_default();
    let linux_gnu =
        target("CARGO_CFG_TARGET_OS") == "linux" && target("CARGO_CFG_TARGET_ENV") == "gnu";
    if linux_gnu && env::var_os("KILN_PIE").is_none() {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}

fn main() {
    link_position_dependent();
}
