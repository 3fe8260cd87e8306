//! `kiln`: render KubeVela applications to Kubernetes manifests through sandboxed
//! WebAssembly definitions. A thin layer over the `kiln` library: parse arguments, run,
//! print the result or the error.
//!
//! Output is all-or-nothing: it is built in memory and written to stdout only when the
//! whole render succeeded. Errors go to stderr, and the exit code is 1 (2 for bad usage).

mod cli;
mod scaffold;
mod tree;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

// A render allocates many short-lived JSON values on two threads; mimalloc keeps freed pages
// for reuse where glibc's malloc returned and re-faulted them (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match cli::run(args) {
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
            ExitCode::FAILURE
        }
    }
}
