//! A real OCI registry for the end-to-end tests of `kiln definitions push/pull`: Debian's
//! `docker-registry` (CNCF Distribution 2.8), started per test on a free port of 127.0.0.1 with
//! its storage in a fresh directory, plus two other clients to check Kiln against: the ORAS
//! Python SDK (`tests/registry/oras_client.py`) and skopeo.
//!
//! Why a real registry and not a mock: what matters is what a real one accepts (an OCI manifest
//! whose config is `application/vnd.wasm.config.v0+json`), what it answers (404 to a manifest
//! GET whose `Accept` lacks the OCI type, `Basic`/`Bearer` challenges, `aud` as one string)
//! and that another client reads what Kiln pushed. `tests/registry/README.md` has each config,
//! how it was checked, and the traps found.
//!
//! Four modes: anonymous HTTP, HTTP with htpasswd basic auth, HTTP with bearer tokens from
//! `tests/registry/token_server.py`, and HTTPS with a certificate from a throwaway CA
//! ([`Registry::ca_file`]). A program that is missing and cannot be installed fails the test
//! with what to install: these tests never skip.
//!
//! Programs: `$KILN_DOCKER_REGISTRY` (else `docker-registry`), `htpasswd`, `openssl`,
//! `skopeo`, and `$KILN_RIG_PYTHON` (else a venv in the test target) with
//! `tests/registry/requirements.txt`; what is missing is installed once by
//! `tests/registry/install.sh`, as .ci/run does.

// A toolbox: a test binary that uses only some of it must still pass clippy's `-D warnings`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::repo;

/// How long a registry (or the token server) may take to answer. Both answer in well under a
/// second on a loaded 2-core machine (README: ~40 ms and ~100 ms); 20 s is for a CI machine
/// busy compiling.
const STARTUP: Duration = Duration::from_secs(20);

/// The `service` of token mode: the registry's challenge names it, the token server checks it
/// and puts it in the token's `aud`.
pub const TOKEN_SERVICE: &str = "kiln-test-registry";

/// The `iss` of token mode's tokens, which the registry trusts.
pub const TOKEN_ISSUER: &str = "kiln-test-token-server";

/// What to install, for the panics of a missing program.
const DEBIAN: &str = "apt-get install docker-registry skopeo apache2-utils openssl";
const PIP: &str = "python3 -m venv VENV && VENV/bin/pip install -r tests/registry/requirements.txt, \
                   then set KILN_RIG_PYTHON=VENV/bin/python";

/// How a registry authenticates (and whether it speaks TLS).
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// Plain HTTP, no authentication: `GET /v2/` answers 200.
    Anonymous,
    /// Plain HTTP, `auth.htpasswd` with one bcrypt user: `401 Basic realm="kiln-test"`.
    Htpasswd {
        user: &'static str,
        password: &'static str,
    },
    /// Plain HTTP, `auth.token` served by `tests/registry/token_server.py`, which grants
    /// everything asked for to this user and refuses anonymous requests:
    /// `401 Bearer realm="http://127.0.0.1:P/token",service="kiln-test-registry"`.
    Token {
        user: &'static str,
        password: &'static str,
    },
    /// HTTPS (TLS 1.2+), anonymous, with a server certificate for IP:127.0.0.1 and
    /// DNS:localhost signed by a CA made for this registry alone ([`Registry::ca_file`]).
    Tls,
}

/// A running `docker-registry`, killed when dropped.
pub struct Registry {
    pub port: u16,
    /// This registry's own directory: its config, storage (`data/`), logs, keys.
    pub dir: PathBuf,
    /// The token server's port, in [`Mode::Token`].
    pub token_port: Option<u16>,
    mode: Mode,
    child: Child,
    token: Option<Child>,
}

impl Registry {
    /// Starts a registry in `mode` and waits until it answers `GET /v2/`.
    ///
    /// Panics, with the registry's log, if it does not answer within 20 s or answers with
    /// another status than the mode's (200, 401, 401, or 400 to plain HTTP for TLS).
    pub fn start(mode: Mode) -> Registry {
        installed();
        let dir = fresh_dir();
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("create the registry's storage directory");

        let (auth, tls, expected, token, token_port) = match mode {
            Mode::Anonymous => (String::new(), String::new(), 200, None, None),
            Mode::Htpasswd { user, password } => {
                let file = dir.join("htpasswd");
                // bcrypt: the only hash docker-registry 2.8 accepts. The file must exist: a
                // missing one is "provisioned" with a user `docker` and a random password.
                let out = tool("htpasswd", &["-Bbn", user, password], "apache2-utils");
                std::fs::write(&file, out.stdout).expect("write the htpasswd file");
                let auth = format!(
                    "auth:\n  htpasswd:\n    realm: kiln-test\n    path: {}\n",
                    yaml_path(&file)
                );
                (auth, String::new(), 401, None, None)
            }
            Mode::Token { user, password } => {
                let (key, cert) = (dir.join("token.key"), dir.join("token.crt"));
                // A self-signed certificate is its own chain: the token carries it as `x5c`
                // and the registry's `rootcertbundle` is the same file.
                openssl(
                    "req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=kiln-test-token-issuer",
                    &[("-keyout", key.as_path()), ("-out", cert.as_path())],
                );
                let port = free_port();
                let child = start_token_server(&dir, port, &key, &cert, user, password);
                let auth = format!(
                    "auth:\n  token:\n    realm: http://127.0.0.1:{port}/token\n    \
                     service: {TOKEN_SERVICE}\n    issuer: {TOKEN_ISSUER}\n    \
                     rootcertbundle: {}\n",
                    yaml_path(&cert)
                );
                (auth, String::new(), 401, Some(child), Some(port))
            }
            Mode::Tls => {
                make_certificates(&dir);
                let tls = format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    yaml_path(&dir.join("server.crt")),
                    yaml_path(&dir.join("server.key"))
                );
                // Plain HTTP to the TLS port gets Go's `400 Bad Request` ("Client sent an
                // HTTP request to an HTTPS server."): the probe needs no TLS client.
                (String::new(), tls, 400, None, None)
            }
        };

        let mut token = token;
        // The port is free when picked but may be taken before the registry binds it: then
        // it exits at once ("bind: address already in use") and another port is tried.
        for attempt in 1..=3 {
            let port = free_port();
            let config = format!(
                "version: 0.1\n\
                 log:\n  level: info\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                 http:\n  addr: 127.0.0.1:{port}\n{tls}\
                 {auth}",
                yaml_path(&data)
            );
            let config_file = dir.join("config.yml");
            std::fs::write(&config_file, config).expect("write the registry's config");
            let mut child = spawn_registry(&dir, &config_file);
            match wait_ready(&mut child, port, &dir, expected) {
                Ok(()) => {
                    return Registry {
                        port,
                        dir,
                        token_port,
                        mode,
                        child,
                        token,
                    };
                }
                Err(log) if log.contains("address already in use") && attempt < 3 => continue,
                Err(log) => {
                    if let Some(token) = &mut token {
                        let _ = token.kill();
                        let _ = token.wait();
                    }
                    panic!(
                        "docker-registry ({mode:?}) did not come up on 127.0.0.1:{port}; its \
                         log ({}):\n{log}",
                        dir.join("registry.log").display()
                    )
                }
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// `127.0.0.1:PORT`, the host part of a reference.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The CA certificate (PEM) that signed the server's certificate, in [`Mode::Tls`].
    pub fn ca_file(&self) -> Option<PathBuf> {
        matches!(self.mode, Mode::Tls).then(|| self.dir.join("ca.crt"))
    }

    /// What the registry logged so far (stderr: one line per request, errors, auth failures).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }

    /// What the token server logged so far: one line per token request, with the scopes asked
    /// for and the actions granted.
    pub fn token_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("token_server.log")).unwrap_or_default()
    }

    /// Kills the registry, to test a registry that is down. The token server, if any, stays
    /// up. Calling it twice is harmless.
    pub fn stop(&mut self) {
        // An error only says the process already exited.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
        if let Some(token) = &mut self.token {
            let _ = token.kill();
            let _ = token.wait();
        }
        // Kept when the test failed, for its logs and storage.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Runs `tests/registry/oras_client.py ARGS` (`push REF FILE`, `manifest REF`, `config REF`,
/// each with `--username/--password` or `--ca-file`), with `$KILN_RIG_PYTHON`, else `python3`.
/// The caller checks the status: a failure is one line on stderr.
pub fn oras(args: &[&str]) -> Output {
    Command::new(python())
        .arg(repo().join("tests/registry/oras_client.py"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run oras_client.py")
}

/// The manifest of `reference` (`HOST:PORT/REPO:TAG`, with or without `docker://`) exactly as
/// skopeo reads it, over HTTPS or HTTP without verifying certificates. Without `creds` skopeo
/// is told `--no-creds`, so no auth file of the machine is used. Panics if skopeo fails.
pub fn skopeo_raw(reference: &str, creds: Option<(&str, &str)>) -> String {
    installed();
    let reference = reference
        .trim_start_matches("docker://")
        .trim_start_matches("oci://");
    let mut cmd = Command::new("skopeo");
    cmd.args(["inspect", "--raw", "--tls-verify=false"]);
    match creds {
        Some((user, password)) => cmd.arg(format!("--creds={user}:{password}")),
        None => cmd.arg("--no-creds"),
    };
    cmd.arg(format!("docker://{reference}"))
        .stdin(Stdio::null());
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run skopeo ({e}): install it ({DEBIAN})"),
    };
    assert!(
        out.status.success(),
        "skopeo inspect --raw docker://{reference} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("a manifest is UTF-8 JSON")
}

/// The rig's Python: `$KILN_RIG_PYTHON` (.ci/run's venv), else a venv of the test target's
/// own, both made ready by [`installed`]. Checked once to import what the scripts need.
fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let python = installed().display().to_string();
        let check = Command::new(&python)
            .args(["-c", "import oras.client, jwt, cryptography"])
            .stdin(Stdio::null())
            .output();
        match check {
            Ok(out) if out.status.success() => python,
            Ok(out) => panic!(
                "{python} lacks the registry rig's packages ({}): {PIP}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => panic!("cannot run {python} ({e}): install python3 and {PIP}"),
        }
    })
}

/// Makes sure the rig's programs and Python packages are there, once per test binary: with
/// everything present (as after .ci/run) this only looks; otherwise it runs
/// `tests/registry/install.sh`, as .ci/run does, so that `cargo test --workspace` works on a
/// fresh clone of a machine that has apt-get (as `npm ci` does for the editor test). Returns
/// the Python to run the scripts with.
fn installed() -> &'static PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let given = std::env::var_os("KILN_RIG_PYTHON").map(PathBuf::from);
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("registry-venv");
        let python = given.clone().unwrap_or_else(|| venv.join("bin/python"));
        let programs = ["docker-registry", "skopeo", "htpasswd", "openssl"];
        let present = |program: &str| {
            Command::new("sh")
                .args(["-c", &format!("command -v {program}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let ready = programs.iter().all(|p| present(p))
            && Command::new(&python)
                .args(["-c", "import oras.client, jwt, cryptography"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        if !ready {
            let target = given.as_ref().and_then(|p| p.parent()?.parent()).unwrap_or(&venv);
            let out = Command::new(repo().join("tests/registry/install.sh"))
                .arg(target)
                .stdin(Stdio::null())
                .output()
                .expect("run tests/registry/install.sh");
            assert!(
                out.status.success(),
                "tests/registry/install.sh could not install the registry rig ({DEBIAN}; {PIP}):\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        python
    })
}

/// A new, empty directory under the test target's scratch directory: unique per process and
/// per call, so parallel tests (and test binaries) never share a registry's storage.
fn fresh_dir() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("registry-{}-{n}", std::process::id()));
    // Left over from an earlier run whose process had the same id.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the registry's directory");
    dir
}

/// A port of 127.0.0.1 that is free now (bound, read, released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind 127.0.0.1:0 to find a free port")
        .port()
}

/// The status of `GET /v2/` over plain HTTP/1.0, or None while nothing answers.
fn http_status(port: u16) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(format!("GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes())
        .ok()?;
    let _ = stream.shutdown(Shutdown::Write);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    // "HTTP/1.0 200 OK"
    let text = String::from_utf8_lossy(&response);
    text.strip_prefix("HTTP/")?.split(' ').nth(1)?.parse().ok()
}

/// Waits until the registry's `GET /v2/` answers `expected`. On failure, kills it and returns
/// its log, headed by what went wrong.
fn wait_ready(child: &mut Child, port: u16, dir: &Path, expected: u16) -> Result<(), String> {
    let log = || std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default();
    let deadline = Instant::now() + STARTUP;
    loop {
        if let Some(status) = child.try_wait().expect("poll docker-registry") {
            return Err(format!("[exited: {status}]\n{}", log()));
        }
        let failure = match http_status(port) {
            Some(status) if status == expected => return Ok(()),
            Some(status) => format!("[GET /v2/ answered {status}, not {expected}: wrong config?]"),
            None if Instant::now() > deadline => format!("[no answer in {STARTUP:?}]"),
            None => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("{failure}\n{}", log()));
    }
}

/// Spawns `docker-registry serve CONFIG`, its output into files of `dir`: a pipe nobody reads
/// would fill (it logs every request) and block the registry.
fn spawn_registry(dir: &Path, config: &Path) -> Child {
    let program =
        std::env::var("KILN_DOCKER_REGISTRY").unwrap_or_else(|_| "docker-registry".into());
    let log = std::fs::File::create(dir.join("registry.log")).expect("create registry.log");
    let access =
        std::fs::File::create(dir.join("registry.access.log")).expect("create registry.access.log");
    match Command::new(&program)
        .arg("serve")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(access)
        .stderr(log)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => panic!(
            "cannot run {program} ({e}): install Debian's docker-registry 2.8 ({DEBIAN}) or \
             set KILN_DOCKER_REGISTRY to its binary"
        ),
    }
}

/// Starts `token_server.py` on `port` and waits until it accepts connections.
fn start_token_server(
    dir: &Path,
    port: u16,
    key: &Path,
    cert: &Path,
    user: &str,
    password: &str,
) -> Child {
    let log_file = dir.join("token_server.log");
    let log = std::fs::File::create(&log_file).expect("create token_server.log");
    let port_arg = port.to_string();
    let mut child = Command::new(python())
        .arg(repo().join("tests/registry/token_server.py"))
        .args([
            "--port",
            port_arg.as_str(),
            "--key",
            path_str(key),
            "--cert",
            path_str(cert),
        ])
        .args(["--issuer", TOKEN_ISSUER, "--service", TOKEN_SERVICE])
        .args(["--user", user, "--password", password])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("run token_server.py");
    let deadline = Instant::now() + STARTUP;
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        let exited = child.try_wait().expect("poll token_server.py");
        if exited.is_some() || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let why = match exited {
                Some(status) => format!("exited: {status}"),
                None => format!("no answer in {STARTUP:?}"),
            };
            panic!(
                "token_server.py did not come up on 127.0.0.1:{port} ({why}); its log:\n{}",
                std::fs::read_to_string(&log_file).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A throwaway CA (`ca.crt`) and a server certificate it signs (`server.crt`, `server.key`)
/// for IP:127.0.0.1 and DNS:localhost, in `dir`. The CA has `CA:TRUE` and the server
/// certificate `CA:FALSE` + `serverAuth`, as rustls/webpki require.
fn make_certificates(dir: &Path) {
    let file = |name: &str| dir.join(name);
    let (ca_key, ca_crt) = (file("ca.key"), file("ca.crt"));
    let (key, csr, crt, ext) = (
        file("server.key"),
        file("server.csr"),
        file("server.crt"),
        file("server.ext"),
    );
    openssl(
        "req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=kiln-test-ca \
         -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
        &[("-keyout", ca_key.as_path()), ("-out", ca_crt.as_path())],
    );
    openssl(
        "req -newkey rsa:2048 -nodes -subj /CN=localhost",
        &[("-keyout", key.as_path()), ("-out", csr.as_path())],
    );
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n\
         basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\n",
    )
    .expect("write the certificate's extensions");
    openssl(
        "x509 -req -days 2 -CAcreateserial",
        &[
            ("-in", csr.as_path()),
            ("-CA", ca_crt.as_path()),
            ("-CAkey", ca_key.as_path()),
            ("-extfile", ext.as_path()),
            ("-out", crt.as_path()),
        ],
    );
}

/// Runs `openssl WORDS` (split at spaces) followed by each `FLAG PATH` of `files`.
fn openssl(words: &str, files: &[(&str, &Path)]) {
    let mut args: Vec<&str> = words.split_whitespace().collect();
    for (flag, path) in files {
        args.extend([*flag, path_str(path)]);
    }
    tool("openssl", &args, "openssl");
}

/// Runs a helper program, panicking with what to install if it is missing, or with its
/// stderr if it fails.
fn tool(program: &str, args: &[&str], debian_package: &str) -> Output {
    let out = match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!("cannot run {program} ({e}): apt-get install {debian_package}"),
    };
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A path as UTF-8, for a command line or a config (the target directory is UTF-8).
fn path_str(path: &Path) -> &str {
    path.to_str().expect("the target directory's path is UTF-8")
}

/// A path as a single-quoted YAML scalar, whatever characters it holds.
fn yaml_path(path: &Path) -> String {
    format!("'{}'", path_str(path).replace('\'', "''"))
}
