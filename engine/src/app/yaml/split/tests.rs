use super::*;
use crate::app::yaml::{MAX_NODES, MAX_TEXT_BYTES, SyntaxError, parse, parse_within};

/// [`super::parse_in_parallel`] with a budget of its own.
fn parse_in_parallel(text: &str) -> Option<Node> {
    super::parse_in_parallel(text, &mut Budget::for_text(text.len()))
}

/// [`super::parse_from_top`] with a budget of its own.
fn parse_from_top(text: &str) -> Result<Node, SyntaxError> {
    super::parse_from_top(text, &mut Budget::for_text(text.len()))
}

/// An application of `n` components, each written by `item`, followed by `after` (at the
/// `spec` level).
fn app(n: usize, item: impl Fn(usize) -> String, after: &str) -> String {
    let mut text = String::from(
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: big # a comment\n\
         spec:\n  components:\n",
    );
    for i in 0..n {
        text.push_str(&item(i));
    }
    text.push_str(after);
    text
}

/// A component using most of what a hand-written application does.
fn rich(i: usize) -> String {
    format!(
        "  - name: svc-{i}\n    type: webservice\n    properties:\n      image: \"ghcr.io/x/svc-{i}:1.0\"\n      \
         ports:\n      - port: 8080\n        expose: true\n      cmd: [sh, -c, 'echo {i}']\n      \
         env: {{LOG: info, N: '{i}'}}\n      script: |\n        - not an item\n        # not a comment\n      \
         folded: >\n        one\n        two\n      plain: a long\n        plain scalar\n\
         # a comment at column 0\n\n    traits:\n    - type: scaler\n      properties:\n        replicas: {}\n",
        i % 5
    )
}

/// 300 rich components, of which the one at `at` is `item` instead.
fn rich_but(at: usize, item: &str) -> String {
    app(
        300,
        |i| if i == at { item.to_string() } else { rich(i) },
        "",
    )
}

fn assert_same_as_from_top(text: &str) {
    same(&parse(text), &parse_from_top(text));
}

/// Equal, or a panic showing where the two first differ (the trees are long).
fn same<T: std::fmt::Debug + PartialEq>(left: &T, right: &T) {
    if left == right {
        return;
    }
    let (l, r) = (format!("{left:?}"), format!("{right:?}"));
    let at = l.bytes().zip(r.bytes()).take_while(|(a, b)| a == b).count();
    let from = at.saturating_sub(300);
    panic!(
        "differ at byte {at}:\n  left: ...{}\n right: ...{}",
        &l[from..(at + 200).min(l.len())],
        &r[from..(at + 200).min(r.len())]
    );
}

#[test]
fn a_large_application_parses_in_parts_to_the_same_tree() {
    let text = app(
        300,
        rich,
        "  policies:\n  - name: p\n    type: garbage-collect\n",
    )
    .replace("  components:\n", "  components: # the list\n\n");
    assert!(text.len() >= MIN_BYTES);
    let parallel = parse_in_parallel(&text).expect("cut");
    same(&parallel, &parse_from_top(&text).unwrap());
}

#[test]
fn items_indented_under_the_key_a_bare_dash_and_a_sequence_that_ends_the_file() {
    let indented = |i: usize| {
        format!(
            "    - name: c-{i}\n      type: worker\n      properties:\n        image: busybox\n        \
             x: {}\n",
            "y".repeat(300)
        )
    };
    let text = app(300, indented, "");
    assert!(parse_in_parallel(&text).is_some());
    assert_same_as_from_top(&text);
    // A dash alone on its line, first or later.
    for at in [0, 9] {
        let text = rich_but(at, "  -\n    name: x\n");
        assert!(parse_in_parallel(&text).is_some());
        assert_same_as_from_top(&text);
    }
    // No line break at the very end.
    let text = app(300, indented, "");
    let text = text.trim_end();
    assert!(parse_in_parallel(text).is_some());
    assert_same_as_from_top(text);
}

#[test]
fn errors_are_those_of_a_parse_from_the_top() {
    // A duplicate key in item 200, a bad indentation in the last item, and an error after
    // the sequence: each reported at its line, as from the top.
    let cases = [
        app(
            300,
            |i| {
                rich(i).replace(
                    "type: webservice\n",
                    if i == 200 {
                        "type: a\n    type: b\n"
                    } else {
                        "type: webservice\n"
                    },
                )
            },
            "",
        ),
        rich_but(299, "  - name: x\n   bad: 1\n"),
        app(300, rich, "  workflow: {steps: [\n"),
        app(300, rich, "  components: again\n"),
    ];
    for text in cases {
        assert!(parse_in_parallel(&text).is_none());
        let error = parse(&text).unwrap_err();
        assert_eq!(Err(error), parse_from_top(&text));
    }
}

#[test]
fn what_cannot_be_cut_safely_parses_from_the_top() {
    let anchors = app(
        300,
        |i| match i {
            10 => rich(i).replace("type: webservice", "type: &t webservice"),
            200 => rich(i).replace("type: webservice", "type: *t"),
            _ => rich(i),
        },
        "",
    );
    let cases = [
        // Too small to gain.
        app(3, rich, ""),
        // Anchors and aliases, tabs, carriage returns, document markers.
        anchors,
        app(300, rich, "  x: \"a\tb\"\n"),
        app(300, rich, "").replace('\n', "\r\n"),
        format!("---\n{}", app(300, rich, "")),
        app(300, rich, "---\nkind: Second\n"),
        // `components` elsewhere too, or not as a block sequence.
        app(
            300,
            rich,
            "  policies:\n  - type: override\n    properties:\n      components: []\n",
        ),
        app(300, rich, "").replace("  components:\n", "  components: !!seq\n"),
        // `components:` in a flow mapping, where a `-` cannot start an item.
        app(300, rich, "}\n").replace("spec:\n  components:", "spec: {\n  components:"),
        // A quoted scalar and a flow sequence that run over an item's `-`.
        rich_but(150, "  - name: \"a\n  - b\"\n"),
        rich_but(150, "  - name: [a,\n  - b]\n"),
    ];
    for (i, text) in cases.iter().enumerate() {
        assert!(parse_in_parallel(text).is_none(), "case {i}");
        assert_same_as_from_top(text);
    }
}

#[test]
fn the_nesting_limit_counts_from_the_top_of_the_file() {
    // Nesting that fits in an item alone but not under `spec.components[i]`.
    let deep = format!(
        "{}x{}",
        "[".repeat(MAX_DEPTH - 2),
        "]".repeat(MAX_DEPTH - 2)
    );
    let text = rich_but(200, &format!("  - name: {deep}\n"));
    assert!(parse_in_parallel(&text).is_none());
    assert!(parse_from_top(&text).is_err());
    assert_same_as_from_top(&text);
}

#[test]
fn counts_nodes_bytes_and_depth_as_the_reader_does() {
    let text = "a: [1, {b: c}]\nd: {}\nee: fff\n";
    let root = parse_from_top(text).unwrap();
    // Nodes: the root map, keys a, d and ee, the list, 1, the inner map, key b, c, the
    // empty map, fff. Bytes: a, b, c, d, ee, fff.
    let m = measure(&root, 0);
    assert_eq!((m.nodes, m.bytes, m.depth), (11, 9, 3));
    let mut budget = Budget::for_text(0);
    parse_within(text, &mut budget).unwrap();
    let fresh = Budget::for_text(0);
    assert_eq!(
        (fresh.nodes - budget.nodes, fresh.bytes - budget.bytes),
        (11, 9),
        "the reader charges what measure counts"
    );
}

#[test]
fn a_cut_file_is_charged_to_the_budget_it_is_parsed_within() {
    let text = app(300, rich, "");
    let mut fresh = Budget::for_text(0);
    let root = super::parse_in_parallel(&text, &mut fresh).expect("cut");
    let m = measure(&root, 0);
    assert_eq!(
        (fresh.nodes, fresh.bytes),
        (MAX_NODES - m.nodes, MAX_TEXT_BYTES - m.bytes)
    );
    // A budget spent all but one byte short: the cut gives up, and the parse from the top
    // says where the text ran over.
    let mut spent = Budget::for_text(0);
    spent.bytes = m.bytes - 1;
    assert!(super::parse_in_parallel(&text, &mut spent.clone()).is_none());
    let err = parse_within(&text, &mut spent).unwrap_err();
    assert!(err.message.contains("bytes of text"), "{}", err.message);
    assert!(err.position.line > 6, "{:?}", err.position);
}

#[test]
fn random_edits_of_a_large_application_parse_as_from_the_top() {
    // Characters that start, end or break YAML constructs, put at random places: whatever
    // the edit makes of the file (another tree or an error), the cut gives the same.
    let base = app(
        150,
        rich,
        "  policies:\n  - name: p\n    type: garbage-collect\n",
    );
    assert!(base.len() >= MIN_BYTES);
    let edits = [
        " ",
        "  ",
        "-",
        "- ",
        ":",
        ": ",
        "\n",
        "\n  - ",
        "\n- x: 1\n",
        "\"",
        "'",
        "[",
        "]",
        "{",
        "}",
        "#",
        "|",
        ">",
        "? ",
        ",",
        "%",
        "---\n",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    let mut cut = 0;
    for _ in 0..120 {
        let mut text = base.clone();
        for _ in 0..1 + next(3) {
            // Edits at line starts and inside lines alike.
            let mut at = next(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            if next(2) == 0 {
                at = text[..at].rfind('\n').map_or(0, |i| i + 1);
            }
            text.insert_str(at, edits[next(edits.len())]);
        }
        cut += usize::from(parse_in_parallel(&text).is_some());
        assert_same_as_from_top(&text);
    }
    // Most edits keep a file that can be cut: the test exercises the cut, not only the
    // fallback.
    assert!(cut > 10, "only {cut} of 120 edited files were cut");
}
