//! Production hardening: what a definition written to misbehave with Kiln's own SDK, or a
//! repository that ships one, must not get away with — beyond the limits of
//! `sandbox_limits.rs` and `hostile.rs`. Each test names the behaviour it holds Kiln to.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

/// A directory holding the misbehave trait as `misbehave.wasm`, kept for the run.
fn misbehave_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let wasm = build_guest("tests/guests", "misbehave");
        definitions_dir(&wasm, "misbehave.wasm").keep()
    })
}

/// An application of `components` components (`c00`, `c01`, ...), each a webservice with
/// the misbehave trait in `properties` (a YAML flow mapping).
fn app(properties: &str, components: usize) -> String {
    app_with_trait("misbehave", properties, components)
}

fn render(app: &str, args: &[&str]) -> Run {
    render_with_definitions(app, misbehave_dir(), args)
}

/// The JSON objects of `-o json` output.
fn json_objects(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// `objects` without their revision label, which names the application's text.
fn without_revision(mut objects: Vec<Value>) -> Vec<Value> {
    for object in &mut objects {
        if let Some(labels) = object["metadata"]["labels"].as_object_mut() {
            labels.remove("app.oam.dev/appRevision");
        }
    }
    objects
}

/// The ConfigMap the misbehave trait of `component` reported.
#[track_caller]
fn report<'a>(objects: &'a [Value], component: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| {
            o["kind"] == "ConfigMap"
                && o["metadata"]["labels"]["app.oam.dev/component"] == component
        })
        .unwrap_or_else(|| panic!("no report of {component}"))
}

// ---- 1. a sleep cannot hang Kiln ------------------------------------------------------------

#[test]
fn a_one_hour_sleep_fails_at_once_naming_the_definition_and_the_limit() {
    // Compiled and cached first, so that the timing below is the render's own.
    render(&app("{mode: ok}", 1), &[]).ok();
    let started = Instant::now();
    let run = render(
        &app("{mode: sleep, seconds: 3600}", 1),
        &["--time-limit-ms", "5000"],
    );
    let err = run.failed();
    // The sleep fails at once, not when the limit runs out: the bound leaves the rest of
    // the limit for a busy machine.
    assert!(
        started.elapsed() < Duration::from_millis(5000 + 1000),
        "the limit plus 1 s: took {:?}",
        started.elapsed()
    );
    assert!(
        err.contains(
            "component \"c00\", trait \"misbehave\": definition \"misbehave\" exceeded its \
             time limit (asked to sleep 3600 s in all, limit 5000 ms)"
        ),
        "{err}"
    );
}

#[test]
fn a_sleep_within_the_limit_returns_at_once() {
    render(&app("{mode: ok}", 1), &[]).ok();
    let started = Instant::now();
    render(&app("{mode: sleep, seconds: 4}", 1), &[]).ok();
    // A real sleep would take 4 s: the stopped clock has no future to wait for.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

// ---- 2. no state leaks between components ---------------------------------------------------

#[test]
fn a_stateful_definition_gives_every_component_the_same_output() {
    let alone = without_revision(json_objects(
        render(&app("{mode: state}", 1), &["-o", "json"]).ok(),
    ));
    let expected = report(&alone, "c00").clone();
    assert_eq!(expected["data"]["seen"], "c00", "{expected}");
    assert_eq!(expected["data"]["calls"], "1", "{expected}");
    for components in [2, 1000] {
        let stdout = render(&app("{mode: state}", components), &["-o", "json"])
            .ok()
            .to_string();
        let objects = without_revision(json_objects(&stdout));
        assert_eq!(
            report(&objects, "c00"),
            &expected,
            "{components} components: c00 renders as alone"
        );
        for i in 1..components {
            let name = format!("c{i:02}");
            let data = &report(&objects, &name)["data"];
            assert_eq!(
                data["seen"],
                name.as_str(),
                "{components} components: {data}"
            );
            assert_eq!(data["calls"], "1", "{components} components: {data}");
        }
    }
}

#[test]
fn a_platform_may_let_an_external_definition_keep_its_instance() {
    // `reuse: true` is the platform's promise that the definition is pure; this one is
    // not, which shows what the promise switches off.
    let dir = tempfile::tempdir().unwrap();
    let platform = dir.path().join("platform.yaml");
    std::fs::write(&platform, "definitions:\n  misbehave:\n    reuse: true\n").unwrap();
    let stdout = render(
        &app("{mode: state}", 2),
        &["-o", "json", "--platform", platform.to_str().unwrap()],
    )
    .ok()
    .to_string();
    let objects = json_objects(&stdout);
    assert_eq!(report(&objects, "c01")["data"]["seen"], "c00,c01");
}

// ---- 3. logging never fails a render --------------------------------------------------------

#[test]
fn any_amount_of_stderr_never_fails_a_render() {
    // 4 MiB of log lines, 256 times what the host keeps.
    render(&app("{mode: log, kib: 4096}", 1), &[]).ok();
}

#[test]
fn a_panic_after_a_flood_of_logging_reads_as_one_line() {
    let run = render(&app("{mode: log-panic, kib: 1024}", 1), &[]);
    let err = run.failed();
    assert_eq!(err.lines().count(), 1, "one line:\n{err}");
    assert!(err.len() < 1000, "{} bytes", err.len());
    assert!(
        err.contains("definition \"misbehave\" trapped: ")
            && err.ends_with("it said: gave up after logging\n"),
        "{err}"
    );
}

// ---- 4. traps read as one line --------------------------------------------------------------

#[test]
fn a_stack_overflow_in_linear_memory_reads_as_one_line() {
    let run = render(&app("{mode: shadow-stack}", 1), &[]);
    let err = run.failed();
    assert_eq!(err.lines().count(), 1, "one line:\n{err}");
    assert!(
        err.contains(
            "definition \"misbehave\" trapped: out of bounds memory access (a stack overflow \
             in the definition is the usual cause"
        ),
        "{err}"
    );
    assert!(!err.contains("wasm backtrace"), "{err}");
}

#[test]
fn the_backtrace_is_shown_on_request() {
    for (flag, env) in [(Some("-v"), None), (None, Some(("KILN_LOG", "debug")))] {
        let mut cmd = kiln();
        cmd.args(["render", "-", "-d"]).arg(misbehave_dir());
        cmd.args(flag);
        if let Some((key, value)) = env {
            cmd.env(key, value);
        }
        let run = run_cmd(cmd, Some(&app("{mode: shadow-stack}", 1)));
        let err = run.failed();
        assert!(
            err.lines()
                .next()
                .unwrap()
                .contains("out of bounds memory access")
        );
        assert!(err.contains("wasm backtrace"), "{flag:?} {env:?}: {err}");
    }
}

// ---- 5. memory is bounded for the whole render ----------------------------------------------

#[test]
fn the_render_memory_budget_holds_all_live_instances_together() {
    use kiln::error::Limit;
    use kiln::sandbox::{CallError, LimitPolicy, Limits, Sandbox};

    let policy = LimitPolicy {
        budget: 100 << 20,
        reuse: ["misbehave".to_string()].into(),
        ..LimitPolicy::from(Limits::default())
    };
    let sandbox = Sandbox::new(policy, Some(shared_cache())).unwrap();
    let mut registry = kiln::definitions::Registry::builtin();
    registry.add_dir(&sandbox, misbehave_dir(), false).unwrap();
    let module = registry.module(&sandbox, "misbehave").unwrap();
    let request = |kib: usize| kiln::sandbox::wit::RenderRequest {
        parameters: format!("{{\"mode\": \"hold\", \"kib\": {kib}}}"),
        context: kiln::sandbox::wit::Context {
            app_name: "lab".into(),
            namespace: "default".into(),
            component_name: "c00".into(),
            component_type: "webservice".into(),
            app_revision: String::new(),
            cluster_version: kiln::sandbox::wit::ClusterVersion {
                major: 1,
                minor: 31,
                git_version: "v1.31.0".into(),
            },
            api_versions: Vec::new(),
            app_labels: Vec::new(),
            app_annotations: Vec::new(),
        },
        workload: Some("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}".into()),
        outputs: Vec::new(),
    };
    // Two live instances (two chunks of a render), each holding 60 MiB: the second cannot.
    let mut first = sandbox.instances();
    let mut second = sandbox.instances();
    first
        .render(&module, &request(60 << 10))
        .expect("the first instance holds 60 MiB")
        .expect("it renders");
    let refused = second
        .render(&module, &request(60 << 10))
        .expect_err("the budget is spent");
    match refused {
        CallError::Limit { limit, detail } => {
            assert_eq!(limit, Limit::RenderMemory);
            assert!(detail.contains("limit 100 MiB"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // Given back when the first instance goes: the budget is for live instances only.
    // Instances are torn down on the thread pool, so this waits for it, within a bound.
    drop(first);
    let started = Instant::now();
    loop {
        let mut third = sandbox.instances();
        match third.render(&module, &request(60 << 10)) {
            Ok(result) => {
                result.expect("it renders");
                break;
            }
            Err(e) if started.elapsed() < Duration::from_secs(30) => {
                drop(e);
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("the budget was not given back: {e:?}"),
        }
    }
}

// ---- 6. repository definitions ----------------------------------------------------------------

/// A repository copy with `examples/hello` and `defs/` holding `files`, run as Argo CD runs
/// `kiln argocd generate` with `KILN_DEFINITIONS=defs` (and `extra` arguments).
fn generate_with_repository_definitions(files: &[(&str, &Path)], extra: &[&str]) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("defs")).unwrap();
    std::fs::create_dir_all(root.join("app")).unwrap();
    std::fs::copy(
        repo().join("examples/hello/vela.yaml"),
        root.join("app/vela.yaml"),
    )
    .unwrap();
    for (name, wasm) in files {
        std::fs::copy(wasm, root.join("defs").join(name)).unwrap();
    }
    let mut cmd = kiln();
    cmd.current_dir(root.join("app"))
        .env("ARGOCD_APP_NAME", "hello")
        .env("ARGOCD_APP_SOURCE_PATH", "app")
        .env("ARGOCD_ENV_KILN_DEFINITIONS", "defs")
        .args(extra)
        .args(["argocd", "generate"]);
    run_cmd(cmd, None)
}

#[test]
fn a_repository_definition_cannot_replace_a_built_in_whatever_the_flags() {
    let scaler = build_guest("tests/guests", "builtin-scaler");
    for flags in [&[][..], &["--override-builtins"][..]] {
        let run = generate_with_repository_definitions(&[("scaler.wasm", &scaler)], flags);
        let err = run.failed();
        assert!(
            err.contains("defs/scaler.wasm") && err.contains("cannot replace built-ins"),
            "{flags:?}: {err}"
        );
    }
}

#[test]
fn a_repository_definition_cannot_be_a_policy() {
    let policy = build_guest("tests/guests", "builtin-require-labels");
    let run = generate_with_repository_definitions(&[("mine.wasm", &policy)], &[]);
    let err = run.failed();
    assert!(
        err.contains("defs/mine.wasm") && err.contains("cannot be policies"),
        "{err}"
    );
}

#[test]
fn too_many_definition_files_are_refused_before_any_is_read() {
    // Not modules at all: reading or compiling any of them would fail differently.
    let junk = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(junk.path(), b"not wasm").unwrap();
    let names: Vec<String> = (0..=kiln::definitions::MAX_DIRECTORY_FILES)
        .map(|i| format!("d{i:03}.wasm"))
        .collect();
    let files: Vec<(&str, &Path)> = names.iter().map(|n| (n.as_str(), junk.path())).collect();
    let run = generate_with_repository_definitions(&files, &[]);
    let err = run.failed();
    assert!(
        err.contains("holds 65 definition files; at most 64 are read"),
        "{err}"
    );
}

#[test]
fn definition_files_too_large_together_are_refused_before_any_is_read() {
    let dir = tempfile::tempdir().unwrap();
    // Sparse files: 5 × 60 MiB listed, no disk used, and nothing read.
    for i in 0..5 {
        let file = std::fs::File::create(dir.path().join(format!("d{i}.wasm"))).unwrap();
        file.set_len(60 << 20).unwrap();
    }
    let run = run(&[
        "render",
        "examples/hello",
        "-d",
        dir.path().to_str().unwrap(),
    ]);
    let err = run.failed();
    assert!(
        err.contains("hold 314572800 bytes together; at most 268435456 are read"),
        "{err}"
    );
}

#[test]
fn a_forbidden_import_is_refused_without_compiling() {
    let wasm = build_guest("tests/guests", "foreign-import");
    let cache = tempfile::tempdir().unwrap();
    let sandbox =
        kiln::sandbox::Sandbox::new(kiln::sandbox::Limits::default(), Some(cache.path().into()))
            .unwrap();
    let bytes = std::fs::read(&wasm).unwrap();
    let err = sandbox.load("foreign-import", &bytes, None).unwrap_err();
    assert!(
        matches!(err, kiln::sandbox::LoadError::Interface(_)),
        "{err:?}"
    );
    let err = err.to_string();
    assert!(
        err.contains("evil:host") && err.contains("not allowed"),
        "{err}"
    );
    // Compiling stores an artifact: there is none.
    let artifact = sandbox
        .cache()
        .unwrap()
        .artifact_path(&kiln::digest::sha256(&bytes));
    assert!(
        !artifact.exists(),
        "it was compiled: {}",
        artifact.display()
    );
}

#[test]
fn describe_runs_under_the_limits_of_the_name_it_gives() {
    // The file is named after a built-in that the platform lets use 512 MiB; the module
    // says it is `misbehave`, whose limit is 1 MiB (less than a Rust guest starts with).
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        misbehave_dir().join("misbehave.wasm"),
        dir.path().join("scaler.wasm"),
    )
    .unwrap();
    let platform = dir.path().join("platform.yaml");
    std::fs::write(
        &platform,
        "definitions:\n  scaler:\n    limits: { memory: 512Mi }\n  misbehave:\n    \
         limits: { memory: 1Mi }\n",
    )
    .unwrap();
    let defs = tempfile::tempdir().unwrap();
    std::fs::rename(
        dir.path().join("scaler.wasm"),
        defs.path().join("scaler.wasm"),
    )
    .unwrap();
    let run = run(&[
        "--no-cache",
        "--platform",
        platform.to_str().unwrap(),
        "render",
        "examples/hello",
        "-d",
        defs.path().to_str().unwrap(),
    ]);
    let err = run.failed();
    assert!(
        err.contains("scaler.wasm") && err.contains("describe exceeded its memory limit"),
        "{err}"
    );
}

// ---- 7, 8. what Argo CD applies -------------------------------------------------------------

#[test]
fn a_privileged_pod_wrapped_in_a_list_is_denied() {
    let platform = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        platform.path(),
        "policies:\n  - type: disallow-privileged\n",
    )
    .unwrap();
    let app = r#"apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: sneaky
spec:
  components:
    - name: wrapped
      type: k8s-objects
      properties:
        objects:
          - apiVersion: v1
            kind: List
            items:
              - apiVersion: v1
                kind: Pod
                metadata: { name: root }
                spec:
                  containers:
                    - name: c
                      image: busybox:1.36
                      securityContext: { privileged: true }
"#;
    let run = render_stdin(app, &["--platform", platform.path().to_str().unwrap()]);
    let err = run.failed();
    assert!(
        err.contains("policy \"disallow-privileged\": Pod/default/root"),
        "{err}"
    );
}

#[test]
fn a_policy_mutation_cannot_turn_an_object_into_a_list() {
    let wasm = build_guest("tests/guests", "mutator");
    let defs = definitions_dir(&wasm, "mutator.wasm");
    let platform = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        platform.path(),
        "policies:\n  - type: mutator\n    properties:\n      patch:\n        items:\n          \
         - { apiVersion: v1, kind: Pod, metadata: { name: root } }\n",
    )
    .unwrap();
    let run = render_stdin(
        "name: lab\nservices:\n  api:\n    type: webservice\n    image: nginx:1.27\n",
        &[
            "-d",
            defs.path().to_str().unwrap(),
            "--platform",
            platform.path().to_str().unwrap(),
        ],
    );
    let err = run.failed();
    assert!(
        err.contains(
            "definition \"mutator\" returned invalid output: its mutation of \
                      Deployment/default/api makes it a list"
        ),
        "{err}"
    );
}

#[test]
fn a_list_is_flattened_into_objects_with_the_labels_contract() {
    let app = r#"name: listed
services:
  wrapped:
    type: k8s-objects
    objects:
      - apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: ConfigMap
            metadata: { name: one }
          - apiVersion: v1
            kind: ConfigMap
            metadata: { name: two }
      - apiVersion: v1
        kind: ConfigMapList
        items: null
"#;
    // The null list is dropped, as Argo CD drops it (`isNullList`).
    let objects = objects(render_stdin(app, &[]).ok());
    assert_eq!(objects.len(), 2, "{objects:#?}");
    for (object, name) in objects.iter().zip(["one", "two"]) {
        assert_eq!(object["kind"], "ConfigMap");
        assert_eq!(object["metadata"]["name"], name);
        assert_eq!(object["metadata"]["namespace"], "default");
        assert_eq!(object["metadata"]["labels"]["app.oam.dev/name"], "listed");
        assert_eq!(
            object["metadata"]["labels"]["app.oam.dev/component"],
            "wrapped"
        );
        assert!(object.get("items").is_none());
    }
}

#[test]
fn a_service_rendered_twice_by_one_component_is_printed_once_merged() {
    let app = r#"name: web
services:
  web:
    type: webservice
    image: nginx:1.27
    ports:
      - port: 8080
        expose: true
    gateway:
      domain: web.example.com
      http:
        "/": 8080
"#;
    let objects = objects(render_stdin(app, &[]).ok());
    let services: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "Service").collect();
    assert_eq!(services.len(), 1, "one Service web: {services:#?}");
    let service = services[0];
    assert_eq!(service["metadata"]["name"], "web");
    // The workload's Service, with what the gateway's agrees on.
    assert_eq!(service["spec"]["type"], "ClusterIP");
    assert_eq!(service["spec"]["ports"][0]["port"], 8080);
    assert_eq!(service["spec"]["ports"].as_array().unwrap().len(), 1);
}

#[test]
fn two_objects_of_one_identity_that_disagree_fail_naming_both_producers() {
    let app = r#"name: clash
services:
  web:
    type: k8s-objects
    objects:
      - apiVersion: v1
        kind: ConfigMap
        metadata: { name: settings }
        data: { mode: fast }
      - apiVersion: v1
        kind: ConfigMap
        metadata: { name: settings }
        data: { mode: safe }
"#;
    let err = render_stdin(app, &[]).failed().to_string();
    assert!(err.contains("data.mode"), "{err}");
    assert!(err.contains("fast") && err.contains("safe"), "{err}");
    assert!(err.contains("component type \"k8s-objects\""), "{err}");
}

#[test]
fn two_components_rendering_one_object_fail_naming_both() {
    let app = r#"name: clash
services:
  a:
    type: k8s-objects
    objects:
      - { apiVersion: v1, kind: ConfigMap, metadata: { name: shared } }
  b:
    type: k8s-objects
    objects:
      - { apiVersion: v1, kind: ConfigMap, metadata: { name: shared } }
"#;
    let err = render_stdin(app, &[]).failed().to_string();
    assert!(
        err.contains("of component \"a\" and")
            && err.contains("of component \"b\" are the same object /ConfigMap/default/shared"),
        "{err}"
    );
}

/// The built-ins keep one instance per module for a chunk of components: only because
/// they are pure functions of their input. Each component of a 40-component application
/// (several chunks) renders exactly as it does alone.
#[test]
fn built_ins_render_a_component_the_same_alone_and_among_many() {
    let component = |i: usize| {
        format!(
            "    - name: svc-{i}\n      type: webservice\n      properties:\n        image: \
             nginx:1.{i}\n        ports: [{{port: {}, expose: true}}]\n      traits:\n        \
             - type: scaler\n          properties: {{replicas: {}}}\n        - type: sidecar\n          \
             properties: {{name: log-{i}, image: busybox:1.36}}\n        - type: labels\n          \
             properties: {{index: \"{i}\"}}\n        - type: annotations\n          \
             properties: {{seen-{}: \"yes\"}}\n        - type: gateway\n          \
             properties: {{domain: svc-{i}.example.com, http: {{\"/\": {}}}}}\n",
            8000 + i,
            i % 5 + 1,
            i % 7,
            8000 + i,
        )
    };
    let app = |components: &[usize]| {
        let mut text = String::from(
            "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: many\nspec:\n  \
             components:\n",
        );
        for &i in components {
            text.push_str(&component(i));
        }
        text
    };
    let all: Vec<usize> = (0..40).collect();
    let together = without_revision(objects(render_stdin(&app(&all), &[]).ok()));
    for i in all {
        let alone = without_revision(objects(render_stdin(&app(&[i]), &[]).ok()));
        let name = format!("svc-{i}");
        let among: Vec<Value> = together
            .iter()
            .filter(|o| o["metadata"]["labels"]["app.oam.dev/component"] == name.as_str())
            .cloned()
            .collect();
        assert_eq!(alone, among, "component {name}");
    }
}
