//! A definition that misbehaves fails the render with a message naming the definition, the
//! component and the limit — and nothing on stdout.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::common::*;

fn misbehave_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let wasm = build_guest("tests/guests", "misbehave");
        // Kept for the whole test run (a TempDir would be removed on drop).
        definitions_dir(&wasm, "misbehave.wasm").keep()
    })
}

fn app(mode: &str) -> String {
    format!(
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: lab\nspec:\n  \
         components:\n    - name: api\n      type: webservice\n      properties:\n        \
         image: nginx\n      traits:\n        - type: misbehave\n          properties:\n            \
         mode: {mode}\n"
    )
}

fn render_mode(mode: &str, extra: &[&str]) -> Run {
    let dir = misbehave_dir().to_str().expect("UTF-8 path").to_string();
    let mut args = vec!["-d", dir.as_str()];
    args.extend_from_slice(extra);
    render_stdin(&app(mode), &args)
}

#[test]
fn a_panic_is_reported_with_its_message() {
    let run = render_mode("panic", &[]);
    let err = run.failed();
    assert!(
        err.contains(
            "component \"api\", trait \"misbehave\": definition \"misbehave\" trapped: it \
             reached an `unreachable` instruction (a panic or an abort in the definition); it \
             said: boom: misbehave was asked to panic"
        ),
        "{err}"
    );
    assert!(err.contains("boom: misbehave was asked to panic"), "{err}");
}

#[test]
fn an_endless_loop_hits_the_time_limit() {
    let started = std::time::Instant::now();
    let run = render_mode("loop", &["--time-limit-ms", "300"]);
    let err = run.failed();
    assert!(
        err.contains("definition \"misbehave\" exceeded its time limit"),
        "{err}"
    );
    assert!(err.contains("<stdin>:12:11"), "the trait's line: {err}");
    // Bounded: generous, since the machine may be busy.
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let run = render_mode("memory", &["--memory-limit-mib", "64"]);
    let err = run.failed();
    assert!(
        err.contains("exceeded its memory limit (tried to grow memory to ")
            && err.contains(", limit 64 MiB)"),
        "{err}"
    );
}

#[test]
fn deep_recursion_hits_the_stack_limit() {
    let err = render_mode("stack", &[]).failed().to_string();
    assert!(err.contains("exceeded its stack limit"), "{err}");
}

#[test]
fn a_huge_output_hits_the_output_limit() {
    let err = render_mode("output", &[]).failed().to_string();
    assert!(err.contains("exceeded its output size limit"), "{err}");
}

#[test]
fn an_object_without_kind_is_refused() {
    let err = render_mode("no-kind", &[]).failed().to_string();
    assert!(
        err.contains("definition \"misbehave\" returned invalid output: thing has no kind"),
        "{err}"
    );
}

#[test]
fn clocks_and_randomness_are_pinned() {
    let first = render_mode("clock", &["-o", "json"]);
    let second = render_mode("clock", &["-o", "json"]);
    assert_eq!(first.ok(), second.ok());
    let objects: Vec<serde_json::Value> = first
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let clock = objects
        .iter()
        .find(|o| o["metadata"]["labels"]["trait.oam.dev/resource"] == "clock")
        .expect("the clock object");
    assert_eq!(clock["data"]["now"], "0");
}

#[test]
fn a_well_behaved_module_from_the_same_directory_renders() {
    render_mode("ok", &[]).ok();
}

#[test]
fn conflicting_traits_are_refused() {
    let app = app("ok").replace(
        "      traits:\n",
        "      traits:\n        - type: scaler\n          properties: {replicas: 2}\n",
    );
    let dir = misbehave_dir().to_str().expect("UTF-8 path").to_string();
    let err = render_stdin(&app, &["-d", &dir]).failed().to_string();
    assert!(
        err.contains("trait \"misbehave\": trait \"misbehave\" conflicts with trait \"scaler\" on the same component"),
        "{err}"
    );
}

#[test]
fn refused_parameters_are_reported_not_what_a_module_did_with_them() {
    // The parameter check runs beside the calls: the trait may already have panicked when
    // the check refuses the component's parameters; the check's verdict is what is shown.
    let dir = misbehave_dir().to_str().expect("UTF-8 path").to_string();
    let app = app("panic").replace("image: nginx", "image: 5");
    let run = render_stdin(&app, &["-d", &dir]);
    assert_eq!(
        run.failed().trim_end(),
        "error: <stdin>:10:16: component \"api\", field \"image\": expected string, found a \
         number (5)"
    );
}
