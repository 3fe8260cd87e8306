//! The hostile-module suite: guests built like real definitions that each try one thing a
//! definition must not get away with. Each is stopped with a clear error (and nothing on
//! stdout), or neutralised (the render succeeds and the guest reports what it saw), within a
//! bounded time; and a good application still renders in the same process afterwards.
//!
//! The behaviours `sandbox_limits.rs` already checks through the CLI (panic, endless loop,
//! memory bomb, deep recursion, huge output, object without kind) are not repeated here;
//! they take part in the same-process test at the end.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::*;

/// How long any one hostile render may take, generously (the machine may be busy): the
/// point is that it ends, not how fast.
const BOUND: Duration = Duration::from_secs(60);

/// The `misbehave` trait's module, built once.
fn misbehave_wasm() -> &'static PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| build_guest("tests/guests", "misbehave"))
}

/// A directory holding only the guest `crate_name` of tests/guests, kept for the whole run.
fn guest_dir(crate_name: &str) -> PathBuf {
    let wasm = if crate_name == "misbehave" {
        misbehave_wasm().clone()
    } else {
        build_guest("tests/guests", crate_name)
    };
    let file = format!("{}.wasm", crate_name.replace('-', "_"));
    definitions_dir(&wasm, &file).keep()
}

fn misbehave_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| guest_dir("misbehave"))
}

/// An application whose components (`api`, `api-2`, ...) each use trait `trait_type` with
/// `properties` (YAML flow mapping).
fn app_with(trait_type: &str, properties: &str, components: usize) -> String {
    let mut app = String::from(
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: lab\nspec:\n  \
         components:\n",
    );
    for i in 0..components {
        let name = if i == 0 {
            "api".to_string()
        } else {
            format!("api-{}", i + 1)
        };
        app.push_str(&format!(
            "    - name: {name}\n      type: webservice\n      properties:\n        \
             image: nginx\n      traits:\n        - type: {trait_type}\n          \
             properties: {properties}\n"
        ));
    }
    app
}

fn misbehave_app(mode: &str) -> String {
    app_with("misbehave", &format!("{{mode: {mode}}}"), 1)
}

/// Runs `cmd` with `stdin`, killing it if it outlives [`BOUND`] (which fails the test).
fn run_bounded(mut cmd: Command, stdin: &str) -> Run {
    let started = Instant::now();
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start kiln");
    let mut input = child.stdin.take().expect("piped");
    let text = stdin.to_string();
    let writer = std::thread::spawn(move || {
        // kiln may fail before it reads everything: a broken pipe is not our failure.
        let _ = input.write_all(text.as_bytes());
    });
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).expect("read kiln's output");
            String::from_utf8(bytes).expect("kiln's output is UTF-8")
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for kiln") {
            break status;
        }
        if started.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("kiln still running after {BOUND:?}: not a bounded failure");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    writer.join().expect("stdin writer");
    Run {
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        code: status.code(),
    }
}

/// `kiln render - -d DIR ARGS` with `app` on stdin, bounded.
fn render_with(dir: &Path, app: &str, args: &[&str]) -> Run {
    let mut cmd = kiln();
    cmd.args(["render", "-", "-d"]).arg(dir).args(args);
    run_bounded(cmd, app)
}

/// The data of the ConfigMap that the misbehave trait of component `component` reported as
/// `resource`, from JSON-lines output.
#[track_caller]
fn report(
    stdout: &str,
    component: &str,
    resource: &str,
) -> serde_json::Map<String, serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .find(|o| {
            o["metadata"]["labels"]["trait.oam.dev/resource"] == resource
                && o["metadata"]["labels"]["app.oam.dev/component"] == component
        })
        .unwrap_or_else(|| panic!("no {resource} report of {component} in:\n{stdout}"))["data"]
        .as_object()
        .expect("the report's data")
        .clone()
}

/// The string `key` of a report.
#[track_caller]
fn field<'a>(data: &'a serde_json::Map<String, serde_json::Value>, key: &str) -> &'a str {
    data.get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("no {key} in {data:?}"))
}

#[test]
fn reading_files_finds_nothing() {
    let run = render_with(misbehave_dir(), &misbehave_app("file"), &["-o", "json"]);
    let stdout = run.ok();
    let data = report(stdout, "api", "file");
    let read = field(&data, "read");
    let list = field(&data, "list");
    assert!(read.starts_with("error: "), "reading /etc/passwd: {read}");
    assert!(list.starts_with("error: "), "listing /: {list}");
    assert!(!stdout.contains("root:"), "file content leaked:\n{stdout}");
}

#[test]
fn the_environment_is_empty() {
    // Even a variable set on kiln's own process must not reach a module.
    let mut cmd = kiln();
    cmd.env("KILN_HOSTILE_SECRET", "hunter2")
        .args(["render", "-", "-o", "json", "-d"])
        .arg(misbehave_dir());
    let run = run_bounded(cmd, &misbehave_app("env"));
    let stdout = run.ok();
    let data = report(stdout, "api", "env");
    assert_eq!(field(&data, "count"), "0", "{data:?}");
    assert_eq!(field(&data, "names"), "", "{data:?}");
    assert_eq!(field(&data, "args"), "0", "{data:?}");
    assert!(!stdout.contains("hunter2"));
}

#[test]
fn sockets_are_denied() {
    // A real listener: were the sandbox to let the module connect, it would succeed here.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    listener.set_nonblocking(true).expect("non-blocking");
    let address = listener.local_addr().expect("address").to_string();
    let app = app_with(
        "misbehave",
        &format!("{{mode: socket, address: \"{address}\"}}"),
        1,
    );
    let run = render_with(misbehave_dir(), &app, &["-o", "json"]);
    let data = report(run.ok(), "api", "socket");
    for key in ["tcp", "udp", "listen"] {
        let outcome = field(&data, key);
        assert!(outcome.starts_with("error: "), "{key}: {outcome}");
    }
    assert!(
        field(&data, "tcp").contains("denied"),
        "connect must be denied, not merely fail: {data:?}"
    );
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the module reached the host's network: {other:?}"),
    }
}

#[test]
fn clocks_and_randomness_do_not_move() {
    // Two components: two calls of the same module in one process.
    let app = app_with("misbehave", "{mode: clock}", 2);
    let first = render_with(misbehave_dir(), &app, &["-o", "json"]);
    let second = render_with(misbehave_dir(), &app, &["-o", "json"]);
    assert_eq!(first.ok(), second.ok(), "two processes, same bytes");
    let one = report(&first.stdout, "api", "clock");
    let two = report(&first.stdout, "api-2", "clock");
    // The clocks are stopped: the two readings within a call are equal, and no time passes.
    assert_eq!(field(&one, "now"), "0", "{one:?}");
    assert_eq!(field(&one, "now-again"), "0", "{one:?}");
    assert_eq!(field(&one, "elapsed"), "0", "{one:?}");
    // Randomness is seeded per call: every call draws the same bytes. (Within a call the
    // second draw continues the same fixed sequence, so it is no more unpredictable.)
    assert!(!field(&one, "random").starts_with("error"), "{one:?}");
    assert_eq!(
        one, two,
        "a second call must see exactly what the first saw"
    );
}

#[test]
fn many_objects_hit_the_objects_limit() {
    let run = render_with(misbehave_dir(), &misbehave_app("objects"), &[]);
    let err = run.failed();
    assert!(
        err.contains("component \"api\", trait \"misbehave\": definition \"misbehave\""),
        "{err}"
    );
    assert!(err.contains("objects") && err.contains("limit"), "{err}");
}

#[test]
fn output_that_is_not_json_is_refused() {
    let dir = guest_dir("invalid-json");
    let run = render_with(&dir, &app_with("invalid-json", "{}", 1), &[]);
    let err = run.failed();
    assert!(
        err.contains(
            "component \"api\", trait \"invalid-json\": definition \"invalid-json\" returned \
             invalid output"
        ),
        "{err}"
    );
    assert!(err.contains("JSON"), "{err}");
}

#[test]
fn a_module_exporting_the_wrong_interface_does_not_load() {
    let dir = guest_dir("wrong-export");
    let run = render_with(&dir, &app_with("scaler", "{replicas: 1}", 1), &[]);
    let err = run.failed();
    assert!(err.contains("wrong_export.wasm"), "names the file: {err}");
    assert!(
        err.contains("does not export") && err.contains("describe"),
        "{err}"
    );
}

#[test]
fn a_module_importing_a_host_function_not_offered_does_not_load() {
    let dir = guest_dir("foreign-import");
    let run = render_with(&dir, &app_with("foreign-import", "{}", 1), &[]);
    let err = run.failed();
    assert!(err.contains("foreign_import.wasm"), "names the file: {err}");
    assert!(
        err.contains("evil:host") && err.contains("not allowed"),
        "{err}"
    );
}

/// Renders `text` with one sandbox and registry, as the CLI would.
fn render_lib(
    sandbox: &kiln::sandbox::Sandbox,
    registry: &kiln::definitions::Registry,
    text: &str,
) -> kiln::Result<String> {
    let source = kiln::app::Source::parse("<test>", text)?;
    let app = kiln::app::Application::from_source(source, &|n: &str| registry.is_trait(n))?;
    let rendered = kiln::pipeline::render_app(sandbox, registry, &app, &Default::default())?;
    Ok(kiln::manifest::write(
        &rendered.objects,
        kiln::manifest::Format::Json,
        &app.name,
        false,
    ))
}

#[test]
fn a_good_app_renders_after_every_failure_in_the_same_process() {
    use kiln::definitions::Registry;
    use kiln::sandbox::{Limits, Sandbox};

    // One sandbox for everything. The endless loop is stopped by fuel, which does not
    // depend on how busy the machine is (a time limit short enough for the loop could stop
    // the memory bomb first on a loaded machine); the time limit is only a backstop. (The
    // default memory limit: `output` needs more than 128 MiB to build its 32 MiB object.)
    let limits = Limits {
        fuel: Some(2_000_000_000),
        time: Duration::from_secs(60),
        ..Limits::default()
    };
    let sandbox = Sandbox::new(limits, Some(shared_cache())).expect("a sandbox");
    let mut registry = Registry::builtin();
    registry
        .add_dir(&sandbox, misbehave_dir(), false)
        .expect("load misbehave");
    let invalid_json = guest_dir("invalid-json");
    registry
        .add_dir(&sandbox, &invalid_json, false)
        .expect("load invalid-json");

    let good = app_with("misbehave", "{mode: clock}", 1);
    let baseline = render_lib(&sandbox, &registry, &good).expect("the good app renders");
    assert!(baseline.contains("\"kind\":\"Deployment\""), "{baseline}");

    let failures: &[(&str, String, &str)] = &[
        (
            "panic",
            misbehave_app("panic"),
            "boom: misbehave was asked to panic",
        ),
        ("loop", misbehave_app("loop"), "exceeded its fuel limit"),
        (
            "memory",
            misbehave_app("memory"),
            "exceeded its memory limit",
        ),
        ("stack", misbehave_app("stack"), "exceeded its stack limit"),
        (
            "output",
            misbehave_app("output"),
            "exceeded its output size limit",
        ),
        ("no-kind", misbehave_app("no-kind"), "thing has no kind"),
        ("objects", misbehave_app("objects"), "objects"),
        (
            "invalid-json",
            app_with("invalid-json", "{}", 1),
            "returned invalid output",
        ),
    ];
    for (what, app, expected) in failures {
        let started = Instant::now();
        let err = match render_lib(&sandbox, &registry, app) {
            Ok(out) => panic!("{what}: rendered instead of failing ({} bytes)", out.len()),
            Err(e) => e.to_string(),
        };
        assert!(
            started.elapsed() < BOUND,
            "{what} took {:?}",
            started.elapsed()
        );
        assert!(err.contains(expected), "{what}: {err}");
        if *what == "objects" {
            assert!(err.contains("limit"), "{what}: {err}");
        }
        let again = render_lib(&sandbox, &registry, &good)
            .unwrap_or_else(|e| panic!("after {what}, the good app failed: {e}"));
        assert_eq!(
            again, baseline,
            "after {what}, the good app rendered differently"
        );
    }

    // Modules that cannot load leave the sandbox (and a registry) as they were.
    for crate_name in ["wrong-export", "foreign-import"] {
        let dir = guest_dir(crate_name);
        let mut scratch = Registry::builtin();
        let err = scratch
            .add_dir(&sandbox, &dir, false)
            .expect_err("a module that must not load");
        assert!(
            err.to_string().contains("definition"),
            "{crate_name}: {err}"
        );
        let again = render_lib(&sandbox, &registry, &good)
            .unwrap_or_else(|e| panic!("after {crate_name}, the good app failed: {e}"));
        assert_eq!(
            again, baseline,
            "after {crate_name}, the good app rendered differently"
        );
    }
}
