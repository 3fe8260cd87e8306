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
        },
        Object {
            value: json!({"kind": "B"}),
            component: "c".into(),
            origin: Origin::Auxiliary {
                resource: "r".into(),
            },
            text: None,
            identity: None,
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
