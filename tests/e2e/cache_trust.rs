//! The compiled-module cache holds native code that Kiln maps and runs: nothing in it is
//! trusted on its word (`engine/src/sandbox/cache.rs`). A planted, truncated or symlinked
//! artifact is detected, reported once as a warning, and recompiled; a cache directory
//! others can write is not used; the cache stays under its size cap.

use std::path::{Path, PathBuf};

use crate::common::*;

/// A directory holding the misbehave trait, and one holding the invalid-json trait.
fn guest(crate_name: &str) -> tempfile::TempDir {
    let wasm = build_guest("tests/guests", crate_name);
    definitions_dir(&wasm, &format!("{}.wasm", crate_name.replace('-', "_")))
}

const APP: &str = "name: lab\nservices:\n  api:\n    type: webservice\n    image: nginx\n    \
                   misbehave:\n      mode: ok\n";

fn render_cached(cache: &Path, defs: &Path, extra: &[&str]) -> Run {
    let mut cmd = kiln();
    cmd.env("KILN_CACHE_DIR", cache)
        .args(["render", "-", "-d"])
        .arg(defs)
        .args(extra);
    run_cmd(cmd, Some(APP))
}

/// The `.cwasm` files under `cache`.
fn artifacts(cache: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in std::fs::read_dir(cache).unwrap().flatten() {
        if dir.path().is_dir() {
            for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
                if file.path().extension().is_some_and(|e| e == "cwasm") {
                    found.push(file.path());
                }
            }
        }
    }
    found.sort();
    found
}

/// A cache warmed with misbehave's artifact (the only external definition of `APP`), the
/// artifact's path and the output it renders.
fn warmed(defs: &Path) -> (tempfile::TempDir, PathBuf, String) {
    let cache = tempfile::tempdir().unwrap();
    let out = render_cached(cache.path(), defs, &[]).ok().to_string();
    let found = artifacts(cache.path());
    assert_eq!(found.len(), 1, "misbehave's artifact only: {found:?}");
    (cache, found[0].clone(), out)
}

#[track_caller]
fn assert_recompiled_with_one_warning(run: &Run, expected_output: &str, why: &str) {
    assert_eq!(run.ok(), expected_output);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: compiled-module cache"))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning: {}", run.stderr);
    assert!(
        warnings[0].contains(why) && warnings[0].ends_with("recompiling it"),
        "{}",
        warnings[0]
    );
}

#[test]
fn a_planted_artifact_is_detected_and_recompiled() {
    let misbehave = guest("misbehave");
    let (cache, artifact, expected) = warmed(misbehave.path());
    // A real artifact of this very engine, but of another module: wasmtime would load it.
    let other_cache = tempfile::tempdir().unwrap();
    let invalid_json = guest("invalid-json");
    let mut cmd = kiln();
    cmd.env("KILN_CACHE_DIR", other_cache.path())
        .args(["definitions", "list", "-d"])
        .arg(invalid_json.path());
    run_cmd(cmd, None).ok();
    let planted = &artifacts(other_cache.path())[0];
    std::fs::copy(planted, &artifact).unwrap();
    let run = render_cached(cache.path(), misbehave.path(), &[]);
    assert_recompiled_with_one_warning(&run, &expected, "its MAC does not verify");
    // Replaced by a good one: the next run is quiet.
    let quiet = render_cached(cache.path(), misbehave.path(), &[]);
    assert_eq!(quiet.ok(), expected);
    assert!(!quiet.stderr.contains("warning"), "{}", quiet.stderr);
}

#[test]
fn a_truncated_artifact_is_detected_and_recompiled() {
    let misbehave = guest("misbehave");
    let (cache, artifact, expected) = warmed(misbehave.path());
    let bytes = std::fs::read(&artifact).unwrap();
    std::fs::write(&artifact, &bytes[..bytes.len() / 2]).unwrap();
    let run = render_cached(cache.path(), misbehave.path(), &[]);
    assert_recompiled_with_one_warning(&run, &expected, "its MAC does not verify");
}

#[cfg(unix)]
#[test]
fn a_symlinked_artifact_is_not_followed() {
    let misbehave = guest("misbehave");
    let (cache, artifact, expected) = warmed(misbehave.path());
    let elsewhere = cache.path().join("elsewhere.cwasm");
    std::fs::rename(&artifact, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &artifact).unwrap();
    let run = render_cached(cache.path(), misbehave.path(), &[]);
    assert_recompiled_with_one_warning(&run, &expected, "is a symbolic link");
}

#[cfg(unix)]
#[test]
fn a_cache_directory_others_can_write_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let misbehave = guest("misbehave");
    let cache = tempfile::tempdir().unwrap();
    std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = render_cached(cache.path(), misbehave.path(), &[]);
    run.ok();
    assert!(
        run.stderr.contains(&format!(
            "warning: not using the compiled-module cache {}: it is writable by group or \
             others (mode 777)",
            cache.path().display()
        )),
        "{}",
        run.stderr
    );
    assert!(
        std::fs::read_dir(cache.path()).unwrap().next().is_none(),
        "nothing was written to it"
    );
}

#[test]
fn the_cache_stays_under_its_size_cap() {
    let misbehave = guest("misbehave");
    let invalid_json = guest("invalid-json");
    let cache = tempfile::tempdir().unwrap();
    for defs in [misbehave.path(), invalid_json.path()] {
        let mut cmd = kiln();
        cmd.env("KILN_CACHE_DIR", cache.path())
            .env("KILN_CACHE_MAX", "1Ki")
            .args(["definitions", "list", "-d"])
            .arg(defs);
        run_cmd(cmd, None).ok();
    }
    // Each store evicts all but the newest artifact: a cap smaller than one artifact
    // keeps one.
    assert_eq!(artifacts(cache.path()).len(), 1);
}
