use serde_json::json;

use super::*;

mod kubevela;

fn merge(target: Value, patches: &[(&str, Value)]) -> Result<Value, PatchError> {
    let mut target = target;
    let mut owners = Owners::new("component type \"webservice\"");
    for (owner, p) in patches {
        apply(&mut target, &Patch::Merge(p.clone()), owner, &mut owners)?;
    }
    Ok(target)
}

#[test]
fn maps_merge_deeply() {
    let out = merge(
        json!({"metadata": {"name": "a"}, "spec": {"x": 1}}),
        &[(
            "t",
            json!({"metadata": {"labels": {"k": "v"}}, "spec": {"y": 2}}),
        )],
    )
    .unwrap();
    assert_eq!(
        out,
        json!({"metadata": {"name": "a", "labels": {"k": "v"}}, "spec": {"x": 1, "y": 2}})
    );
}

#[test]
fn equal_scalars_agree_and_different_ones_name_both_parties() {
    assert!(merge(json!({"a": 1}), &[("t", json!({"a": 1}))]).is_ok());
    let err = merge(
        json!({}),
        &[
            ("trait \"one\"", json!({"spec": {"replicas": 2}})),
            ("trait \"two\"", json!({"spec": {"replicas": 3}})),
        ],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "conflicting values for \"spec.replicas\": trait \"one\" sets 2, trait \"two\" sets 3"
    );
    let err = merge(
        json!({"spec": {"replicas": 1}}),
        &[("trait \"two\"", json!({"spec": {"replicas": 3}}))],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("component type \"webservice\" sets 1"),
        "{err}"
    );
}

#[test]
fn containers_merge_by_name_and_new_ones_are_appended() {
    let out = merge(
        json!({"containers": [{"name": "a", "image": "x"}, {"name": "b"}]}),
        &[(
            "t",
            json!({"containers": [{"name": "b", "image": "y"}, {"name": "c", "image": "z"}]}),
        )],
    )
    .unwrap();
    assert_eq!(
        out,
        json!({"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"},
                              {"name": "c", "image": "z"}]})
    );
}

#[test]
fn nested_keyed_lists_merge_and_conflicts_show_the_item_key() {
    let base = json!({"containers": [{"name": "a", "env": [{"name": "X", "value": "1"}]}]});
    let out = merge(
        base.clone(),
        &[(
            "t",
            json!({"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}]}),
        )],
    )
    .unwrap();
    assert_eq!(
        out["containers"][0]["env"],
        json!([{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}])
    );
    let err = merge(
        base,
        &[(
            "trait \"env\"",
            json!({"containers": [{"name": "a", "env": [{"name": "X", "value": "9"}]}]}),
        )],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("containers[name=\"a\"].env[name=\"X\"].value"),
        "{err}"
    );
}

#[test]
fn ports_merge_by_container_port() {
    let out = merge(
        json!({"ports": [{"containerPort": 80}]}),
        &[(
            "t",
            json!({"ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 9090}]}),
        )],
    )
    .unwrap();
    assert_eq!(
        out,
        json!({"ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 9090}]})
    );
}

#[test]
fn patch_key_directive_names_the_key() {
    let out = merge(
        json!({"hosts": [{"ip": "1", "n": "a"}]}),
        &[(
            "t",
            json!({"$patchKey/hosts": "ip", "hosts": [{"ip": "1", "m": "b"}, {"ip": "2"}]}),
        )],
    )
    .unwrap();
    assert_eq!(
        out,
        json!({"hosts": [{"ip": "1", "n": "a", "m": "b"}, {"ip": "2"}]})
    );
}

#[test]
fn retain_keys_replaces_without_conflict() {
    let out = merge(
        json!({"spec": {"replicas": 1}}),
        &[(
            "t",
            json!({"spec": {"$patchStrategy/replicas": "retainKeys", "replicas": 4}}),
        )],
    )
    .unwrap();
    assert_eq!(out, json!({"spec": {"replicas": 4}}));
    // In a keyed list: matching items are replaced wholesale.
    let out = merge(
        json!({"containers": [{"name": "a", "image": "x", "args": ["1"]}]}),
        &[("t", json!({"$patchStrategy/containers": "retainKeys", "containers": [{"name": "a", "image": "y"}]}))],
    )
    .unwrap();
    assert_eq!(out, json!({"containers": [{"name": "a", "image": "y"}]}));
}

#[test]
fn replace_replaces_a_list_whole() {
    let out = merge(
        json!({"args": ["a", "b"]}),
        &[(
            "t",
            json!({"$patchStrategy/args": "replace", "args": ["c"]}),
        )],
    )
    .unwrap();
    assert_eq!(out, json!({"args": ["c"]}));
}

#[test]
fn unkeyed_lists_merge_by_position_or_conflict() {
    let out = merge(
        json!({"args": ["a"]}),
        &[("t", json!({"args": ["a", "b"]}))],
    )
    .unwrap();
    assert_eq!(out, json!({"args": ["a", "b"]}));
    let err = merge(
        json!({"args": ["a", "b"]}),
        &[("t", json!({"args": ["c"]}))],
    )
    .unwrap_err();
    assert!(matches!(err, PatchError::Conflict { .. }));
    assert_eq!(
        merge(json!({"args": []}), &[("t", json!({"args": ["x"]}))]).unwrap(),
        json!({"args": ["x"]})
    );
}

#[test]
fn unknown_directives_are_refused() {
    let err = merge(json!({}), &[("t", json!({"$patchKye/x": "name", "x": []}))]).unwrap_err();
    assert!(err.to_string().contains("unknown patch directive"), "{err}");
}

#[test]
fn a_later_owner_takes_over_a_replaced_field() {
    let err = merge(
        json!({"spec": {"replicas": 1}}),
        &[
            (
                "trait \"scaler\"",
                json!({"spec": {"$patchStrategy/replicas": "retainKeys", "replicas": 4}}),
            ),
            ("trait \"other\"", json!({"spec": {"replicas": 5}})),
        ],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("trait \"scaler\" sets 4, trait \"other\" sets 5"),
        "{err}"
    );
}

#[test]
fn json_merge_patch_follows_rfc_7396() {
    // RFC 7396 appendix A, a selection.
    let cases = [
        (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
        (
            json!({"a": "b"}),
            json!({"b": "c"}),
            json!({"a": "b", "b": "c"}),
        ),
        (json!({"a": "b"}), json!({"a": null}), json!({})),
        (
            json!({"a": [{"b": "c"}]}),
            json!({"a": [1]}),
            json!({"a": [1]}),
        ),
        (json!(["a", "b"]), json!({"a": "c"}), json!({"a": "c"})),
        (
            json!({"e": null}),
            json!({"a": 1}),
            json!({"e": null, "a": 1}),
        ),
        (
            json!({}),
            json!({"a": {"bb": {"ccc": null}}}),
            json!({"a": {"bb": {}}}),
        ),
    ];
    for (target, patch, expected) in cases {
        let mut t = target.clone();
        json_merge_patch(&mut t, &patch);
        assert_eq!(t, expected, "{target} + {patch}");
    }
}

#[test]
fn json_patch_follows_rfc_6902() {
    let mut doc = json!({"foo": ["bar", "baz"], "a": {"b": 1}});
    json_patch(
        &mut doc,
        &json!([
            {"op": "add", "path": "/foo/1", "value": "qux"},
            {"op": "add", "path": "/foo/-", "value": "end"},
            {"op": "remove", "path": "/a/b"},
            {"op": "replace", "path": "/a", "value": {"c": 2}},
            {"op": "copy", "from": "/a", "path": "/d"},
            {"op": "move", "from": "/d", "path": "/e"},
            {"op": "test", "path": "/e/c", "value": 2},
            {"op": "add", "path": "/x~1y", "value": true},
        ]),
    )
    .unwrap();
    assert_eq!(
        doc,
        json!({"foo": ["bar", "qux", "baz", "end"], "a": {"c": 2}, "e": {"c": 2}, "x/y": true})
    );
}

#[test]
fn a_failed_json_patch_changes_nothing() {
    let mut doc = json!({"a": 1});
    let err = json_patch(
        &mut doc,
        &json!([{"op": "add", "path": "/b", "value": 2}, {"op": "remove", "path": "/zz"}]),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "JSON patch operation #2 of 2: \"/zz\" does not exist"
    );
    assert_eq!(doc, json!({"a": 1}));
    let err = json_patch(&mut doc, &json!([{"op": "test", "path": "/a", "value": 2}])).unwrap_err();
    assert!(err.to_string().contains("test failed"));
    let err = json_patch(
        &mut doc,
        &json!([{"op": "add", "path": "/l/01", "value": 2}]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("does not exist"));
}
