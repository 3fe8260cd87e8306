//! The WebAssembly sandbox: one wasmtime [`Engine`] per process, a pre-instantiated
//! component ([`wasmtime::component::InstancePre`]) per definition, and a fresh [`Store`]
//! and instance for every call, so no state leaks between components or applications.
//!
//! A module gets WASI with nothing granted: no files, no environment, no arguments, no
//! sockets, stdout discarded, stderr captured (bounded) for panic messages, and clocks and
//! randomness pinned to constants so that the same input gives the same bytes. Every call
//! runs under [`Limits`]: a wall-clock deadline (epoch interruption), a linear-memory cap,
//! a wasm stack cap, and a cap on the bytes it returns.

mod cache;

use std::path::PathBuf;
use std::time::Duration;

use rand::SeedableRng;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
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

/// Interval of the epoch ticker that enforces [`Limits::time`].
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Bytes of a module's stderr kept for error messages.
const STDERR_CAPACITY: usize = 16 * 1024;

/// Limits on every module call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time of one call.
    pub time: Duration,
    /// Linear memory of one instance, in bytes.
    pub memory: usize,
    /// Bytes of JSON one call may return.
    pub output: usize,
    /// Wasm stack, in bytes.
    pub stack: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            time: Duration::from_secs(5),
            memory: 256 * 1024 * 1024,
            output: 16 * 1024 * 1024,
            stack: 1024 * 1024,
        }
    }
}

/// How a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The module broke a limit.
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
    limits: Limits,
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
    /// A sandbox caching compiled modules under `cache_dir` (none: compile every time).
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>) -> wasmtime::Result<Sandbox> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .max_wasm_stack(limits.stack)
            .cranelift_nan_canonicalization(true)
            .relaxed_simd_deterministic(true)
            // Reserve only what the memory limit allows (not wasmtime's 4 GiB per memory):
            // a one-shot process should not map a terabyte of address space for its pool.
            .memory_reservation(limits.memory as u64)
            .memory_guard_size(64 * 1024)
            .memory_reservation_for_growth(0);
        // Instances come from the on-demand allocator with data segments copied, not the
        // pooling allocator with copy-on-write images: for a short-lived process whose
        // instances live microseconds, the pool's slot reset (memset, madvise and the TLB
        // shootdowns it sends to every core) cost more than it saved. Measured on the
        // benchmark app, 2 cores: N=100 89.7 ms vs 124.5 ms pooled, N=1 6.9 ms vs 12.7 ms.
        config.memory_init_cow(false);
        let engine = Engine::new(&config)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;

        start_epoch_ticker(&engine);
        let cache = cache_dir.map(|dir| CompiledCache::new(&dir, &engine));
        Ok(Sandbox {
            engine,
            linker,
            cache,
            limits,
        })
    }

    /// The compiled-module cache, if any.
    pub fn cache(&self) -> Option<&CompiledCache> {
        self.cache.as_ref()
    }

    /// Compiles (or loads from the cache) the component `bytes`, links it, and asks it to
    /// describe itself. `digest` is the sha256 of `bytes` when the caller knows it.
    pub fn load(
        &self,
        name: &str,
        bytes: &[u8],
        digest: Option<[u8; 32]>,
    ) -> Result<Module, String> {
        let digest = digest.unwrap_or_else(|| sha256(bytes));
        let component = match &self.cache {
            Some(cache) => cache.load_or_compile(&self.engine, &digest, bytes),
            None => Component::new(&self.engine, bytes),
        }
        .map_err(|e| format!("not a valid WebAssembly component: {}", error_chain(&e)))?;
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
        if size > self.limits.output {
            return Err(format!("describe returned {size} bytes"));
        }
        Ok(module)
    }

    /// Calls `render` on a fresh instance of `module`.
    pub fn render(
        &self,
        module: &Module,
        request: &wit::RenderRequest,
    ) -> Result<Result<wit::RenderResponse, Vec<wit::Diagnostic>>, CallError> {
        let result = self.call(module, |definition, store| {
            definition.call_render(store, request)
        })?;
        let size = match &result {
            Ok(response) => response_size(response),
            Err(diagnostics) => diagnostics.iter().map(|d| d.message.len()).sum(),
        };
        if size > self.limits.output {
            return Err(CallError::Limit {
                limit: Limit::Output,
                detail: format!(
                    "returned {size} bytes, limit {}",
                    human_bytes(self.limits.output)
                ),
            });
        }
        Ok(result)
    }

    fn call<R>(
        &self,
        module: &Module,
        f: impl FnOnce(&bindings::Definition, &mut Store<State>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .wall_clock(PinnedWallClock)
            .monotonic_clock(PinnedMonotonicClock)
            .secure_random(rand::rngs::StdRng::seed_from_u64(0))
            .insecure_random(rand::rngs::StdRng::seed_from_u64(1))
            .insecure_random_seed(0)
            .build();
        let state = State {
            wasi,
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.memory)
                .trap_on_grow_failure(true)
                .build(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        let ticks = (self.limits.time.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();

        let result = module
            .pre
            .instantiate(&mut store)
            .and_then(|definition| f(&definition, &mut store));
        result.map_err(|e| self.classify(e, &stderr))
    }

    fn classify(&self, error: wasmtime::Error, stderr: &MemoryOutputPipe) -> CallError {
        let chain = error_chain(&error);
        if let Some(Trap::Interrupt) = error.downcast_ref::<Trap>() {
            return CallError::Limit {
                limit: Limit::Time,
                detail: format!("ran longer than {:?}", self.limits.time),
            };
        }
        if chain.contains("forcing trap when growing memory") {
            return CallError::Limit {
                limit: Limit::Memory,
                detail: format!(
                    "tried to grow memory beyond {}",
                    human_bytes(self.limits.memory)
                ),
            };
        }
        if let Some(Trap::StackOverflow) = error.downcast_ref::<Trap>() {
            return CallError::Limit {
                limit: Limit::Stack,
                detail: format!("used more than {} of stack", human_bytes(self.limits.stack)),
            };
        }
        let printed = String::from_utf8_lossy(&stderr.contents())
            .trim()
            .to_string();
        let message = if printed.is_empty() {
            chain
        } else {
            // The guest's panic message says more than "wasm trap: unreachable".
            format!("{printed} ({})", first_line(&chain))
        };
        CallError::Trap { message }
    }
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

fn human_bytes(n: usize) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}
