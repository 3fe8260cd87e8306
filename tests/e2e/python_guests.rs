//! Definitions written in Python with `sdk/python`, built with componentize-py as an author
//! builds them (`python -m kiln_sdk build`), and rendered by the real `kiln`:
//!
//! - the Python twin of `examples/custom-trait` passes the Rust trait's own test file and
//!   renders byte-identical output;
//! - what the Python runtime reads of clocks, randomness and its hash seed repeats;
//! - the hostile cases (an endless loop, a memory bomb, a flood of stderr, a one-hour
//!   sleep) are contained as for Rust guests, and a Python exception reads as one error.
//!
//! componentize-py (and pytest) come from `$KILN_GUEST_PYTHON` (.ci/run's venv), else from a venv of
//! the test target's own that this file makes with pip. The SDK is always the tree's own
//! (`sdk/python/src`), never an installed copy.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::common::*;

/// The componentize-py and pytest that `sdk/python` is tested with (as .ci/run installs them).
const PACKAGES: [&str; 2] = ["componentize-py==0.25.1", "pytest==9.2.0"];

/// A Python that can `import componentize_py` and `pytest`.
pub fn python() -> &'static PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let ready = |python: &Path| {
            Command::new(python)
                .args(["-c", "import componentize_py, pytest"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if let Some(given) = std::env::var_os("KILN_GUEST_PYTHON").map(PathBuf::from) {
            assert!(
                ready(&given),
                "$KILN_GUEST_PYTHON ({}) cannot import componentize_py and pytest: pip install {}",
                given.display(),
                PACKAGES.join(" ")
            );
            return given;
        }
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-guests-venv");
        let python = venv.join("bin/python");
        if !ready(&python) {
            let made = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .expect("run python3 -m venv");
            assert!(made.success(), "python3 -m venv {}", venv.display());
            let out = Command::new(&python)
                .args(["-m", "pip", "install", "-q"])
                .args(PACKAGES)
                .output()
                .expect("run pip");
            assert!(
                out.status.success(),
                "pip install {} failed:\n{}",
                PACKAGES.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        python
    })
}

/// Builds the Python module `module` of the directory `dir` (relative to the repository)
/// with `python -m kiln_sdk build`, into a directory holding only it; one build at a time.
fn build_python(dir: &str, module: &str) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("python-guests")
        .join(module);
    std::fs::create_dir_all(&out_dir).expect("create the output directory");
    let wasm = out_dir.join(format!("{module}.wasm"));
    let out = Command::new(python())
        .args(["-m", "kiln_sdk", "build", module, "-o"])
        .arg(&wasm)
        .env("PYTHONPATH", repo().join("sdk/python/src"))
        .current_dir(repo().join(dir))
        .output()
        .expect("run python -m kiln_sdk build");
    assert!(
        out.status.success(),
        "building {dir}/{module}.py failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    wasm
}

/// The Python twin of the example trait, built once, its compiled form cached.
fn python_twin() -> &'static PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| {
        let wasm = build_python("examples/custom-trait/python", "pod_disruption_budget");
        warm(wasm.parent().expect("a directory"));
        wasm
    })
}

/// The directory of the `misbehave-py` trait, built once, its compiled form cached.
fn misbehave_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let wasm = build_python("tests/guests/python", "misbehave_py");
        let dir = wasm.parent().expect("a directory").to_path_buf();
        warm(&dir);
        dir
    })
}

/// Compiles the definitions of `dir` into the shared cache, once, so that the tests that
/// use them in parallel do not each compile an 18 MB component.
fn warm(dir: &Path) {
    run(&[
        "definitions",
        "list",
        "-d",
        dir.to_str().expect("UTF-8 path"),
    ])
    .ok();
}

const SHOP: &str = "apiVersion: core.oam.dev/v1beta1
kind: Application
metadata: { name: shop, namespace: prod }
spec:
  components:
    - name: api
      type: webservice
      properties: { image: \"ghcr.io/example/api:1.0\" }
      traits:
        - type: scaler
          properties: { replicas: 3 }
        - type: pod-disruption-budget
          properties: { maxUnavailable: \"25%\" }
    - name: worker
      type: worker
      properties: { image: \"ghcr.io/example/worker:1.0\" }
      traits:
        - type: pod-disruption-budget
";

#[test]
fn the_python_twin_passes_the_rust_traits_own_test_file() {
    let wasm = python_twin().to_str().expect("UTF-8 path").to_string();
    let run = run(&["test", "examples/custom-trait", "--under-test", &wasm]);
    let stdout = run.ok();
    assert!(
        stdout.contains("test result: ok. 6 passed; 0 failed"),
        "{stdout}"
    );
}

#[test]
fn the_python_twin_describes_itself_as_the_rust_trait_does() {
    // Name, kind, version, description, applies-to, and each parameter with its type and
    // description: the schema each SDK derives from its own types reads the same.
    let rust = definitions_dir(example_trait_wasm(), "pod_disruption_budget.wasm");
    let python = python_twin().parent().expect("a directory");
    let show = |dir: &Path| {
        let dir = dir.to_str().expect("UTF-8 path");
        run(&["definitions", "show", "pod-disruption-budget", "-d", dir])
            .ok()
            .to_string()
    };
    let from_rust = show(rust.path());
    assert!(
        from_rust.contains("minAvailable (integer or string)"),
        "{from_rust}"
    );
    assert_eq!(from_rust, show(python));
}

#[test]
fn the_python_twin_renders_the_same_bytes_as_the_rust_trait() {
    let rust = definitions_dir(example_trait_wasm(), "pod_disruption_budget.wasm");
    let python = python_twin().parent().expect("a directory");
    // The revision label is a digest of every input, the definitions' bytes among them, so
    // it differs by design (as it would for a new build of the Rust trait); every other
    // byte is the same.
    let render_with = |dir: &Path| {
        let run = render_stdin(SHOP, &["-d", dir.to_str().expect("UTF-8 path")]);
        run.ok()
            .lines()
            .map(|line| match line.split_once("app.oam.dev/appRevision: ") {
                Some((indent, _)) => format!("{indent}app.oam.dev/appRevision: <digest>\n"),
                None => format!("{line}\n"),
            })
            .collect::<String>()
    };
    let from_rust = render_with(rust.path());
    assert!(
        from_rust.contains("kind: PodDisruptionBudget"),
        "{from_rust}"
    );
    let from_python = render_with(python);
    assert_eq!(from_rust, from_python);
    assert_eq!(from_python, render_with(python), "the Python twin, twice");
    // Errors too: the host words them, from what each returned.
    let both = SHOP.replace(
        "{ maxUnavailable: \"25%\" }",
        "{ minAvailable: 1, maxUnavailable: 1 }",
    );
    let errors = [rust.path(), python].map(|dir| {
        render_stdin(&both, &["-d", dir.to_str().expect("UTF-8 path")])
            .failed()
            .to_string()
    });
    assert_eq!(errors[0], errors[1]);
}

fn render(properties: &str, components: usize, args: &[&str]) -> Run {
    let app = app_with_trait("misbehave-py", properties, components);
    render_with_definitions(&app, misbehave_dir(), args)
}

/// The `data` of the ConfigMap the trait reported for component `component`.
fn report(stdout: &str, component: &str) -> serde_json::Value {
    objects(stdout)
        .into_iter()
        .find(|o| {
            o["kind"] == "ConfigMap"
                && o["metadata"]["labels"]["app.oam.dev/component"] == component
        })
        .unwrap_or_else(|| panic!("no report of {component}:\n{stdout}"))["data"]
        .clone()
}

#[test]
fn clocks_randomness_and_the_hash_seed_repeat() {
    let first = render("{mode: clock}", 2, &[]);
    let second = render("{mode: clock}", 2, &[]);
    assert_eq!(first.ok(), second.ok(), "two processes, the same bytes");
    let c00 = report(first.ok(), "c00");
    // Each call starts from the same pinned state: two components see the same values.
    assert_eq!(c00, report(first.ok(), "c01"));
    assert_eq!(
        c00["now"], "0.0",
        "the wall clock is stopped at zero: {c00}"
    );
    assert_eq!(c00["elapsed"], "0.0", "{c00}");
}

#[test]
fn module_state_does_not_carry_from_one_component_to_the_next() {
    let stdout = render("{mode: state}", 3, &[]).ok().to_string();
    for name in ["c00", "c01", "c02"] {
        let data = report(&stdout, name);
        assert_eq!(data["calls"], "1", "{name}: {data}");
        assert_eq!(data["seen"], name, "{data}");
    }
}

#[test]
fn an_endless_python_loop_hits_the_time_limit() {
    misbehave_dir();
    let started = Instant::now();
    let err = render("{mode: loop}", 1, &["--time-limit-ms", "500"])
        .failed()
        .to_string();
    assert!(
        err.contains("definition \"misbehave-py\" exceeded its time limit"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_python_memory_bomb_hits_the_memory_limit() {
    let err = render("{mode: memory}", 1, &["--memory-limit-mib", "96"])
        .failed()
        .to_string();
    assert!(
        err.contains("exceeded its memory limit (tried to grow memory to ")
            && err.contains(", limit 96 MiB)"),
        "{err}"
    );
}

#[test]
fn a_flood_of_python_stderr_never_fails_a_render() {
    render("{mode: log, kib: 4096}", 1, &[]).ok();
}

#[test]
fn a_one_hour_python_sleep_fails_at_once() {
    // Built and compiled first, so that the timing below is the render's own.
    misbehave_dir();
    let started = Instant::now();
    let err = render(
        "{mode: sleep, seconds: 3600}",
        1,
        &["--time-limit-ms", "5000"],
    )
    .failed()
    .to_string();
    assert!(
        started.elapsed() < Duration::from_millis(5000 + 1000),
        "the limit plus 1 s: took {:?}",
        started.elapsed()
    );
    assert!(
        err.contains(
            "definition \"misbehave-py\" exceeded its time limit (asked to sleep 3600 s in all, \
             limit 5000 ms)"
        ),
        "{err}"
    );
}

#[test]
fn a_python_exception_reads_as_one_error_with_its_line() {
    let err = render("{mode: raise}", 1, &[]).failed().to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(
            "component \"c00\", trait \"misbehave-py\": ZeroDivisionError: division by zero \
             (misbehave_py.py, line "
        ),
        "{err}"
    );
}

#[test]
fn a_python_error_names_its_field() {
    let err = render("{mode: field}", 1, &[]).failed().to_string();
    assert!(
        err.contains(
            "trait \"misbehave-py\", field \"seconds\": misbehave-py was asked to refuse this field"
        ),
        "{err}"
    );
}

#[test]
fn python_output_that_is_not_json_is_an_error_not_a_trap() {
    let err = render("{mode: nan}", 1, &[]).failed().to_string();
    assert!(
        err.contains(
            "trait \"misbehave-py\": the definition returned output that is not JSON: Out \
             of range float values are not JSON compliant"
        ),
        "{err}"
    );
}
