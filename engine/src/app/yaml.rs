//! A YAML 1.2 reader that keeps the position of every node, so that any error about a
//! field can name its line and column. JSON is YAML, so `.json` input goes through it too.
//!
//! Scalars resolve by the YAML 1.2 core schema (`yes`/`on` are strings, not booleans, unlike
//! YAML 1.1). Maps keep file order. Aliases are expanded with a budget, so an alias bomb
//! fails fast instead of eating memory.

use std::borrow::Cow;
use std::collections::HashSet;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};
use serde_json::{Map, Number, Value};

/// Nodes an input may expand to through aliases, before it is refused (YAML alias bombs).
const MAX_NODES: usize = 1_000_000;
/// Nesting depth refused beyond this (stack safety of the recursive consumers).
const MAX_DEPTH: usize = 256;
/// Maps with fewer keys are checked for duplicates by a scan, bigger ones with a set.
const SMALL_MAP: usize = 16;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl From<Position> for (usize, usize) {
    fn from(p: Position) -> (usize, usize) {
        (p.line, p.column)
    }
}

/// A YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub position: Position,
    pub value: NodeValue,
}

/// The content of a [`Node`]. Maps keep file order.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// A YAML syntax error, at a position.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub position: Position,
    pub message: String,
}

/// One step of a path into a document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    Key(String),
    Index(usize),
}

impl Node {
    /// A short name of the node's type, for messages ("a map", "a string", ...).
    pub fn type_name(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Number(_) => "a number",
            NodeValue::String(_) => "a string",
            NodeValue::Seq(_) => "a list",
            NodeValue::Map(_) => "a map",
        }
    }

    /// The value of `key` when this node is a map.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The node at `path`, as far as it exists, and how many segments were matched.
    pub fn locate<'a>(&self, path: impl IntoIterator<Item = &'a Segment>) -> &Node {
        let mut node = self;
        for segment in path {
            let next = match (segment, &node.value) {
                (Segment::Key(k), NodeValue::Map(_)) => node.get(k),
                (Segment::Index(i), NodeValue::Seq(items)) => items.get(*i),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node
    }

    /// The node as JSON (maps become objects, sorted by key).
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Number(n) => Value::Number(n.clone()),
            NodeValue::String(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

mod split;

/// Parses a single-document YAML (or JSON) text. An empty text is a `null` node.
///
/// A large application's `components` are parsed in parallel when the file allows it (see
/// `split`); the tree, and any error, are the same as one parse from the top.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    match split::parse_in_parallel(text) {
        Some(root) => Ok(root),
        None => parse_from_top(text),
    }
}

/// [`parse`], in one pass from the top.
fn parse_from_top(text: &str) -> Result<Node, SyntaxError> {
    let mut reader = Reader {
        parser: Parser::new_from_str(text),
        anchors: Vec::new(),
        nodes: 0,
    };
    reader.document()
}

struct Reader<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    /// Anchored nodes by anchor id (ids start at 1).
    anchors: Vec<Option<Node>>,
    /// Nodes produced so far, counting alias expansions.
    nodes: usize,
}

fn position(span: &Span) -> Position {
    Position {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

fn scan_error(e: ScanError) -> SyntaxError {
    SyntaxError {
        position: Position {
            line: e.marker().line(),
            column: e.marker().col() + 1,
        },
        message: match e.info() {
            "recursion limit exceeded" => "nesting too deep".to_string(),
            info => info.to_string(),
        },
    }
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), SyntaxError> {
        match self.parser.next_event() {
            Some(Ok(event)) => Ok(event),
            Some(Err(e)) => Err(scan_error(e)),
            None => Err(SyntaxError {
                position: Position { line: 1, column: 1 },
                message: "unexpected end of input".into(),
            }),
        }
    }

    fn document(&mut self) -> Result<Node, SyntaxError> {
        let mut root = None;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    if root.is_some() {
                        return Err(SyntaxError {
                            position: position(&span),
                            message: "more than one YAML document; an application file holds one"
                                .into(),
                        });
                    }
                    let (event, span) = self.next()?;
                    root = Some(self.node(event, span, 0)?);
                }
                _ => {
                    return Err(SyntaxError {
                        position: position(&span),
                        message: "unexpected content".into(),
                    });
                }
            }
        }
        Ok(root.unwrap_or(Node {
            position: Position { line: 1, column: 1 },
            value: NodeValue::Null,
        }))
    }

    fn count(&mut self, n: usize, at: &Span) -> Result<(), SyntaxError> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(SyntaxError {
                position: position(at),
                message: format!(
                    "the document expands to more than {MAX_NODES} nodes (too big to be an application, or an alias bomb)"
                ),
            });
        }
        Ok(())
    }

    fn node(&mut self, event: Event<'a>, span: Span, depth: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(SyntaxError {
                position: position(&span),
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            });
        }
        self.count(1, &span)?;
        let at = position(&span);
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let value = scalar(text, style, tag.as_deref()).map_err(|message| SyntaxError {
                    position: at,
                    message,
                })?;
                (
                    Node {
                        position: at,
                        value,
                    },
                    anchor,
                )
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if let Event::SequenceEnd = event {
                        break;
                    }
                    items.push(self.node(event, span, depth + 1)?);
                }
                (
                    Node {
                        position: at,
                        value: NodeValue::Seq(items),
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, _) => {
                let mut entries: Vec<(String, Node)> = Vec::new();
                // Duplicate keys: a scan of a small map (most are), a set for a big one; a
                // scan per key made a file of one big map (found reading the fuzzed reader)
                // take hours, and a set per small map cost the allocations.
                let mut seen: Option<HashSet<String>> = None;
                loop {
                    let (event, key_span) = self.next()?;
                    if let Event::MappingEnd = event {
                        break;
                    }
                    let key = self.node(event, key_span, depth + 1)?;
                    let key = match key.value {
                        NodeValue::String(s) => s,
                        NodeValue::Number(n) => n.to_string(),
                        NodeValue::Bool(b) => b.to_string(),
                        NodeValue::Null => "null".into(),
                        _ => {
                            return Err(SyntaxError {
                                position: key.position,
                                message: "a map key must be a scalar".into(),
                            });
                        }
                    };
                    let duplicate = match &mut seen {
                        Some(set) => !set.insert(key.clone()),
                        None if entries.len() < SMALL_MAP => {
                            entries.iter().any(|(known, _)| *known == key)
                        }
                        None => {
                            let mut set: HashSet<String> =
                                entries.iter().map(|(known, _)| known.clone()).collect();
                            let duplicate = !set.insert(key.clone());
                            seen = Some(set);
                            duplicate
                        }
                    };
                    if duplicate {
                        return Err(SyntaxError {
                            position: position(&key_span),
                            message: format!("duplicate key \"{key}\""),
                        });
                    }
                    let (event, span) = self.next()?;
                    let value = self.node(event, span, depth + 1)?;
                    entries.push((key, value));
                }
                (
                    Node {
                        position: at,
                        value: NodeValue::Map(entries),
                    },
                    anchor,
                )
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .get(id)
                    .and_then(Option::as_ref)
                    .cloned()
                    .ok_or_else(|| SyntaxError {
                        position: at,
                        message: "alias to an unknown anchor".into(),
                    })?;
                let size = size(&node);
                self.count(size, &span)?;
                return Ok(node);
            }
            other => {
                return Err(SyntaxError {
                    position: at,
                    message: format!("unexpected YAML event {other:?}"),
                });
            }
        };
        if anchor > 0 {
            if self.anchors.len() <= anchor {
                self.anchors.resize(anchor + 1, None);
            }
            self.anchors[anchor] = Some(node.clone());
        }
        Ok(node)
    }
}

/// Nodes in a subtree (the cost of expanding an alias to it).
fn size(node: &Node) -> usize {
    1 + match &node.value {
        NodeValue::Seq(items) => items.iter().map(size).sum(),
        NodeValue::Map(entries) => entries.iter().map(|(_, v)| size(v)).sum(),
        _ => 0,
    }
}

/// Resolves a scalar by the YAML 1.2 core schema (quoted scalars are strings).
fn scalar(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>) -> Result<NodeValue, String> {
    if let Some(tag) = tag {
        if tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:" {
            return match tag.suffix.as_str() {
                "str" => Ok(NodeValue::String(text.into_owned())),
                "null" => Ok(NodeValue::Null),
                "bool" | "int" | "float" => match plain(&text) {
                    NodeValue::String(_) => {
                        Err(format!("\"{text}\" is not a valid !!{}", tag.suffix))
                    }
                    value => Ok(value),
                },
                other => Err(format!("unsupported tag !!{other}")),
            };
        }
        return Err(format!("unsupported tag {}{}", tag.handle, tag.suffix));
    }
    Ok(match style {
        ScalarStyle::Plain => plain(&text),
        _ => NodeValue::String(text.into_owned()),
    })
}

fn plain(text: &str) -> NodeValue {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Bool(true),
        "false" | "False" | "FALSE" => return NodeValue::Bool(false),
        _ => {}
    }
    if let Some(n) = integer(text) {
        return NodeValue::Number(n);
    }
    if let Some(n) = float(text).and_then(Number::from_f64) {
        return NodeValue::Number(n);
    }
    NodeValue::String(text.to_string())
}

fn integer(text: &str) -> Option<Number> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(d) = digits.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = digits.strip_prefix("0x") {
        (16, d)
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    if radix != 10 && text.starts_with(['-', '+']) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        let v = i64::try_from(magnitude).ok()?.checked_neg()?;
        Some(Number::from(v))
    } else {
        Some(Number::from(magnitude))
    }
}

fn float(text: &str) -> Option<f64> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => return None, // not representable in JSON
        _ => {}
    }
    // Core schema: [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (int.is_empty() && digits(frac)) || (digits(int) && (frac.is_empty() || digits(frac)))
        }
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    if mantissa_ok && exponent_ok {
        text.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
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
        let root =
            parse("name: x\nservices:\n  web:\n    image: a\n  api:\n    image: b\n").unwrap();
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
}
