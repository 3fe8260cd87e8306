//! KubeVela's own patch cases (kubevela/workflow `pkg/cue/model/sets/operation_test.go`,
//! `TestPatch` and `TestStrategyPatch`), restated in Kiln's patch format and run with
//! [`MergeOptions::KUBEVELA`].
//!
//! How the CUE maps to JSON: a `// +patchKey=K` or `// +patchStrategy=S` comment on a field
//! becomes `"$patchKey/<field>": "K"` / `"$patchStrategy/<field>": "S"` beside it (in CUE
//! shorthand `a: b: c`, a comment belongs to the innermost field); open lists (`...`) and
//! `close()` have no JSON form and are dropped; a type constraint in the base (`value:
//! string`) is left out, since the patch supplies the concrete value.
//!
//! `TestPatch/case-2` is not here: its input is CUE's bottom value `_|_`, which JSON cannot
//! hold. Kiln's equivalent, a definition that fails, is an error before any merge.

use serde_json::{Value, json};

use super::super::*;

fn strategic(base: Value, patch: Value) -> Result<Value, PatchError> {
    let mut target = base;
    apply_with(
        &mut target,
        &Patch::Merge(patch),
        "patch",
        &mut Owners::new("base"),
        MergeOptions::KUBEVELA,
    )?;
    Ok(target)
}

#[track_caller]
fn case(base: Value, patch: Value, expected: Value) {
    assert_eq!(strategic(base, patch).unwrap(), expected);
}

fn x1_x2() -> Value {
    json!({"containers": [{"name": "x1"}, {"name": "x2"}]})
}

#[test]
fn patch_case_0_lists_unify_by_position() {
    case(
        x1_x2(),
        json!({"containers": [{"name": "x1"}, {"name": "x2", "image": "pause:0.1"}]}),
        json!({"containers": [{"name": "x1"}, {"name": "x2", "image": "pause:0.1"}]}),
    );
}

#[test]
fn patch_case_1_without_a_key_reordered_items_conflict() {
    let err = strategic(
        x1_x2(),
        json!({"containers": [{"name": "x2"}, {"name": "x1"}]}),
    )
    .unwrap_err();
    assert_eq!(
        err,
        PatchError::Conflict {
            path: "containers[0].name".into(),
            first: "base".into(),
            first_value: "\"x1\"".into(),
            second: "patch".into(),
            second_value: "\"x2\"".into(),
        }
    );
}

#[test]
fn patch_case_3_a_key_matches_reordered_items() {
    case(
        x1_x2(),
        json!({"$patchKey/containers": "name", "containers": [{"name": "x2"}, {"name": "x1"}]}),
        x1_x2(),
    );
}

#[test]
fn patch_case_4_target_items_without_the_key_take_unmatched_items_by_position() {
    case(
        json!({"containers": [{"namex": "x1"}]}),
        json!({"$patchKey/containers": "name", "containers": [{"name": "x2"}, {"name": "x1"}]}),
        json!({"containers": [{"name": "x2", "namex": "x1"}, {"name": "x1"}]}),
    );
}

#[test]
fn patch_case_5_new_items_are_appended_in_patch_order() {
    case(
        x1_x2(),
        json!({"$patchKey/containers": "name",
               "containers": [{"name": "x4"}, {"name": "x3"}, {"name": "x1"}]}),
        json!({"containers": [{"name": "x1"}, {"name": "x2"}, {"name": "x4"}, {"name": "x3"}]}),
    );
}

#[test]
fn patch_case_6_no_patch_item_holds_the_key_so_position_rules() {
    case(
        x1_x2(),
        json!({"$patchKey/containers": "name", "containers": [{"noname": "x3"}]}),
        json!({"containers": [{"name": "x1", "noname": "x3"}, {"name": "x2"}]}),
    );
}

#[test]
fn patch_case_7_patch_items_without_the_key_are_dropped() {
    case(
        x1_x2(),
        json!({"$patchKey/containers": "name",
               "containers": [{"noname": "x3"}, {"name": "x1"}]}),
        x1_x2(),
    );
}

fn x1_x2_with_envs(envs: Value) -> Value {
    json!({"containers": [{"name": "x1"}, {"name": "x2", "envs": envs}]})
}

#[test]
fn patch_case_8_nested_lists_inherit_the_key() {
    case(
        x1_x2_with_envs(json!([{"name": "OPS"}])),
        json!({"$patchKey/containers": "name",
               "containers": [{"name": "x2", "envs": [{"name": "OPS", "value": "OAM"}]}]}),
        x1_x2_with_envs(json!([{"name": "OPS", "value": "OAM"}])),
    );
}

#[test]
fn patch_case_9_closed_structs_merge_the_same() {
    // `close()` has no JSON form: the same inputs as case 8.
    case(
        x1_x2_with_envs(json!([{"name": "OPS"}])),
        json!({"$patchKey/containers": "name",
               "containers": [{"name": "x2", "envs": [{"name": "OPS", "value": "OAM"}]}]}),
        x1_x2_with_envs(json!([{"name": "OPS", "value": "OAM"}])),
    );
}

#[test]
fn patch_case_10_nested_new_items_are_appended() {
    case(
        x1_x2_with_envs(json!([{"name": "OPS"}])),
        json!({"$patchKey/containers": "name",
               "containers": [{"name": "x2", "envs": [
                   {"name": "USER", "value": "DEV"}, {"name": "OPS", "value": "OAM"}]}]}),
        x1_x2_with_envs(json!([{"name": "OPS", "value": "OAM"}, {"name": "USER", "value": "DEV"}])),
    );
}

#[test]
fn patch_case_11_a_nested_key_overrides_the_inherited_one() {
    case(
        x1_x2_with_envs(json!([{"key": "OPS"}])),
        json!({"$patchKey/containers": "name",
               "containers": [{"name": "x2", "$patchKey/envs": "key", "envs": [
                   {"key": "USER", "value": "DEV"}, {"key": "OPS", "value": "OAM"}]}]}),
        x1_x2_with_envs(json!([{"key": "OPS", "value": "OAM"}, {"key": "USER", "value": "DEV"}])),
    );
}

#[test]
fn patch_case_12_a_key_may_be_a_path() {
    case(
        json!({"envFrom": [{"secretRef": {"name": "nginx-rds"}}]}),
        json!({"$patchKey/envFrom": "secretRef.name",
               "envFrom": [{"secretRef": {"name": "nginx-redis"}}]}),
        json!({"envFrom": [{"secretRef": {"name": "nginx-rds"}},
                           {"secretRef": {"name": "nginx-redis"}}]}),
    );
}

#[test]
fn patch_case_13_a_path_key_inside_a_keyed_list() {
    case(
        json!({"containers": [{"name": "c1"},
                              {"name": "c2", "envFrom": [{"secretRef": {"name": "nginx-rds"}}]}]}),
        json!({"$patchKey/containers": "name", "containers": [{
            "name": "c2",
            "$patchKey/envFrom": "secretRef.name",
            "envFrom": [{"secretRef": {"name": "nginx-redis"}}]}]}),
        json!({"containers": [{"name": "c1"}, {"name": "c2", "envFrom": [
            {"secretRef": {"name": "nginx-rds"}}, {"secretRef": {"name": "nginx-redis"}}]}]}),
    );
}

#[test]
fn patch_case_14_keys_apply_only_where_given() {
    case(
        json!({
            "containers": [{"volumeMounts": [{"name": "k1", "path": "p1"}, {"name": "k1", "path": "p2"}]}],
            "volumes": [{"name": "x1", "value": "v1"}, {"name": "x2", "value": "v2"}]
        }),
        json!({
            "$patchKey/volumes": "name",
            "volumes": [{"name": "x1", "value": "v1"}, {"name": "x3", "value": "x2"}],
            "containers": [{"volumeMounts": [
                {"name": "k1", "path": "p1"}, {"name": "k1", "path": "p2"}, {"name": "k2", "path": "p3"}]}]
        }),
        json!({
            "containers": [{"volumeMounts": [
                {"name": "k1", "path": "p1"}, {"name": "k1", "path": "p2"}, {"name": "k2", "path": "p3"}]}],
            "volumes": [{"name": "x1", "value": "v1"}, {"name": "x2", "value": "v2"},
                        {"name": "x3", "value": "x2"}]
        }),
    );
}

#[test]
fn patch_case_15_alternative_keys() {
    case(
        json!({"containers": [{"name": "c1"}, {"name": "c2", "envFrom": [
            {"secretRef": {"name": "nginx-rds"}}, {"configMapRef": {"name": "nginx-rds"}}]}]}),
        json!({"$patchKey/containers": "name", "containers": [{
            "name": "c2",
            "$patchKey/envFrom": "secretRef.name,configMapRef.name",
            "envFrom": [{"secretRef": {"name": "nginx-redis"}},
                        {"configMapRef": {"name": "nginx-redis"}}]}]}),
        json!({"containers": [{"name": "c1"}, {"name": "c2", "envFrom": [
            {"secretRef": {"name": "nginx-rds"}}, {"configMapRef": {"name": "nginx-rds"}},
            {"secretRef": {"name": "nginx-redis"}}, {"configMapRef": {"name": "nginx-redis"}}]}]}),
    );
}

#[test]
fn patch_case_16_a_key_below_an_unkeyed_list() {
    case(
        json!({"containers": [{"name": "x1"}]}),
        json!({"containers": [{"$patchKey/env": "name", "env": [{"name": "k", "value": "v"}]}]}),
        json!({"containers": [{"name": "x1", "env": [{"name": "k", "value": "v"}]}]}),
    );
}

fn rolling_update() -> Value {
    json!({"spec": {"strategy": {"type": "rollingUpdate", "rollingUpdate": {"maxSurge": "30%"}}}})
}

#[test]
fn strategy_case_0_retain_keys_replaces_one_field() {
    case(
        rolling_update(),
        json!({"spec": {"strategy": {"$patchStrategy/type": "retainKeys", "type": "recreate"}}}),
        json!({"spec": {"strategy": {"type": "recreate", "rollingUpdate": {"maxSurge": "30%"}}}}),
    );
}

#[test]
fn strategy_case_1_retain_keys_in_a_closed_struct() {
    // `close()` has no JSON form: the same inputs as case 0.
    strategy_case_0_retain_keys_replaces_one_field();
}

fn retain_test_volume() -> Value {
    json!({"$patchStrategy/volumes": "retainKeys", "$patchKey/volumes": "name",
           "volumes": [{"name": "test-volume", "configMap": {"name": "conf-name"}}]})
}

#[test]
fn strategy_case_2_retain_keys_replaces_a_keyed_item_wholesale() {
    case(
        json!({"volumes": [{"name": "test-volume", "cinder": {"volumeID": "<volume id>", "fsType": "ext4"}}]}),
        retain_test_volume(),
        json!({"volumes": [{"name": "test-volume", "configMap": {"name": "conf-name"}}]}),
    );
}

#[test]
fn strategy_case_3_retain_keys_keeps_the_other_items() {
    case(
        json!({"volumes": [
            {"name": "empty-volume", "emptyDir": {}},
            {"name": "test-volume", "cinder": {"volumeID": "<volume id>", "fsType": "ext4"}}]}),
        retain_test_volume(),
        json!({"volumes": [
            {"name": "empty-volume", "emptyDir": {}},
            {"name": "test-volume", "configMap": {"name": "conf-name"}}]}),
    );
}

#[test]
fn strategy_case_4_retain_keys_on_a_nested_list_with_an_inherited_key() {
    case(
        json!({"containers": [{"name": "c1", "image": "image1"},
                              {"name": "c2", "envs": [{"name": "e1", "value": "v1"}]}]}),
        json!({"$patchKey/containers": "name", "containers": [{
            "name": "c2", "$patchStrategy/envs": "retainKeys",
            "envs": [{"name": "e1", "value": "v2"}]}]}),
        json!({"containers": [{"name": "c1", "image": "image1"},
                              {"name": "c2", "envs": [{"name": "e1", "value": "v2"}]}]}),
    );
}

#[test]
fn strategy_case_5_retain_keys_on_a_map_replaces_it() {
    case(
        json!({"spec": {"containers": [{"name": "c1", "image": "image1"},
                                       {"name": "c2", "envs": [{"name": "e1", "value": "v1"}]}]}}),
        json!({"$patchKey/spec": "name", "$patchStrategy/spec": "retainKeys",
               "spec": {"containers": [{"name": "c2", "envs": [{"name": "e1", "value": "v2"}]}]}}),
        json!({"spec": {"containers": [{"name": "c2", "envs": [{"name": "e1", "value": "v2"}]}]}}),
    );
}

#[test]
fn strategy_case_6_retain_keys_on_scalars_at_any_depth() {
    case(
        json!({"kind": "Old", "metadata": {"name": "Old", "labels": {"keep": "true"}}}),
        json!({"$patchStrategy/kind": "retainKeys", "kind": "New",
               "metadata": {"$patchStrategy/name": "retainKeys", "name": "New"}}),
        json!({"kind": "New", "metadata": {"name": "New", "labels": {"keep": "true"}}}),
    );
}

#[test]
fn strategy_case_7_json_merge_patch_replaces_lists() {
    let mut target = json!({"spec": {"containers": [
        {"name": "c1", "image": "image1"},
        {"name": "c2", "envs": [{"name": "e1", "value": "v1"}]}]}});
    apply_with(
        &mut target,
        &Patch::JsonMergePatch(
            json!({"spec": {"containers": [{"name": "c3", "image": "image3"}]}}),
        ),
        "patch",
        &mut Owners::new("base"),
        MergeOptions::KUBEVELA,
    )
    .unwrap();
    assert_eq!(
        target,
        json!({"spec": {"containers": [{"name": "c3", "image": "image3"}]}})
    );
}

#[test]
fn strategy_case_8_json_patch_adds_at_an_index() {
    let mut target = json!({"spec": {"containers": [{"name": "c1", "image": "image1"}]}});
    apply_with(
        &mut target,
        &Patch::JsonPatch(json!([
            {"op": "add", "path": "/spec/containers/0", "value": {"name": "c4", "image": "image4"}}
        ])),
        "patch",
        &mut Owners::new("base"),
        MergeOptions::KUBEVELA,
    )
    .unwrap();
    assert_eq!(
        target,
        json!({"spec": {"containers": [{"name": "c4", "image": "image4"}, {"name": "c1", "image": "image1"}]}})
    );
}

#[test]
fn strategy_case_9_replace_swaps_a_nested_list() {
    case(
        json!({"spec": {"containers": [{"name": "c1", "envs": [{"name": "e1", "value": "v1"}]}]}}),
        json!({"$patchKey/spec": "name", "spec": {"containers": [{
            "name": "c1", "$patchStrategy/envs": "replace", "envs": [{"name": "e1", "value": "v2"}]}]}}),
        json!({"spec": {"containers": [{"name": "c1", "envs": [{"name": "e1", "value": "v2"}]}]}}),
    );
}

#[test]
fn kiln_defaults_differ_only_where_kubernetes_knows_the_key() {
    // Case 1 under Kiln's defaults: containers merge by name, so reordering is no conflict.
    let mut target = x1_x2();
    apply(
        &mut target,
        &Patch::Merge(json!({"containers": [{"name": "x2"}, {"name": "x1"}]})),
        "patch",
        &mut Owners::new("base"),
    )
    .unwrap();
    assert_eq!(target, x1_x2());
}
