//! `docs/authoring.md` says how to test, build, sandbox-test and push a definition in each
//! language; this runs what it says. Every fenced `sh` block after a
//! `<!-- run: LANG (... runs this block in DIR) -->` line runs as written, with bash, in
//! DIR, against a `docker-registry` on 127.0.0.1 (`$REGISTRY`), with this build's `kiln`
//! and the Python of `python_guests::python` first on `PATH`. The one change: `kiln
//! definitions push` gets `--insecure`, since that registry speaks plain HTTP.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::*;
use crate::registry_rig::{Mode, Registry};

/// `(language, directory, script)` of every block the document marks to run.
fn marked_blocks(doc: &str) -> Vec<(String, String, String)> {
    let mut blocks = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        let Some(marker) = line.strip_prefix("<!-- run: ") else {
            continue;
        };
        let language = marker
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        let directory = marker
            .split_once("runs this block in ")
            .and_then(|(_, rest)| rest.split(')').next())
            .unwrap_or_else(|| panic!("a marker names its directory: {line}"))
            .to_string();
        assert_eq!(lines.next(), Some("```sh"), "a ```sh block follows {line}");
        let script: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        blocks.push((language, directory, script.join("\n")));
    }
    blocks
}

#[test]
fn the_authoring_guide_commands_work_as_written() {
    let doc = std::fs::read_to_string(repo().join("docs/authoring.md")).expect("read the guide");
    let blocks = marked_blocks(&doc);
    let languages: Vec<&str> = blocks.iter().map(|(l, _, _)| l.as_str()).collect();
    assert_eq!(languages, ["rust", "python"]);

    let registry = Registry::start(Mode::Anonymous);
    let kiln = Path::new(env!("CARGO_BIN_EXE_kiln"));
    let python = crate::python_guests::python();
    let path = format!(
        "{}:{}:{}",
        kiln.parent().expect("a directory").display(),
        python.parent().expect("a directory").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (language, directory, script) in &blocks {
        let script = format!(
            "set -euo pipefail\n\
             kiln() {{ if [ \"${{1:-}} ${{2:-}}\" = \"definitions push\" ]; then command kiln \"$@\" --insecure; else command kiln \"$@\"; fi; }}\n\
             {script}\n"
        );
        let out = Command::new("bash")
            .args(["-c", &script])
            .current_dir(repo().join(directory))
            .env("PATH", &path)
            .env("REGISTRY", registry.host())
            .env("KILN_CACHE_DIR", shared_cache())
            // The guide's Python installs the SDK; here it is the tree's.
            .env("PYTHONPATH", repo().join("sdk/python/src"))
            // As `build_guest`: the guest builds are not this test build's.
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTC_WORKSPACE_WRAPPER")
            .env_remove("RUSTC_WRAPPER")
            .env_remove("KILN_PLATFORM")
            .stdin(Stdio::null())
            .output()
            .expect("run bash");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "the {language} block failed:\n{script}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        let tag = if language == "rust" {
            "0.1.0"
        } else {
            "0.1.0-python"
        };
        let pushed = format!(
            "pushed pod-disruption-budget (trait, version 0.1.0) to oci://{}/platform/pod-disruption-budget:{tag}\n",
            registry.host()
        );
        assert!(stdout.contains(&pushed), "{language}: {stdout}");
        assert!(
            stdout.contains("test result: ok. 6 passed; 0 failed"),
            "{language}: kiln test ran every case:\n{stdout}"
        );
    }
}
