//! Helpers shared by the end-to-end tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ is in the repository")
        .to_path_buf()
}

/// A cache directory shared by the tests that do not test the cache itself.
pub fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-cache")
}

/// What a `kiln` process did.
#[derive(Debug)]
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "kiln failed:\n{}", self.stderr);
        &self.stdout
    }

    /// Asserts a failure with nothing on stdout, and returns stderr.
    #[track_caller]
    pub fn failed(&self) -> &str {
        assert_eq!(
            self.code,
            Some(1),
            "expected exit 1; stderr:\n{}",
            self.stderr
        );
        assert_eq!(
            self.stdout, "",
            "a failed render must print nothing on stdout"
        );
        assert!(self.stderr.starts_with("error: "), "{}", self.stderr);
        &self.stderr
    }
}

/// A `kiln` command with the shared cache and a clean environment.
pub fn kiln() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.env("KILN_CACHE_DIR", shared_cache())
        .env_remove("KUBE_VERSION")
        .env_remove("KUBE_API_VERSIONS")
        .env_remove("KILN_PLATFORM")
        .env_remove("KILN_ENV")
        .env_remove("KILN_THREADS")
        .current_dir(repo());
    cmd
}

/// Runs `cmd`, feeding `stdin` when given.
pub fn run_cmd(mut cmd: Command, stdin: Option<&str>) -> Run {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start kiln");
    if let Some(text) = stdin {
        let written = child
            .stdin
            .take()
            .expect("piped")
            .write_all(text.as_bytes());
        // Kiln may refuse before it reads its input (a bad platform file) and exit: the
        // pipe is then closed, and its verdict is what the test checks.
        if let Err(error) = written
            && error.kind() != std::io::ErrorKind::BrokenPipe
        {
            panic!("write stdin: {error}");
        }
    }
    let out = child.wait_with_output().expect("wait for kiln");
    Run {
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        code: out.status.code(),
    }
}

/// Runs `kiln ARGS`.
pub fn run(args: &[&str]) -> Run {
    let mut cmd = kiln();
    cmd.args(args);
    run_cmd(cmd, None)
}

/// Runs `kiln render -` with `app` on stdin, plus `args`.
pub fn render_stdin(app: &str, args: &[&str]) -> Run {
    let mut cmd = kiln();
    cmd.args(["render", "-"]).args(args);
    run_cmd(cmd, Some(app))
}

/// Runs `kiln render -` with `app` on stdin, the definitions of `dir` (`-d`), plus `args`.
pub fn render_with_definitions(app: &str, dir: &Path, args: &[&str]) -> Run {
    let dir = dir.to_str().expect("UTF-8 path");
    let mut all = vec!["-d", dir];
    all.extend_from_slice(args);
    render_stdin(app, &all)
}

/// An application of `components` components (`c00`, `c01`, ...), each a webservice of
/// `nginx` with the trait `trait_type` and its `properties` (a YAML flow mapping).
pub fn app_with_trait(trait_type: &str, properties: &str, components: usize) -> String {
    let mut app = String::from(
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: lab\nspec:\n  \
         components:\n",
    );
    for i in 0..components {
        app.push_str(&format!(
            "    - name: c{i:02}\n      type: webservice\n      properties:\n        \
             image: nginx\n      traits:\n        - type: {trait_type}\n          \
             properties: {properties}\n"
        ));
    }
    app
}

/// Parses a YAML stream of objects (as Kiln writes it) into JSON values.
pub fn objects(yaml_stream: &str) -> Vec<serde_json::Value> {
    yaml_stream
        .split("---\n")
        .filter(|doc| !doc.trim().is_empty())
        .map(|doc| {
            kiln::app::yaml::parse(doc)
                .unwrap_or_else(|e| panic!("invalid YAML output {e:?}:\n{doc}"))
                .to_json()
        })
        .collect()
}

/// The object of `kind` named `name`.
#[track_caller]
pub fn find<'a>(objects: &'a [serde_json::Value], kind: &str, name: &str) -> &'a serde_json::Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {objects:#?}"))
}

/// Builds a guest crate of the workspace at `workspace` (relative to the repo) for
/// wasm32-wasip2 and returns the path of `<crate>.wasm`. Builds run one at a time.
pub fn build_guest(workspace: &str, crate_name: &str) -> PathBuf {
    static TARGET: OnceLock<PathBuf> = OnceLock::new();
    let target = TARGET.get_or_init(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("guests"));
    build_guest_into(workspace, crate_name, Some(target))
}

/// [`build_guest`] into `target`, or, without one, into the workspace's own `target/`: what
/// the command a README gives (`cargo build --release --target wasm32-wasip2
/// --manifest-path WORKSPACE/Cargo.toml`) builds.
pub fn build_guest_into(workspace: &str, crate_name: &str, target: Option<&Path>) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(repo().join(workspace).join("Cargo.toml"))
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER");
    if let Some(target) = target {
        command.arg("--target-dir").arg(target);
    }
    let out = command.output().expect("run cargo");
    assert!(
        out.status.success(),
        "building {workspace} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target
        .map_or_else(|| repo().join(workspace).join("target"), Path::to_path_buf)
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", crate_name.replace('-', "_")))
}

/// The example trait (`examples/custom-trait`, a PodDisruptionBudget), built once.
pub fn example_trait_wasm() -> &'static PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| build_guest("examples/custom-trait", "pod-disruption-budget"))
}

/// A fresh directory holding only `wasm` (as `file_name`).
pub fn definitions_dir(wasm: &Path, file_name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(wasm, dir.path().join(file_name)).expect("copy the module");
    dir
}
