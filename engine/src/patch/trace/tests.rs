use serde_json::json;

use super::*;

fn by(stage: Stage) -> Arc<Contributor> {
    Arc::new(Contributor {
        stage,
        definition: None,
        source: None,
    })
}

fn changes(trace: &Trace) -> Vec<(String, Change)> {
    trace
        .fields()
        .flat_map(|(p, steps)| steps.iter().map(move |s| (p.to_string(), s.change.clone())))
        .collect()
}

#[test]
fn creating_sets_every_leaf_and_empty_containers_are_leaves() {
    let mut trace = Trace::default();
    trace.created(
        &json!({"a": {"b": 1, "c": [true, "x"]}, "d": {}, "e": []}),
        &by(Stage::Workload),
    );
    assert_eq!(
        changes(&trace),
        vec![
            ("/a/b".into(), Change::Set(json!(1))),
            ("/a/c/0".into(), Change::Set(json!(true))),
            ("/a/c/1".into(), Change::Set(json!("x"))),
            ("/d".into(), Change::Set(json!({}))),
            ("/e".into(), Change::Set(json!([]))),
        ]
    );
}

#[test]
fn a_change_records_only_what_differs_and_what_is_gone() {
    let mut trace = Trace::default();
    let before = json!({"keep": 1, "change": "a", "gone": {"x": 1}, "list": [1, 2, 3]});
    let after = json!({"keep": 1, "change": "b", "list": [1, 5], "new/key~": null});
    trace.record(&before, &after, &by(Stage::Trait));
    assert_eq!(
        changes(&trace),
        vec![
            ("/change".into(), Change::Set(json!("b"))),
            ("/gone/x".into(), Change::Removed(json!(1))),
            ("/list/1".into(), Change::Set(json!(5))),
            ("/list/2".into(), Change::Removed(json!(3))),
            ("/new~1key~0".into(), Change::Set(json!(null))),
        ]
    );
}

#[test]
fn a_value_that_changes_shape_is_removed_then_set() {
    let mut trace = Trace::default();
    trace.record(
        &json!({"v": {"a": 1}}),
        &json!({"v": "flat"}),
        &by(Stage::Policy),
    );
    assert_eq!(
        changes(&trace),
        vec![
            ("/v".into(), Change::Set(json!("flat"))),
            ("/v/a".into(), Change::Removed(json!(1))),
        ]
    );
}

#[test]
fn under_reroots_a_list_items_fields() {
    let mut trace = Trace::default();
    trace.created(
        &json!({"items": [{"kind": "A"}, {"kind": "B"}], "items2": 1}),
        &by(Stage::Workload),
    );
    let second = trace.under("/items/1");
    assert_eq!(
        changes(&second),
        vec![("/kind".into(), Change::Set(json!("B")))]
    );
    assert!(
        trace.under("/items").fields().count() == 2,
        "/items2 is not under /items"
    );
}

#[test]
fn steps_accumulate_in_order_per_field() {
    let mut trace = Trace::default();
    trace.created(&json!({"r": 1}), &by(Stage::Workload));
    trace.record(&json!({"r": 1}), &json!({"r": 3}), &by(Stage::Trait));
    let steps = trace.steps("/r");
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].by.stage, Stage::Workload);
    assert_eq!(steps[1].change, Change::Set(json!(3)));
    assert!(trace.steps("/none").is_empty());
}
