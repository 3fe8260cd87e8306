use super::*;

fn json(text: &str) -> Value {
    parse(text).unwrap().to_json()
}

#[test]
fn resolves_core_schema_scalars() {
    assert_eq!(
        json("a: 1\nb: -2\nc: 1.5\nd: true\ne: ~\nf: yes\ng: '8080'\nh: 0x1f\ni: 1e3"),
        serde_json::json!({"a": 1, "b": -2, "c": 1.5, "d": true, "e": null, "f": "yes",
                           "g": "8080", "h": 31, "i": 1000.0})
    );
}

#[test]
fn keeps_positions_and_file_order() {
    let root = parse("name: x\nservices:\n  web:\n    image: a\n  api:\n    image: b\n").unwrap();
    let services = root.get("services").unwrap();
    let NodeValue::Map(entries) = &services.value else {
        panic!()
    };
    assert_eq!(entries[0].0, "web");
    assert_eq!(entries[1].0, "api");
    let image = root.locate(&[
        Segment::Key("services".into()),
        Segment::Key("api".into()),
        Segment::Key("image".into()),
    ]);
    assert_eq!(
        image.position,
        Position {
            line: 6,
            column: 12
        }
    );
}

#[test]
fn reports_syntax_errors_with_position() {
    let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
    assert!(err.position.line >= 1);
    assert!(!err.message.is_empty());
}

#[test]
fn refuses_duplicate_keys() {
    let err = parse("a: 1\na: 2\n").unwrap_err();
    assert_eq!(err.position.line, 2);
    assert!(err.message.contains("duplicate key"));
}

#[test]
fn refuses_duplicates_in_maps_of_every_size() {
    // Small maps are scanned and big ones use a set: sizes on both sides of the switch.
    for keys in [1, 2, 15, 16, 17, 40] {
        let mut text: String = (0..keys).map(|i| format!("k{i}: {i}\n")).collect();
        assert!(parse(&text).is_ok(), "{keys} distinct keys");
        for again in [0, keys - 1] {
            let err = parse(&format!("{text}k{again}: again\n")).unwrap_err();
            assert_eq!(
                (err.position.line, err.message),
                (keys + 1, format!("duplicate key \"k{again}\"")),
                "{keys} keys, then k{again} again"
            );
        }
        text.push_str("after: 1\n");
        assert!(parse(&text).is_ok());
    }
}

#[test]
fn refuses_a_duplicate_at_the_end_of_a_big_map() {
    // 50,000 keys: a per-key scan of the earlier ones made this take seconds (and a
    // 16 MiB file hours); the check is now a set lookup.
    let mut text: String = (0..50_000).map(|i| format!("k{i}: {i}\n")).collect();
    text.push_str("k7: again\n");
    let err = parse(&text).unwrap_err();
    assert_eq!(
        (err.position.line, err.message.as_str()),
        (50_001, "duplicate key \"k7\"")
    );
}

#[test]
fn expands_aliases_and_stops_alias_bombs() {
    assert_eq!(
        json("a: &x {k: v}\nb: *x"),
        serde_json::json!({"a": {"k": "v"}, "b": {"k": "v"}})
    );
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        bomb.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 10].join(", ")
        ));
    }
    let err = parse(&bomb).unwrap_err();
    assert!(err.message.contains("alias bomb"), "{}", err.message);
}

/// `a:` anchoring a string of `len` bytes, then `b:` a list of `aliases` aliases to it.
fn big_string_aliased(len: usize, aliases: usize) -> String {
    let mut text = format!("a: &big {}\nb:\n", "x".repeat(len));
    text.push_str(&"- *big\n".repeat(aliases));
    text
}

#[test]
fn aliases_of_a_big_string_are_charged_by_its_bytes() {
    // 1 MiB used 15 times is under 1,000 nodes but 16 MiB of text, with the keys `a`
    // and `b`: the 15th alias (line 17) is one too many, and the 14th is not.
    const MIB: usize = 1024 * 1024;
    assert_eq!(MAX_TEXT_BYTES, 16 * MIB);
    let err = parse(&big_string_aliased(MIB, 15)).unwrap_err();
    assert_eq!(
        err.position,
        Position {
            line: 17,
            column: 3
        }
    );
    assert_eq!(
        err.message,
        "this alias expands the document to more than 16777216 bytes of text (16 MiB), \
             the most aliases may expand a document to (an alias bomb?)"
    );
    let root = parse(&big_string_aliased(MIB, 14)).unwrap();
    let NodeValue::Seq(items) = &root.get("b").unwrap().value else {
        panic!()
    };
    assert_eq!(items.len(), 14);
    assert_eq!(items[13].value, NodeValue::String("x".repeat(MIB)));
}

#[test]
fn aliases_are_charged_for_keys_and_nested_strings() {
    // A map of 10 keys of 10 bytes with values of 90 bytes: 1,000 bytes a copy.
    let entries: String = (0..10)
        .map(|i| format!("  key{i:07}: {}\n", "v".repeat(90)))
        .collect();
    let text = format!("a: &m\n{entries}b: [*m, *m]\n");
    let mut budget = Budget::for_text(0);
    parse_within(&text, &mut budget).unwrap();
    let fresh = Budget::for_text(0);
    // Text: a, b and three copies of the map; nodes: the root, 2 keys, the list, three
    // maps of 21 nodes.
    assert_eq!(fresh.bytes - budget.bytes, 2 + 3 * 1_000);
    assert_eq!(fresh.nodes - budget.nodes, 1 + 2 + 1 + 3 * 21);
}

#[test]
fn a_budget_is_shared_by_the_documents_parsed_within_it() {
    let half = big_string_aliased(1024 * 1024, 7);
    assert!(parse(&half).is_ok());
    let mut budget = Budget::for_text(0);
    parse_within(&half, &mut budget).unwrap();
    let err = parse_within(&half, &mut budget).unwrap_err();
    assert!(
        err.message.contains("16777216 bytes of text"),
        "{}",
        err.message
    );
}

#[test]
fn a_text_longer_than_the_budget_is_its_own_budget() {
    // Without aliases a document holds no more text than its file: never refused.
    let budget = Budget::for_text(MAX_TEXT_BYTES + 7);
    assert_eq!(budget.bytes, MAX_TEXT_BYTES + 7);
    assert_eq!(Budget::for_text(7).bytes, MAX_TEXT_BYTES);
}

#[test]
fn refuses_deep_nesting() {
    let deep = "[".repeat(1000) + &"]".repeat(1000);
    let err = parse(&deep).unwrap_err();
    assert!(err.message.contains("nesting"), "{}", err.message);
}

#[test]
fn reads_json() {
    assert_eq!(
        json(r#"{"a": [1, "2", null]}"#),
        serde_json::json!({"a": [1, "2", null]})
    );
}
