//! Why a field is what it is: the provenance a traced render recorded
//! ([`crate::render::RenderOptions::trace`]), found by object and field, and written for
//! people (`kiln explain`) or for tools (`kiln render --trace FILE`).
//!
//! ```no_run
//! use kiln::{app, definitions::Registry, explain, pipeline, sandbox::{Limits, Sandbox}};
//!
//! let sandbox = Sandbox::new(Limits::default(), None)?;
//! let mut request = pipeline::Request::default();
//! request.options.trace = true;
//! let text = app::Text::read("examples/shop".as_ref())?;
//! let output = pipeline::render(&sandbox, &Registry::builtin(), pipeline::Input::Text(text), &request)?;
//! let object = explain::find(&output.objects, "Deployment/frontend")?;
//! print!("{}", explain::describe(object, Some("spec.replicas"))?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::app::dotted;
use crate::app::yaml::Segment;
use crate::error::{Error, Result};
use crate::manifest::Object;
use crate::patch::trace::{Change, Step, Trace};

/// The object `reference` names (`KIND/NAME`, the kind in any case, or
/// `KIND/NAMESPACE/NAME` when two objects share a kind and name).
///
/// Fails listing the objects there are when none matches, or naming the namespaces when
/// several do.
pub fn find<'o>(objects: &'o [Object], reference: &str) -> Result<&'o Object> {
    let parts: Vec<&str> = reference.split('/').collect();
    let (kind, namespace, name) = match parts.as_slice() {
        [kind, name] => (*kind, None, *name),
        [kind, namespace, name] => (*kind, Some(*namespace), *name),
        _ => {
            return Err(invalid(format!(
                "\"{reference}\" is not KIND/NAME (e.g. Deployment/frontend)"
            )));
        }
    };
    let matches: Vec<&Object> = objects
        .iter()
        .filter(|o| {
            let (k, ns, n) = identity(o);
            k.eq_ignore_ascii_case(kind) && n == name && namespace.is_none_or(|wanted| ns == wanted)
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => {
            let known: Vec<String> = objects
                .iter()
                .map(|o| {
                    let (k, _, n) = identity(o);
                    format!("{k}/{n}")
                })
                .collect();
            Err(invalid(format!(
                "no object {reference} in the output; it has: {}",
                known.join(", ")
            )))
        }
        several => {
            let namespaces: Vec<String> = several
                .iter()
                .map(|o| format!("{kind}/{}/{name}", identity(o).1))
                .collect();
            Err(invalid(format!(
                "{reference} is in several namespaces: name one of {}",
                namespaces.join(", ")
            )))
        }
    }
}

/// The provenance of `field` of `object` (every field when `None`), for people: per
/// field, its value and each step that set or removed it.
///
/// `field` is dotted (`spec.replicas`, `spec.template.spec.containers[0].image`) or a
/// JSON pointer (`/metadata/labels/app.oam.dev~1name`). Fails when the object was not
/// traced, or when no step touched the field, suggesting the closest field there is.
pub fn describe(object: &Object, field: Option<&str>) -> Result<String> {
    let trace = trace_of(object)?;
    let (kind, _, name) = identity(object);
    let pointer = match field {
        Some(field) => pointer_of(field).ok_or_else(|| {
            invalid(format!(
                "\"{field}\" is not a field path: write it dotted (spec.replicas, \
                 containers[0].image, labels[\"app.oam.dev/name\"]) or as a JSON pointer"
            ))
        })?,
        None => String::new(),
    };
    let fields = trace.under(&pointer);
    if fields.fields().next().is_none() {
        return Err(invalid(format!(
            "{kind}/{name} has no field {}{}",
            field.unwrap_or_default(),
            suggestion(&object.value, trace, &pointer)
        )));
    }
    let mut out = String::new();
    for (rest, steps) in fields.fields() {
        let full = format!("{pointer}{rest}");
        let shown = dotted(&segments(&object.value, &full));
        match object.value.pointer(&full) {
            Some(value) => {
                let _ = writeln!(out, "{kind}/{name} {shown} = {value}");
            }
            None => {
                let _ = writeln!(out, "{kind}/{name} {shown} (removed)");
            }
        }
        for (i, step) in steps.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", i + 1, describe_step(step));
        }
    }
    Ok(out)
}

/// One step, in words: `trait scaler 0.1.0 (sha256 1a2b3c4d5e6f) at app.yaml:28:11 set 3`.
fn describe_step(step: &Step) -> String {
    let by = &step.by;
    let mut out = format!("{:<8}", by.stage.to_string());
    match &by.definition {
        Some(definition) => {
            let short = definition.sha256.get(..12).unwrap_or(&definition.sha256);
            let _ = write!(
                out,
                " {} {} (sha256 {short})",
                definition.name, definition.version
            );
        }
        None => out.push_str(" kiln: labels, name and namespace"),
    }
    if let Some(source) = &by.source {
        let _ = write!(out, " at {source}");
    }
    match &step.change {
        Change::Set(value) => {
            let _ = write!(out, " set {value}");
        }
        Change::Removed(value) => {
            let _ = write!(out, " removed {value}");
        }
    }
    out
}

/// The provenance of every traced object, for tools: one entry per object (its identity
/// and component) with its fields' steps by JSON pointer. It borrows the objects and
/// serializes as it goes: a large application's trace is never held twice.
pub fn document<'o>(app_name: &'o str, objects: &'o [Object]) -> Result<Document<'o>> {
    let objects = objects
        .iter()
        .map(|object| {
            let (kind, namespace, name) = identity(object);
            Ok(Entry {
                api_version: &object.value["apiVersion"],
                kind,
                namespace: (!namespace.is_empty()).then_some(namespace),
                name,
                component: &object.component,
                fields: trace_of(object)?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Document {
        application: app_name,
        objects,
    })
}

/// The provenance of an application's objects, as `kiln render --trace` writes it.
#[derive(Debug, Serialize)]
pub struct Document<'o> {
    /// The application's name.
    pub application: &'o str,
    /// One entry per object, in output order.
    pub objects: Vec<Entry<'o>>,
}

/// One object of a [`Document`]: its identity, its component, and its fields' steps.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry<'o> {
    pub api_version: &'o Value,
    pub kind: &'o str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<&'o str>,
    pub name: &'o str,
    pub component: &'o str,
    /// Steps by the JSON pointer of each field.
    pub fields: &'o Trace,
}

fn trace_of(object: &Object) -> Result<&Trace> {
    object.trace.as_ref().ok_or_else(|| {
        let (kind, _, name) = identity(object);
        invalid(format!("{kind}/{name} was rendered without a trace"))
    })
}

/// Kind, namespace (empty for a cluster-scoped object) and name.
fn identity(object: &Object) -> (&str, &str, &str) {
    let text = |pointer: &str| {
        object
            .value
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    (
        text("/kind"),
        text("/metadata/namespace"),
        text("/metadata/name"),
    )
}

/// `field` as a JSON pointer: it is one already, or dotted as [`dotted`] writes paths
/// (`a.b[0]["key.with/dots"]`). `None` when it is neither.
fn pointer_of(field: &str) -> Option<String> {
    if field.starts_with('/') || field.is_empty() {
        return Some(field.to_string());
    }
    let mut out = String::new();
    for segment in parse_dotted(field)? {
        out.push('/');
        match segment {
            Segment::Key(key) => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Segment::Index(i) => {
                let _ = write!(out, "{i}");
            }
        }
    }
    Some(out)
}

/// The inverse of [`dotted`]: names joined by `.`, `[N]` indexes and `["key"]` keys (a
/// JSON string). `None` on anything else, rather than a guess.
fn parse_dotted(field: &str) -> Option<Vec<Segment>> {
    let mut segments = Vec::new();
    let mut rest = field;
    while !rest.is_empty() {
        if let Some(bracket) = rest.strip_prefix('[') {
            let (segment, after) = if bracket.starts_with('"') {
                // The key is a JSON string: find its closing quote, then `]`.
                let mut end = None;
                let mut escaped = false;
                for (i, c) in bracket.char_indices().skip(1) {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end?;
                let key: String = serde_json::from_str(&bracket[..=end]).ok()?;
                (Segment::Key(key), bracket[end + 1..].strip_prefix(']')?)
            } else {
                let (index, after) = bracket.split_once(']')?;
                (Segment::Index(index.parse().ok()?), after)
            };
            segments.push(segment);
            rest = after;
        } else {
            let rest_of_name = rest.strip_prefix('.').unwrap_or(rest);
            if segments.is_empty() != (rest_of_name.len() == rest.len()) {
                return None; // `.a` at the start, or `a[0]b` without a dot
            }
            let end = rest_of_name.find(['.', '[']).unwrap_or(rest_of_name.len());
            if end == 0 {
                return None;
            }
            segments.push(Segment::Key(rest_of_name[..end].to_string()));
            rest = &rest_of_name[end..];
        }
    }
    Some(segments)
}

/// The segments of the JSON pointer `pointer` into `value`, for showing it dotted: a token
/// is an index where the value there is a list (a number-like key of a map stays a key).
fn segments(value: &Value, pointer: &str) -> Vec<Segment> {
    let mut at = Some(value);
    pointer
        .split('/')
        .skip(1)
        .map(|token| {
            let key = token.replace("~1", "/").replace("~0", "~");
            let segment = match (at, key.parse::<usize>()) {
                (Some(Value::Array(items)), Ok(i)) => {
                    at = items.get(i);
                    return Segment::Index(i);
                }
                // Gone from the object (a removed field): a number reads as an index.
                (None, Ok(i)) => Segment::Index(i),
                _ => Segment::Key(key),
            };
            at = match (&segment, at) {
                (Segment::Key(key), Some(Value::Object(map))) => map.get(key),
                _ => None,
            };
            segment
        })
        .collect()
}

/// ` (did you mean spec.replicas?)`: the traced field closest to `pointer`, when one is
/// close; else the fields under the deepest existing parent.
fn suggestion(value: &Value, trace: &Trace, pointer: &str) -> String {
    let closest = trace
        .fields()
        .map(|(p, _)| p)
        .map(|p| {
            // Compare with the candidate cut to as many tokens as the pointer has.
            let depth = pointer.matches('/').count();
            let cut: String = p.split('/').take(depth + 1).collect::<Vec<_>>().join("/");
            (strsim::levenshtein(&cut, pointer), cut)
        })
        .min();
    match closest {
        Some((distance, cut)) if distance <= 3 => {
            format!(" (did you mean {}?)", dotted(&segments(value, &cut)))
        }
        _ => String::new(),
    }
}

fn invalid(message: String) -> Error {
    Error::Invalid {
        site: Box::default(),
        message,
    }
}

#[cfg(test)]
mod tests;
