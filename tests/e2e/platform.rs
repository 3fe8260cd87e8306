//! The platform team's controls, through the CLI: the platform file (`--platform` or
//! `KILN_PLATFORM`) with its limits, per-definition overrides, digest pinning and guardrail
//! policies; the fuel limit; `kiln test`; `kiln new`; and environments (`--env`,
//! `KILN_ENV`). Every failure is checked for its exact message and an empty stdout.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::*;

/// How long a render that a limit stops may take, generously (the machine may be busy):
/// the point is that it ends.
const BOUND: Duration = Duration::from_secs(60);

/// The `misbehave` trait's module, built once.
fn misbehave_wasm() -> &'static PathBuf {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| build_guest("tests/guests", "misbehave"))
}

/// A directory holding only `misbehave.wasm`, kept for the whole run.
fn misbehave_dir() -> &'static str {
    static DIR: OnceLock<String> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = definitions_dir(misbehave_wasm(), "misbehave.wasm").keep();
        dir.to_str().expect("UTF-8 path").to_string()
    })
}

/// An application whose component `api` (a webservice) uses the misbehave trait in `mode`;
/// the trait is at line 12, column 11.
fn misbehave_app(mode: &str) -> String {
    format!(
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: lab\nspec:\n  \
         components:\n    - name: api\n      type: webservice\n      properties:\n        \
         image: nginx\n      traits:\n        - type: misbehave\n          properties:\n            \
         mode: {mode}\n"
    )
}

/// Renders the misbehave app in `mode` with the misbehave directory and `extra` arguments.
fn render_misbehave(mode: &str, extra: &[&str]) -> Run {
    let mut args = vec!["-d", misbehave_dir()];
    args.extend_from_slice(extra);
    render_stdin(&misbehave_app(mode), &args)
}

/// Writes `text` to `dir/name` and returns the path as a string.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create the directory");
    }
    std::fs::write(&path, text).expect("write the file");
    path.to_str().expect("UTF-8 path").to_string()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// A platform file in a fresh temporary directory (returned with it, to keep it alive).
fn platform_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "platform.yaml", text);
    (dir, path)
}

/// The file names in `dir`, sorted.
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const FUEL_ERROR: &str = "error: <stdin>:12:11: component \"api\", trait \"misbehave\": \
                          definition \"misbehave\" exceeded its fuel limit (ran out of fuel, \
                          limit 20M)\n";

// ---- 1. fuel -----------------------------------------------------------------------------

#[test]
fn platform_fuel_stops_an_endless_loop_deterministically() {
    let started = Instant::now();
    let first = render_misbehave("loop", &["--fuel", "20000000"]);
    let second = render_misbehave("loop", &["--fuel", "20000000"]);
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
    assert_eq!(first.failed(), FUEL_ERROR);
    // Fuel runs out at the same instruction on every run: the same bytes each time.
    assert_eq!(first.stderr, second.failed());
}

#[test]
fn platform_fuel_lets_a_well_behaved_module_render() {
    let out = render_misbehave("ok", &["--fuel", "20000000"])
        .ok()
        .to_string();
    let objects = objects(&out);
    find(&objects, "Deployment", "api");
}

// ---- 2. limits from the platform file, per definition ------------------------------------

#[test]
fn platform_file_sets_the_fuel_limit() {
    let (_dir, platform) = platform_file("limits: {fuel: 20M}\n");
    let run = render_misbehave("loop", &["--platform", &platform]);
    assert_eq!(run.failed(), FUEL_ERROR);
}

#[test]
fn platform_per_definition_limits_override_the_defaults() {
    let (_dir, platform) = platform_file(
        "limits: {fuel: 20M}\ndefinitions:\n  misbehave:\n    limits: {fuel: 5G, time: 200ms}\n",
    );
    let started = Instant::now();
    let run = render_misbehave("loop", &["--platform", &platform]);
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
    // 5G of fuel outlasts 200 ms: the time limit of the override stops it.
    assert_eq!(
        run.failed(),
        "error: <stdin>:12:11: component \"api\", trait \"misbehave\": definition \"misbehave\" \
         exceeded its time limit (ran longer than 200 ms)\n"
    );
}

#[test]
fn platform_an_override_of_another_definition_leaves_the_defaults() {
    // Overriding scaler's limits does not change misbehave's: it still runs out of fuel.
    let (_dir, platform) = platform_file(
        "limits: {fuel: 20M}\ndefinitions:\n  scaler:\n    limits: {fuel: 5G, time: 200ms}\n",
    );
    let run = render_misbehave("loop", &["--platform", &platform]);
    assert_eq!(run.failed(), FUEL_ERROR);
}

// ---- 3. table elements -------------------------------------------------------------------

#[test]
fn platform_table_limit_stops_a_definition() {
    let (_dir, platform) = platform_file("limits: {tableElements: 1}\n");
    // Without a cache each module's `describe` runs (a warm cache remembers it).
    let run = run(&[
        "--no-cache",
        "--platform",
        &platform,
        "render",
        "examples/hello",
    ]);
    // Every Rust component has a function table longer than one element: the first call
    // (describe, while loading) fails. Of the app's two definitions, the first by name is
    // reported, every run.
    assert_eq!(
        run.failed(),
        "error: definition scaler (built-in): describe exceeded its table limit (tried to \
         grow a table to 7 elements, limit 1)\n"
    );
}

// ---- 4. objects per call -----------------------------------------------------------------

const EXPOSED_APP: &str = "apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: shop
spec:
  components:
    - name: api
      type: webservice
      properties:
        image: nginx:1.27
        ports:
          - port: 80
            expose: true
";

#[test]
fn platform_objects_limit_counts_every_object_of_a_call() {
    let (_dir, platform) = platform_file("limits: {objects: 1}\n");
    let run = render_stdin(EXPOSED_APP, &["--platform", &platform]);
    assert_eq!(
        run.failed(),
        "error: <stdin>:7:7: component \"api\": definition \"webservice\" exceeded its object \
         count limit (returned 2 objects, limit 1)\n"
    );

    // At the limit, it renders.
    let (_dir, platform) = platform_file("limits: {objects: 2}\n");
    let out = render_stdin(EXPOSED_APP, &["--platform", &platform])
        .ok()
        .to_string();
    let objects = objects(&out);
    assert_eq!(objects.len(), 2);
    find(&objects, "Deployment", "api");
    find(&objects, "Service", "api");
}

// ---- 5. errors in the platform file ------------------------------------------------------

#[test]
fn platform_file_with_an_unknown_key_is_refused_with_its_line() {
    let (_dir, platform) = platform_file("# the platform\nlimits:\n  fule: 20M\n");
    // Without a cache each module's `describe` runs (a warm cache remembers it).
    let run = run(&[
        "--no-cache",
        "--platform",
        &platform,
        "render",
        "examples/hello",
    ]);
    assert_eq!(
        run.failed(),
        format!(
            "error: reading the platform configuration {platform}: {platform}:3:9: field \
             \"limits.fule\": unknown field `fule`, expected one of `time`, `fuel`, `memory`, \
             `tableElements`, `stack`, `output`, `objects`, `renderMemory`, `cacheSize`\n"
        )
    );
}

#[test]
fn platform_file_with_a_bad_unit_is_refused() {
    let (_dir, platform) = platform_file("limits:\n  time: 5 hours\n");
    let err = run(&["--platform", &platform, "render", "examples/hello"])
        .failed()
        .to_string();
    assert!(
        err.contains(&format!(
            "{platform}:2:9: field \"limits.time\": unknown unit \"hours\" for a time limit \
             (use ms, s, m)"
        )),
        "{err}"
    );

    let (_dir, platform) = platform_file("limits:\n  fuel: 20X\n");
    let err = run(&["--platform", &platform, "render", "examples/hello"])
        .failed()
        .to_string();
    assert!(
        err.contains(&format!(
            "{platform}:2:9: field \"limits.fuel\": unknown unit \"X\" for fuel (use k, M, G)"
        )),
        "{err}"
    );

    let (_dir, platform) = platform_file("limits:\n  time: 5\n");
    let err = run(&["--platform", &platform, "render", "examples/hello"])
        .failed()
        .to_string();
    assert!(
        err.contains(&format!(
            "{platform}:2:9: field \"limits.time\": write a unit: ms, s or m (e.g. 5s)"
        )),
        "{err}"
    );
}

#[test]
fn platform_file_naming_a_missing_lock_file_is_refused() {
    let (dir, platform) = platform_file("lock: missing.lock\n");
    let err = run(&["--platform", &platform, "render", "examples/hello"])
        .failed()
        .to_string();
    let lock = dir.path().join("missing.lock");
    assert!(
        err.starts_with(&format!(
            "error: reading the platform configuration {platform}: {platform}:1:7: field \
             \"lock\": cannot use the lock file: {}: No such file or directory",
            lock.display()
        )),
        "{err}"
    );
}

#[test]
fn platform_a_missing_platform_file_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("platform.yaml");
    let err = run(&["--platform", path_str(&missing), "render", "examples/hello"])
        .failed()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "error: reading the platform configuration {0}: {0}: No such file or directory",
            missing.display()
        )),
        "{err}"
    );
}

// ---- 6. digest pinning -------------------------------------------------------------------

/// The lock file of `dir`, parsed.
fn read_lock(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("kiln.lock")).expect("kiln.lock exists");
    kiln::app::yaml::parse(&text)
        .expect("the lock file is YAML")
        .to_json()
}

fn digest_of(path: &Path) -> String {
    kiln::digest::hex(&kiln::digest::sha256(
        &std::fs::read(path).expect("read the module"),
    ))
}

#[test]
fn platform_lock_pins_the_definitions_of_a_directory() {
    let defs = definitions_dir(misbehave_wasm(), "misbehave.wasm");
    let dir = path_str(defs.path()).to_string();
    let run = run(&["definitions", "lock", &dir]);
    assert_eq!(
        run.ok(),
        format!("pinned 1 definition in {dir}/kiln.lock\n")
    );
    assert_eq!(run.stderr, "");

    let lock = read_lock(defs.path());
    assert_eq!(lock["version"], 1);
    let pin = &lock["definitions"]["misbehave"];
    assert_eq!(pin["file"], "misbehave.wasm");
    let sha = pin["sha256"].as_str().expect("a sha256 string");
    assert_eq!(sha.len(), 64, "{sha}");
    assert!(
        sha.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{sha}"
    );
    assert_eq!(sha, digest_of(misbehave_wasm()));
    assert_eq!(
        lock["definitions"].as_object().map(|m| m.len()),
        Some(1),
        "{lock}"
    );

    // `lock:` is relative to the platform file, which may sit next to the lock.
    let platform = write(defs.path(), "platform.yaml", "lock: kiln.lock\n");
    let out = render_stdin(&misbehave_app("ok"), &["--platform", &platform, "-d", &dir])
        .ok()
        .to_string();
    find(&objects(&out), "Deployment", "api");

    // Another module under the pinned file name: refused by its digest.
    let myworker = build_guest("tests/guests", "myworker");
    let swapped = definitions_dir(&myworker, "misbehave.wasm");
    let swapped_file = swapped.path().join("misbehave.wasm");
    let err = render_stdin(
        &misbehave_app("ok"),
        &["--platform", &platform, "-d", path_str(swapped.path())],
    )
    .failed()
    .to_string();
    assert_eq!(
        err,
        format!(
            "error: loading definitions from {}: definition {}: sha256 {} does not match the \
             digest pinned for \"misbehave\" ({sha}); re-run `kiln definitions lock` if the \
             change is intended\n",
            swapped.path().display(),
            swapped_file.display(),
            digest_of(&myworker)
        )
    );

    // A module the lock does not list, next to a pinned one: refused.
    let extra = definitions_dir(misbehave_wasm(), "misbehave.wasm");
    std::fs::copy(&myworker, extra.path().join("myworker.wasm")).expect("copy");
    let err = render_stdin(
        &misbehave_app("ok"),
        &["--platform", &platform, "-d", path_str(extra.path())],
    )
    .failed()
    .to_string();
    assert_eq!(
        err,
        format!(
            "error: loading definitions from {0}: definition {0}/myworker.wasm: is not pinned \
             in the lock file (sha256 {1}); pinning is on, so only listed definitions load\n",
            extra.path().display(),
            digest_of(&myworker)
        )
    );
}

#[test]
fn platform_lock_of_an_invalid_module_writes_no_lock_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "broken.wasm", "not a component");
    let err = run(&["definitions", "lock", path_str(dir.path())])
        .failed()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "error: loading definitions from {0}: definition {0}/broken.wasm: not a \
             WebAssembly file",
            dir.path().display()
        )),
        "{err}"
    );
    // Neither the lock file nor a half-written temporary one.
    assert_eq!(file_names(dir.path()), ["broken.wasm"]);
}

// ---- 7. guardrail policies ---------------------------------------------------------------

const GUARDRAILS: &str = "policies:
  - type: require-labels
    properties: { labels: [team] }
  - type: disallow-latest-tag
    action: warn
";

/// An exposed webservice with image `nginx` (no tag), with `labels` in its metadata.
fn guarded_app(labels: &str) -> String {
    format!(
        "apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: shop
{labels}spec:
  components:
    - name: api
      type: webservice
      properties:
        image: nginx
        ports:
          - port: 80
            expose: true
"
    )
}

const LABELLED: &str = "  labels: {team: payments}\n";

/// The denials of the unlabelled app; `at` is where its component is written.
fn denial_lines(namespace: &str, at: &str) -> [String; 3] {
    [
        "error: the platform's policies deny this application:\n".to_string(),
        format!(
            "  - {at}: policy \"require-labels\": Deployment/{namespace}/api (component \
             \"api\"), field \"metadata.labels.team\": Deployment \"api\" lacks the label \
             \"team\"\n"
        ),
        format!(
            "  - {at}: policy \"require-labels\": Service/{namespace}/api (component \"api\"), \
             field \"metadata.labels.team\": Service \"api\" lacks the label \"team\"\n"
        ),
    ]
}

fn latest_warning(namespace: &str, at: &str) -> String {
    format!(
        "{at}: warning: policy \"disallow-latest-tag\": Deployment/{namespace}/api (component \
         \"api\"), field \"spec.template.spec.containers[0].image\": container \"api\" uses \
         image \"nginx\", which has no tag (meaning latest); pin a version or a digest\n"
    )
}

#[test]
fn platform_policies_deny_an_application_and_list_every_denial() {
    let (_dir, platform) = platform_file(GUARDRAILS);
    let err = render_stdin(&guarded_app(""), &["--platform", &platform])
        .failed()
        .to_string();
    for line in denial_lines("default", "<stdin>:7:7") {
        assert!(err.contains(&line), "expected {line:?} in:\n{err}");
    }
}

#[test]
fn platform_policies_allow_a_labelled_application_and_warn() {
    let (_dir, platform) = platform_file(GUARDRAILS);
    let run = render_stdin(&guarded_app(LABELLED), &["--platform", &platform]);
    let objects = objects(run.ok());
    assert_eq!(
        find(&objects, "Deployment", "api")["metadata"]["labels"]["team"],
        "payments"
    );
    find(&objects, "Service", "api");
    assert_eq!(run.stderr, latest_warning("default", "<stdin>:8:7"));
}

#[test]
fn platform_an_unknown_policy_suggests_the_right_name() {
    let (_dir, platform) = platform_file(
        "policies:\n  - type: require-labels\n    properties: { labels: [team] }\n  - type: \
         require-lables\n",
    );
    let err = render_stdin(&guarded_app(LABELLED), &["--platform", &platform])
        .failed()
        .to_string();
    assert_eq!(
        err,
        format!(
            "error: {platform}:4:5: field \"type\": \"require-lables\" is not a known policy \
             (did you mean \"require-labels\"?)\n"
        )
    );
}

#[test]
fn platform_a_trait_is_not_a_policy() {
    let (_dir, platform) = platform_file("policies:\n  - type: scaler\n");
    let err = render_stdin(&guarded_app(LABELLED), &["--platform", &platform])
        .failed()
        .to_string();
    assert_eq!(
        err,
        format!("error: {platform}:2:5: field \"type\": \"scaler\" is a trait, not a policy\n")
    );
}

// ---- 8. guardrails in the Argo CD plugin -------------------------------------------------

/// `kiln argocd generate` as the sidecar runs it: in the app's directory of a repository
/// copy, with only Argo CD's environment plus `KILN_PLATFORM`.
fn argocd_generate(app: &str, platform: &str) -> Run {
    let tmp = tempfile::tempdir().expect("temp dir");
    let app_dir = tmp.path().join("0b7c2f1e-uuid/apps/shop");
    write(&app_dir, "vela.yaml", app);
    let definitions = tmp.path().join("kiln-definitions");
    std::fs::create_dir_all(&definitions).expect("create the definitions directory");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.args(["argocd", "generate", "-d", path_str(&definitions)])
        .current_dir(&app_dir)
        .env_clear()
        .env("KILN_CACHE_DIR", shared_cache())
        .env("KILN_PLATFORM", platform)
        .env("ARGOCD_APP_NAME", "shop")
        .env("ARGOCD_APP_NAMESPACE", "shop")
        .env("ARGOCD_APP_PROJECT_NAME", "default")
        .env(
            "ARGOCD_APP_REVISION",
            "4f1b2c3d5e6f708192a3b4c5d6e7f8091a2b3c4d",
        )
        .env("ARGOCD_APP_SOURCE_PATH", "apps/shop")
        .env("ARGOCD_APP_SOURCE_TARGET_REVISION", "HEAD");
    run_cmd(cmd, None)
}

#[test]
fn platform_policies_from_kiln_platform_deny_in_argocd_generate() {
    let (_dir, platform) = platform_file(GUARDRAILS);
    let err = argocd_generate(&guarded_app(""), &platform)
        .failed()
        .to_string();
    for line in denial_lines("shop", "apps/shop/vela.yaml:7:7") {
        assert!(err.contains(&line), "expected {line:?} in:\n{err}");
    }
}

#[test]
fn platform_policies_from_kiln_platform_allow_in_argocd_generate() {
    let (_dir, platform) = platform_file(GUARDRAILS);
    let run = argocd_generate(&guarded_app(LABELLED), &platform);
    let out = run.ok();
    assert!(out.starts_with('{'), "a JSON object stream: {out}");
    let objects: Vec<serde_json::Value> = serde_json::Deserializer::from_str(out)
        .into_iter()
        .map(|v| v.expect("JSON objects"))
        .collect();
    assert_eq!(
        find(&objects, "Deployment", "api")["metadata"]["labels"]["team"],
        "payments"
    );
    assert_eq!(
        run.stderr,
        latest_warning("shop", "apps/shop/vela.yaml:8:7")
    );
}

// ---- 9. kiln test ------------------------------------------------------------------------

#[test]
fn platform_kiln_test_passes_the_require_labels_tests() {
    let run = run(&["test", "traits/policies/require-labels"]);
    let out = run.ok();
    assert!(
        out.contains("\nrunning ") && out.contains(" tests from traits/policies/require-labels/"),
        "{out}"
    );
    assert!(
        out.contains("test an app without the label is denied ... ok\n"),
        "{out}"
    );
    assert!(out.contains("\ntest result: ok. "), "{out}");
    assert!(
        out.contains(" passed; 0 failed; 0 snapshots written;"),
        "{out}"
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn platform_kiln_test_reports_a_wrong_expectation() {
    let original = std::fs::read_to_string(
        repo().join("traits/policies/require-labels/require-labels.test.yaml"),
    )
    .expect("read the test file");
    let right = "message: 'Deployment \"api\" lacks the label \"team\"'";
    assert_eq!(
        original.matches(right).count(),
        1,
        "one expectation to break"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "require-labels.test.yaml",
        &original.replace(
            right,
            "message: 'Deployment \"api\" lacks the label \"owner\"'",
        ),
    );
    let run = run(&["test", &file]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.stderr, "");
    let out = &run.stdout;
    assert!(
        out.contains("test an app without the label is denied ... FAILED\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "\n---- {file} :: an app without the label is denied ----\n\
             no denial matches {{policy: require-labels, object: Deployment/default/api, \
             field: metadata.labels.team, message: Deployment \"api\" lacks the label \
             \"owner\"}}\n\
             unexpected denial: {file}:26:7: policy \"require-labels\": Deployment/default/api \
             (component \"api\"), field \"metadata.labels.team\": Deployment \"api\" lacks the label \
             \"team\"\n"
        )),
        "{out}"
    );
    assert!(out.contains("\ntest result: FAILED. "), "{out}");
    assert!(
        out.contains(" passed; 1 failed; 0 snapshots written;"),
        "{out}"
    );
}

#[test]
fn platform_kiln_test_writes_and_compares_snapshots() {
    let dir = tempfile::tempdir().expect("temp dir");
    let case = |replicas: u32| {
        format!(
            "tests:
  - name: renders the api
    component:
      name: api
      type: webservice
      properties: {{ image: \"nginx:1.27\" }}
      traits: [{{ type: scaler, properties: {{ replicas: {replicas} }} }}]
    expect:
      snapshot: snap/out.yaml
"
        )
    };
    let file = write(dir.path(), "api.test.yaml", &case(3));
    let snapshot = dir.path().join("snap/out.yaml");
    let dir_arg = path_str(dir.path()).to_string();

    // Missing, without --update: a failure that says how to write it.
    let missing = run(&["test", &dir_arg]);
    assert_eq!(missing.code, Some(1), "{}", missing.stderr);
    assert!(
        missing.stdout.contains(&format!(
            "snapshot {} does not exist; run `kiln test --update` to write it",
            snapshot.display()
        )),
        "{}",
        missing.stdout
    );

    let update = run(&["test", &dir_arg, "--update"]);
    let out = update.ok();
    assert!(
        out.contains("test renders the api ... ok (snapshot written)\n"),
        "{out}"
    );
    assert!(
        out.contains("test result: ok. 1 passed; 0 failed; 1 snapshot written;"),
        "{out}"
    );
    let written = std::fs::read_to_string(&snapshot).expect("the snapshot was written");
    let objects = objects(&written);
    assert_eq!(find(&objects, "Deployment", "api")["spec"]["replicas"], 3);

    let again = run(&["test", &dir_arg]);
    let out = again.ok();
    assert!(out.contains("test renders the api ... ok\n"), "{out}");
    assert!(
        out.contains("test result: ok. 1 passed; 0 failed; 0 snapshots written;"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&snapshot).expect("still there"),
        written
    );

    // The render changes: the snapshot no longer matches, and says where.
    write(dir.path(), "api.test.yaml", &case(4));
    let changed = run(&["test", &file]);
    assert_eq!(changed.code, Some(1), "{}", changed.stderr);
    assert!(
        changed.stdout.contains(&format!(
            "the output differs from snapshot {} (line 16:\n  snapshot:   replicas: 3\n  \
             rendered:   replicas: 4); run `kiln test --update` if the change is intended",
            snapshot.display()
        )),
        "{}",
        changed.stdout
    );
    assert!(
        changed
            .stdout
            .contains("test result: FAILED. 0 passed; 1 failed;"),
        "{}",
        changed.stdout
    );
}

#[test]
fn platform_kiln_test_refuses_an_invalid_test_file_with_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "bad.test.yaml",
        "tests:\n  - name: x\n    component: {name: api, type: webservice, properties: {image: \
         \"nginx:1.27\"}}\n    expect:\n      cuont: 1\n",
    );
    let err = run(&["test", &file]).failed().to_string();
    assert!(
        err.starts_with(&format!(
            "error: {file}:5:14: field \"tests[0].expect.cuont\": unknown field `cuont`, \
             expected one of `objects`, `count`, `snapshot`, `error`, `denials`, `warnings`"
        )),
        "{err}"
    );
}

// ---- 10. kiln new ------------------------------------------------------------------------

fn kiln_new_in(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = kiln();
    cmd.arg("new").args(args).current_dir(dir);
    run_cmd(cmd, None)
}

#[test]
fn platform_kiln_new_scaffolds_a_trait_crate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = kiln_new_in(dir.path(), &["trait", "my-note"]);
    assert!(
        run.ok()
            .starts_with("created trait \"my-note\" in my-note\n"),
        "{}",
        run.stdout
    );
    let crate_dir = dir.path().join("my-note");
    let cargo = std::fs::read_to_string(crate_dir.join("Cargo.toml")).expect("Cargo.toml");
    assert!(cargo.contains("name = \"my-note\"\n"), "{cargo}");
    assert!(
        cargo.contains("[package.metadata.kiln]\nkind = \"trait\"\n"),
        "{cargo}"
    );
    let sdk = cargo
        .lines()
        .find_map(|l| l.strip_prefix("kiln-sdk = { path = \""))
        .and_then(|rest| rest.strip_suffix("\" }"))
        .unwrap_or_else(|| panic!("a kiln-sdk path dependency in:\n{cargo}"));
    let sdk_manifest = Path::new(sdk).join("Cargo.toml");
    assert!(sdk_manifest.is_file(), "{}", sdk_manifest.display());
    assert!(
        std::fs::read_to_string(&sdk_manifest)
            .expect("the SDK's manifest")
            .contains("name = \"kiln-sdk\""),
        "{sdk}"
    );
    let lib = std::fs::read_to_string(crate_dir.join("src/lib.rs")).expect("src/lib.rs");
    assert!(lib.contains("kiln_sdk::export_trait!"), "{lib}");
    assert!(lib.contains("name: \"my-note\""), "{lib}");
    let test = std::fs::read_to_string(crate_dir.join("my-note.test.yaml")).expect("test file");
    assert!(
        test.contains("definitions: [target/wasm32-wasip2/release/my_note.wasm]\n"),
        "{test}"
    );
    assert!(test.contains("- type: my-note\n"), "{test}");
    // Nothing else was left next to it (the temporary directory was renamed).
    assert_eq!(file_names(dir.path()), ["my-note"]);
}

#[test]
fn platform_kiln_new_scaffolds_a_python_project() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = kiln_new_in(dir.path(), &["policy", "no-host-net", "--lang", "python"]);
    assert!(
        run.ok()
            .starts_with("created policy \"no-host-net\" in no-host-net (Python)\n"),
        "{}",
        run.stdout
    );
    let project = dir.path().join("no-host-net");
    assert_eq!(
        file_names(&project),
        [
            ".gitignore",
            "no-host-net.test.yaml",
            "no_host_net.py",
            "requirements.txt",
            "test_no_host_net.py"
        ]
    );
    let source = std::fs::read_to_string(project.join("no_host_net.py")).expect("the module");
    assert!(source.contains("@policy(name=\"no-host-net\""), "{source}");
    assert!(
        source.contains("from kiln_sdk.guest import WitWorld"),
        "{source}"
    );
    // The SDK this kiln was built with, as a pip requirement with the build tools.
    let requirements =
        std::fs::read_to_string(project.join("requirements.txt")).expect("requirements.txt");
    let sdk = requirements
        .lines()
        .find_map(|l| l.strip_prefix("kiln-sdk[build,test] @ file://"))
        .unwrap_or_else(|| panic!("a kiln-sdk requirement in:\n{requirements}"));
    let pyproject = std::fs::read_to_string(Path::new(sdk).join("pyproject.toml"))
        .expect("the SDK's pyproject.toml");
    assert!(pyproject.contains("name = \"kiln-sdk\""), "{sdk}");
    let test = std::fs::read_to_string(project.join("no-host-net.test.yaml")).expect("test file");
    assert!(test.contains("definitions: [no_host_net.wasm]\n"), "{test}");
    assert!(
        test.contains("policies:\n  - type: no-host-net\n"),
        "{test}"
    );
}

#[test]
fn platform_kiln_new_refuses_an_sdk_of_the_other_language() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rust_sdk = repo().join("sdk");
    let err = kiln_new_in(
        dir.path(),
        &[
            "trait",
            "t",
            "--lang",
            "python",
            "--sdk",
            rust_sdk.to_str().expect("UTF-8"),
        ],
    )
    .failed()
    .to_string();
    assert_eq!(
        err,
        format!(
            "error: no Kiln SDK at {} (pass --sdk with the path of sdk/python, the kiln-sdk \
             Python package)\n",
            rust_sdk.display()
        )
    );
    assert!(file_names(dir.path()).is_empty());
}

#[test]
fn platform_kiln_new_refuses_an_invalid_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = kiln_new_in(dir.path(), &["trait", "My_Note"])
        .failed()
        .to_string();
    assert_eq!(
        err,
        "error: \"My_Note\" is not a valid definition name: lowercase letters, digits and '-', \
         starting with a letter\n"
    );
    assert!(file_names(dir.path()).is_empty());
}

#[test]
fn platform_kiln_new_refuses_an_existing_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    kiln_new_in(dir.path(), &["trait", "my-note"]).ok();
    let before = std::fs::read_to_string(dir.path().join("my-note/src/lib.rs")).expect("lib.rs");
    let err = kiln_new_in(dir.path(), &["trait", "my-note"])
        .failed()
        .to_string();
    assert_eq!(err, "error: my-note already exists\n");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("my-note/src/lib.rs")).expect("lib.rs"),
        before
    );
    assert_eq!(file_names(dir.path()), ["my-note"]);
}

// ---- 11. environments --------------------------------------------------------------------

/// Like KubeVela's dry-run fixture `testing-dry-run-1.yaml`: two topology policies, an
/// override, and two deploy steps.
const ENVIRONMENTS_APP: &str = "apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: testing-app
  namespace: default
spec:
  components:
    - name: testing-dryrun
      type: webservice
      properties:
        image: oamdev/hello-world:v1
        ports:
        - port: 8000
          expose: true
      traits:
        - type: scaler
          properties:
            replicas: 1
  policies:
    - name: target-default
      type: topology
      properties:
        clusters: [ \"local\" ]
        namespace: \"default\"
    - name: target-prod
      type: topology
      properties:
        clusters: [ \"local\" ]
        namespace: \"prod\"
    - name: deploy-ha
      type: override
      properties:
        components:
          - type: webservice
            traits:
              - type: scaler
                properties:
                  replicas: 3
  workflow:
    steps:
      - name: deploy2default
        type: deploy
        properties:
          policies: [ \"target-default\" ]
      - name: deploy2prod
        type: deploy
        properties:
          policies: [ \"target-prod\", \"deploy-ha\" ]
";

#[track_caller]
fn assert_environment(out: &str, namespace: &str, replicas: u64) {
    let objects = objects(out);
    assert_eq!(objects.len(), 2, "{out}");
    let deployment = find(&objects, "Deployment", "testing-dryrun");
    assert_eq!(deployment["metadata"]["namespace"], namespace);
    assert_eq!(deployment["spec"]["replicas"], replicas);
    let service = find(&objects, "Service", "testing-dryrun");
    assert_eq!(service["metadata"]["namespace"], namespace);
}

#[test]
fn platform_env_flag_selects_the_prod_environment() {
    let run = render_stdin(ENVIRONMENTS_APP, &["--env", "deploy2prod"]);
    assert_environment(run.ok(), "prod", 3);
}

#[test]
fn platform_kiln_env_variable_selects_the_default_environment() {
    let mut cmd = kiln();
    cmd.args(["render", "-"]).env("KILN_ENV", "deploy2default");
    let run = run_cmd(cmd, Some(ENVIRONMENTS_APP));
    assert_environment(run.ok(), "default", 1);
}

#[test]
fn platform_an_app_with_environments_needs_one_chosen() {
    let mut cmd = kiln();
    cmd.args(["render", "-"]).env_remove("KILN_ENV");
    let err = run_cmd(cmd, Some(ENVIRONMENTS_APP)).failed().to_string();
    assert_eq!(
        err,
        "error: <stdin>: application \"testing-app\" has 2 environments (deploy2default, \
         deploy2prod): choose one with --env or KILN_ENV\n"
    );
}
