use super::*;
use serde_json::json;

#[test]
fn an_embedded_app_keeps_its_lines_in_the_test_file() {
    let text = "tests:\n  - name: x\n    app: |\n      kind: Application\n      metadata:\n        name: a\n";
    let source = Source::parse("t.test.yaml", text).unwrap();
    let at = source.root().locate(&parse_field("tests[0].app"));
    let app = at.value.clone();
    let NodeValue::String(app) = app else {
        panic!("a string")
    };
    let node = embedded_app(&source, text, &app, at).unwrap();
    let name = node.locate(&parse_field("metadata.name"));
    assert_eq!((name.position.line, name.position.column), (6, 15));
}

#[test]
fn paths_resolve_inside_the_tree_or_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tree = Tree::of(dir.path()).unwrap();
    let resolve = |from: &str, path: &str| tree.resolve(Path::new(from), Path::new(path));
    assert_eq!(
        resolve("tests", "../target/x.wasm"),
        Ok(PathBuf::from("target/x.wasm"))
    );
    assert_eq!(resolve("", "./a/./b"), Ok(PathBuf::from("a/b")));
    let climbs = resolve("tests", "../../x").unwrap_err();
    assert!(
        climbs.contains("\"../../x\" leaves the test tree"),
        "{climbs}"
    );
    let absolute = resolve("", "/etc/passwd").unwrap_err();
    assert!(
        absolute.contains("\"/etc/passwd\" is absolute"),
        "{absolute}"
    );
}

#[test]
fn looks_up_dotted_paths_indexes_and_quoted_keys() {
    let v = json!({"spec": {"containers": [{"image": "x"}]},
                   "metadata": {"labels": {"app.oam.dev/name": "shop"}}});
    assert_eq!(lookup(&v, "spec.containers[0].image"), Some(json!("x")));
    assert_eq!(
        lookup(&v, "metadata.labels[\"app.oam.dev/name\"]"),
        Some(json!("shop"))
    );
    assert_eq!(lookup(&v, "spec.containers[1]"), None);
    assert_eq!(lookup(&v, "spec.missing"), None);
}

#[test]
fn patterns_are_substrings_or_slashed_regexes() {
    assert!(matches("replicas", "bad replicas: 3"));
    assert!(matches("/replicas: \\d+/", "bad replicas: 3"));
    assert!(!matches("/^replicas/", "bad replicas: 3"));
    assert!(matches("/", "a/b"));
}

#[test]
fn denials_must_match_exactly_the_expected_set() {
    let actual = vec![Violation {
        policy: "p".into(),
        object: "Deployment/default/api".into(),
        component: "api".into(),
        location: "app.yaml:7:7".into(),
        field: Some("metadata.labels.team".into()),
        message: "lacks the label \"team\"".into(),
    }];
    let spec = |message: &str| DenialSpec {
        policy: Some("p".into()),
        object: None,
        field: None,
        message: Some(message.into()),
    };
    assert!(check_denials(&[spec("team")], &actual).is_ok());
    let problems = check_denials(&[spec("owner")], &actual).unwrap_err();
    assert!(problems[0].starts_with("no denial matches"), "{problems:?}");
    assert!(
        problems[1].starts_with("unexpected denial: app.yaml:7:7: policy \"p\""),
        "{problems:?}"
    );
    assert!(check_denials(&[], &actual).is_err());
}
