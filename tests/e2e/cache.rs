//! The compiled-module cache: same output cold or warm, safe under concurrent writers, and
//! self-healing when an artifact is damaged.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::*;

fn render_with_cache(cache: &Path) -> Run {
    let mut cmd = kiln();
    cmd.env("KILN_CACHE_DIR", cache)
        .args(["render", "examples/shop"]);
    run_cmd(cmd, None)
}

fn artifacts(cache: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(cache).expect("cache dir exists") {
        let dir = entry.expect("entry").path();
        // Beside the engine directories lies the cache's MAC key.
        if !dir.is_dir() {
            assert_eq!(dir.file_name().unwrap(), "key");
            continue;
        }
        for file in std::fs::read_dir(dir).expect("engine dir") {
            found.push(file.expect("entry").path());
        }
    }
    found.sort();
    found
}

#[test]
fn cold_and_warm_renders_are_byte_identical() {
    let cache = tempfile::tempdir().unwrap();
    let cold = render_with_cache(cache.path());
    let warm = render_with_cache(cache.path());
    assert_eq!(cold.ok(), warm.ok());
    let mut uncached = kiln();
    uncached.args(["--no-cache", "render", "examples/shop"]);
    assert_eq!(run_cmd(uncached, None).ok(), cold.stdout);

    let files = artifacts(cache.path());
    assert!(!files.is_empty());
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let digest = name
            .strip_suffix(".cwasm")
            .or_else(|| name.strip_suffix(".mac"))
            .or_else(|| name.strip_suffix(".describe"));
        assert!(
            digest.is_some_and(|d| d.len() == 64),
            "unexpected cache file {name}"
        );
    }
}

#[test]
fn cache_warm_fills_the_cache_and_says_what_it_added() {
    let cache = tempfile::tempdir().unwrap();
    let misbehave = build_guest("tests/guests", "misbehave");
    let defs = definitions_dir(&misbehave, "misbehave.wasm");
    let warm = || {
        let mut cmd = kiln();
        cmd.env("KILN_CACHE_DIR", cache.path())
            .args(["cache", "warm", "-d"])
            .arg(defs.path());
        run_cmd(cmd, None).ok().to_string()
    };
    let first = warm();
    let cwasm = |files: Vec<std::path::PathBuf>| {
        files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "cwasm"))
            .count()
    };
    // The built-ins load from the binary: only the external definition is compiled.
    let added = cwasm(artifacts(cache.path()));
    assert_eq!(added, 1, "misbehave is cached");
    assert!(
        first.contains(" ready in ") && first.ends_with(&format!("({added} newly cached)\n")),
        "{first}"
    );
    let second = warm();
    assert!(second.ends_with("(0 newly cached)\n"), "{second}");
    assert_eq!(first.split(" (").next(), second.split(" (").next());

    // A render from the warmed cache compiles nothing and adds nothing.
    render_with_cache(cache.path()).ok();
    assert_eq!(cwasm(artifacts(cache.path())), added);
}

#[test]
fn cache_warm_without_a_cache_says_so() {
    let mut cmd = kiln();
    cmd.args(["--no-cache", "cache", "warm"]);
    let run = run_cmd(cmd, None);
    let out = run.ok();
    assert!(out.ends_with("nothing cached (--no-cache)\n"), "{out}");
}

#[test]
fn concurrent_processes_share_an_empty_cache() {
    let cache = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..6)
        .map(|_| {
            let mut cmd = kiln();
            cmd.env("KILN_CACHE_DIR", cache.path())
                .args(["render", "examples/shop"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            cmd.spawn().expect("start kiln")
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect();
    for out in &outputs {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, outputs[0].stdout);
    }
    // No temporary files left behind, and the artifacts load.
    for file in artifacts(cache.path()) {
        assert!(
            file.extension()
                .is_some_and(|e| e == "cwasm" || e == "mac" || e == "describe"),
            "{}",
            file.display()
        );
    }
    assert_eq!(
        render_with_cache(cache.path()).ok().as_bytes(),
        outputs[0].stdout
    );
}

#[test]
fn a_damaged_artifact_is_recompiled_and_replaced() {
    let cache = tempfile::tempdir().unwrap();
    let first = render_with_cache(cache.path());
    let files = artifacts(cache.path());
    for file in &files {
        std::fs::write(file, b"not a compiled module").unwrap();
    }
    let second = render_with_cache(cache.path());
    assert_eq!(first.ok(), second.ok());
    // Artifacts and remembered descriptions alike are rewritten.
    for file in &files {
        assert_ne!(
            std::fs::read(file).unwrap(),
            b"not a compiled module",
            "{} was not replaced",
            file.display()
        );
    }
}

#[test]
fn an_unwritable_cache_still_renders() {
    let mut cmd = kiln();
    cmd.env("KILN_CACHE_DIR", "/proc/kiln-cannot-write-here")
        .args(["render", "examples/hello"]);
    run_cmd(cmd, None).ok();
}

#[test]
fn the_cache_dir_flag_wins_over_the_environment() {
    let cache = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.current_dir(repo())
        .env("KILN_CACHE_DIR", "/proc/nowhere")
        .arg("--cache-dir")
        .arg(cache.path())
        .args(["render", "examples/hello"]);
    run_cmd(cmd, None).ok();
    assert!(!artifacts(cache.path()).is_empty());
}

/// A directory holding the example trait (`pdb.wasm`) and two files that are no
/// definitions.
fn definitions_with_bad_files() -> tempfile::TempDir {
    let wasm = build_guest("examples/custom-trait", "pod-disruption-budget");
    let dir = definitions_dir(&wasm, "pdb.wasm");
    std::fs::write(dir.path().join("broken.wasm"), b"not a module").unwrap();
    let mut truncated = std::fs::read(&wasm).unwrap();
    truncated.truncate(truncated.len() / 2);
    std::fs::write(dir.path().join("truncated.wasm"), truncated).unwrap();
    dir
}

#[test]
fn cache_warm_is_best_effort_and_names_each_failure() {
    let cache = tempfile::tempdir().unwrap();
    let definitions = definitions_with_bad_files();
    let mut cmd = kiln();
    cmd.env("KILN_CACHE_DIR", cache.path())
        .env("KILN_PLATFORM", "/nonexistent/platform.yaml")
        .args(["cache", "warm", "-d"])
        .arg(definitions.path())
        .args(["-d", "/nonexistent/definitions"]);
    let run = run_cmd(cmd, None);
    // Exit 0: in Argo CD's init container a failure would keep the repo-server from
    // starting, for every application.
    let stdout = run.ok();
    let warnings: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(warnings.len(), 4, "{}", run.stderr);
    assert!(
        warnings[0].starts_with("warning: reading the platform configuration /nonexistent/"),
        "{}",
        warnings[0]
    );
    for (warning, file) in warnings[1..].iter().zip(["broken.wasm", "truncated.wasm"]) {
        assert!(
            warning.starts_with("warning: not warmed: definition ") && warning.contains(file),
            "{warning}"
        );
    }
    assert!(
        warnings[3].starts_with("warning: not warmed: /nonexistent/definitions: "),
        "{}",
        warnings[3]
    );
    // The good definition beside the bad ones, and every built-in, are cached.
    let builtins = run_cmd(
        {
            let mut c = kiln();
            c.args(["definitions", "list"]);
            c
        },
        None,
    );
    let builtin_count = builtins
        .ok()
        .split("Not available")
        .next()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("  "))
        .count();
    assert!(
        stdout.starts_with(&format!("{} definitions ready in ", builtin_count + 1)),
        "{stdout}"
    );
    assert!(stdout.ends_with("; 3 failed (see above)\n"), "{stdout}");
}

#[test]
fn definitions_check_loads_each_file_and_fails_on_any_failure() {
    let definitions = definitions_with_bad_files();
    let dir = definitions.path();
    // The same trait twice: a clash, as `-d` would report it.
    std::fs::copy(dir.join("pdb.wasm"), dir.join("pdb-copy.wasm")).unwrap();
    let mut cmd = kiln();
    cmd.args(["definitions", "check"]).arg(dir);
    let run = run_cmd(cmd, None);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let errors: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(errors.len(), 3, "{}", run.stderr);
    for (error, file) in errors
        .iter()
        .zip(["broken.wasm", "pdb.wasm", "truncated.wasm"])
    {
        assert!(error.starts_with("error: definition "), "{error}");
        assert!(error.contains(file), "{error}");
    }
    assert!(
        errors[1].contains("pdb.wasm: it is also defined by"),
        "{}",
        errors[1]
    );
    assert_eq!(
        run.stdout,
        format!(
            "ok: {}: pod-disruption-budget (trait)\n{}: 4 definitions checked, 3 failed\n",
            dir.join("pdb-copy.wasm").display(),
            dir.display()
        )
    );

    // Only good ones: exit 0.
    std::fs::remove_file(dir.join("broken.wasm")).unwrap();
    std::fs::remove_file(dir.join("truncated.wasm")).unwrap();
    std::fs::remove_file(dir.join("pdb-copy.wasm")).unwrap();
    let mut cmd = kiln();
    cmd.args(["definitions", "check"]).arg(dir);
    let out = run_cmd(cmd, None);
    assert!(
        out.ok().ends_with("1 definition checked, 0 failed\n"),
        "{}",
        out.stdout
    );
}
