//! Parsing a large application's `components` in parallel.
//!
//! An application of many components is mostly one block sequence under `components:`, and
//! without anchors and aliases nothing in one item changes how another parses. So the file
//! is cut into runs of items and a skeleton (the file with the lines of every item but the
//! first left blank, so every other line keeps its number), each part is parsed on its own,
//! and the items are put back under `components` with their lines shifted to where they
//! are in the file.
//!
//! Any doubt falls back to one parse from the top, which then gives the tree or the error:
//! a file too small to gain, anchors or aliases, tabs or carriage returns, document markers
//! or directives, the word `components` anywhere but in the one block `components:` key, or
//! any part that does not parse. A cut in the wrong place leaves a quote, a flow collection
//! or a key unfinished in a part, which then fails to parse; block scalars and plain scalars
//! cannot reach back to the items' indentation.

use rayon::prelude::*;

use super::{Budget, MAX_DEPTH, Node, NodeValue, parse_from_top};

/// Smaller files parse from the top: cutting them would cost more than it saves.
const MIN_BYTES: usize = 64 * 1024;
/// Items parsed in one task: a 100-component application (100 KB) is cut in four.
const ITEMS_PER_PART: usize = 25;
/// The key whose block sequence is cut.
const KEY: &str = "components";

/// The items of the `components:` sequence, as found in the text.
#[derive(Debug)]
struct Cut {
    /// Where each item starts (the start of its `-` line), and that line's number.
    items: Vec<(usize, usize)>,
    /// Where the sequence ends: the start of the first line after it, or the text's end.
    end: usize,
    /// The items' indentation (spaces before the `-`).
    indent: usize,
}

/// The tree of `text`, parsed in parts in parallel and taken from `budget`, or `None` to
/// parse it from the top (which also gives the error of a tree over the budget).
pub(super) fn parse_in_parallel(text: &str, budget: &mut Budget) -> Option<Node> {
    let bytes = text.as_bytes();
    if text.len() < MIN_BYTES
        || memchr::memchr3(b'&', b'*', b'\t', bytes).is_some()
        || memchr::memchr(b'\r', bytes).is_some()
    {
        return None;
    }
    let cut = Cut::find(text)?;
    // The first item stays in the skeleton: parsed in its context, it gives the sequence
    // its position, and fails to parse where an item could not be (in a flow collection).
    let rest = &cut.items[1..];
    let parts: Vec<(usize, &str)> = rest
        .chunks(ITEMS_PER_PART)
        .enumerate()
        .map(|(i, run)| {
            let end = rest
                .get((i + 1) * ITEMS_PER_PART)
                .map_or(cut.end, |next| next.0);
            (run[0].1, &text[run[0].0..end])
        })
        .collect();
    let (skeleton, items) = rayon::join(
        || {
            let skeleton = cut.skeleton(text);
            parse_from_top(&skeleton, &mut Budget::for_text(skeleton.len())).ok()
        },
        || {
            parts
                .par_iter()
                .map(|(line, part)| parse_part(part, *line))
                .collect::<Option<Vec<Vec<Node>>>>()
        },
    );
    let mut root = skeleton?;
    let items = items?;
    let sequence = only_key(&mut root)?;
    let NodeValue::Seq(first) = &mut sequence.value else {
        return None;
    };
    if first.len() != 1 {
        return None;
    }
    first.extend(items.into_iter().flatten());
    if first.len() != cut.items.len() {
        return None;
    }
    // Each part had a budget of its own: the whole is charged here. Without aliases the
    // text is within the budget of a fresh one, but a shared budget may be spent.
    let measure = measure(&root, 0);
    (measure.depth <= MAX_DEPTH && budget.charge(measure.nodes, measure.bytes).is_ok())
        .then_some(root)
}

impl Cut {
    /// The items of the only block `components:` sequence in `text`, if there is one of
    /// enough items to be worth cutting.
    fn find(text: &str) -> Option<Cut> {
        if memchr::memmem::find_iter(text.as_bytes(), KEY).count() != 1 {
            return None;
        }
        let mut lines = Lines::new(text);
        // The key's line: `components:` alone, maybe with a comment.
        let key_indent = loop {
            let line = lines.next()?;
            if line.is_document_marker() {
                return None;
            }
            let content = line.content();
            if let Some(rest) = content.strip_prefix(KEY).and_then(|r| r.strip_prefix(':')) {
                let rest = rest.trim_start_matches(' ');
                if rest.is_empty() || rest.starts_with('#') {
                    break line.indent();
                }
                return None;
            }
        };
        let mut cut = Cut {
            items: Vec::new(),
            end: text.len(),
            indent: 0,
        };
        for line in lines {
            if line.is_document_marker() {
                return None;
            }
            if line.is_blank_or_comment() {
                continue;
            }
            let indent = line.indent();
            if cut.items.is_empty() {
                if indent < key_indent || !line.is_item() {
                    return None;
                }
                cut.indent = indent;
            }
            if indent == cut.indent && line.is_item() {
                cut.items.push((line.start, line.number));
            } else if indent <= cut.indent {
                cut.end = line.start;
                break;
            }
        }
        (cut.items.len() >= 2 * ITEMS_PER_PART).then_some(cut)
    }

    /// `text` with the lines of every item but the first left empty.
    fn skeleton(&self, text: &str) -> String {
        let start = self.items[1].0;
        let blank_lines = text[start..self.end]
            .bytes()
            .filter(|&b| b == b'\n')
            .count();
        let mut skeleton = String::with_capacity(start + blank_lines + text.len() - self.end);
        skeleton.push_str(&text[..start]);
        skeleton.extend(std::iter::repeat_n('\n', blank_lines));
        skeleton.push_str(&text[self.end..]);
        skeleton
    }
}

/// A line of a text, with where it starts and its number (from 1).
struct Line<'a> {
    text: &'a str,
    start: usize,
    number: usize,
}

impl<'a> Line<'a> {
    /// `---`, `...` or a directive: the file may hold more than one document.
    fn is_document_marker(&self) -> bool {
        self.text.starts_with("---") || self.text.starts_with("...") || self.text.starts_with('%')
    }

    fn indent(&self) -> usize {
        self.text.len() - self.text.trim_start_matches(' ').len()
    }

    /// The line without its indentation and line break.
    fn content(&self) -> &'a str {
        self.text.trim_start_matches(' ').trim_end_matches('\n')
    }

    fn is_blank_or_comment(&self) -> bool {
        let content = self.content();
        content.trim_end_matches(' ').is_empty() || content.starts_with('#')
    }

    /// Whether the line starts a sequence item: `-` then a space or the line's end.
    fn is_item(&self) -> bool {
        let content = self.content();
        content == "-" || content.starts_with("- ")
    }
}

/// The lines of a text.
struct Lines<'a> {
    text: &'a str,
    start: usize,
    number: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        Lines {
            text,
            start: 0,
            number: 0,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        if self.start >= self.text.len() {
            return None;
        }
        let rest = &self.text[self.start..];
        let len = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let line = Line {
            text: &rest[..len],
            start: self.start,
            number: self.number + 1,
        };
        self.start += len;
        self.number += 1;
        Some(line)
    }
}

/// The items of a run, parsed alone, with their lines as in the whole text (`line` is the
/// number of the run's first line).
fn parse_part(part: &str, line: usize) -> Option<Vec<Node>> {
    let root = parse_from_top(part, &mut Budget::for_text(part.len())).ok()?;
    let NodeValue::Seq(mut items) = root.value else {
        return None;
    };
    for item in &mut items {
        shift(item, line - 1);
    }
    Some(items)
}

fn shift(node: &mut Node, lines: usize) {
    node.position.line += lines;
    match &mut node.value {
        NodeValue::Seq(items) => items.iter_mut().for_each(|n| shift(n, lines)),
        NodeValue::Map(entries) => entries.iter_mut().for_each(|(_, n)| shift(n, lines)),
        _ => {}
    }
}

/// The value of the only `components` key of the tree; `None` when there is no such key or
/// more than one.
fn only_key(root: &mut Node) -> Option<&mut Node> {
    fn count(node: &Node) -> usize {
        match &node.value {
            NodeValue::Seq(items) => items.iter().map(count).sum(),
            NodeValue::Map(entries) => entries
                .iter()
                .map(|(k, v)| usize::from(k == KEY) + count(v))
                .sum(),
            _ => 0,
        }
    }
    fn find(node: &mut Node) -> Option<&mut Node> {
        match &mut node.value {
            NodeValue::Seq(items) => items.iter_mut().find_map(find),
            NodeValue::Map(entries) => entries
                .iter_mut()
                .find_map(|(k, v)| if k == KEY { Some(v) } else { find(v) }),
            _ => None,
        }
    }
    if count(root) != 1 {
        return None;
    }
    find(root)
}

/// What [`measure`] finds in a tree.
struct Measure {
    /// Nodes, keys included, as the reader counts them.
    nodes: usize,
    /// Bytes of text, keys included, as the reader counts them.
    bytes: usize,
    /// The deepest level.
    depth: usize,
}

/// The nodes, bytes of text and depth of a tree (at `depth`).
fn measure(node: &Node, depth: usize) -> Measure {
    let children = |nodes: &mut dyn Iterator<Item = &Node>, keys: usize, key_bytes: usize| {
        nodes.fold(
            Measure {
                nodes: 1 + keys,
                bytes: key_bytes,
                depth,
            },
            |m, child| {
                let c = measure(child, depth + 1);
                Measure {
                    nodes: m.nodes + c.nodes,
                    bytes: m.bytes + c.bytes,
                    depth: m.depth.max(c.depth),
                }
            },
        )
    };
    match &node.value {
        NodeValue::Seq(items) => children(&mut items.iter(), 0, 0),
        NodeValue::Map(entries) => children(
            &mut entries.iter().map(|(_, v)| v),
            entries.len(),
            entries.iter().map(|(k, _)| k.len()).sum(),
        ),
        NodeValue::String(s) => Measure {
            nodes: 1,
            bytes: s.len(),
            depth,
        },
        _ => Measure {
            nodes: 1,
            bytes: 0,
            depth,
        },
    }
}

#[cfg(test)]
mod tests;
