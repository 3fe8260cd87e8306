//! Provenance: who set each field of an object, step by step, as the host's merges change
//! it (`kiln explain`, `kiln render --trace`).
//!
//! A [`Trace`] records, per field (by JSON pointer, down to scalars and empty maps and
//! lists), every change: the value a definition's output or patch set, or the removal of
//! the field. It is made by comparing the object before and after each change the host
//! makes ([`crate::patch::apply_traced`], the host's own labels and names, a policy's
//! mutation), never from what a definition says about itself: the guests and their
//! interface are unchanged. A step is one patch, so a patch that adds a field and removes it
//! again records neither. Nothing is recorded, and nothing copied, when no trace is asked
//! for.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

/// What changed an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contributor {
    /// The stage of the render it changed the object in.
    pub stage: Stage,
    /// The definition that changed it; none for the host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<DefinitionId>,
    /// Where its properties are: the application file's `file:line:column` (the platform
    /// file's, for a policy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A stage of the render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// The component type's output.
    Workload,
    /// A trait's output or patch.
    Trait,
    /// A platform policy's mutation.
    Policy,
    /// The host's contract: OAM labels, the default name and the namespace.
    Host,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Workload => "workload",
            Stage::Trait => "trait",
            Stage::Policy => "policy",
            Stage::Host => "host",
        })
    }
}

/// A definition, exactly: its name, its version, and the sha256 of its module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DefinitionId {
    pub name: String,
    pub version: String,
    pub sha256: String,
}

/// One change of one field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Who changed it.
    #[serde(flatten)]
    pub by: Arc<Contributor>,
    /// What it did.
    #[serde(flatten)]
    pub change: Change,
}

/// What a step did to a field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Set it to this value.
    Set(Value),
    /// Removed it (this was its value).
    Removed(Value),
}

/// The steps of one object, by the JSON pointer of each field (serialized as that map).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Trace {
    fields: BTreeMap<String, Vec<Step>>,
}

impl Trace {
    /// Records that `by` made `object`: every field set.
    pub fn created(&mut self, object: &Value, by: &Arc<Contributor>) {
        self.set(object, by, &mut String::new());
    }

    /// Records `by`'s change of an object from `before` to `after`: each field that is new
    /// or different is set, each field that is gone is removed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use kiln::patch::trace::{Change, Contributor, Stage, Trace};
    /// use serde_json::json;
    ///
    /// let scaler = Arc::new(Contributor { stage: Stage::Trait, definition: None, source: None });
    /// let mut trace = Trace::default();
    /// trace.record(&json!({"spec": {"replicas": 1}}), &json!({"spec": {"replicas": 3}}), &scaler);
    /// let steps = trace.steps("/spec/replicas");
    /// assert_eq!(steps[0].change, Change::Set(json!(3)));
    /// ```
    pub fn record(&mut self, before: &Value, after: &Value, by: &Arc<Contributor>) {
        let mut pointer = String::new();
        self.diff(before, after, by, &mut pointer);
    }

    fn diff(&mut self, before: &Value, after: &Value, by: &Arc<Contributor>, at: &mut String) {
        match (before, after) {
            (Value::Object(old), Value::Object(new)) if !old.is_empty() && !new.is_empty() => {
                for (key, value) in new {
                    let len = at.len();
                    push_token(at, key);
                    match old.get(key) {
                        Some(before) => self.diff(before, value, by, at),
                        None => self.set(value, by, at),
                    }
                    at.truncate(len);
                }
                for (key, value) in old {
                    if !new.contains_key(key) {
                        let len = at.len();
                        push_token(at, key);
                        self.removed(value, by, at);
                        at.truncate(len);
                    }
                }
            }
            (Value::Array(old), Value::Array(new)) if !old.is_empty() && !new.is_empty() => {
                self.diff_items(old, new, by, at);
            }
            _ if before == after => {}
            _ => {
                match before {
                    // Its leaves go.
                    _ if is_container(before) => self.removed(before, by, at),
                    // A null or an empty map or list that fills up: its children take over.
                    Value::Null | Value::Object(_) | Value::Array(_) => {
                        if is_container(after) {
                            self.fields.remove(at.as_str());
                        }
                    }
                    // A scalar that becomes a map or list is gone; one replaced by a scalar
                    // is just set again.
                    scalar => {
                        if is_container(after) {
                            self.push(at, by, Change::Removed(scalar.clone()));
                        }
                    }
                }
                self.set(after, by, at);
            }
        }
    }

    /// Two non-empty lists. Items are compared by position, except in a list of objects
    /// named by a unique `name` (containers, env, volumes, ports...), where an item keeps
    /// its history wherever a patch moves it, and an item that leaves takes its history
    /// with it.
    fn diff_items(&mut self, old: &[Value], new: &[Value], by: &Arc<Contributor>, at: &mut String) {
        let matched: Vec<Option<usize>> = match (names(old), names(new)) {
            (Some(old_names), Some(new_names)) => new_names
                .iter()
                .map(|name| old_names.iter().position(|n| n == name))
                .collect(),
            _ => (0..new.len())
                .map(|i| (i < old.len()).then_some(i))
                .collect(),
        };
        let positional = matched
            .iter()
            .enumerate()
            .all(|(j, i)| i.is_none_or(|i| i == j));
        if positional {
            for (i, value) in new.iter().enumerate() {
                let len = at.len();
                push_index(at, i);
                match old.get(i) {
                    Some(before) => self.diff(before, value, by, at),
                    None => self.set(value, by, at),
                }
                at.truncate(len);
            }
            for (i, value) in old.iter().enumerate().skip(new.len()) {
                let len = at.len();
                push_index(at, i);
                self.removed(value, by, at);
                at.truncate(len);
            }
            return;
        }
        // Items moved: their recorded steps move with them, to their new index.
        let histories: Vec<Trace> = (0..old.len())
            .map(|i| {
                let len = at.len();
                push_index(at, i);
                let history = self.take_under(at);
                at.truncate(len);
                history
            })
            .collect();
        let mut histories: Vec<Option<Trace>> = histories.into_iter().map(Some).collect();
        for (j, value) in new.iter().enumerate() {
            let len = at.len();
            push_index(at, j);
            match matched[j] {
                Some(i) => {
                    if let Some(history) = histories[i].take() {
                        for (rest, steps) in history.fields {
                            self.fields.insert(format!("{at}{rest}"), steps);
                        }
                    }
                    self.diff(&old[i], value, by, at);
                }
                None => self.set(value, by, at),
            }
            at.truncate(len);
        }
    }

    /// Removes and returns the fields at or under `pointer`, re-rooted there.
    fn take_under(&mut self, pointer: &str) -> Trace {
        let taken = self.under(pointer);
        self.fields
            .retain(|p, _| !(p.starts_with(pointer) && is_at_or_under(&p[pointer.len()..])));
        taken
    }

    /// Adds `other`'s steps after this trace's, field by field: what an object merged into
    /// this one brings.
    pub fn absorb(&mut self, other: Trace) {
        for (pointer, steps) in other.fields {
            self.fields.entry(pointer).or_default().extend(steps);
        }
    }

    /// Every leaf of `value` at `at`, set by `by`.
    fn set(&mut self, value: &Value, by: &Arc<Contributor>, at: &mut String) {
        self.leaves(value, at, &mut |trace, pointer, leaf| {
            trace.push(pointer, by, Change::Set(leaf.clone()));
        });
    }

    /// Every leaf of `value` at `at`, removed by `by`.
    fn removed(&mut self, value: &Value, by: &Arc<Contributor>, at: &mut String) {
        self.leaves(value, at, &mut |trace, pointer, leaf| {
            trace.push(pointer, by, Change::Removed(leaf.clone()));
        });
    }

    fn leaves(
        &mut self,
        value: &Value,
        at: &mut String,
        each: &mut impl FnMut(&mut Trace, &str, &Value),
    ) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, value) in map {
                    let len = at.len();
                    push_token(at, key);
                    self.leaves(value, at, each);
                    at.truncate(len);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for (i, value) in items.iter().enumerate() {
                    let len = at.len();
                    push_index(at, i);
                    self.leaves(value, at, each);
                    at.truncate(len);
                }
            }
            // A missing field has nothing to record.
            Value::Null if at.is_empty() => {}
            leaf => each(self, at, leaf),
        }
    }

    fn push(&mut self, pointer: &str, by: &Arc<Contributor>, change: Change) {
        let step = Step {
            by: by.clone(),
            change,
        };
        match self.fields.get_mut(pointer) {
            Some(steps) => steps.push(step),
            None => {
                self.fields.insert(pointer.to_string(), vec![step]);
            }
        }
    }

    /// The steps of the field at `pointer`, oldest first (none when no step touched it).
    pub fn steps(&self, pointer: &str) -> &[Step] {
        self.fields.get(pointer).map_or(&[], Vec::as_slice)
    }

    /// Every field with its steps, by pointer, in pointer order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &[Step])> {
        self.fields.iter().map(|(p, s)| (p.as_str(), s.as_slice()))
    }

    /// The fields at or under `pointer`, re-rooted there: the trace of an item of a list
    /// that becomes an object of its own.
    pub fn under(&self, pointer: &str) -> Trace {
        let fields = self
            .fields
            .range(pointer.to_string()..)
            .take_while(|(p, _)| p.starts_with(pointer))
            .filter_map(|(p, steps)| {
                let rest = &p[pointer.len()..];
                is_at_or_under(rest).then(|| (rest.to_string(), steps.clone()))
            })
            .collect();
        Trace { fields }
    }
}

/// The rest of a pointer after a prefix: the prefix itself, or a field under it.
fn is_at_or_under(rest: &str) -> bool {
    rest.is_empty() || rest.starts_with('/')
}

/// The `name` of every item, when every item is an object with a unique string `name`.
fn names(items: &[Value]) -> Option<Vec<&str>> {
    let names: Vec<&str> = items
        .iter()
        .map(|item| item.get("name").and_then(Value::as_str))
        .collect::<Option<_>>()?;
    let unique = names
        .iter()
        .enumerate()
        .all(|(i, n)| !names[..i].contains(n));
    unique.then_some(names)
}

fn is_container(value: &Value) -> bool {
    matches!(value, Value::Object(m) if !m.is_empty())
        || matches!(value, Value::Array(a) if !a.is_empty())
}

/// Appends `/key`, escaped as RFC 6901 says.
fn push_token(pointer: &mut String, key: &str) {
    pointer.push('/');
    for c in key.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

fn push_index(pointer: &mut String, index: usize) {
    use std::fmt::Write as _;
    let _ = write!(pointer, "/{index}");
}

#[cfg(test)]
mod tests;
