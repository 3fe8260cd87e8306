//! `kiln convert`: every example and every KubeVela fixture application, converted to the
//! other form and back, renders byte-identical manifests; what the other form cannot say
//! fails the conversion, listing each place, or with `--lossy` is left out with a warning.

use std::path::PathBuf;

use crate::common::*;

/// The repository's application files: the examples and the KubeVela fixtures.
fn application_files() -> Vec<PathBuf> {
    let mut files = vec![
        repo().join("examples/shop/app.yaml"),
        repo().join("examples/hello/vela.yaml"),
    ];
    let mut pending = vec![repo().join("tests/e2e/fixtures")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).expect("fixture");
                if text.contains("kind: Application\n") || text.starts_with("services:") {
                    files.push(path);
                }
            }
        }
    }
    files.sort();
    files
}

/// `kiln convert` of `text` (on stdin) to `form`.
fn convert(text: &str, form: &str, extra: &[&str]) -> Run {
    let mut cmd = kiln();
    cmd.args(["convert", "-", "--to", form]).args(extra);
    run_cmd(cmd, Some(text))
}

/// The manifests of `text`, with the revision label left empty (it is a hash of the
/// file's bytes, which a conversion changes by design).
fn render(text: &str, extra: &[&str]) -> Run {
    let mut args = vec!["--vela-headers"];
    args.extend_from_slice(extra);
    render_stdin(text, &args)
}

/// The form `text` is not in: an `Application` has a top-level `apiVersion`.
fn other(text: &str) -> &'static str {
    if text.lines().any(|line| line.starts_with("apiVersion:")) {
        "appfile"
    } else {
        "application"
    }
}

/// The `metadata.namespace` of an Application's `text`, if it sets one.
fn namespace_of(text: &str) -> Option<String> {
    let document = kiln::app::yaml::parse(text).expect("YAML").to_json();
    document["metadata"]["namespace"]
        .as_str()
        .map(str::to_string)
}

#[test]
fn there_and_back_renders_byte_identical_manifests() {
    let files = application_files();
    assert!(files.len() >= 30, "{files:?}");
    let (mut round_trips, mut refused) = (0, 0);
    for file in &files {
        let name = file
            .strip_prefix(repo())
            .unwrap_or(file)
            .display()
            .to_string();
        let original = std::fs::read_to_string(file).unwrap();
        let rendered = render(&original, &[]);
        let there = convert(&original, other(&original), &[]);
        // An appfile has no namespace: the render is told it instead (`-n`, or Argo CD's
        // destination), and everything else must still come out the same.
        let mut namespace = Vec::new();
        let converted = if there.code == Some(0) {
            there.ok().to_string()
        } else {
            // Something the other form cannot say: each place is named, and --lossy
            // converts the rest with a warning for each.
            let stderr = there.failed();
            if !stderr.contains("cannot say everything") {
                // Not an application Kiln renders (an unknown type...): refused, as a
                // render refuses it.
                assert_eq!(rendered.code, Some(1), "{name}: {stderr}");
                continue;
            }
            let places: Vec<&str> = stderr
                .lines()
                .filter(|l| l.starts_with("  - <stdin>:"))
                .collect();
            assert!(!places.is_empty(), "{name}: {stderr}");
            let lossy = convert(&original, other(&original), &["--lossy"]);
            assert!(!lossy.ok().is_empty(), "{name}");
            assert_eq!(
                lossy.stderr.matches("warning: left out:").count(),
                places.len(),
                "{name}: {}",
                lossy.stderr
            );
            let (namespaces, others): (Vec<&str>, Vec<&str>) = places
                .iter()
                .partition(|p| p.contains("field \"metadata.namespace\""));
            if !others.is_empty() {
                // What an appfile truly cannot say: no other reason is acceptable here.
                for place in others {
                    let known = [
                        "no application labels",
                        "is the trait of that name",
                        "used twice",
                    ];
                    assert!(known.iter().any(|k| place.contains(k)), "{name}: {place}");
                }
                refused += 1;
                continue;
            }
            assert_eq!(namespaces.len(), 1, "{name}");
            namespace = vec![
                "-n".to_string(),
                namespace_of(&original).expect("a namespace"),
            ];
            lossy.stdout
        };
        let namespace: Vec<&str> = namespace.iter().map(String::as_str).collect();
        let back = convert(&converted, other(&converted), &[]);
        let back = back.ok().to_string();
        // Converting again gives the same text: a fixed point.
        assert_eq!(convert(&back, other(&back), &[]).ok(), converted, "{name}");
        for (form, text) in [("converted", &converted), ("converted back", &back)] {
            let again = render(text, &namespace);
            assert_eq!(again.code, rendered.code, "{name} {form}: {}", again.stderr);
            assert_eq!(again.stdout, rendered.stdout, "{name} {form}:\n{text}");
        }
        round_trips += usize::from(rendered.code == Some(0));
    }
    assert!(
        round_trips >= 25,
        "only {round_trips} files rendered after a round trip ({refused} refused)"
    );
}

#[test]
fn an_appfile_example_becomes_an_application_the_reader_agrees_with() {
    let run = run(&["convert", "examples/hello", "--to", "application"]);
    let text = run.ok();
    assert!(
        text.starts_with("apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n"),
        "{text}"
    );
    assert_eq!(run.stderr, "");
}

#[test]
fn what_cannot_be_converted_fails_naming_the_file_and_line() {
    let app = "\
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: shop
  namespace: prod
spec:
  components:
    - name: web
      type: webservice
      properties: {image: nginx}
";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.yaml");
    std::fs::write(&path, app).unwrap();
    let failed = run(&["convert", path.to_str().unwrap(), "--to", "appfile"]);
    let stderr = failed.failed();
    assert!(
        stderr.contains(&format!("{}:5:", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("metadata.namespace"), "{stderr}");
    let lossy = run(&[
        "convert",
        path.to_str().unwrap(),
        "--to",
        "appfile",
        "--lossy",
    ]);
    assert_eq!(
        lossy.ok(),
        "name: shop\nservices:\n  web:\n    image: nginx\n"
    );
    assert!(
        lossy.stderr.contains(":5:")
            && lossy
                .stderr
                .contains("warning: left out: an appfile has no namespace"),
        "{}",
        lossy.stderr
    );
}

#[test]
fn a_file_already_in_the_form_an_unknown_path_and_an_invalid_file_are_errors() {
    let stderr = run(&["convert", "examples/hello", "--to", "appfile"])
        .failed()
        .to_string();
    assert!(
        stderr.contains("vela.yaml") && stderr.contains("an appfile already"),
        "{stderr}"
    );
    let stderr = run(&["convert", "no/such/dir", "--to", "appfile"])
        .failed()
        .to_string();
    assert!(stderr.contains("no/such/dir"), "{stderr}");
    let invalid = convert("services:\n  web: [1]\n", "application", &[]);
    assert!(
        invalid.failed().starts_with("error: <stdin>:2:"),
        "{}",
        invalid.stderr
    );
}

#[test]
fn a_definition_directory_that_fails_to_load_fails_the_conversion() {
    // The registry tells an appfile's trait keys from its properties: it must load.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.wasm"), b"not a component").unwrap();
    let d = dir.path().to_str().unwrap();
    let stderr = run(&["convert", "examples/hello", "--to", "application", "-d", d])
        .failed()
        .to_string();
    assert!(stderr.contains("broken") && stderr.contains(d), "{stderr}");
}

#[test]
fn a_key_no_loaded_trait_has_is_not_silently_made_a_property() {
    // The custom trait's -d was forgotten: a render refuses the key, and so does convert.
    let appfile = "name: shop\nservices:\n  web:\n    image: nginx\n    pod-disruption-budget:\n      minAvailable: 1\n";
    let stderr = convert(appfile, "application", &[]).failed().to_string();
    assert!(
        stderr.contains("<stdin>:6:")
            && stderr.contains("unknown parameter \"pod-disruption-budget\""),
        "{stderr}"
    );
}
