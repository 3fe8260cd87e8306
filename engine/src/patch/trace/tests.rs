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

#[test]
fn a_named_item_keeps_its_history_when_a_patch_moves_it() {
    let mut trace = Trace::default();
    let app = json!({"containers": [{"name": "app", "image": "app:1"}]});
    trace.created(&app, &by(Stage::Workload));
    let with_sidecar = json!({"containers": [{"name": "side", "image": "side:1"}, {"name": "app", "image": "app:1"}]});
    trace.record(&app, &with_sidecar, &by(Stage::Trait));
    let app_image = trace.steps("/containers/1/image");
    assert_eq!(app_image.len(), 1, "{app_image:#?}");
    assert_eq!(app_image[0].by.stage, Stage::Workload);
    let side_image = trace.steps("/containers/0/image");
    assert_eq!(side_image.len(), 1, "{side_image:#?}");
    assert_eq!(side_image[0].by.stage, Stage::Trait);
    assert_eq!(side_image[0].change, Change::Set(json!("side:1")));
}

#[test]
fn an_empty_map_that_fills_up_leaves_no_stale_step_and_one_emptied_is_set_empty() {
    let mut trace = Trace::default();
    trace.created(&json!({"labels": {}, "note": null}), &by(Stage::Trait));
    trace.record(
        &json!({"labels": {}, "note": null}),
        &json!({"labels": {"a": "1"}, "note": {"b": 2}}),
        &by(Stage::Host),
    );
    assert_eq!(
        changes(&trace),
        vec![
            ("/labels/a".into(), Change::Set(json!("1"))),
            ("/note/b".into(), Change::Set(json!(2))),
        ]
    );
    trace.record(
        &json!({"labels": {"a": "1"}}),
        &json!({"labels": {}}),
        &by(Stage::Policy),
    );
    assert_eq!(
        trace.steps("/labels"),
        &[Step {
            by: by(Stage::Policy),
            change: Change::Set(json!({}))
        }]
    );
    assert_eq!(
        trace.steps("/labels/a")[1].change,
        Change::Removed(json!("1"))
    );
}

#[test]
fn an_absorbed_trace_adds_its_steps_after_ours() {
    let mut first = Trace::default();
    first.created(&json!({"data": {"a": "1"}}), &by(Stage::Workload));
    let mut second = Trace::default();
    second.created(&json!({"data": {"a": "1", "b": "2"}}), &by(Stage::Trait));
    first.absorb(second);
    assert_eq!(first.steps("/data/a").len(), 2);
    assert_eq!(first.steps("/data/b")[0].by.stage, Stage::Trait);
}
