//! YAML aliases cannot make Kiln allocate more than a file it accepts: an anchored big
//! string used many times fails at the alias that goes over, with the file, line and
//! column, nothing on stdout, and a small peak memory (measured from the child's own
//! resource usage, not timed).

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::common::*;

const MIB: usize = 1024 * 1024;

/// The most a refused alias bomb may make the process hold: the text, the tree up to the
/// budget (16 MiB) and the engine, with room to spare; 200 copies of 8 MiB are 1.6 GB.
const MAX_PEAK_RSS_MIB: i64 = 200;

/// Set for the copy of this test binary that runs [`measure_kiln`]: the JSON of what to run.
const MEASURE: &str = "KILN_E2E_MEASURE";

/// What a finished `kiln` process did, and its peak resident memory.
struct Measured {
    run: Run,
    peak_rss_mib: i64,
}

/// Runs `kiln ARGS` in `dir` with `env` added, and measures its peak RSS.
///
/// Linux counts in a child's peak RSS the peak of the process that started it (the memory
/// it had when the child called exec), and this test process holds what every test running
/// beside it allocated. So `kiln` is started by a fresh copy of this binary, running only
/// [`measure_kiln`], whose own peak is small, and which reads `kiln`'s with `wait4`.
fn run_measured(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Measured {
    let scratch = tempfile::tempdir().expect("temp dir");
    let request = json!({
        "args": args,
        "dir": dir,
        "env": env.iter().map(|(k, v)| [k, v]).collect::<Vec<_>>(),
        "out": scratch.path(),
    });
    let helper = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "yaml_limits::measure_kiln",
            "--ignored",
            "--quiet",
        ])
        .env(MEASURE, request.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("run the measuring copy of the test binary");
    assert!(
        helper.status.success(),
        "the measuring copy failed:\n{}",
        String::from_utf8_lossy(&helper.stdout)
    );
    let read = |name: &str| std::fs::read_to_string(scratch.path().join(name)).expect(name);
    let result: Value = serde_json::from_str(&read("result.json")).expect("result.json");
    Measured {
        run: Run {
            stdout: read("stdout"),
            stderr: read("stderr"),
            code: result["code"]
                .as_i64()
                .map(|c| i32::try_from(c).expect("an exit code")),
        },
        peak_rss_mib: result["peak_rss_kib"].as_i64().expect("peak_rss_kib") / 1024,
    }
}

/// Not a test: [`run_measured`]'s helper, run in a fresh process. Runs `kiln` as asked in
/// `KILN_E2E_MEASURE`, and writes its stdout, stderr, exit code and peak RSS to files.
#[test]
#[ignore = "run by run_measured in a fresh process"]
fn measure_kiln() {
    let Ok(request) = std::env::var(MEASURE) else {
        return;
    };
    let request: Value = serde_json::from_str(&request).expect("the request");
    let out = Path::new(request["out"].as_str().expect("out"));
    let create = |name: &str| File::create(out.join(name)).expect(name);
    let mut cmd = kiln();
    cmd.current_dir(request["dir"].as_str().expect("dir"))
        .args(
            request["args"]
                .as_array()
                .expect("args")
                .iter()
                .map(|a| a.as_str().expect("an argument")),
        )
        .stdin(Stdio::null())
        .stdout(create("stdout"))
        .stderr(create("stderr"));
    for pair in request["env"].as_array().expect("env") {
        cmd.env(
            pair[0].as_str().expect("a name"),
            pair[1].as_str().expect("a value"),
        );
    }
    #[expect(
        clippy::zombie_processes,
        reason = "reaped by wait4 below, which also gives its resource usage"
    )]
    let child = cmd.spawn().expect("start kiln");
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `usage` are valid for writes; `pid` is our own unreaped child,
    // and `child` is not waited for again.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    // Linux reports ru_maxrss in KiB.
    let result = json!({"code": code, "peak_rss_kib": usage.ru_maxrss});
    std::fs::write(out.join("result.json"), result.to_string()).expect("result.json");
}

/// An application whose container gets an 8 MiB string as an env value (anchored) and
/// then `aliases` times as arguments: the first alias is on line 15, column 13.
fn app_with_aliased_string(aliases: usize) -> String {
    let mut app = String::from(
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: bomb\nspec:\n  \
         components:\n    - name: web\n      type: webservice\n      properties:\n        \
         image: nginx\n        env:\n          - name: BIG\n            value: &big ",
    );
    app.push_str(&"x".repeat(8 * MIB));
    app.push_str("\n        args:\n");
    app.push_str(&"          - *big\n".repeat(aliases));
    app
}

#[test]
fn an_anchored_big_string_used_200_times_fails_fast_and_small() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bomb.yaml");
    std::fs::write(&file, app_with_aliased_string(200)).expect("write the application");
    let path = file.to_str().expect("a UTF-8 path");
    let measured = run_measured(&["render", path], &repo(), &[]);
    let err = measured.run.failed();
    // The string and one copy are 16 MiB, and the keys before them a few bytes more: the
    // first alias goes over.
    let site = format!("{}:15:13", file.display());
    assert!(err.contains(&site), "expected {site} in {err}");
    assert!(
        err.contains("this alias expands the document to more than 16777216 bytes of text"),
        "{err}"
    );
    assert!(
        measured.peak_rss_mib < MAX_PEAK_RSS_MIB,
        "peak RSS {} MiB",
        measured.peak_rss_mib
    );
}

#[test]
fn an_alias_bomb_in_argo_cd_parameters_fails_fast_and_small() {
    // An environment string is limited to 128 KiB on Linux: 100 KiB used 200 times.
    let big = "x".repeat(100 * 1024);
    let value = format!("[&big {big}{}]", ", *big".repeat(200));
    let parameters = json!([{"name": "properties", "map": {"hello.cmd": value}}]);
    let parameters = parameters.to_string();
    let measured = run_measured(
        &["argocd", "generate"],
        &repo().join("examples/hello"),
        &[
            ("ARGOCD_APP_SOURCE_PATH", "examples/hello"),
            ("ARGOCD_APP_PARAMETERS", &parameters),
        ],
    );
    let err = measured.run.failed();
    // The string and 162 copies fit in 16 MiB (163 × 100 KiB ≤ 16,384 KiB): the 163rd
    // alias, at 6 characters an alias after the string (from column 7), goes over.
    let column = 7 + big.len() + 6 * 162 + 2;
    let expected = format!(
        "ARGOCD_APP_PARAMETERS: parameter \"properties\", key \"hello.cmd\", line 1, column \
         {column}: this alias expands the document to more than 16777216 bytes of text"
    );
    assert!(err.contains(&expected), "expected {expected:?} in {err}");
    assert!(
        measured.peak_rss_mib < MAX_PEAK_RSS_MIB,
        "peak RSS {} MiB",
        measured.peak_rss_mib
    );
}
