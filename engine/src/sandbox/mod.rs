//! The WebAssembly sandbox: one wasmtime [`Engine`] per process, a pre-instantiated
//! component ([`wasmtime::component::InstancePre`]) per definition, and a [`Store`] per
//! instance. Kiln's built-ins are members of one component, its standard library
//! (`traits/library`, of the `kiln:library` world), linked once and shared.
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
use std::sync::{Arc, Mutex, OnceLock};
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

/// Kiln's standard library (`sdk/wit/library/`): its members speak the same types.
mod library_bindings {
    wasmtime::component::bindgen!({
        path: ["../sdk/wit", "../sdk/wit/library/library.wit"],
        world: "kiln:library/library",
        with: {
            "kiln:definition/types": super::bindings::kiln::definition::types,
        },
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
    /// Shared with the sandboxes [`Sandbox::for_request`] makes.
    cache: Option<Arc<CompiledCache>>,
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
    /// Kiln's standard library, once linked, by its digest ([`Sandbox::load_builtin`]).
    library: Arc<OnceLock<LinkedLibrary>>,
}

/// A standard library linked once: its digest, and the instance-pre of its component.
type LinkedLibrary = ([u8; 32], Arc<library_bindings::LibraryPre<State>>);

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
    /// sha256 of its component bytes (a built-in's: of the library it is a member of).
    pub digest: [u8; 32],
    /// One of Kiln's own built-ins (a member of the library embedded in the binary).
    pub builtin: bool,
    code: Code,
}

/// A module's code, linked and ready to instantiate.
enum Code {
    /// A component of the `kiln:definition` world: a definition of its own.
    Definition(bindings::DefinitionPre<State>),
    /// Kiln's standard library, shared by its members: a call names the module's member.
    Library(Arc<library_bindings::LibraryPre<State>>),
}

impl Code {
    fn instantiate(&self, store: &mut Store<State>) -> wasmtime::Result<Instance> {
        Ok(match self {
            Code::Definition(pre) => Instance::Definition(pre.instantiate(store)?),
            Code::Library(pre) => Instance::Library(pre.instantiate(store)?),
        })
    }
}

/// An instance of a module's [`Code`].
enum Instance {
    Definition(bindings::Definition),
    Library(library_bindings::Library),
}

impl Instance {
    /// `describe` of the definition `name` (none: the library has no such member).
    fn describe(
        &self,
        store: &mut Store<State>,
        name: &str,
    ) -> wasmtime::Result<Option<wit::Metadata>> {
        match self {
            Instance::Definition(definition) => definition.call_describe(store).map(Some),
            Instance::Library(library) => library.call_describe(store, name),
        }
    }

    /// `render` of the definition `name`.
    fn render(
        &self,
        store: &mut Store<State>,
        name: &str,
        request: &wit::RenderRequest,
    ) -> wasmtime::Result<Result<wit::RenderResponse, Vec<wit::Diagnostic>>> {
        match self {
            Instance::Definition(definition) => definition.call_render(store, request),
            Instance::Library(library) => library.call_render(store, name, request),
        }
    }
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
        // The reservation must hold the largest memory limit; a smaller one is enforced by
        // the limiter (`Meter`) alone. Never reserving less than the default keeps the
        // engine, and so the compiled code, the one the build precompiled the built-ins
        // for: a platform that lowers the memory limit does not compile the library.
        let memory = limits
            .all()
            .map(|l| l.memory)
            .max()
            .unwrap_or(0)
            .max(engine_config::DEFAULT_MEMORY);
        let mut config = engine_config::engine_config(fuel, memory, limits.defaults.stack);
        code::configure(&mut config);
        let engine = Engine::new(&config)?;

        let mut linker = Linker::new(&engine);
        wasi::add_to_linker(&mut linker)?;

        start_epoch_ticker(&engine);
        let mut warnings = Vec::new();
        let cache = cache_dir.and_then(|dir| {
            CompiledCache::open(&dir, &engine, limits.cache_max)
                .map(Arc::new)
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
            library: Arc::new(OnceLock::new()),
        })
    }

    /// A sandbox for one request of a resident renderer (`kiln serve`): it shares this
    /// one's engine, linker, compiled-module cache and linked library, so the modules of
    /// this sandbox's registries run in it, but has its own memory budget and warnings. A
    /// request's memory is then never charged to another's, and its verdict is the one a
    /// sandbox of its own would give.
    pub fn for_request(&self) -> Sandbox {
        Sandbox {
            engine: self.engine.clone(),
            linker: self.linker.clone(),
            cache: self.cache.clone(),
            limits: self.limits.clone(),
            fuel: self.fuel,
            id: self.id,
            engine_key: self.engine_key.clone(),
            budget: MemoryBudget::new(self.limits.budget),
            warnings: Mutex::new(Vec::new()),
            library: self.library.clone(),
        }
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
        self.cache.as_deref()
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

    /// Compiles (or loads) the definition component `bytes`, links it, and asks it to
    /// describe itself. `digest` is the sha256 of `bytes` when the caller knows it.
    ///
    /// The module is loaded from the cache when a verified artifact is there, and
    /// otherwise has its imports checked before it is compiled. It describes itself under
    /// the default limits, and again under its own when the platform sets some for the
    /// name it gave: no file name earns a module another definition's limits.
    pub fn load(
        &self,
        name: &str,
        bytes: &[u8],
        digest: Option<[u8; 32]>,
    ) -> Result<Module, LoadError> {
        let digest = digest.unwrap_or_else(|| sha256(bytes));
        let component = self.component(bytes, &digest, None)?;
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
            builtin: false,
            code: Code::Definition(pre),
        };
        if let Some(metadata) = self.cached_description(&digest) {
            module.metadata = metadata;
            return Ok(module);
        }
        let limits = &self.limits.defaults;
        module.metadata = self.describe(&module, limits)?;
        let own = self.limits.of(&module.metadata.name);
        if own != limits {
            let again = self.describe(&module, own)?;
            if metadata_to_json(&again) != metadata_to_json(&module.metadata) {
                return Err(LoadError::Inconsistent);
            }
        }
        self.store_description(&digest, &module.metadata);
        Ok(module)
    }

    /// The built-in `name`: the member of that name of Kiln's standard library, the
    /// component `library` (whose sha256 is `digest`) embedded in the binary with its
    /// `precompiled` artifact. The library is loaded once per sandbox, and shared by its
    /// members' modules.
    ///
    /// The artifact is used whenever this sandbox's engine is the one it was compiled for
    /// (the cache is then not read for code at all: nothing on disk can stand in for a
    /// built-in); otherwise the library is compiled, or loaded from the cache, like any
    /// module. A built-in describes itself under its own limits.
    pub fn load_builtin(
        &self,
        name: &str,
        library: &[u8],
        digest: [u8; 32],
        precompiled: Precompiled,
    ) -> Result<Module, LoadError> {
        let pre = self.library(library, &digest, precompiled)?;
        let mut module = Module {
            name: name.to_string(),
            metadata: placeholder_metadata(name),
            digest,
            builtin: true,
            code: Code::Library(pre),
        };
        // The library's members share its digest: each description is cached under its
        // own key.
        let key = sha256(&[&digest[..], name.as_bytes()].concat());
        if let Some(metadata) = self.cached_description(&key) {
            module.metadata = metadata;
            return Ok(module);
        }
        module.metadata = self.describe(&module, self.limits.of(name))?;
        self.store_description(&key, &module.metadata);
        Ok(module)
    }

    /// Kiln's standard library, linked: loaded by the first member asked for, then shared.
    /// Two threads that ask at once may both load it, and one is kept: a lock held across
    /// a load that compiles (on the thread pool) could be asked for again by a job the
    /// same thread runs while it waits.
    fn library(
        &self,
        bytes: &[u8],
        digest: &[u8; 32],
        precompiled: Precompiled,
    ) -> Result<Arc<library_bindings::LibraryPre<State>>, LoadError> {
        if let Some((loaded, pre)) = self.library.get()
            && loaded == digest
        {
            return Ok(pre.clone());
        }
        let component = self.component(bytes, digest, Some(precompiled))?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let pre = library_bindings::LibraryPre::new(pre)
            .map_err(|e| LoadError::World(format!("{e:#}")))?;
        let pre = Arc::new(pre);
        // Another library (only a test could ask for one) is not kept.
        let kept = self.library.get_or_init(|| (*digest, pre.clone()));
        Ok(if &kept.0 == digest {
            kept.1.clone()
        } else {
            pre
        })
    }

    /// The component `bytes` (sha256 `digest`), checked: from the `precompiled` artifact
    /// embedded in the binary when this sandbox's engine is the one it was compiled for,
    /// else from the cache when a verified artifact is there, else compiled after its
    /// imports are checked.
    fn component(
        &self,
        bytes: &[u8],
        digest: &[u8; 32],
        precompiled: Option<Precompiled>,
    ) -> Result<Component, LoadError> {
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
                .and_then(|c| c.load(&self.engine, digest))
            {
                Some(component) => Ok(component),
                None => {
                    interface::check_imports(bytes).map_err(LoadError::Interface)?;
                    self.compile(digest, bytes)
                }
            },
        }
        // wasmtime's first line says what is wrong; the rest is a dump of the bytes.
        .map_err(|e| LoadError::Invalid(first_line(&format!("{e:#}")).to_string()))?;
        interface::check_component(&self.engine, &component).map_err(LoadError::Interface)?;
        Ok(component)
    }

    /// A description the cache holds under `key`, if it reads as one.
    fn cached_description(&self, key: &[u8; 32]) -> Option<wit::Metadata> {
        let text = self.cache.as_ref()?.description(key)?;
        metadata_from_json(&text)
    }

    /// Keeps `metadata` in the cache, if there is one, under `key`.
    fn store_description(&self, key: &[u8; 32], metadata: &wit::Metadata) {
        if let Some(cache) = &self.cache {
            cache.store_description(key, metadata_to_json(metadata).as_bytes());
        }
    }

    /// Compiles `bytes` and stores the artifact in the cache, if there is one.
    fn compile(&self, digest: &[u8; 32], bytes: &[u8]) -> wasmtime::Result<Component> {
        on_every_core(|| match &self.cache {
            Some(cache) => cache.compile(&self.engine, digest, bytes),
            None => Component::new(&self.engine, bytes),
        })
    }

    /// What `module` describes itself as, asked under `limits`.
    fn describe(&self, module: &Module, limits: &Limits) -> Result<wit::Metadata, LoadError> {
        let metadata = self
            .call_fresh(module, limits, |instance, store| {
                instance.describe(store, &module.name)
            })
            .map_err(|e| match e {
                CallError::Limit { limit, detail } => LoadError::DescribeLimit { limit, detail },
                CallError::Trap { message, .. } => LoadError::DescribeTrap(message),
            })?
            .ok_or_else(|| {
                LoadError::World(format!(
                    "Kiln's standard library holds no definition named \"{}\"",
                    module.name
                ))
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
        f: impl FnOnce(&Instance, &mut Store<State>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let (mut store, wiring) = self.store(limits);
        self.arm(&mut store, &wiring, limits)?;
        let result = module
            .code
            .instantiate(&mut store)
            .and_then(|instance| f(&instance, &mut store));
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
/// (Sandbox::reuses), one per module, each serving the calls that follow it; the
/// built-ins, members of one library, share one instance (one per set of limits).
/// Instantiating
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
    live: HashMap<LiveKey, Live>,
}

/// What a live instance serves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum LiveKey {
    /// The calls of one definition of its own.
    Definition(String),
    /// The calls of the built-ins under one set of limits (the store's memory caps are
    /// set when it is made): the defaults (`None`), or those the platform set for the
    /// named built-in alone.
    Library(Option<String>),
}

/// An instance and its store.
struct Live {
    store: Store<State>,
    instance: Instance,
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
            let result = sandbox.call_fresh(module, limits, |instance, store| {
                instance.render(store, &module.name, request)
            })?;
            check_response(&result, limits)?;
            return Ok(result);
        }
        let key = match module.code {
            Code::Definition(_) => LiveKey::Definition(module.name.clone()),
            Code::Library(_) => LiveKey::Library(
                sandbox
                    .limits
                    .per_definition
                    .contains_key(&module.name)
                    .then(|| module.name.clone()),
            ),
        };
        let live = match self.live.entry(key.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let (mut store, wiring) = sandbox.store(limits);
                sandbox.arm(&mut store, &wiring, limits)?;
                let instance = module
                    .code
                    .instantiate(&mut store)
                    .map_err(|error| sandbox.classify(error, &mut store, &wiring, limits))?;
                e.insert(Live {
                    store,
                    instance,
                    wiring,
                })
            }
        };
        sandbox.arm(&mut live.store, &live.wiring, limits)?;
        let result = match live.instance.render(&mut live.store, &module.name, request) {
            Ok(result) => result,
            Err(error) => {
                let error = sandbox.classify(error, &mut live.store, &live.wiring, limits);
                self.live.remove(&key);
                return Err(error);
            }
        };
        check_response(&result, limits)?;
        Ok(result)
    }
}

#[cfg(test)]
impl Instances<'_> {
    /// How many instances are live.
    pub(crate) fn live_count(&self) -> usize {
        self.live.len()
    }
}

#[cfg(test)]
impl Sandbox {
    /// What the library `bytes` says it holds (`members` of the `kiln:library` world).
    pub(crate) fn library_members(
        &self,
        bytes: &[u8],
        digest: [u8; 32],
        precompiled: Precompiled,
    ) -> Result<Vec<String>, CallError> {
        let pre = self
            .library(bytes, &digest, precompiled)
            .map_err(|e| CallError::other(e.to_string()))?;
        let (mut store, wiring) = self.store(&self.limits.defaults);
        self.arm(&mut store, &wiring, &self.limits.defaults)?;
        pre.instantiate(&mut store)
            .and_then(|library| library.call_members(&mut store))
            .map_err(|e| CallError::other(format!("{e:#}")))
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
/// Runs `compile` with a rayon pool of every core. Cranelift compiles a module's functions
/// in parallel on the pool it runs in, and a small application renders on a pool of the
/// calling thread alone (`--threads auto`), which left a cold compile on one core: 14.3 s
/// instead of ~6 s for an 18 MB Python component on 2 cores (docs/performance.md,
/// "Definitions in Python"). A compile happens once per module and machine, so the pool's
/// threads cost nothing on the warm path.
fn on_every_core<T: Send>(compile: impl FnOnce() -> T + Send) -> T {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if rayon::current_num_threads() >= cores {
        return compile();
    }
    match rayon::ThreadPoolBuilder::new().num_threads(cores).build() {
        Ok(pool) => pool.install(compile),
        Err(_) => compile(),
    }
}

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
