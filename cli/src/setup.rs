//! The flags every command takes, resolved once, before the command runs: the platform
//! configuration with the command line's limits on top, the sandbox, and the registry of
//! definitions. The ripgrep `HiArgs` idea: commands receive what the flags mean, never
//! the flags' raw values.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use kiln::definitions::Registry;
use kiln::platform::Platform;
use kiln::sandbox::Sandbox;
use kiln::store::Store;

use crate::args::Flags;
use crate::output::Output;

/// A platform, the sandbox its limits configure and the store of pulled definitions: what
/// every command but `new` runs in.
pub struct Setup {
    pub platform: Platform,
    pub sandbox: Sandbox,
    /// Where definitions pulled from registries are (none when no directory is known).
    pub store: Option<Store>,
}

impl Setup {
    /// Reads the platform file, applies the command line's limits and starts the sandbox.
    pub fn new(flags: &Flags) -> Result<Setup> {
        let platform = platform(flags)?;
        let sandbox = sandbox(flags, &platform)?;
        Ok(Setup {
            platform,
            sandbox,
            store: store(flags),
        })
    }

    /// The setup of one request to the resident renderer: the same platform and store,
    /// and a sandbox that shares this one's engine and modules but has a memory budget of
    /// its own ([`Sandbox::for_request`]).
    pub fn for_request(&self) -> Setup {
        Setup {
            platform: self.platform.clone(),
            sandbox: self.sandbox.for_request(),
            store: self.store.clone(),
        }
    }

    /// The store, or an error that says how to name one.
    pub fn store(&self) -> Result<&Store> {
        self.store.as_ref().context(
            "no store for definitions from registries: set --store DIR or KILN_STORE \
             (neither XDG_DATA_HOME nor HOME is set)",
        )
    }

    /// The built-ins, pinned by the platform's lock when it has one.
    pub fn builtin_registry(&self) -> Registry {
        let mut registry = Registry::builtin();
        if let Some(lock) = &self.platform.lock {
            registry.pin(lock.clone());
        }
        registry
    }

    /// [`Setup::builtin_registry`] with the platform's definitions from registries (read
    /// from the store, as the lock pins them: no network) and those of every `-d`
    /// directory added.
    pub fn registry(&self, flags: &Flags) -> Result<Registry> {
        let mut registry = self.builtin_registry();
        if !self.platform.sources.is_empty() {
            registry
                .add_sources(
                    &self.sandbox,
                    self.store()?,
                    &self.platform.sources,
                    flags.override_builtins,
                )
                .context("loading the platform's definitions from registries")?;
        }
        for dir in &flags.definitions {
            registry
                .add_dir(&self.sandbox, dir, flags.override_builtins)
                .with_context(|| format!("loading definitions from {}", dir.display()))?;
        }
        Ok(registry)
    }

    /// Ends a command: the sandbox's warnings (e.g. a cache it could not write) go first.
    /// The process exits next, and the kernel unmaps the loaded modules at once; dropping
    /// them one by one would cost a measurable part of a small render (~0.5 ms for 7).
    pub fn finish(self, registry: Registry, output: Result<Output>) -> Result<Output> {
        std::mem::forget(registry);
        let warnings = self.sandbox.take_warnings();
        std::mem::forget(self);
        match output {
            Ok(mut output) => {
                output.warnings.splice(0..0, warnings);
                Ok(output)
            }
            Err(error) => {
                warnings.iter().for_each(|w| eprintln!("{w}"));
                Err(error)
            }
        }
    }
}

/// The platform configuration, with the limits given on the command line on top.
pub fn platform(flags: &Flags) -> Result<Platform> {
    let mut platform = match &flags.platform {
        Some(path) => Platform::read(path)
            .with_context(|| format!("reading the platform configuration {}", path.display()))?,
        None => Platform::default(),
    };
    apply_limit_flags(flags, &mut platform);
    Ok(platform)
}

/// Command-line limits win over the platform file's defaults.
pub fn apply_limit_flags(flags: &Flags, platform: &mut Platform) {
    let defaults = &mut platform.limits;
    if let Some(ms) = flags.time_limit_ms {
        defaults.time = std::time::Duration::from_millis(ms);
    }
    if let Some(mib) = flags.memory_limit_mib {
        defaults.memory = mib.saturating_mul(1024 * 1024);
    }
    if let Some(fuel) = flags.fuel {
        defaults.fuel = Some(fuel);
    }
    if let Some(max) = flags.cache_max {
        platform.cache_size = Some(max);
    }
}

/// A sandbox with `platform`'s limits, caching where the flags say.
pub fn sandbox(flags: &Flags, platform: &Platform) -> Result<Sandbox> {
    let cache_dir = if flags.no_cache {
        None
    } else {
        flags.cache_dir.clone().or_else(default_cache_dir)
    };
    Sandbox::new(platform.limit_policy(), cache_dir)
        .map_err(|e| anyhow::anyhow!("{e:#}"))
        .context("starting the WebAssembly sandbox")
}

/// The store of pulled definitions: `--store`, else `$XDG_DATA_HOME/kiln/store`, else
/// `~/.local/share/kiln/store`.
pub fn store(flags: &Flags) -> Option<Store> {
    flags
        .store
        .clone()
        .or_else(|| user_dir("XDG_DATA_HOME", ".local/share").map(|d| d.join("kiln/store")))
        .map(Store::new)
}

/// `$XDG_CACHE_HOME/kiln`, else `~/.cache/kiln`.
fn default_cache_dir() -> Option<PathBuf> {
    user_dir("XDG_CACHE_HOME", ".cache").map(|dir| dir.join("kiln"))
}

/// `$XDG_VAR` when set, else `~/HOME_DEFAULT` (the XDG base directory rule).
fn user_dir(xdg_var: &str, home_default: &str) -> Option<PathBuf> {
    let non_empty = |var| std::env::var_os(var).filter(|v| !v.is_empty());
    non_empty(xdg_var)
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| Path::new(&home).join(home_default)))
}
