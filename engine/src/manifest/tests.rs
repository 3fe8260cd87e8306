use serde_json::json;

use super::*;
use crate::app::yaml as reader;

fn labels<'a>(
    app_labels: &'a BTreeMap<String, String>,
    app_annotations: &'a BTreeMap<String, String>,
) -> Labels<'a> {
    Labels {
        app_name: "shop",
        component: "api",
        namespace: "prod",
        revision: "",
        app_labels,
        app_annotations,
    }
}

#[test]
fn workloads_get_the_oam_labels_name_and_namespace() {
    let none = BTreeMap::new();
    let o = finish(
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"labels": {"x": "y"}}}),
        Origin::Workload {
            type_name: "webservice".into(),
        },
        &labels(&none, &none),
    );
    assert_eq!(
        o.value["metadata"],
        json!({
            "name": "api", "namespace": "prod", "annotations": {},
            "labels": {
                "x": "y",
                "app.oam.dev/name": "shop", "app.oam.dev/component": "api",
                "app.oam.dev/appRevision": "", "app.oam.dev/namespace": "prod",
                "app.oam.dev/resourceType": "WORKLOAD", "workload.oam.dev/type": "webservice"
            }
        })
    );
}

#[test]
fn trait_objects_get_trait_labels_and_a_stable_default_name() {
    let none = BTreeMap::new();
    let make = || {
        finish(
            json!({"apiVersion": "v1", "kind": "Service", "spec": {"a": 1}}),
            Origin::Trait {
                trait_type: "expose".into(),
                resource: "service".into(),
            },
            &labels(&none, &none),
        )
    };
    let o = make();
    let meta = &o.value["metadata"];
    assert_eq!(meta["labels"]["trait.oam.dev/type"], "expose");
    assert_eq!(meta["labels"]["trait.oam.dev/resource"], "service");
    assert_eq!(meta["labels"]["app.oam.dev/resourceType"], "TRAIT");
    let name = meta["name"].as_str().unwrap();
    assert!(
        name.starts_with("api-expose-") && name.len() == "api-expose-".len() + 8,
        "{name}"
    );
    assert_eq!(make().value, o.value);
}

#[test]
fn cluster_scoped_objects_get_no_namespace() {
    let none = BTreeMap::new();
    let o = finish(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}),
        Origin::Auxiliary {
            resource: "ns".into(),
        },
        &labels(&none, &none),
    );
    assert!(o.value["metadata"].get("namespace").is_none());
}

#[test]
fn app_labels_and_annotations_are_copied_except_filtered_ones() {
    let app_labels = BTreeMap::from([
        ("team".to_string(), "a".to_string()),
        ("secret".to_string(), "s".to_string()),
    ]);
    let app_annotations = BTreeMap::from([
        ("owner".to_string(), "me".to_string()),
        (
            "kubectl.kubernetes.io/last-applied-configuration".to_string(),
            "{}".to_string(),
        ),
        (
            "filter.oam.dev/label-keys".to_string(),
            "secret".to_string(),
        ),
    ]);
    let o = finish(
        json!({"apiVersion": "v1", "kind": "ConfigMap"}),
        Origin::Workload {
            type_name: "k".into(),
        },
        &labels(&app_labels, &app_annotations),
    );
    assert_eq!(o.value["metadata"]["labels"]["team"], "a");
    assert!(o.value["metadata"]["labels"].get("secret").is_none());
    assert_eq!(o.value["metadata"]["annotations"], json!({"owner": "me"}));
}

#[test]
fn objects_must_have_api_version_and_kind() {
    assert!(check_object(&json!({"apiVersion": "v1", "kind": "X"})).is_ok());
    assert_eq!(
        check_object(&json!({"apiVersion": "v1"})).unwrap_err(),
        "has no kind"
    );
    assert_eq!(
        check_object(&json!([1])).unwrap_err(),
        "is not an object: a list"
    );
    assert!(check_object(&json!({"apiVersion": "v1", "kind": "X", "metadata": 3})).is_err());
}

#[test]
fn yaml_output_reads_back_as_the_same_value() {
    let value = json!({
        "apiVersion": "apps/v1",
        "strings": ["8080", "1.0", "yes", "on", "no", "~", "null", "true", "", " lead", "trail ",
                    "a: b", "a #b", "-x", "--source=/var/log", "line\nbreak", "tab\there", "ünï",
                    "quote\"s", "back\\slash", "250m", "0x1f", "1e3", ".5", "ghcr.io/x:1.0",
                    "*ref", "&anchor", "!tag", "{a}", "[b]", "%p", "@a", "`b`", "a,b", "<<", "=",
                    "key:", "http://x.y/z?q=1"],
        "numbers": [0, -1, 1.5, 1e20, 18446744073709551615u64],
        "empty": {"map": {}, "list": []},
        "nested": [[1, 2], [], {"a": [{"b": null}]}, {}],
        "weird keys": {"a: b": 1, "8080": 2, "": 3, "app.oam.dev/name": 4},
        "bools": [true, false],
    });
    let mut text = String::new();
    yaml::document(&value, &mut text);
    let back = reader::parse(&text)
        .unwrap_or_else(|e| panic!("{e:?} in\n{text}"))
        .to_json();
    assert_eq!(back, value, "\n{text}");
}

#[test]
fn yaml_output_is_kubectl_style() {
    let mut text = String::new();
    yaml::document(
        &json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80}]}], "replicas": 3}}),
        &mut text,
    );
    assert_eq!(
        text,
        "spec:\n  containers:\n  - name: a\n    ports:\n    - containerPort: 80\n  replicas: 3\n"
    );
}

#[test]
fn json_output_is_one_object_per_line() {
    let objects = vec![
        Object {
            value: json!({"kind": "A"}),
            component: "c".into(),
            origin: Origin::Workload {
                type_name: "t".into(),
            },
            text: None,
            identity: None,
            trace: None,
        },
        Object {
            value: json!({"kind": "B"}),
            component: "c".into(),
            origin: Origin::Auxiliary {
                resource: "r".into(),
            },
            text: None,
            identity: None,
            trace: None,
        },
    ];
    assert_eq!(
        write(&objects, Format::Json, "app", false),
        "{\"kind\":\"A\"}\n{\"kind\":\"B\"}\n"
    );
    assert_eq!(
        write(&objects, Format::Yaml, "app", false),
        "---\nkind: A\n---\nkind: B\n"
    );
}

#[test]
fn objects_written_ahead_print_as_their_values_would() {
    let objects: Vec<Object> = ["Deployment", "Service"]
        .iter()
        .enumerate()
        .map(|(i, kind)| Object {
            value: json!({"kind": kind, "metadata": {"name": "web", "labels": {"a": "1: x"}}}),
            component: "web".into(),
            origin: if i == 0 {
                Origin::Workload {
                    type_name: "webservice".into(),
                }
            } else {
                Origin::Trait {
                    trait_type: "gateway".into(),
                    resource: "service".into(),
                }
            },
            text: None,
            identity: None,
            trace: None,
        })
        .collect();
    for format in [Format::Yaml, Format::Json] {
        for headers in [false, true] {
            let mut ahead = objects.clone();
            ahead.iter_mut().for_each(|o| o.serialize(format));
            assert!(ahead.iter().all(|o| o.value.is_null()));
            let expected = write(&objects, format, "app", headers);
            assert_eq!(
                write(&ahead, format, "app", headers),
                expected,
                "{format:?}, headers {headers}"
            );
            // Taken as text: moved when every object was written ahead, written otherwise.
            let mut mixed = objects.clone();
            mixed[1].serialize(format);
            for (what, taken) in [
                ("ahead", ahead),
                ("mixed", mixed),
                ("none", objects.clone()),
            ] {
                let text = into_text(taken, format, "app", headers);
                assert_eq!(
                    text.len(),
                    expected.len(),
                    "{what}, {format:?}, headers {headers}"
                );
                assert_eq!(
                    text.to_string(),
                    expected,
                    "{what}, {format:?}, headers {headers}"
                );
                let mut bytes = Vec::new();
                text.write_to(&mut bytes).unwrap();
                assert_eq!(
                    bytes,
                    expected.as_bytes(),
                    "{what}, {format:?}, headers {headers}"
                );
            }
        }
    }
}

/// `value` written as YAML, then read by saphyr (a YAML 1.2 parser that shares nothing with
/// the writer; it builds on saphyr-parser, as Kiln's reader does), as JSON.
fn through_saphyr(value: &serde_json::Value) -> Result<serde_json::Value, String> {
    use saphyr::{LoadableYamlNode, Scalar, Yaml};
    fn to_json(node: &Yaml) -> Result<serde_json::Value, String> {
        Ok(match node {
            Yaml::Value(Scalar::Null) => serde_json::Value::Null,
            Yaml::Value(Scalar::Boolean(b)) => serde_json::Value::Bool(*b),
            Yaml::Value(Scalar::Integer(i)) => json!(i),
            Yaml::Value(Scalar::FloatingPoint(f)) => serde_json::Number::from_f64(f.0)
                .map(serde_json::Value::Number)
                .ok_or_else(|| format!("a float JSON has not: {f}"))?,
            Yaml::Value(Scalar::String(s)) => serde_json::Value::String(s.to_string()),
            Yaml::Sequence(items) => {
                serde_json::Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?)
            }
            Yaml::Mapping(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| match k {
                        Yaml::Value(Scalar::String(k)) => Ok((k.to_string(), to_json(v)?)),
                        other => Err(format!("a key read as {other:?}")),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(format!("read as {other:?}")),
        })
    }
    let mut text = String::new();
    yaml::document(value, &mut text);
    let documents = Yaml::load_from_str(&text).map_err(|e| format!("{e} in\n{text:?}"))?;
    match documents.as_slice() {
        [document] => to_json(document).map_err(|e| format!("{e} in\n{text:?}")),
        _ => Err(format!("{} documents in\n{text:?}", documents.len())),
    }
}

/// `value` written as YAML, then read by libyaml (`yaml_serde`), a YAML 1.1 reader, as JSON.
fn through_libyaml(value: &serde_json::Value) -> Result<serde_json::Value, String> {
    let mut text = String::new();
    yaml::document(value, &mut text);
    yaml_serde::from_str(&text).map_err(|e| format!("{e} in\n{text:?}"))
}

/// Characters YAML readers treat apart: controls, breaks, the BOM, non-characters, and the
/// indicators.
const SPECIAL_CHARACTERS: &[char] = &[
    '\u{0}', '\u{7}', '\u{8}', '\t', '\n', '\u{b}', '\u{c}', '\r', '\u{1b}', '\u{1f}', '\u{7f}',
    '\u{80}', '\u{85}', '\u{9f}', '\u{a0}', '\u{2028}', '\u{2029}', '\u{feff}', '\u{fffe}',
    '\u{ffff}', '"', '\'', '\\', ':', '#', ' ', '-', '?', ',', '[', '{', '&', '*', '!', '|', '>',
    '%', '@', '`',
];

/// Strings from all of Unicode, leaning on [`SPECIAL_CHARACTERS`] and on words some YAML
/// reader resolves to something else.
fn any_string() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let words = prop::sample::select(vec![
        "",
        "yes",
        "No",
        "on",
        "OFF",
        "y",
        "~",
        "null",
        "True",
        "1e3",
        "0x1f",
        "0o17",
        "0b1",
        ".5",
        "1_000",
        "12:30:00",
        "2001-12-14",
        ".inf",
        "-.inf",
        ".NaN",
        "-",
        "- a",
        "? a",
        ": a",
        "a: b",
        "a #b",
        "---",
        "...",
        "<<",
        "=",
        " a",
        "a ",
        "a\u{85}b",
        "\u{feff}a",
    ])
    .prop_map(String::from);
    let character = prop_oneof![
        4 => any::<char>(),
        3 => prop::sample::select(SPECIAL_CHARACTERS),
        3 => prop::char::range(' ', '~'),
    ];
    let built = prop::collection::vec(character, 0..12).prop_map(String::from_iter);
    prop_oneof![1 => words, 4 => built]
}

/// JSON values: scalars (integers as saphyr reads them, i64), lists and maps of them.
fn any_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter_map("finite", |f| {
            serde_json::Number::from_f64(f).map(serde_json::Value::Number)
        }),
        any_string().prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::vec((any_string(), inner), 0..6)
                .prop_map(|entries| serde_json::Value::Object(entries.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(384))]

    #[test]
    fn any_value_written_as_yaml_reads_back_the_same(value in any_json()) {
        let fail = proptest::test_runner::TestCaseError::fail;
        proptest::prop_assert_eq!(through_saphyr(&value).map_err(fail)?, value.clone());
        proptest::prop_assert_eq!(through_libyaml(&value).map_err(fail)?, value.clone());
        let mut text = String::new();
        yaml::document(&value, &mut text);
        let back = reader::parse(&text).map_err(|e| fail(format!("{e:?} in\n{text:?}")))?;
        proptest::prop_assert_eq!(back.to_json(), value);
    }

    #[test]
    fn a_string_yaml_reads_as_json_does_is_written_as_before(s in any_string()) {
        // Before the extra escapes, a quoted string was JSON's text: still so for any string
        // without the characters they are for.
        let extra = |c: char| {
            matches!(c, '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
        };
        proptest::prop_assume!(!s.contains(extra));
        let mut text = String::new();
        yaml::string(&s, &mut text);
        let json = serde_json::Value::String(s.clone()).to_string();
        proptest::prop_assert!(text == s || text == json, "{text:?} for {s:?}");
    }
}

#[test]
fn characters_yaml_refuses_or_reads_as_breaks_are_escaped() {
    // DEL, C1 controls, NEL, the line and paragraph separators, the BOM, non-characters: in a
    // value and in a key, with the C0 controls as JSON escapes them.
    let s = "a\u{7f}b\u{80}\u{85}\u{9f}c\u{2028}\u{2029}\u{feff}\u{fffe}\u{ffff}\u{1}\t\u{a0}é";
    let value = json!({ s: [s] });
    let mut text = String::new();
    yaml::document(&value, &mut text);
    let quoted = r#""a\u007fb\u0080\u0085\u009fc\u2028\u2029\ufeff\ufffe\uffff\u0001\t"#;
    assert_eq!(text, format!("{quoted}\u{a0}é\":\n- {quoted}\u{a0}é\"\n"));
    assert_eq!(through_saphyr(&value).unwrap(), value);
    assert_eq!(through_libyaml(&value).unwrap(), value);
    assert_eq!(reader::parse(&text).unwrap().to_json(), value);
    // The oracle can fail: libyaml refuses a raw DEL, and reads a raw NEL as a break.
    assert!(yaml_serde::from_str::<serde_json::Value>("\"a\u{7f}b\"").is_err());
    assert_ne!(
        yaml_serde::from_str::<serde_json::Value>("\"a\u{85}b\"").ok(),
        Some(json!("a\u{85}b"))
    );
}

#[test]
fn a_key_too_long_to_be_implicit_is_written_explicit() {
    // YAML readers refuse an implicit key of more than 1024 characters.
    use saphyr::{LoadableYamlNode, Yaml};
    let too_long = "k".repeat(1025);
    assert!(Yaml::load_from_str(&format!("{too_long}: 1\n")).is_err());
    assert!(reader::parse(&format!("{too_long}: 1\n")).is_err());
    let long = "k".repeat(1001);
    let value = json!({
        "short": 1,
        (long.clone()): {"a": [1], (long.clone()): "v"},
        "list": [{(long.clone()): [true], "z": 2}],
    });
    let mut text = String::new();
    yaml::document(&value, &mut text);
    assert!(
        text.starts_with(&format!("? {long}\n:\n  a:\n  - 1\n  ? {long}\n  : v\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("\n- ? {long}\n  :\n  - true\n  z: 2\n")),
        "{text}"
    );
    assert_eq!(through_saphyr(&value).unwrap(), value);
    assert_eq!(through_libyaml(&value).unwrap(), value);
    assert_eq!(reader::parse(&text).unwrap().to_json(), value);
    let fits = "k".repeat(1000);
    let mut text = String::new();
    yaml::document(&json!({ (fits.clone()): 1 }), &mut text);
    assert_eq!(text, format!("{fits}: 1\n"));
}

#[test]
fn reserved_words_are_at_most_the_longest_checked() {
    assert!(
        yaml::RESERVED
            .iter()
            .all(|w| w.len() <= yaml::LONGEST_RESERVED)
    );
}
