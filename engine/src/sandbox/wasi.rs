//! The WASI a definition sees: nothing granted, nothing that varies, nothing that waits.
//!
//! - No files, environment, arguments or sockets (the context grants none);
//! - clocks stopped at zero and randomness replaying a fixed sequence, so that the same
//!   input gives the same bytes;
//! - sleeping never waits: the stopped clock has no future to wait for, so
//!   `monotonic-clock.subscribe-duration`/`subscribe-instant` return a pollable that is
//!   ready at once. The time a module asks to sleep is still charged to its call, and a
//!   sleep beyond the call's time limit fails the call with the time-limit error at once,
//!   never after the wait (wasmtime's epoch interruption cannot stop a host call);
//! - stdout is discarded and stderr accepts any amount, of which the host keeps a bounded
//!   tail for the panic message ([`Tail`]).

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use rand::SeedableRng;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{DynPollable, OutputStream, Pollable, StreamError};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx};

use super::State;
use crate::error::Limit;

/// Bytes of a call's stderr the host keeps: the end of what it printed, where a panic's
/// message is.
pub(super) const STDERR_TAIL: usize = 4 * 1024;

/// The monotonic-clock interface as wasmtime-wasi names it: guests importing any 0.2.x
/// version link to it. `sleep_returns_at_once` (tests/e2e/hostile.rs) fails if its
/// functions are not replaced.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// Adds WASI 0.2 to `linker`, with the monotonic clock's waits replaced by ones that never
/// block.
pub(super) fn add_to_linker(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap(
        "subscribe-duration",
        |mut store: StoreContextMut<'_, State>, (nanos,): (u64,)| {
            Ok((sleep(store.data_mut(), nanos)?,))
        },
    )?;
    // The clock reads 0, so an instant is that many nanoseconds away.
    clock.func_wrap(
        "subscribe-instant",
        |mut store: StoreContextMut<'_, State>, (instant,): (u64,)| {
            Ok((sleep(store.data_mut(), instant)?,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// A module asks to sleep `nanos`: charged to its call's time, answered at once.
fn sleep(state: &mut State, nanos: u64) -> wasmtime::Result<Resource<DynPollable>> {
    state.slept = state.slept.saturating_add(Duration::from_nanos(nanos));
    if state.slept > state.time_limit {
        let detail = format!(
            "asked to sleep {} in all, limit {} ms",
            seconds(state.slept),
            state.time_limit.as_millis()
        );
        return Err(state.meter.stop(Limit::Time, detail));
    }
    let ready = state.table.push(Ready)?;
    wasmtime_wasi::p2::subscribe(&mut state.table, ready)
}

/// `3600 s`, `1.5 s`, `250 ms`.
fn seconds(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{} s", (d.as_secs_f64() * 1000.0).round() / 1000.0)
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// A pollable that is always ready.
struct Ready;

#[wasmtime_wasi::async_trait]
impl Pollable for Ready {
    async fn ready(&mut self) {}
}

/// What the host keeps of a store's WASI context: its stderr tail and its random
/// generators.
pub(super) struct Wiring {
    pub(super) stderr: Tail,
    /// `wasi:random/random` and `wasi:random/insecure`.
    random: [PinnedRandom; 2],
}

impl Wiring {
    /// A WASI context that grants nothing, and the host's handles on it.
    pub(super) fn new() -> (WasiCtx, Wiring) {
        let wiring = Wiring {
            stderr: Tail::new(STDERR_TAIL),
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
        (wasi, wiring)
    }

    /// Prepares for the next call: randomness restarts its sequence and stderr its tail,
    /// so that a call sees, and reports, only its own.
    pub(super) fn restart(&self) {
        self.random.iter().for_each(PinnedRandom::restart);
        self.stderr.clear();
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

/// A random generator that restarts its fixed sequence before every call, so that a module
/// draws the same bytes on every call, however many calls its instance served before.
#[derive(Clone)]
struct PinnedRandom {
    seed: u64,
    rng: Arc<Mutex<rand::rngs::StdRng>>,
}

impl PinnedRandom {
    fn new(seed: u64) -> PinnedRandom {
        PinnedRandom {
            seed,
            rng: Arc::new(Mutex::new(rand::rngs::StdRng::seed_from_u64(seed))),
        }
    }

    fn restart(&self) {
        *self.lock() = rand::rngs::StdRng::seed_from_u64(self.seed);
    }

    fn lock(&self) -> MutexGuard<'_, rand::rngs::StdRng> {
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

/// An output stream that accepts any amount and keeps the last `capacity` bytes: a module
/// may log as much as it likes without failing, and its panic message, printed last, is
/// kept.
#[derive(Clone)]
pub(super) struct Tail {
    capacity: usize,
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl Tail {
    pub(super) fn new(capacity: usize) -> Tail {
        Tail {
            capacity,
            buffer: Arc::new(Mutex::new(Vec::with_capacity(0))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        // A write cannot leave the buffer half-updated in a way that matters.
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `bytes`, dropping the oldest beyond the capacity.
    fn push(&self, bytes: &[u8]) {
        let mut buffer = self.lock();
        let keep = bytes.len().min(self.capacity);
        let new = &bytes[bytes.len() - keep..];
        let overflow = (buffer.len() + new.len()).saturating_sub(self.capacity);
        buffer.drain(..overflow);
        buffer.extend_from_slice(new);
    }

    /// The bytes kept.
    pub(super) fn contents(&self) -> Vec<u8> {
        self.lock().clone()
    }

    fn clear(&self) {
        self.lock().clear();
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for Tail {
    fn write(&mut self, bytes: bytes::Bytes) -> Result<(), StreamError> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always room: what exceeds the tail replaces its oldest bytes.
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Tail {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for Tail {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for Tail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Tail {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests;
