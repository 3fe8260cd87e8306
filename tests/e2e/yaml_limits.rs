//! YAML aliases cannot make Kiln allocate more than a file it accepts: an anchored big
//! string used many times fails at the alias that goes over, with the file, line and
//! column, nothing on stdout, and a small peak memory (measured from the child's own
//! resource usage, not timed).

use std::io::Read;
use std::process::{Child, Command, Stdio};

use crate::common::*;

const MIB: usize = 1024 * 1024;

/// The most a refused alias bomb may make the process hold: the text, the tree up to the
/// budget (16 MiB) and the engine, with room to spare; 200 copies of 8 MiB are 1.6 GB.
const MAX_PEAK_RSS_MIB: i64 = 200;

/// What a finished `kiln` process did, and its peak resident memory.
struct Measured {
    run: Run,
    peak_rss_mib: i64,
}

/// Runs `cmd` and measures the child's peak RSS with `wait4`, which reports that child's
/// resource usage alone (not that of other tests' children, as `RUSAGE_CHILDREN` would).
fn run_measured(mut cmd: Command) -> Measured {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kiln");
    // Read both pipes while the child runs, so that a big output cannot block it.
    let stdout = read_in_background(child.stdout.take().expect("piped"));
    let stderr = read_in_background(child.stderr.take().expect("piped"));
    let (code, peak_rss_mib) = wait_measured(&mut child);
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("UTF-8 output");
    Measured {
        run: Run {
            stdout: text(stdout.join().expect("read stdout")),
            stderr: text(stderr.join().expect("read stderr")),
            code,
        },
        peak_rss_mib,
    }
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        pipe.read_to_end(&mut bytes).expect("read a pipe");
        bytes
    })
}

/// Waits for `child` (reaping it, so `Child` must not wait again): its exit code and its
/// peak resident set in MiB.
fn wait_measured(child: &mut Child) -> (Option<i32>, i64) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `usage` are valid for writes; `pid` is our own unreaped child.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    // Linux reports ru_maxrss in KiB.
    (code, usage.ru_maxrss / 1024)
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
    let mut cmd = kiln();
    cmd.arg("render").arg(&file);
    let measured = run_measured(cmd);
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
    let parameters = serde_json::json!([{"name": "properties", "map": {"hello.cmd": value}}]);
    let mut cmd = kiln();
    cmd.args(["argocd", "generate"])
        .current_dir(repo().join("examples/hello"))
        .env("ARGOCD_APP_SOURCE_PATH", "examples/hello")
        .env("ARGOCD_APP_PARAMETERS", parameters.to_string());
    let measured = run_measured(cmd);
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
