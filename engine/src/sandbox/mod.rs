//! The WebAssembly sandbox: one wasmtime [`Engine`] per process, a pre-instantiated
//! component ([`wasmtime::component::InstancePre`]) per definition, and a fresh [`Store`]
//! and instance for every call, so no state leaks between components or applications.
//!
//! A module gets WASI with nothing granted: no files, no environment, no arguments, no
//! sockets, stdout discarded, stderr captured (bounded) for panic messages, and clocks and
//! randomness pinned to constants so that the same input gives the same bytes. Every call
//! runs under [`Limits`]: a wall-clock deadline (epoch interruption), optionally a fuel
//! budget (deterministic: the same module and input run out at the same instruction on
//! every machine), caps on linear memory, table elements and wasm stack, and caps on the
//! bytes and the number of objects it returns. The platform may set limits per definition
//! ([`LimitPolicy`]).
//!
//! Before a module is linked, its imports are checked against an allow-list
//! ([`ALLOWED_IMPORTS`]): Kiln's own types and the WASI 0.2 interfaces the linker offers,
//! all of which grant nothing. Anything else is refused by name.

mod cache;
pub mod engine_config;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use rand::SeedableRng;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker, ResourceTable, types::ComponentItem};
use wasmtime::{Engine, Store};
use wasmtime::{StoreLimits, StoreLimitsBuilder, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView};

pub use cache::CompiledCache;

use crate::error::Limit;

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
/// Bytes of a module's stderr kept for error messages.
const STDERR_CAPACITY: usize = 16 * 1024;

/// Limits on every module call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time of one call (a backstop even when fuel is on).
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

/// The limits of every definition: defaults, and the platform's overrides by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitPolicy {
    /// Limits of definitions without an override.
    pub defaults: Limits,
    /// Limits of the named definitions (their `stack` is ignored: see [`Limits::stack`]).
    pub per_definition: BTreeMap<String, Limits>,
}

impl LimitPolicy {
    /// The limits of definition `name`.
    pub fn of(&self, name: &str) -> &Limits {
        self.per_definition.get(name).unwrap_or(&self.defaults)
    }

    fn all(&self) -> impl Iterator<Item = &Limits> {
        std::iter::once(&self.defaults).chain(self.per_definition.values())
    }
}

impl From<Limits> for LimitPolicy {
    fn from(defaults: Limits) -> Self {
        LimitPolicy {
            defaults,
            per_definition: BTreeMap::new(),
        }
    }
}

/// The imports a definition may have: interface names without their `@version`, and the
/// versions accepted. Kiln's world imports only its types; Rust's standard library
/// imports WASI's CLI, I/O, clock, random, filesystem and socket interfaces, which the
/// sandbox links with nothing granted (no preopened directory, no environment, every
/// address refused, pinned clocks and randomness).
pub const ALLOWED_IMPORTS: &[(&str, &str)] = &[
    ("kiln:definition/types", "0.1.0"),
    ("wasi:cli/", "0.2."),
    ("wasi:io/", "0.2."),
    ("wasi:clocks/", "0.2."),
    ("wasi:random/", "0.2."),
    ("wasi:filesystem/", "0.2."),
    ("wasi:sockets/", "0.2."),
];

/// The functions a definition must export.
const REQUIRED_EXPORTS: &[&str] = &["describe", "render"];

/// How a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The module broke a limit; `detail` says how, with the limit's value.
    Limit { limit: Limit, detail: String },
    /// The module trapped; `message` includes its panic message when it printed one.
    Trap { message: String },
}

/// The host's state in each [`Store`].
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A wall clock stopped at the Unix epoch: modules cannot observe time.
struct PinnedWallClock;

impl HostWallClock for PinnedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// A monotonic clock that never advances.
struct PinnedMonotonicClock;

impl HostMonotonicClock for PinnedMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
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
}

/// A module's artifact compiled ahead of time (the built-ins', by the build script), and
/// the [`engine_config::engine_key`] of the engine that compiled it.
#[derive(Debug, Clone, Copy)]
pub struct Precompiled {
    pub engine_key: &'static str,
    pub artifact: &'static [u8],
}

/// A definition compiled and ready to instantiate.
pub struct Module {
    /// The name it is registered under.
    pub name: String,
    /// What its `describe` returned.
    pub metadata: wit::Metadata,
    /// sha256 of its component bytes.
    pub digest: [u8; 32],
    pre: bindings::DefinitionPre<State>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("name", &self.name)
            .field("digest", &hex(&self.digest))
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A sandbox caching compiled modules under `cache_dir` (none: compile every time),
    /// running every call under `limits` (a [`Limits`] for all, or a [`LimitPolicy`]).
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
        let config = engine_config::engine_config(fuel, memory, limits.defaults.stack);
        let engine = Engine::new(&config)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;

        start_epoch_ticker(&engine);
        let cache = cache_dir.map(|dir| CompiledCache::new(&dir, &engine));
        Ok(Sandbox {
            engine_key: engine_config::engine_key(&engine),
            engine,
            linker,
            cache,
            limits,
            fuel,
            id: NEXT_SANDBOX_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
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

    /// Compiles (or loads from the cache) the component `bytes`, links it, and asks it to
    /// describe itself. `digest` is the sha256 of `bytes` when the caller knows it.
    /// `precompiled` is used instead of compiling when this sandbox's engine is the one it
    /// was compiled for.
    pub fn load(
        &self,
        name: &str,
        bytes: &[u8],
        digest: Option<[u8; 32]>,
        precompiled: Option<Precompiled>,
    ) -> Result<Module, String> {
        let digest = digest.unwrap_or_else(|| sha256(bytes));
        let precompiled = precompiled
            .filter(|p| p.engine_key == self.engine_key)
            .map(|p| p.artifact);
        let component = match (&self.cache, precompiled) {
            (Some(cache), _) => cache.load_or_compile(&self.engine, &digest, bytes, precompiled),
            // SAFETY: a built-in's artifact, compiled by the build script for this engine
            // configuration (the keys are equal) and embedded in this binary.
            (None, Some(artifact)) => unsafe { Component::deserialize(&self.engine, artifact) },
            (None, None) => Component::new(&self.engine, bytes),
        }
        // wasmtime's first line says what is wrong; the rest is a dump of the bytes.
        .map_err(|e| {
            format!(
                "not a valid WebAssembly component: {}",
                first_line(&error_chain(&e))
            )
        })?;
        self.check_interface(&component)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| format!("cannot be linked: {}", error_chain(&e)))?;
        let pre = bindings::DefinitionPre::new(pre).map_err(|e| {
            format!(
                "does not implement the kiln:definition@0.1.0 world: {}",
                error_chain(&e)
            )
        })?;
        let mut module = Module {
            name: name.to_string(),
            metadata: wit::Metadata {
                name: name.to_string(),
                kind: wit::Kind::Workload,
                version: String::new(),
                description: String::new(),
                parameter_schema: String::new(),
                applies_to: Vec::new(),
                conflicts_with: Vec::new(),
                workload_type: None,
            },
            digest,
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
        module.metadata = self
            .call(&module, |definition, store| definition.call_describe(store))
            .map_err(|e| match e {
                CallError::Limit { limit, detail } => {
                    format!("describe exceeded its {limit} limit ({detail})")
                }
                CallError::Trap { message } => {
                    format!("describe failed: {message}")
                }
            })?;
        let size = module.metadata.parameter_schema.len() + module.metadata.description.len();
        if size > self.limits.of(name).output {
            return Err(format!("describe returned {size} bytes"));
        }
        if let Some(cache) = &self.cache {
            cache.store_description(&digest, metadata_to_json(&module.metadata).as_bytes());
        }
        Ok(module)
    }

    /// Calls `render` on a fresh instance of `module`.
    pub fn render(
        &self,
        module: &Module,
        request: &wit::RenderRequest,
    ) -> Result<Result<wit::RenderResponse, Vec<wit::Diagnostic>>, CallError> {
        self.instances().render(module, request)
    }

    /// Refuses a component whose imports go beyond [`ALLOWED_IMPORTS`] or that lacks
    /// Kiln's exports, naming the offending import or the missing export.
    fn check_interface(&self, component: &Component) -> Result<(), String> {
        let ty = component.component_type();
        for (name, _) in ty.imports(&self.engine) {
            if !import_allowed(name) {
                return Err(format!(
                    "imports \"{name}\", which is not allowed: definitions may import only \
                     kiln:definition/types@0.1.0 and WASI 0.2 (cli, io, clocks, random, \
                     filesystem, sockets)"
                ));
            }
        }
        let exports: Vec<(&str, ComponentItem)> = ty
            .exports(&self.engine)
            .map(|(name, item)| (name, item.ty))
            .collect();
        for required in REQUIRED_EXPORTS {
            if !exports.iter().any(|(name, item)| {
                name == required && matches!(item, ComponentItem::ComponentFunc(_))
            }) {
                let found: Vec<&str> = exports.iter().map(|(name, _)| *name).collect();
                return Err(format!(
                    "does not export the function \"{required}\" of the \
                     kiln:definition@0.1.0 world (it exports: {})",
                    if found.is_empty() {
                        "nothing".to_string()
                    } else {
                        found.join(", ")
                    }
                ));
            }
        }
        Ok(())
    }

    /// A run of calls that may share instances: see [`Instances`].
    pub fn instances(&self) -> Instances<'_> {
        Instances {
            sandbox: self,
            live: HashMap::new(),
        }
    }

    /// A fresh store for `module`, under its limits (the per-call ones are set by
    /// [`Sandbox::arm`]), and the handles the host keeps on it.
    fn store(&self, module: &Module) -> (Store<State>, Wiring) {
        let wiring = Wiring {
            stderr: MemoryOutputPipe::new(STDERR_CAPACITY),
            random: [PinnedRandom::new(0), PinnedRandom::new(1)],
        };
        let [secure, insecure] = wiring.random.clone();
        let wasi = WasiCtx::builder()
            .stderr(wiring.stderr.clone())
            .wall_clock(PinnedWallClock)
            .monotonic_clock(PinnedMonotonicClock)
            .secure_random(secure)
            .insecure_random(insecure)
            .insecure_random_seed(0)
            .build();
        let limits = self.limits.of(&module.name);
        let state = State {
            wasi,
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory)
                .table_elements(limits.table_elements)
                .trap_on_grow_failure(true)
                .build(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.epoch_deadline_trap();
        (store, wiring)
    }

    /// Gives the next call on `store` its full time and fuel.
    fn arm(&self, store: &mut Store<State>, limits: &Limits) -> Result<(), CallError> {
        let ticks = (limits.time.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        if self.fuel {
            store
                .set_fuel(limits.fuel.unwrap_or(u64::MAX))
                .map_err(|e| CallError::Trap {
                    message: error_chain(&e),
                })?;
        }
        Ok(())
    }

    /// One call on a fresh instance of `module`.
    fn call<R>(
        &self,
        module: &Module,
        f: impl FnOnce(&bindings::Definition, &mut Store<State>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let limits = self.limits.of(&module.name);
        let (mut store, wiring) = self.store(module);
        self.arm(&mut store, limits)?;
        let result = module
            .pre
            .instantiate(&mut store)
            .and_then(|definition| f(&definition, &mut store));
        let printed = || wiring.stderr.contents();
        result.map_err(|e| classify(e, limits, self.limits.defaults.stack, &printed()))
    }
}

/// Live instances for a run of calls, one per module, each reused by the calls that follow
/// it. Instantiating (and touching a new linear memory's pages) costs more than a render, so
/// [`crate::render`] renders a fixed chunk of components with one `Instances`.
///
/// Every call still runs under its definition's full limits (time and fuel are reset before
/// each). What carries over is what a module keeps in its own memory between calls:
/// definitions must be pure functions of their input, and the chunks are formed the same way
/// whatever the number of threads, so even a module that is not sees the same calls in the
/// same order on every run. An instance that traps is dropped.
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

/// What the host keeps of a store's WASI context: its stderr, and its random generators.
struct Wiring {
    stderr: MemoryOutputPipe,
    /// `wasi:random/random` and `wasi:random/insecure`.
    random: [PinnedRandom; 2],
}

/// A random generator that restarts its fixed sequence before every call, so that a module
/// draws the same bytes on every call, however many calls its instance served before.
#[derive(Clone)]
struct PinnedRandom {
    seed: u64,
    rng: std::sync::Arc<std::sync::Mutex<rand::rngs::StdRng>>,
}

impl PinnedRandom {
    fn new(seed: u64) -> PinnedRandom {
        PinnedRandom {
            seed,
            rng: std::sync::Arc::new(std::sync::Mutex::new(rand::rngs::StdRng::seed_from_u64(
                seed,
            ))),
        }
    }

    fn restart(&self) {
        *self.lock() = rand::rngs::StdRng::seed_from_u64(self.seed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, rand::rngs::StdRng> {
        // Only this store's calls use it, one at a time: poisoning cannot hide a state.
        self.rng.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl rand::TryRng for PinnedRandom {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(rand::Rng::next_u32(&mut *self.lock()))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(rand::Rng::next_u64(&mut *self.lock()))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        rand::Rng::fill_bytes(&mut *self.lock(), dst);
        Ok(())
    }
}

impl Instances<'_> {
    /// Calls `render` of `module`, on its live instance or a new one.
    pub fn render(
        &mut self,
        module: &Module,
        request: &wit::RenderRequest,
    ) -> Result<Result<wit::RenderResponse, Vec<wit::Diagnostic>>, CallError> {
        let sandbox = self.sandbox;
        let limits = sandbox.limits.of(&module.name);
        let live = match self.live.entry(module.name.clone()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let (mut store, wiring) = sandbox.store(module);
                sandbox.arm(&mut store, limits)?;
                let definition = module.pre.instantiate(&mut store).map_err(|error| {
                    classify(
                        error,
                        limits,
                        sandbox.limits.defaults.stack,
                        &wiring.stderr.contents(),
                    )
                })?;
                e.insert(Live {
                    store,
                    definition,
                    wiring,
                })
            }
        };
        sandbox.arm(&mut live.store, limits)?;
        live.wiring.random.iter().for_each(PinnedRandom::restart);
        let printed_before = live.wiring.stderr.contents().len();
        let result = live.definition.call_render(&mut live.store, request);
        let result = match result {
            Ok(result) => result,
            Err(error) => {
                let printed = live.wiring.stderr.contents();
                let printed = printed.get(printed_before..).unwrap_or_default();
                let error = classify(error, limits, sandbox.limits.defaults.stack, printed);
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
    /// one-component render would otherwise wait for seven of them before it prints.
    fn drop(&mut self) {
        let live = std::mem::take(&mut self.live);
        if !live.is_empty() {
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
                human_bytes(limits.output)
            ),
        });
    }
    Ok(())
}

/// Names the limit a failed call broke, or keeps the trap's message (with the guest's
/// panic message when it printed one).
fn classify(error: wasmtime::Error, limits: &Limits, stack: usize, stderr: &[u8]) -> CallError {
    let chain = error_chain(&error);
    let limit = |limit, detail| CallError::Limit { limit, detail };
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => {
            return limit(
                Limit::Time,
                format!("ran longer than {} ms", limits.time.as_millis()),
            );
        }
        Some(Trap::OutOfFuel) => {
            return limit(
                Limit::Fuel,
                format!(
                    "ran out of fuel, limit {}",
                    limits.fuel.map_or("none".into(), quantity)
                ),
            );
        }
        Some(Trap::StackOverflow) => {
            return limit(
                Limit::Stack,
                format!("used more than {} of stack", human_bytes(stack)),
            );
        }
        _ => {}
    }
    if chain.contains("forcing trap when growing memory") {
        return limit(
            Limit::Memory,
            format!("tried to grow memory beyond {}", human_bytes(limits.memory)),
        );
    }
    if chain.contains("forcing trap when growing table") || chain.contains("table minimum size") {
        return limit(
            Limit::Table,
            format!(
                "tried to grow a table beyond {} element(s)",
                limits.table_elements
            ),
        );
    }
    let printed = String::from_utf8_lossy(stderr).trim().to_string();
    let message = if printed.is_empty() {
        chain
    } else {
        // The guest's panic message says more than "wasm trap: unreachable".
        format!("{printed} ({})", first_line(&chain))
    };
    CallError::Trap { message }
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

/// sha256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn error_chain(error: &wasmtime::Error) -> String {
    format!("{error:#}")
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// Whether an import name (`wasi:io/streams@0.2.6`) is on [`ALLOWED_IMPORTS`].
fn import_allowed(name: &str) -> bool {
    let (interface, version) = name.split_once('@').unwrap_or((name, ""));
    ALLOWED_IMPORTS.iter().any(|(allowed, versions)| {
        let interface_ok = match allowed.strip_suffix('/') {
            Some(package) => interface
                .strip_prefix(package)
                .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1),
            None => interface == *allowed,
        };
        interface_ok && version.starts_with(versions)
    })
}

/// `500M`, `2G`, `1500`: a count for people.
fn quantity(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 && n.is_multiple_of(1_000_000_000) => {
            format!("{}G", n / 1_000_000_000)
        }
        n if n >= 1_000_000 && n.is_multiple_of(1_000_000) => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n.is_multiple_of(1_000) => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

fn human_bytes(n: usize) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_kiln_types_and_wasi_0_2_only() {
        assert!(import_allowed("kiln:definition/types@0.1.0"));
        assert!(import_allowed("wasi:io/streams@0.2.6"));
        assert!(import_allowed("wasi:cli/environment@0.2.0"));
        assert!(!import_allowed("wasi:io/streams@0.3.0"));
        assert!(!import_allowed("wasi:http/outgoing-handler@0.2.0"));
        assert!(!import_allowed("evil:host/backdoor@0.1.0"));
        assert!(!import_allowed("wasi:io@0.2.0"));
        assert!(!import_allowed("kiln:definition/types@0.2.0"));
        assert!(!import_allowed("wasi:iox/streams@0.2.0"));
    }

    #[test]
    fn a_cached_description_reads_back_as_it_was() {
        let metadata = wit::Metadata {
            name: "scaler".into(),
            kind: wit::Kind::Trait,
            version: "0.1.0".into(),
            description: "Scales.".into(),
            parameter_schema: "{\"type\":\"object\"}".into(),
            applies_to: vec!["deployments.apps".into()],
            conflicts_with: vec![],
            workload_type: None,
        };
        let back = metadata_from_json(metadata_to_json(&metadata).as_bytes()).unwrap();
        assert_eq!(metadata_to_json(&back), metadata_to_json(&metadata));
        assert!(metadata_from_json(b"{\"name\": 1}").is_none());
        assert!(metadata_from_json(b"not json").is_none());
    }

    #[test]
    fn writes_quantities_for_people() {
        assert_eq!(quantity(500_000_000), "500M");
        assert_eq!(quantity(2_000_000_000), "2G");
        assert_eq!(quantity(1_500), "1500");
        assert_eq!(quantity(12_345), "12345");
        assert_eq!(quantity(7_000), "7k");
    }
}
