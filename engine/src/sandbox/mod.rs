//! The WebAssembly sandbox: one wasmtime [`Engine`] per process, a pre-instantiated
//! component ([`wasmtime::component::InstancePre`]) per definition, and a [`Store`] per
//! instance.
//!
//! Isolation holds by construction: an external definition gets a fresh instance for
//! every call, so nothing one component's call leaves in the module's memory (a counter,
//! another component's properties) reaches another's. Only Kiln's own built-ins, which are
//! tested to be pure, and external definitions the platform opts in (`reuse: true`) keep
//! an instance for the calls of one chunk of components ([`Instances`]).
//!
//! A module gets WASI with nothing granted and nothing that varies or waits ([`wasi`]).
//! Every call runs under [`Limits`]: a wall-clock deadline (epoch interruption, and time
//! asked for in sleeps), optionally a fuel budget (deterministic: the same module and input
//! run out at the same instruction on every machine), caps on linear memory, table
//! elements, instances and wasm stack, caps on the bytes and the number of objects it
//! returns, and a memory budget for all live instances together. The platform may set
//! limits per definition ([`LimitPolicy`]). A failed call reads as one line ([`trap`]).
//!
//! Before a module is compiled, its imports are checked against an allow-list
//! ([`ALLOWED_IMPORTS`]): Kiln's own types and the WASI 0.2 interfaces the linker offers,
//! all of which grant nothing. Anything else is refused by name.

mod cache;
mod code;
pub mod engine_config;
mod interface;
mod limits;
mod trap;
mod wasi;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub use cache::{CompiledCache, DEFAULT_MAX_BYTES as DEFAULT_CACHE_MAX};
pub use interface::ALLOWED_IMPORTS;
pub use limits::{
    DEFAULT_RENDER_MEMORY, LimitPolicy, Limits, STORE_INSTANCES, STORE_MEMORIES, STORE_TABLES,
};
pub use trap::{CallError, words as trap_words};

use crate::digest::{hex, sha256};
use crate::error::Limit;
use limits::{MemoryBudget, Meter};
use wasi::Wiring;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../sdk/wit",
        world: "definition",
    });
}

/// The WIT types a definition speaks (`kiln:definition/types@0.1.0`).
pub use bindings::kiln::definition::types as wit;

/// The next [`Sandbox::id`].
static NEXT_SANDBOX_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Interval of the epoch ticker that enforces [`Limits::time`].
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The host's state in each [`Store`].
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    meter: Meter,
    /// The current call's time limit, and the time it asked to sleep so far.
    time_limit: Duration,
    slept: Duration,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The process-wide sandbox: engine, linker, compiled cache and limits.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<State>,
    cache: Option<CompiledCache>,
    limits: LimitPolicy,
    /// Whether the engine meters fuel (some definition has a fuel limit).
    fuel: bool,
    /// Distinguishes sandboxes: a module belongs to the engine that compiled it.
    id: u64,
    /// The engine's compatibility key ([`engine_config::engine_key`]).
    engine_key: String,
    /// The memory of all live instances, against [`LimitPolicy::budget`].
    budget: Arc<MemoryBudget>,
    /// What the sandbox found wrong that does not fail a render (an unusable cache).
    warnings: Mutex<Vec<String>>,
}

/// A module's artifact compiled ahead of time (the built-ins', by the build script), and
/// the [`engine_config::engine_key`] of the engine that compiled it.
#[derive(Debug, Clone, Copy)]
pub struct Precompiled {
    pub engine_key: &'static str,
    pub artifact: &'static [u8],
}

/// Why a definition module did not load. The module's origin is the caller's to add.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// Its imports or exports are not a definition's ([`ALLOWED_IMPORTS`]), or the bytes
    /// are not a component: checked before anything is compiled where possible.
    #[error("{0}")]
    Interface(String),
    /// wasmtime could not compile or load it.
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    /// Its imports do not match what the linker offers.
    #[error("cannot be linked: {0}")]
    Link(String),
    /// Its exports are not the `kiln:definition@0.1.0` world's.
    #[error("does not implement the kiln:definition@0.1.0 world: {0}")]
    World(String),
    /// `describe` broke a sandbox limit.
    #[error("describe exceeded its {limit} limit ({detail})")]
    DescribeLimit { limit: Limit, detail: String },
    /// `describe` trapped.
    #[error("describe {0}")]
    DescribeTrap(String),
    /// `describe` returned more than the output limit.
    #[error("describe returned {0} bytes")]
    DescribeOutput(usize),
    /// Two `describe` calls disagreed.
    #[error("describes itself differently from one call to the next")]
    Inconsistent,
}

/// A definition compiled and ready to instantiate.
pub struct Module {
    /// The name it is registered under.
    pub name: String,
    /// What its `describe` returned.
    pub metadata: wit::Metadata,
    /// sha256 of its component bytes.
    pub digest: [u8; 32],
    /// One of Kiln's own built-ins (embedded in the binary).
    pub builtin: bool,
    pre: bindings::DefinitionPre<State>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name)
            .field("digest", &hex(&self.digest))
            .field("builtin", &self.builtin)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A sandbox caching compiled modules under `cache_dir` (none: compile every time),
    /// running every call under `limits` (a [`Limits`] for all, or a [`LimitPolicy`]).
    /// A cache directory that fails its checks (see [`CompiledCache`]) is not used, and
    /// [`Sandbox::take_warnings`] says why.
    ///
    /// ```
    /// use kiln::sandbox::{Limits, Sandbox};
    ///
    /// let limits = Limits { fuel: Some(500_000_000), ..Limits::default() };
    /// let sandbox = Sandbox::new(limits, None)?;
    /// # Ok::<(), wasmtime::Error>(())
    /// ```
    pub fn new(
        limits: impl Into<LimitPolicy>,
        cache_dir: Option<PathBuf>,
    ) -> wasmtime::Result<Sandbox> {
        let limits = limits.into();
        // Metering costs every call some speed, so the engine meters only when asked to.
        // Compiled code differs with it on, and the cache keys on that.
        let fuel = limits.all().any(|l| l.fuel.is_some());
        let memory = limits.all().map(|l| l.memory).max().unwrap_or(0);
        let mut config = engine_config::engine_config(fuel, memory, limits.defaults.stack);
        code::configure(&mut config);
        let engine = Engine::new(&config)?;

        let mut linker = Linker::new(&engine);
        wasi::add_to_linker(&mut linker)?;

        start_epoch_ticker(&engine);
        let mut warnings = Vec::new();
        let cache = cache_dir.and_then(|dir| {
            CompiledCache::open(&dir, &engine, limits.cache_max)
                .map_err(|refused| warnings.push(format!("warning: {refused}")))
                .ok()
        });
        Ok(Sandbox {
            engine_key: engine_config::engine_key(&engine),
            budget: MemoryBudget::new(limits.budget),
            engine,
            linker,
            cache,
            limits,
            fuel,
            id: NEXT_SANDBOX_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            warnings: Mutex::new(warnings),
        })
    }

    /// This sandbox's identity in the process.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Its engine's compatibility key ([`engine_config::engine_key`]): artifacts compiled
    /// for this key load here.
    pub fn engine_key(&self) -> &str {
        &self.engine_key
    }

    /// The compiled-module cache, if any.
    pub fn cache(&self) -> Option<&CompiledCache> {
        self.cache.as_ref()
    }

    /// What the sandbox and its cache found wrong since the last call, for the user: each
    /// problem once. None of it failed a render.
    pub fn take_warnings(&self) -> Vec<String> {
        let mut warnings =
            std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|e| e.into_inner()));
        if let Some(cache) = &self.cache {
            warnings.extend(
                cache
                    .take_warnings()
                    .into_iter()
                    .map(|w| format!("warning: compiled-module cache: {w}")),
            );
        }
        warnings
    }

    /// Compiles (or loads) the component `bytes`, links it, and asks it to describe
    /// itself. `digest` is the sha256 of `bytes` when the caller knows it.
    ///
    /// A built-in comes with `precompiled`, its artifact embedded in the binary, used
    /// whenever this sandbox's engine is the one it was compiled for (the cache is then
    /// not read at all: nothing on disk can stand in for a built-in). Any other module is
    /// loaded from the cache when a verified artifact is there, and otherwise has its
    /// imports checked before it is compiled. An external module describes itself under
    /// the default limits, and again under its own when the platform sets some for the
    /// name it gave: no file name earns a module another definition's limits.
    pub fn load(
        &self,
        name: &str,
        bytes: &[u8],
        digest: Option<[u8; 32]>,
        precompiled: Option<Precompiled>,
    ) -> Result<Module, LoadError> {
        let digest = digest.unwrap_or_else(|| sha256(bytes));
        let builtin = precompiled.is_some();
        let embedded = precompiled
            .filter(|p| p.engine_key == self.engine_key)
            .map(|p| p.artifact);
        let in_place = embedded.and_then(|a| code::load_in_place(&self.engine, self.id, a));
        let component = match (in_place, embedded) {
            (Some(component), _) => component,
            // SAFETY: a built-in's artifact, compiled by the build script for this engine
            // configuration (the keys are equal), copied out of this binary.
            (None, Some(artifact)) => unsafe { Component::deserialize(&self.engine, artifact) },
            (None, None) => match self
                .cache
                .as_ref()
                .and_then(|c| c.load(&self.engine, &digest))
            {
                Some(component) => Ok(component),
                None => {
                    interface::check_imports(bytes).map_err(LoadError::Interface)?;
                    self.compile(&digest, bytes)
                }
            },
        }
        // wasmtime's first line says what is wrong; the rest is a dump of the bytes.
        .map_err(|e| LoadError::Invalid(first_line(&format!("{e:#}")).to_string()))?;
        interface::check_component(&self.engine, &component).map_err(LoadError::Interface)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let pre =
            bindings::DefinitionPre::new(pre).map_err(|e| LoadError::World(format!("{e:#}")))?;
        let mut module = Module {
            name: name.to_string(),
            metadata: placeholder_metadata(name),
            digest,
            builtin,
            pre,
        };
        let cached = self
            .cache
            .as_ref()
            .and_then(|cache| cache.description(&digest))
            .and_then(|text| metadata_from_json(&text));
        if let Some(metadata) = cached {
            module.metadata = metadata;
            return Ok(module);
        }
        let limits = if builtin {
            self.limits.of(name)
        } else {
            &self.limits.defaults
        };
        module.metadata = self.describe(&module, limits)?;
        let own = self.limits.of(&module.metadata.name);
        if !builtin && own != limits {
            let again = self.describe(&module, own)?;
            if metadata_to_json(&again) != metadata_to_json(&module.metadata) {
                return Err(LoadError::Inconsistent);
            }
        }
        if let Some(cache) = &self.cache {
            cache.store_description(&digest, metadata_to_json(&module.metadata).as_bytes());
        }
        Ok(module)
    }

    /// Compiles `bytes` and stores the artifact in the cache, if there is one.
    fn compile(&self, digest: &[u8; 32], bytes: &[u8]) -> wasmtime::Result<Component> {
        match &self.cache {
            Some(cache) => cache.compile(&self.engine, digest, bytes),
            None => Component::new(&self.engine, bytes),
        }
    }

    /// What `module` describes itself as, asked under `limits`.
    fn describe(&self, module: &Module, limits: &Limits) -> Result<wit::Metadata, LoadError> {
        let metadata = self
            .call_fresh(module, limits, |definition, store| {
                definition.call_describe(store)
            })
            .map_err(|e| match e {
                CallError::Limit { limit, detail } => LoadError::DescribeLimit { limit, detail },
                CallError::Trap { message, .. } => LoadError::DescribeTrap(message),
            })?;
        let size = metadata.parameter_schema.len() + metadata.description.len();
        if size > limits.output {
            return Err(LoadError::DescribeOutput(size));
        }
        Ok(metadata)
    }

    /// Calls `render` on a fresh instance of `module`.
    pub fn render(
        &self,
        module: &Module,
        request: &wit::RenderRequest,
    ) -> Result<Result<wit::RenderResponse, Vec<wit::Diagnostic>>, CallError> {
        self.instances().render(module, request)
    }

    /// A run of calls that may share instances: see [`Instances`].
    pub fn instances(&self) -> Instances<'_> {
        Instances {
            sandbox: self,
            live: HashMap::new(),
        }
    }

    /// Whether `module`'s instance may serve several calls: Kiln's own built-ins, and the
    /// external definitions the platform names in [`LimitPolicy::reuse`].
    pub fn reuses(&self, module: &Module) -> bool {
        module.builtin || self.limits.reuse.contains(&module.name)
    }

    /// A fresh store under `limits`, charged to this sandbox's memory budget, and the
    /// handles the host keeps on it.
    fn store(&self, limits: &Limits) -> (Store<State>, Wiring) {
        let (wasi, wiring) = Wiring::new();
        let state = State {
            wasi,
            table: ResourceTable::new(),
            meter: Meter::new(limits, self.budget.clone()),
            time_limit: limits.time,
            slept: Duration::ZERO,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.meter);
        store.epoch_deadline_trap();
        (store, wiring)
    }

    /// Gives the next call on `store` its full time, sleep allowance and fuel, and its
    /// own randomness and stderr.
    fn arm(
        &self,
        store: &mut Store<State>,
        wiring: &Wiring,
        limits: &Limits,
    ) -> Result<(), CallError> {
        let ticks = (limits.time.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        let state = store.data_mut();
        state.time_limit = limits.time;
        state.slept = Duration::ZERO;
        wiring.restart();
        if self.fuel {
            store
                .set_fuel(limits.fuel.unwrap_or(u64::MAX))
                .map_err(|e| CallError::other(format!("cannot set fuel: {e}")))?;
        }
        Ok(())
    }

    /// One call on a fresh instance of `module`, under `limits`.
    fn call_fresh<R>(
        &self,
        module: &Module,
        limits: &Limits,
        f: impl FnOnce(&bindings::Definition, &mut Store<State>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let (mut store, wiring) = self.store(limits);
        self.arm(&mut store, &wiring, limits)?;
        let result = module
            .pre
            .instantiate(&mut store)
            .and_then(|definition| f(&definition, &mut store));
        result.map_err(|e| self.classify(e, &mut store, &wiring, limits))
    }

    /// How a failed call on `store` reads.
    fn classify(
        &self,
        error: wasmtime::Error,
        store: &mut Store<State>,
        wiring: &Wiring,
        limits: &Limits,
    ) -> CallError {
        let hit = store.data_mut().meter.take_hit();
        trap::classify(
            error,
            hit,
            limits,
            self.limits.defaults.stack,
            &wiring.stderr.contents(),
        )
    }
}

/// The metadata of a module before it described itself.
fn placeholder_metadata(name: &str) -> wit::Metadata {
    wit::Metadata {
        name: name.to_string(),
        kind: wit::Kind::Workload,
        version: String::new(),
        description: String::new(),
        parameter_schema: String::new(),
        applies_to: Vec::new(),
        conflicts_with: Vec::new(),
        workload_type: None,
    }
}

/// Live instances for a run of calls: those of modules the sandbox [`reuses`]
/// (Sandbox::reuses), one per module, each serving the calls that follow it. Instantiating
/// (and touching a new linear memory's pages) costs more than a render, so
/// [`crate::render`] renders a fixed chunk of components with one `Instances`. Every other
/// module gets a fresh instance per call, dropped when the call returns.
///
/// Every call still runs under its definition's full limits (time, sleep and fuel are
/// reset before each, randomness restarts its sequence, stderr its tail). What carries
/// over in a reused instance is what a module keeps in its own memory between calls: only
/// modules that are pure functions of their input are reused, and the chunks are formed
/// the same way whatever the number of threads. An instance that traps is dropped.
pub struct Instances<'s> {
    sandbox: &'s Sandbox,
    live: HashMap<String, Live>,
}

/// An instance and its store.
struct Live {
    store: Store<State>,
    definition: bindings::Definition,
    wiring: Wiring,
}

impl Instances<'_> {
    /// Calls `render` of `module`: on its live instance or a new one when the sandbox
    /// reuses it, else on a fresh instance.
    pub fn render(
        &mut self,
        module: &Module,
        request: &wit::RenderRequest,
    ) -> Result<Result<wit::RenderResponse, Vec<wit::Diagnostic>>, CallError> {
        let sandbox = self.sandbox;
        let limits = sandbox.limits.of(&module.name);
        if !sandbox.reuses(module) {
            let result = sandbox.call_fresh(module, limits, |definition, store| {
                definition.call_render(store, request)
            })?;
            check_response(&result, limits)?;
            return Ok(result);
        }
        let live = match self.live.entry(module.name.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let (mut store, wiring) = sandbox.store(limits);
                sandbox.arm(&mut store, &wiring, limits)?;
                let definition = module
                    .pre
                    .instantiate(&mut store)
                    .map_err(|error| sandbox.classify(error, &mut store, &wiring, limits))?;
                e.insert(Live {
                    store,
                    definition,
                    wiring,
                })
            }
        };
        sandbox.arm(&mut live.store, &live.wiring, limits)?;
        let result = match live.definition.call_render(&mut live.store, request) {
            Ok(result) => result,
            Err(error) => {
                let error = sandbox.classify(error, &mut live.store, &live.wiring, limits);
                self.live.remove(&module.name);
                return Err(error);
            }
        };
        check_response(&result, limits)?;
        Ok(result)
    }
}

impl Drop for Instances<'_> {
    /// Tears the instances down on the thread pool, off the caller's way: unmapping a
    /// store's memory costs ~30 µs and an interrupt of every other core, and a
    /// one-component render would otherwise wait for seven of them before it prints. A
    /// pool of one thread may be the caller itself, which runs a spawned job only when it
    /// next waits on the pool: there they are dropped here.
    fn drop(&mut self) {
        let live = std::mem::take(&mut self.live);
        if !live.is_empty() && rayon::current_num_threads() > 1 {
            rayon::spawn(move || drop(live));
        }
    }
}

/// The per-call caps on what a render returns: objects, then bytes.
fn check_response(
    result: &Result<wit::RenderResponse, Vec<wit::Diagnostic>>,
    limits: &Limits,
) -> Result<(), CallError> {
    if let Ok(response) = result {
        let objects = response.outputs.len() + usize::from(response.output.is_some());
        if objects > limits.objects {
            return Err(CallError::Limit {
                limit: Limit::Objects,
                detail: format!("returned {objects} objects, limit {}", limits.objects),
            });
        }
    }
    let size = match result {
        Ok(response) => response_size(response),
        Err(diagnostics) => diagnostics.iter().map(|d| d.message.len()).sum(),
    };
    if size > limits.output {
        return Err(CallError::Limit {
            limit: Limit::Output,
            detail: format!(
                "returned {size} bytes, limit {}",
                limits::human_bytes(limits.output)
            ),
        });
    }
    Ok(())
}

/// Advances the engine's epoch every [`EPOCH_TICK`] while the engine lives.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("kiln-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .expect("spawn the epoch thread");
}

fn response_size(response: &wit::RenderResponse) -> usize {
    let patch = |p: &wit::Patch| match p {
        wit::Patch::Merge(s) | wit::Patch::JsonMergePatch(s) | wit::Patch::JsonPatch(s) => s.len(),
    };
    response.output.as_ref().map_or(0, String::len)
        + response
            .outputs
            .iter()
            .map(|o| o.name.len() + o.object.len())
            .sum::<usize>()
        + response.patch.as_ref().map_or(0, patch)
        + response
            .patch_outputs
            .iter()
            .map(|p| p.name.len() + patch(&p.patch))
            .sum::<usize>()
        + response
            .diagnostics
            .iter()
            .map(|d| d.message.len())
            .sum::<usize>()
}

/// A module's description as JSON, for the cache.
fn metadata_to_json(m: &wit::Metadata) -> String {
    let kind = match m.kind {
        wit::Kind::Workload => "workload",
        wit::Kind::Trait => "trait",
        wit::Kind::Policy => "policy",
    };
    serde_json::json!({
        "name": m.name,
        "kind": kind,
        "version": m.version,
        "description": m.description,
        "parameterSchema": m.parameter_schema,
        "appliesTo": m.applies_to,
        "conflictsWith": m.conflicts_with,
        "workloadType": m.workload_type,
    })
    .to_string()
}

/// The inverse of [`metadata_to_json`]; `None` for anything else (then `describe` runs).
fn metadata_from_json(text: &[u8]) -> Option<wit::Metadata> {
    let v: serde_json::Value = serde_json::from_slice(text).ok()?;
    let string = |key: &str| v[key].as_str().map(str::to_string);
    let strings = |key: &str| -> Option<Vec<String>> {
        v[key]
            .as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    Some(wit::Metadata {
        name: string("name")?,
        kind: match v["kind"].as_str()? {
            "workload" => wit::Kind::Workload,
            "trait" => wit::Kind::Trait,
            "policy" => wit::Kind::Policy,
            _ => return None,
        },
        version: string("version")?,
        description: string("description")?,
        parameter_schema: string("parameterSchema")?,
        applies_to: strings("appliesTo")?,
        conflicts_with: strings("conflictsWith")?,
        workload_type: match &v["workloadType"] {
            serde_json::Value::Null => None,
            other => Some(other.as_str()?.to_string()),
        },
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

#[cfg(test)]
mod tests;
