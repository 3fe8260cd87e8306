//! `kiln`: render KubeVela applications to Kubernetes manifests through sandboxed
//! WebAssembly definitions. A thin layer over the `kiln` library: parse arguments, run,
//! print the result or the error.
//!
//! Output is all-or-nothing: it is built in memory and written to stdout only when the
//! whole render succeeded. Errors go to stderr, and the exit code is 1 (2 for bad usage).

mod args;
mod commands;
mod output;
mod scaffold;
mod setup;
mod threads;
mod wire;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

// A render allocates many short-lived JSON values on two threads; mimalloc keeps freed pages
// for reuse where glibc's malloc returned and re-faulted them (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`, which `libmimalloc-sys` does not name: its place in
/// `mimalloc.h`'s `mi_option_e`, the same in mimalloc v2 and v3.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Has mimalloc give freed pages back to the kernel 1 ms after they are freed, not 10. A
/// render frees the application file's tree once the application is read (~8 MiB at 1,000
/// components, see `kiln::app::Source`) and allocates on other threads from then on: with
/// the default delay those pages stay resident for the whole render, and peak memory at
/// 1,000 components is 54 MiB instead of 47 (docs/performance.md).
fn return_freed_pages_sooner() {
    // SAFETY: sets an option's value; mimalloc reads its options at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1) };
}

fn main() -> ExitCode {
    return_freed_pages_sooner();
    let args = args::Args::parse();
    let verbose = args.flags.verbose || std::env::var("KILN_LOG").is_ok_and(|v| v == "debug");
    match commands::run(args) {
        Ok(output) => {
            for warning in &output.warnings {
                eprintln!("{warning}");
            }
            // Buffered: the output comes in many pieces, and stdout alone flushes each line.
            let mut stdout = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
            match output
                .stdout
                .write_to(&mut stdout)
                .and_then(|()| stdout.flush())
            {
                Ok(()) if output.failed => ExitCode::FAILURE,
                Ok(()) => ExitCode::SUCCESS,
                // A closed pipe (`kiln render | head`) is the reader's choice, not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: writing the output: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            if verbose {
                print_backtraces(&error);
            }
            ExitCode::FAILURE
        }
    }
}

/// The wasm backtraces behind `error` (a trapped definition's), which its one-line message
/// leaves out.
fn print_backtraces(error: &anyhow::Error) {
    let traces = error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<kiln::Error>())
        .flat_map(kiln::Error::backtraces);
    for trace in traces {
        eprintln!("\n{trace}");
    }
}
