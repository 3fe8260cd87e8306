use super::*;
use serde_json::json;

/// `has` on text agrees with `pointer` on the parsed value, for every kind of node.
#[test]
fn has_on_text_agrees_with_the_parsed_value() {
    let value = json!({
        "a": {"b": [1, {"c": null, "d": "x"}, []], "e": {}},
        "f/g": {"h~i": true},
        "n": null,
        "s": "text",
    });
    let pointers = [
        "",
        "/a",
        "/a/b",
        "/a/b/0",
        "/a/b/1",
        "/a/b/1/c",
        "/a/b/1/d",
        "/a/b/2",
        "/a/b/3",
        "/a/b/x",
        "/a/e",
        "/a/e/z",
        "/f~1g",
        "/f~1g/h~0i",
        "/n",
        "/n/x",
        "/s",
        "/s/0",
        "/missing",
        "no-slash",
        "/a/b/1/d/deeper",
    ];
    let text = LazyJson::from_text(value.to_string());
    for pointer in pointers {
        let expected = value.pointer(pointer).is_some_and(|v| !v.is_null());
        assert_eq!(text.has(pointer), expected, "{pointer}");
        assert_eq!(
            LazyJson::from(value.clone()).has(pointer),
            expected,
            "{pointer}"
        );
    }
    assert!(
        text.value.get().is_none(),
        "has() did not parse the whole value"
    );
}
