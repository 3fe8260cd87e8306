//! `kiln test` files as repository content (CI runs them): the paths they name stay inside
//! the tree `kiln test` was pointed at, and their `platform:` cannot loosen the one given on
//! the command line.

use std::path::{Path, PathBuf};

use crate::common::{build_guest, run};

/// A scratch directory with `tree/` (what `kiln test` is pointed at) and `outside/` beside
/// it, holding `outside/x.wasm`: bytes that are no module, so reading them shows as a
/// compile error.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let scratch = Scratch {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        std::fs::create_dir_all(scratch.tree()).expect("create tree/");
        std::fs::create_dir_all(scratch.outside()).expect("create outside/");
        std::fs::write(scratch.outside().join("x.wasm"), "not a module").expect("write x.wasm");
        scratch
    }

    fn tree(&self) -> PathBuf {
        self.dir.path().join("tree")
    }

    fn outside(&self) -> PathBuf {
        self.dir.path().join("outside")
    }

    /// Writes `tree/<name>`.
    fn write(&self, name: &str, text: &str) {
        let path = self.tree().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create the directory");
        std::fs::write(path, text).expect("write the file");
    }

    /// `kiln test tree/ ARGS`.
    fn test(&self, args: &[&str]) -> crate::common::Run {
        let tree = self.tree();
        let mut all = vec!["test", path_str(&tree)];
        all.extend_from_slice(args);
        run(&all)
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// A case that renders one deployment, labelled `team: shop` or not, and expects it to
/// pass (with its snapshot at `snapshot`, line 9 when unlabelled).
fn passing_case(labelled: bool, snapshot: Option<&str>) -> String {
    let traits = if labelled {
        "      traits: [{ type: labels, properties: { team: shop } }]\n"
    } else {
        ""
    };
    let snapshot = snapshot
        .map(|s| format!("      snapshot: {s}\n"))
        .unwrap_or_default();
    format!(
        "tests:\n  - name: renders\n    component:\n      name: api\n      type: webservice\n      \
         properties: {{ image: \"nginx:1.27\" }}\n{traits}    expect:\n      count: 1\n{snapshot}"
    )
}

#[test]
fn test_files_refuse_an_absolute_definitions_path() {
    let scratch = Scratch::new();
    let outside = scratch.outside().join("x.wasm");
    scratch.write(
        "a.test.yaml",
        &format!(
            "definitions: [{}]\n{}",
            outside.display(),
            passing_case(false, None)
        ),
    );
    let err = scratch.test(&[]).failed().to_string();
    assert_eq!(
        err,
        format!(
            "error: {}/a.test.yaml:1:15: field \"definitions[0]\": \"{}\" is absolute; paths \
             are relative to the test file, inside the test tree {}\n",
            scratch.tree().display(),
            outside.display(),
            scratch.tree().display()
        )
    );
}

#[test]
fn test_files_refuse_a_definitions_path_that_climbs_out() {
    let scratch = Scratch::new();
    scratch.write(
        "sub/a.test.yaml",
        &format!(
            "definitions: [../../outside/x.wasm]\n{}",
            passing_case(false, None)
        ),
    );
    let err = scratch.test(&[]).failed().to_string();
    assert_eq!(
        err,
        format!(
            "error: {0}/sub/a.test.yaml:1:15: field \"definitions[0]\": \
             \"../../outside/x.wasm\" leaves the test tree {0} (\"..\" above its root is \
             refused)\n",
            scratch.tree().display()
        )
    );
}

#[test]
fn test_files_refuse_a_lock_outside_the_tree_named_by_their_platform() {
    let scratch = Scratch::new();
    std::fs::write(
        scratch.outside().join("kiln.lock"),
        "version: 1\ndefinitions: {}\n",
    )
    .expect("write the lock");
    scratch.write("own.yaml", "lock: ../outside/kiln.lock\n");
    scratch.write(
        "a.test.yaml",
        &format!("platform: own.yaml\n{}", passing_case(false, None)),
    );
    let err = scratch.test(&[]).failed().to_string();
    assert_eq!(
        err,
        format!(
            "error: {0}/own.yaml:1:7: field \"lock\": cannot use the lock file: \
             \"../outside/kiln.lock\" leaves the test tree {0} (\"..\" above its root is \
             refused)\n",
            scratch.tree().display()
        )
    );
}

#[test]
fn test_files_may_climb_inside_their_tree() {
    // A test file in tests/ naming ../kiln-platform.yaml, as the docs show, when `kiln
    // test` is pointed at the directory holding both.
    let scratch = Scratch::new();
    scratch.write("kiln-platform.yaml", "limits: { time: 10s }\n");
    scratch.write(
        "tests/a.test.yaml",
        &format!(
            "platform: ../kiln-platform.yaml\n{}",
            passing_case(false, None)
        ),
    );
    let out = scratch.test(&[]).ok().to_string();
    assert!(out.contains("test renders ... ok\n"), "{out}");
}

#[cfg(unix)]
#[test]
fn test_files_refuse_definitions_through_a_symlink_out_of_the_tree() {
    let scratch = Scratch::new();
    std::os::unix::fs::symlink(scratch.outside(), scratch.tree().join("defs"))
        .expect("symlink defs -> outside");
    for (i, named) in ["defs/x.wasm", "defs"].iter().enumerate() {
        scratch.write(
            "a.test.yaml",
            &format!("definitions: [{named}]\n{}", passing_case(false, None)),
        );
        let err = scratch.test(&[]).failed().to_string();
        let tree = scratch.tree();
        assert!(
            err.starts_with(&format!(
                "error: loading the definitions of {0}/a.test.yaml: {0}/a.test.yaml:1:15: \
                 field \"definitions[0]\": {0}/defs{1}: refused: it leaves the test tree {0} \
                 through a symlink",
                tree.display(),
                if i == 0 { "/x.wasm" } else { "" },
            )),
            "{err}"
        );
    }
}

#[cfg(unix)]
#[test]
fn test_files_update_writes_no_snapshot_through_a_symlink_out_of_the_tree() {
    let scratch = Scratch::new();
    std::os::unix::fs::symlink(scratch.outside(), scratch.tree().join("snap"))
        .expect("symlink snap -> outside");
    scratch.write("a.test.yaml", &passing_case(false, Some("snap/out.yaml")));
    let run = scratch.test(&["--update"]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    let tree = scratch.tree();
    assert!(
        run.stdout.contains(&format!(
            "{0}/a.test.yaml:9:17: field \"tests[0].expect.snapshot\": {0}/snap/out.yaml: \
             refused: it leaves the test tree {0} through a symlink",
            tree.display()
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("test result: FAILED. 0 passed; 1 failed; 0 snapshots written;"),
        "{}",
        run.stdout
    );
    assert!(!scratch.outside().join("out.yaml").exists());
}

#[test]
fn test_files_update_writes_no_snapshot_outside_the_tree() {
    let scratch = Scratch::new();
    scratch.write(
        "a.test.yaml",
        &passing_case(false, Some("../outside/out.yaml")),
    );
    let err = scratch.test(&["--update"]).failed().to_string();
    assert_eq!(
        err,
        format!(
            "error: {0}/a.test.yaml:9:17: field \"tests[0].expect.snapshot\": \
             \"../outside/out.yaml\" leaves the test tree {0} (\"..\" above its root is \
             refused)\n",
            scratch.tree().display()
        )
    );
    assert!(!scratch.outside().join("out.yaml").exists());
}

#[test]
fn test_files_update_writes_a_snapshot_inside_the_tree() {
    let scratch = Scratch::new();
    scratch.write(
        "a.test.yaml",
        &passing_case(false, Some("snaps/new/out.yaml")),
    );
    let out = scratch.test(&["--update"]).ok().to_string();
    assert!(out.contains("1 snapshot written;"), "{out}");
    let written =
        std::fs::read_to_string(scratch.tree().join("snaps/new/out.yaml")).expect("written");
    assert!(written.contains("kind: Deployment"), "{written}");
    // No temporary file left beside it.
    let names: Vec<_> = std::fs::read_dir(scratch.tree().join("snaps/new"))
        .expect("read the directory")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["out.yaml"]);
    let out = scratch.test(&[]).ok().to_string();
    assert!(out.contains("test renders ... ok\n"), "{out}");
}

/// A platform file outside the tree, as CI gives it (`--platform`).
fn command_line_platform(scratch: &Scratch, text: &str) -> String {
    let dir = scratch.dir.path().join("ci");
    std::fs::create_dir_all(&dir).expect("create ci/");
    std::fs::write(dir.join("kiln.lock"), "version: 1\ndefinitions: {}\n").expect("write lock");
    let path = dir.join("platform.yaml");
    std::fs::write(&path, text).expect("write the platform file");
    path_str(&path).to_string()
}

#[test]
fn test_files_cannot_drop_the_command_line_lock() {
    let scratch = Scratch::new();
    let platform = command_line_platform(&scratch, "lock: kiln.lock\n");
    std::fs::copy(
        scratch.outside().join("x.wasm"),
        scratch.tree().join("x.wasm"),
    )
    .expect("copy x.wasm");
    // The file's own platform has no lock: with it in place of the command line's, the
    // unpinned module would load.
    scratch.write("own-platform.yaml", "limits: { time: 10s }\n");
    scratch.write(
        "a.test.yaml",
        &format!(
            "platform: own-platform.yaml\ndefinitions: [x.wasm]\n{}",
            passing_case(false, None)
        ),
    );
    let err = scratch
        .test(&["--platform", &platform])
        .failed()
        .to_string();
    assert!(
        err.contains(&format!(
            "{}/x.wasm: is not pinned in the lock file",
            scratch.tree().display()
        )),
        "{err}"
    );
    // Without the command line's platform, the file's own applies: no lock, so the module
    // is compiled (and found not to be one).
    let err = scratch.test(&[]).failed().to_string();
    assert!(!err.contains("is not pinned"), "{err}");
}

#[test]
fn test_files_cannot_drop_the_command_line_policies() {
    let scratch = Scratch::new();
    let platform = command_line_platform(
        &scratch,
        "policies:\n  - type: require-labels\n    properties: { labels: [team] }\n",
    );
    scratch.write("own-platform.yaml", "policies: []\n");
    // The file's platform, its `policies:` and the case's each try to replace the
    // platform's policies with none.
    let case =
        passing_case(false, None).replace("    expect:\n", "    policies: []\n    expect:\n");
    scratch.write(
        "a.test.yaml",
        &format!("platform: own-platform.yaml\npolicies: []\n{case}"),
    );
    let run = scratch.test(&["--platform", &platform]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("test renders ... FAILED\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Deployment \"api\" lacks the label \"team\""),
        "{}",
        run.stdout
    );
    // With the label, the platform's policy allows it.
    scratch.write(
        "a.test.yaml",
        &format!(
            "platform: own-platform.yaml\npolicies: []\n{}",
            passing_case(true, None)
        ),
    );
    let out = scratch.test(&["--platform", &platform]).ok().to_string();
    assert!(out.contains("test renders ... ok\n"), "{out}");
}

#[test]
fn test_files_cannot_replace_a_policy_of_the_command_line() {
    let scratch = Scratch::new();
    let platform = command_line_platform(
        &scratch,
        "policies:\n  - type: require-labels\n    properties: { labels: [team] }\n",
    );
    // The built-in's own module: replacing it with itself is refused all the same.
    let builtin = build_guest("tests/guests", "builtin-require-labels");
    std::fs::copy(builtin, scratch.tree().join("require_labels.wasm")).expect("copy the module");
    scratch.write(
        "a.test.yaml",
        &format!(
            "overrideBuiltins: true\ndefinitions: [require_labels.wasm]\n{}",
            passing_case(true, None)
        ),
    );
    let err = scratch
        .test(&["--platform", &platform])
        .failed()
        .to_string();
    assert_eq!(
        err,
        format!(
            "error: loading the definitions of {0}/a.test.yaml: {0}/a.test.yaml: field \
             \"overrideBuiltins\": the file's definitions replace \"require-labels\", a policy \
             of the platform configuration given to `kiln test`; that is refused\n",
            scratch.tree().display()
        )
    );
    // Without that platform, a test file may replace a built-in.
    let out = scratch.test(&[]).ok().to_string();
    assert!(out.contains("test renders ... ok\n"), "{out}");
}

#[test]
fn under_test_replaces_the_files_own_definitions() {
    // The example's test file names `target/wasm32-wasip2/release/...` of its own crate;
    // `--under-test` points the same cases at another build, from outside the tree (the
    // command line is trusted, as `-d` is).
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let wasm = elsewhere.path().join("pdb.wasm");
    std::fs::copy(crate::common::example_trait_wasm(), &wasm).expect("copy the module");
    let run = run(&[
        "test",
        "examples/custom-trait",
        "--under-test",
        path_str(&wasm),
    ]);
    assert!(
        run.ok().contains("test result: ok. 6 passed; 0 failed"),
        "{}",
        run.stdout
    );
    // Not added beside the file's own (which would be two definitions of one name): in
    // their place. A module that is not the trait leaves the cases without it.
    let other = build_guest("tests/guests", "myingress");
    let run = crate::common::run(&[
        "test",
        "examples/custom-trait",
        "--under-test",
        path_str(&other),
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("unknown trait \"pod-disruption-budget\""),
        "{}",
        run.stdout
    );
    // A path that is not there fails the file, naming it.
    let missing = elsewhere.path().join("missing.wasm");
    let run = crate::common::run(&[
        "test",
        "examples/custom-trait",
        "--under-test",
        path_str(&missing),
    ]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains(&format!(
            "loading the definitions of examples/custom-trait/pod-disruption-budget.test.yaml: {}: No such file or directory",
            missing.display()
        )),
        "{}",
        run.stderr
    );
}
