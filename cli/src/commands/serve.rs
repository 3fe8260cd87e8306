//! `kiln serve --socket PATH`: a resident renderer for the Argo CD sidecar. The engine, the
//! standard library and the compiled-module cache are set up once; `kiln argocd` forwards
//! each request to it ([`super::argocd::forward`]) instead of setting them up itself.
//!
//! The server owns no policy of its own: a request runs [`super::argocd::plugin`], as the
//! client would, with
//! - a sandbox of its own memory budget and fresh stores ([`Setup::for_request`]), so no
//!   request's verdict depends on another's;
//! - the repository read only through the root directory the client passed open
//!   ([`kiln::argocd::Repository::from_file`]), never by a path the request names;
//! - the registry of the flags' definitions, built once and again whenever a `-d` file
//!   changed; a request that adds the repository's own definitions gets one of its own.
//!
//! A request whose client is configured otherwise ([`wire::identity`]) is refused, and
//! the client renders it itself: the bytes printed never depend on which of the two did.

use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use kiln::definitions::Registry;

use super::argocd::{self, Invocation};
use crate::args::{ArgocdCommand, Flags, ServeArgs};
use crate::output::Output;
use crate::setup::Setup;
use crate::wire::{self, ResponseHead};

/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to read the answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Connections served at once; one more is refused as busy, and its client renders itself.
const MAX_CONNECTIONS: usize = 256;

/// Stack of a connection's thread, where a small application renders: the main thread's.
const REQUEST_STACK_BYTES: usize = 8 << 20;

/// Serves until the process is stopped.
pub fn run(setup: Setup, flags: &Flags, args: &ServeArgs) -> Result<Output> {
    let identity = wire::identity(flags)?;
    let listener = bind(&args.socket)?;
    for warning in setup.sandbox.take_warnings() {
        eprintln!("{warning}");
    }
    eprintln!("kiln serve: listening on {}", args.socket.display());
    let server = Server {
        setup,
        flags,
        identity,
        renders: RenderSlots::new(
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        ),
        connections: AtomicUsize::new(0),
        uid: rustix::process::geteuid(),
        registry: Mutex::new(None),
    };
    // Loaded before the first request, which would otherwise pay for it. A registry that
    // does not load is every request's error, as it would be every process's.
    if let Err(error) = server.shared_registry() {
        eprintln!("kiln serve: the definitions do not load: {error:#}");
    }
    std::thread::scope(|scope| {
        for stream in listener.incoming() {
            let stream = match stream {
                Ok(stream) => stream,
                Err(error) => {
                    // Out of descriptors, say: wait rather than spin on the error.
                    eprintln!("kiln serve: accepting a connection: {error}");
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            let server = &server;
            let spawned = std::thread::Builder::new()
                .name("kiln-request".into())
                .stack_size(REQUEST_STACK_BYTES)
                .spawn_scoped(scope, move || server.connection(stream));
            if let Err(error) = spawned {
                eprintln!("kiln serve: starting a thread for a connection: {error}");
            }
        }
    });
    Ok(Output::default())
}

/// Listens on `path`, owner-only. A socket file that no server answers on is a stale one
/// (its server was killed) and is replaced; anything else at `path` is left alone.
fn bind(path: &Path) -> Result<UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            bail!(
                "{} exists and is not a socket; not replacing it",
                path.display()
            );
        }
        if UnixStream::connect(path).is_ok() {
            bail!("a server is already listening on {}", path.display());
        }
        std::fs::remove_file(path)
            .with_context(|| format!("removing the stale socket {}", path.display()))?;
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("listening on {}", path.display()))?;
    // Peers are also checked by uid (`Server::connection`): this only keeps others from
    // connecting at all.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("making {} owner-only", path.display()))?;
    Ok(listener)
}

struct Server<'a> {
    setup: Setup,
    flags: &'a Flags,
    identity: String,
    renders: RenderSlots,
    connections: AtomicUsize,
    uid: rustix::process::Uid,
    /// [`Server::shared_registry`]'s, with the files it was built from.
    registry: Mutex<Option<(DefinitionFiles, Arc<Registry>)>>,
}

/// What the `-d` directories hold, as far as a change would show: every entry's name,
/// size, modification time and inode (a ConfigMap update replaces the files).
#[derive(Debug, PartialEq)]
struct DefinitionFiles(Vec<(PathBuf, u64, Option<SystemTime>, u64)>);

impl DefinitionFiles {
    /// `None` when a directory cannot be listed.
    fn read(dirs: &[PathBuf]) -> Option<DefinitionFiles> {
        let mut files = Vec::new();
        for dir in dirs {
            for entry in std::fs::read_dir(dir).ok()? {
                let path = entry.ok()?.path();
                // Followed, as the registry follows it.
                let meta = std::fs::metadata(&path).ok();
                files.push((
                    path,
                    meta.as_ref().map_or(0, |m| m.len()),
                    meta.as_ref().and_then(|m| m.modified().ok()),
                    meta.as_ref().map_or(0, std::os::unix::fs::MetadataExt::ino),
                ));
            }
        }
        files.sort();
        Some(DefinitionFiles(files))
    }
}

impl Server<'_> {
    /// Serves one connection: one request, one answer. What goes wrong is logged here;
    /// the client, seeing no answer, renders itself.
    fn connection(&self, mut stream: UnixStream) {
        let open = self.connections.fetch_add(1, Ordering::AcqRel) + 1;
        let started = Instant::now();
        let outcome = self.serve(&mut stream, open);
        self.connections.fetch_sub(1, Ordering::AcqRel);
        match outcome {
            Ok(served) => {
                if self.flags.verbose {
                    eprintln!("kiln serve: {served} in {:.1?}", started.elapsed());
                }
            }
            Err(error) => eprintln!("kiln serve: {error:#}"),
        }
    }

    fn serve(&self, stream: &mut UnixStream, open: usize) -> Result<String> {
        let peer = rustix::net::sockopt::socket_peercred(&*stream)
            .context("reading the client's credentials")?;
        if peer.uid != self.uid {
            bail!(
                "refused a client of uid {} (pid {}): only uid {} may render here",
                peer.uid.as_raw(),
                peer.pid.as_raw_nonzero(),
                self.uid.as_raw()
            );
        }
        stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
        stream.set_write_timeout(Some(ANSWER_TIMEOUT))?;
        let (request, root) = wire::receive_request(stream).context("reading a request")?;
        let (head, stdout) = if open > MAX_CONNECTIONS {
            refusal(format!("busy: {MAX_CONNECTIONS} connections already"))
        } else if request.identity != self.identity {
            refusal(
                "the server runs another build, platform file or flags than the client; \
                 restart it with the client's"
                    .into(),
            )
        } else {
            let _slot = self.renders.take();
            std::panic::catch_unwind(AssertUnwindSafe(|| self.answer(&request, root)))
                .unwrap_or_else(|_| refusal("the server failed on this request".into()))
        };
        wire::send_response(stream, &head, &stdout).context("sending the answer")?;
        Ok(match (&head.refused, &head.error) {
            (Some(reason), _) => format!("refused {} ({reason})", request.command),
            (None, Some(_)) => format!("{} failed", request.command),
            (None, None) => format!("{} rendered {} bytes", request.command, stdout.len()),
        })
    }

    /// The registry of the flags' definitions, shared by the requests that add none of
    /// their own: built-ins and the platform's definitions loaded and their parameter
    /// schemas compiled once, not per request. It is built again when a file of a `-d`
    /// directory changed (a ConfigMap update), as a `kiln` process would read the new one.
    fn shared_registry(&self) -> Result<Arc<Registry>> {
        let files = DefinitionFiles::read(&self.flags.definitions);
        let mut shared = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((kept, registry)) = &*shared
            && Some(kept) == files.as_ref()
        {
            return Ok(registry.clone());
        }
        let registry = Arc::new(self.setup.registry(self.flags)?);
        for warning in self.setup.sandbox.take_warnings() {
            eprintln!("kiln serve: {warning}");
        }
        // Unreadable directories are not kept: the next request tries again, and fails
        // as a `kiln` process would.
        *shared = files.map(|files| (files, registry.clone()));
        Ok(registry)
    }

    /// What `kiln argocd` would print for `request`, rendered in a setup of its own.
    fn answer(&self, request: &wire::Request, root: OwnedFd) -> (ResponseHead, Vec<u8>) {
        let command = match request.command.as_str() {
            "generate" => ArgocdCommand::Generate,
            "parameters" => ArgocdCommand::Parameters,
            other => return refusal(format!("unknown command {other:?}")),
        };
        let setup = self.setup.for_request();
        // As `argocd::run`: a registry that does not load fails before anything is read.
        // The repository's own definitions make a registry for this request alone.
        let own_definitions = request
            .vars
            .iter()
            .any(|(name, _)| name == "ARGOCD_ENV_KILN_DEFINITIONS");
        let registry = if own_definitions {
            setup.registry(self.flags).map(RequestRegistry::Own)
        } else {
            self.shared_registry().map(RequestRegistry::Shared)
        };
        let registry = match registry {
            Ok(registry) => registry,
            Err(error) => return failure(Vec::new(), &error),
        };
        let output =
            Invocation::from_request(request, std::fs::File::from(root)).and_then(|call| {
                match registry {
                    RequestRegistry::Shared(registry) => {
                        argocd::plugin(&setup, &registry, &command, call)
                    }
                    RequestRegistry::Own(mut registry) => {
                        argocd::add_repository_definitions(&setup.sandbox, &mut registry, &call)?;
                        argocd::plugin(&setup, &registry, &command, call)
                    }
                }
            });
        let mut warnings = setup.sandbox.take_warnings();
        match output {
            Ok(output) => {
                warnings.extend(output.warnings);
                let mut stdout = Vec::new();
                // Writing to memory does not fail.
                let _ = output.stdout.write_to(&mut stdout);
                let head = ResponseHead {
                    warnings,
                    ..ResponseHead::default()
                };
                (head, stdout)
            }
            Err(error) => failure(warnings, &error),
        }
    }
}

/// The registry a request renders with.
enum RequestRegistry {
    /// [`Server::shared_registry`]'s: the request adds no definitions.
    Shared(Arc<Registry>),
    /// Its own, to which the repository's `KILN_DEFINITIONS` are added.
    Own(Registry),
}

fn refusal(reason: String) -> (ResponseHead, Vec<u8>) {
    let head = ResponseHead {
        refused: Some(reason),
        ..ResponseHead::default()
    };
    (head, Vec::new())
}

/// The answer for a render that failed: the message `main` would print after `error: `.
fn failure(warnings: Vec<String>, error: &anyhow::Error) -> (ResponseHead, Vec<u8>) {
    let head = ResponseHead {
        warnings,
        error: Some(format!("{error:#}")),
        refused: None,
    };
    (head, Vec::new())
}

/// Renders at once: one per core. More would only share the cores and hold more memory;
/// a request waits here for its turn instead.
struct RenderSlots {
    free: Mutex<usize>,
    freed: Condvar,
}

struct RenderSlot<'a>(&'a RenderSlots);

impl RenderSlots {
    fn new(count: usize) -> RenderSlots {
        RenderSlots {
            free: Mutex::new(count.max(1)),
            freed: Condvar::new(),
        }
    }

    fn take(&self) -> RenderSlot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        RenderSlot(self)
    }
}

impl Drop for RenderSlot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}
