//! How many threads a command works on, decided once before it runs.
//!
//! A second thread pays only when there is enough work to share. Below that it costs CPU
//! and saves no time: rayon's workers spin a while before they sleep, and every thread
//! faults in its own stack and allocator heap. Argo CD runs one process per application,
//! many at once, so that CPU is taken from the other renders. Measured on the benchmark
//! app (release build, warm cache, idle 2-core machine, `perf stat`, three interleaved
//! rounds; docs/performance.md, "Threads"):
//!
//! | components | CPU, 1 thread / 2 | wall, 1 thread / 2 |
//! |---:|---|---|
//! | 1 | 4.6–4.9 / 5.9–6.2 ms | 5.4–5.8 / 5.5–6.0 ms |
//! | 5 | 5.7–6.4 / 7.5–7.6 ms | 6.6–6.7 / 6.3–6.5 ms |
//! | 10 | 7.1–7.7 / 7.5–8.5 ms | 7.9–8.2 / 7.6–7.7 ms |
//! | 15 | 7.9–8.5 / 8.9–10.3 ms | 8.9–9.0 / 7.9–8.0 ms |
//!
//! So `--threads auto` (the default) renders an application file smaller than
//! [`SMALL_APP_BYTES`] on the calling thread alone, with no other thread started, and a
//! larger one (or stdin, or a tree of applications) on every core.

use std::num::NonZeroUsize;
use std::path::Path;
use std::str::FromStr;

/// Application files smaller than this render on one thread under `--threads auto`:
/// about seven components of the benchmark app. One thread costs a fifth less CPU up to
/// five components for ~3 % more wall time at most; at ten, ~10 % less CPU for ~10 % more
/// wall time, the break-even this cut sits below. Most applications are smaller
/// (`examples/shop` is 2 KiB).
pub const SMALL_APP_BYTES: u64 = 8 * 1024;

/// The `--threads` flag: `auto` or a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// One thread for a small application file, every core otherwise.
    Auto,
    /// This many threads (1: the calling thread alone).
    Count(NonZeroUsize),
}

impl FromStr for Threads {
    type Err = String;

    fn from_str(text: &str) -> Result<Threads, String> {
        if text == "auto" {
            return Ok(Threads::Auto);
        }
        text.parse::<NonZeroUsize>()
            .map(Threads::Count)
            .map_err(|_| format!("expected `auto` or a number of threads from 1, got {text:?}"))
    }
}

/// How many threads a command on the application at `input` works on: `None` leaves
/// rayon's default (one per core). `input` is the file or directory the command reads, or
/// `None` when that is unknown (stdin, a tree of applications, no application at all).
pub fn count(threads: Threads, input: Option<&Path>) -> Option<usize> {
    match threads {
        Threads::Count(n) => Some(n.get()),
        Threads::Auto => input
            .and_then(app_bytes)
            .filter(|&bytes| bytes < SMALL_APP_BYTES)
            .map(|_| 1),
    }
}

/// Builds rayon's global pool with `count` threads; with one, the calling thread is the
/// pool, so no thread is started. Call it before anything runs in parallel.
pub fn configure(count: Option<usize>) {
    let Some(count) = count else {
        return;
    };
    let builder = rayon::ThreadPoolBuilder::new().num_threads(count);
    let builder = if count == 1 {
        builder.use_current_thread()
    } else {
        builder
    };
    // It fails only when the pool exists already; nothing before a command creates it,
    // and a pool of the default size would still render correctly.
    let _ = builder.build_global();
}

/// The size of the application file at `path` (or in the directory `path`), without
/// following a symbolic link: only a regular file is measured. It only sizes the pool;
/// the command reads (and checks) the file itself.
fn app_bytes(path: &Path) -> Option<u64> {
    let file = kiln::app::find_app_file(path).ok()?;
    let metadata = std::fs::symlink_metadata(file).ok()?;
    metadata.is_file().then_some(metadata.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_auto_and_counts() {
        assert_eq!("auto".parse(), Ok(Threads::Auto));
        assert_eq!(
            "3".parse::<Threads>(),
            Ok(Threads::Count(NonZeroUsize::new(3).unwrap()))
        );
        for bad in ["0", "-1", "two", ""] {
            let error = bad.parse::<Threads>().unwrap_err();
            assert!(error.contains("expected `auto` or a number"), "{error}");
        }
    }

    #[test]
    fn auto_gives_one_thread_to_a_small_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small.yaml");
        std::fs::write(&small, "name: x\n").unwrap();
        let large = dir.path().join("large.yaml");
        std::fs::write(&large, vec![b'#'; SMALL_APP_BYTES as usize]).unwrap();
        assert_eq!(count(Threads::Auto, Some(&small)), Some(1));
        assert_eq!(count(Threads::Auto, Some(&large)), None);
        // Unknown input (stdin, a tree) and a path with no application: every core.
        assert_eq!(count(Threads::Auto, None), None);
        assert_eq!(count(Threads::Auto, Some(&dir.path().join("none"))), None);
        let four = Threads::Count(NonZeroUsize::new(4).unwrap());
        assert_eq!(count(four, Some(&small)), Some(4));
    }

    #[cfg(unix)]
    #[test]
    fn auto_does_not_follow_a_symbolic_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.yaml");
        std::fs::write(&target, "name: x\n").unwrap();
        let link = dir.path().join("app.yaml");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(count(Threads::Auto, Some(&link)), None);
    }
}
