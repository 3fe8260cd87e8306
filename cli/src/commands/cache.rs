//! `kiln cache warm`: the platform's definitions from registries pulled into the store,
//! and every definition compiled (or its precompiled built-in copied) into the cache, e.g.
//! in Argo CD's init container or while building a container image.

use std::path::Path;

use kiln::platform::Platform;
use rayon::prelude::*;

use crate::args::{Flags, RegistryArgs};
use crate::commands::definitions::add_each;
use crate::commands::oci;
use crate::output::{Output, count};
use crate::setup::{self, Setup};

/// Warms the cache, saying how many artifacts that added. Best effort: Argo CD runs it in
/// an init container of the repository server, which a failure would keep from starting
/// for every application, Kiln's or not. So every failure (the platform file, a -d
/// directory, a definition) is a warning on stderr, and it exits 0.
pub fn warm(flags: &Flags, registry_args: &RegistryArgs) -> Output {
    let mut warnings = Vec::new();
    let platform = setup::platform(flags).unwrap_or_else(|e| {
        warnings.push(format!(
            "warning: {e:#}; warming with the default limits instead"
        ));
        Platform::default()
    });
    let sandbox = match setup::sandbox(flags, &platform) {
        Ok(sandbox) => sandbox,
        Err(e) => {
            warnings.push(format!("warning: nothing warmed: {e:#}"));
            return Output {
                warnings,
                ..Output::default()
            };
        }
    };
    let setup = Setup {
        platform,
        sandbox,
        store: setup::store(flags),
    };
    oci::pull_missing(&setup, registry_args, &mut warnings);
    // Counted before the -d directories load (and compile) anything.
    let before = setup
        .sandbox
        .cache()
        .map(|cache| cached_artifacts(cache.dir()));
    let mut registry = setup.builtin_registry();
    let mut failed = 0;
    if let (Some(store), false) = (&setup.store, setup.platform.sources.is_empty()) {
        // One at a time, so that one source that does not load leaves the others warm.
        for source in &setup.platform.sources {
            let added = registry.add_sources(
                &setup.sandbox,
                store,
                std::slice::from_ref(source),
                flags.override_builtins,
            );
            if let Err(e) = added {
                failed += 1;
                warnings.push(format!("warning: not warmed: {e}"));
            }
        }
    }
    for dir in &flags.definitions {
        for outcome in add_each(&setup.sandbox, &mut registry, dir, flags.override_builtins) {
            if let Err(why) = outcome.result {
                failed += 1;
                warnings.push(format!("warning: not warmed: {why}"));
            }
        }
    }
    let names: Vec<&str> = registry.names().collect();
    // One at a time in name order for the report, loaded in parallel.
    let loaded: Vec<kiln::Result<_>> = names
        .par_iter()
        .map(|name| registry.module(&setup.sandbox, name))
        .collect();
    let mut ready = 0;
    for (name, result) in names.iter().zip(loaded) {
        match result {
            Ok(_) => ready += 1,
            Err(e) => {
                failed += 1;
                warnings.push(format!("warning: not warmed: definition \"{name}\": {e}"));
            }
        }
    }
    let failures = if failed == 0 {
        String::new()
    } else {
        format!("; {failed} failed (see above)")
    };
    let stdout = match (setup.sandbox.cache(), before) {
        (Some(cache), Some(before)) => format!(
            "{} ready in {} ({} newly cached){failures}\n",
            count(ready, "definition"),
            cache.dir().display(),
            // Another process warming the same directory may add some too.
            cached_artifacts(cache.dir()).saturating_sub(before),
        ),
        _ => format!(
            "{} loaded; nothing cached (--no-cache){failures}\n",
            count(ready, "definition")
        ),
    };
    warnings.extend(setup.sandbox.take_warnings());
    // As in `Setup::finish`: the kernel unmaps the modules at exit.
    std::mem::forget(registry);
    std::mem::forget(setup);
    Output {
        stdout: stdout.into(),
        warnings,
        failed: false,
    }
}

/// How many compiled artifacts `dir` holds (none if it does not exist yet).
fn cached_artifacts(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.path().extension().is_some_and(|e| e == "cwasm"))
            .count()
    })
}
