//! A YAML 1.2 reader that keeps the position of every node, so that any error about a
//! field can name its line and column. JSON is YAML, so `.json` input goes through it too.
//!
//! Scalars resolve by the YAML 1.2 core schema (`yes`/`on` are strings, not booleans, unlike
//! YAML 1.1). Maps keep file order. Aliases are expanded within a [`Budget`] of nodes and
//! bytes of text, so an alias bomb fails fast instead of eating memory.

use std::borrow::Cow;
use std::collections::HashSet;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};
use serde_json::{Map, Number, Value};

/// Nodes an input may expand to through aliases, before it is refused (YAML alias bombs).
const MAX_NODES: usize = 1_000_000;
/// Bytes of text (scalars and keys) a document may expand to through aliases, unless its
/// own text is longer. Counting nodes alone let an 8 MiB anchored string used 200 times
/// allocate 1.6 GB. The largest application file Kiln reads: aliases cannot make a document
/// cost more than a file Kiln accepts without them, and a document without aliases (whose
/// text is never longer than the file) never reaches it.
const MAX_TEXT_BYTES: usize = super::MAX_FILE_BYTES as usize;
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

/// What documents may still expand to: nodes, and bytes of text (scalars and keys), each
/// alias charged for the copy it makes. One budget may be shared by several documents that
/// end up in one application (the values of `ARGOCD_APP_PARAMETERS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// Nodes still allowed.
    nodes: usize,
    /// Bytes of text still allowed.
    bytes: usize,
    /// The bytes allowed at the start, for messages.
    max_bytes: usize,
}

/// What a document went over.
enum Exceeded {
    Nodes,
    Bytes,
}

impl Budget {
    /// The budget of a document (or documents) of `len` bytes of text: [`MAX_NODES`]
    /// nodes, and [`MAX_TEXT_BYTES`] bytes of text or `len` if that is more.
    pub fn for_text(len: usize) -> Budget {
        let bytes = MAX_TEXT_BYTES.max(len);
        Budget {
            nodes: MAX_NODES,
            bytes,
            max_bytes: bytes,
        }
    }

    /// Takes `nodes` and `bytes` from the budget, or says which one ran out (then nothing
    /// is taken).
    fn charge(&mut self, nodes: usize, bytes: usize) -> Result<(), Exceeded> {
        let nodes_left = self.nodes.checked_sub(nodes).ok_or(Exceeded::Nodes)?;
        let bytes_left = self.bytes.checked_sub(bytes).ok_or(Exceeded::Bytes)?;
        self.nodes = nodes_left;
        self.bytes = bytes_left;
        Ok(())
    }

    /// Why a charge at `position` failed (`alias`: the charge was an alias's copy).
    fn error(&self, exceeded: Exceeded, position: Position, alias: bool) -> SyntaxError {
        let what = if alias {
            "this alias expands the document"
        } else {
            "the document expands"
        };
        let message = match exceeded {
            Exceeded::Nodes => format!(
                "{what} to more than {MAX_NODES} nodes (too big to be an application, or an alias bomb)"
            ),
            Exceeded::Bytes => format!(
                "{what} to more than {} bytes of text ({} MiB), the most aliases may expand \
                 a document to (an alias bomb?)",
                self.max_bytes,
                self.max_bytes / (1024 * 1024)
            ),
        };
        SyntaxError { position, message }
    }
}

mod split;

/// Parses a single-document YAML (or JSON) text. An empty text is a `null` node.
///
/// A large application's `components` are parsed in parallel when the file allows it (see
/// `split`); the tree, and any error, are the same as one parse from the top.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    parse_within(text, &mut Budget::for_text(text.len()))
}

/// [`parse`], taking what the document expands to from `budget`.
pub fn parse_within(text: &str, budget: &mut Budget) -> Result<Node, SyntaxError> {
    match split::parse_in_parallel(text, budget) {
        Some(root) => Ok(root),
        None => parse_from_top(text, budget),
    }
}

/// [`parse_within`], in one pass from the top.
fn parse_from_top(text: &str, budget: &mut Budget) -> Result<Node, SyntaxError> {
    let mut reader = Reader {
        parser: Parser::new_from_str(text),
        anchors: Vec::new(),
        budget,
    };
    reader.document()
}

/// An anchored node, and what a copy of it costs.
struct Anchored {
    node: Node,
    /// Its nodes, keys included.
    nodes: usize,
    /// Its bytes of text, keys included.
    bytes: usize,
}

struct Reader<'a, 'b> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    /// Anchored nodes by anchor id (ids start at 1).
    anchors: Vec<Option<Anchored>>,
    /// What the document may still expand to; every node is taken from it, and every
    /// alias for the copy it makes, before the copy is made.
    budget: &'b mut Budget,
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

impl<'a> Reader<'a, '_> {
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

    /// Takes `nodes` and `bytes` from the budget; `alias`: for the copy an alias makes.
    fn charge(
        &mut self,
        nodes: usize,
        bytes: usize,
        at: Position,
        alias: bool,
    ) -> Result<(), SyntaxError> {
        self.budget
            .charge(nodes, bytes)
            .map_err(|exceeded| self.budget.error(exceeded, at, alias))
    }

    fn node(&mut self, event: Event<'a>, span: Span, depth: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(SyntaxError {
                position: position(&span),
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            });
        }
        let at = position(&span);
        self.charge(1, 0, at, false)?;
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let value = scalar(text, style, tag.as_deref()).map_err(|message| SyntaxError {
                    position: at,
                    message,
                })?;
                if let NodeValue::String(s) = &value {
                    self.charge(0, s.len(), at, false)?;
                }
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
                let anchored = self
                    .anchors
                    .get(id)
                    .and_then(Option::as_ref)
                    .ok_or_else(|| SyntaxError {
                        position: at,
                        message: "alias to an unknown anchor".into(),
                    })?;
                // The alias itself was charged one node above. The copy is charged before
                // it is made, so a bomb fails before it allocates.
                self.budget
                    .charge(anchored.nodes.saturating_sub(1), anchored.bytes)
                    .map_err(|exceeded| self.budget.error(exceeded, at, true))?;
                return Ok(anchored.node.clone());
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
                self.anchors.resize_with(anchor + 1, || None);
            }
            // The kept copy is not charged: it is no bigger than the node, which was.
            let (nodes, bytes) = cost(&node);
            self.anchors[anchor] = Some(Anchored {
                node: node.clone(),
                nodes,
                bytes,
            });
        }
        Ok(node)
    }
}

/// The nodes and bytes of text in a subtree, keys included, as the reader charges them
/// (the cost of expanding an alias to it).
fn cost(node: &Node) -> (usize, usize) {
    match &node.value {
        NodeValue::String(s) => (1, s.len()),
        NodeValue::Seq(items) => items.iter().map(cost).fold((1, 0), add),
        NodeValue::Map(entries) => entries
            .iter()
            .map(|(k, v)| add((1, k.len()), cost(v)))
            .fold((1, 0), add),
        _ => (1, 0),
    }
}

fn add(a: (usize, usize), b: (usize, usize)) -> (usize, usize) {
    (a.0 + b.0, a.1 + b.1)
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
mod tests;
