//! Reading a definition's parameter JSON Schema for people (`kiln definitions show`).

use serde_json::{Map, Value};

/// Appends one entry per parameter of `schema` (resolving `$ref`s against `root`) to `rows`:
/// `name (type, required, default X)` and its description on the next line, nested fields
/// indented under their parent.
pub fn parameter_rows(
    root: &Value,
    schema: &Value,
    prefix: &str,
    depth: usize,
    rows: &mut Vec<String>,
) {
    let schema = resolve(root, schema);
    let Some(properties) = object_properties(root, schema) else {
        // A definition whose parameters are a free map (e.g. `labels`).
        if depth == 0
            && let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object())
        {
            let pad = "  ";
            rows.push(format!(
                "{pad}<any key> ({})",
                type_name(root, resolve(root, values))
            ));
            if let Some(description) = schema.get("description").and_then(Value::as_str) {
                rows.extend(description.lines().map(|l| format!("{pad}    {l}")));
            }
        }
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let pad = "  ".repeat(depth + 1);
    for (name, field) in properties {
        let field_schema = resolve(root, field);
        let mut facts = vec![type_name(root, field_schema)];
        if required.contains(&name.as_str()) {
            facts.push("required".into());
        }
        if let Some(default) = field.get("default").or_else(|| field_schema.get("default")) {
            facts.push(format!("default {default}"));
        }
        if let Some(values) = enum_values(root, field_schema) {
            facts.push(format!("one of {values}"));
        }
        rows.push(format!("{pad}{prefix}{name} ({})", facts.join(", ")));
        let description = field
            .get("description")
            .or_else(|| field_schema.get("description"))
            .and_then(Value::as_str);
        if let Some(description) = description {
            for line in description.lines() {
                rows.push(format!("{pad}    {line}"));
            }
        }
        // Fields of an object, or of the objects in a list.
        let inner = non_null(root, field_schema);
        let item = inner
            .get("items")
            .map(|i| resolve(root, i))
            .filter(|i| object_properties(root, i).is_some());
        if let Some(item) = item {
            parameter_rows(root, item, "", depth + 2, rows);
        } else if object_properties(root, inner).is_some() {
            parameter_rows(root, inner, "", depth + 2, rows);
        }
    }
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let mut schema = schema;
    for _ in 0..16 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        match reference.strip_prefix('#').and_then(|p| root.pointer(p)) {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

/// The schema (with `$ref`s resolved) without its `null` alternative (an `Option<T>`).
pub(crate) fn non_null<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let schema = resolve(root, schema);
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(alternatives)) = schema.get(key) {
            let non_null: Vec<&Value> = alternatives
                .iter()
                .map(|a| resolve(root, a))
                .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            if let [only] = non_null[..] {
                return only;
            }
        }
    }
    schema
}

fn object_properties<'a>(root: &'a Value, schema: &'a Value) -> Option<&'a Map<String, Value>> {
    non_null(root, schema)
        .get("properties")
        .and_then(Value::as_object)
        .filter(|p| !p.is_empty())
}

/// The values a field may take, when the schema lists them: an `enum`, or a `oneOf` whose
/// every alternative is a `const` or an `enum` (schemars writes a unit enum with documented
/// variants as consts, and `#[serde(untagged)]` mixes of the two as both).
fn enum_values(root: &Value, schema: &Value) -> Option<String> {
    let schema = non_null(root, schema);
    let mut listed = Vec::new();
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        listed.extend(values.iter().map(Value::to_string));
    } else {
        for alternative in schema.get("oneOf").and_then(Value::as_array)? {
            let alternative = resolve(root, alternative);
            match (alternative.get("const"), alternative.get("enum")) {
                (Some(value), _) => listed.push(value.to_string()),
                (None, Some(Value::Array(values))) => {
                    listed.extend(values.iter().map(Value::to_string));
                }
                _ => return None,
            }
        }
    }
    Some(listed.join(" | "))
}

/// `string`, `integer`, `list of string`, `map of string`, `object`, `string or integer`...
fn type_name(root: &Value, schema: &Value) -> String {
    let schema = non_null(root, schema);
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => {
            if let Some(Value::Array(alts)) = schema.get("anyOf").or_else(|| schema.get("oneOf")) {
                let names: Vec<String> = alts
                    .iter()
                    .map(|a| type_name(root, resolve(root, a)))
                    .filter(|n| n != "null")
                    .collect();
                let mut unique = names.clone();
                unique.dedup();
                return unique.join(" or ");
            }
            return "any".into();
        }
    };
    types
        .iter()
        .map(|t| match *t {
            "array" => match schema.get("items") {
                Some(items) => format!("list of {}", type_name(root, resolve(root, items))),
                None => "list".into(),
            },
            "object" => match schema.get("additionalProperties") {
                Some(Value::Object(v)) if schema.get("properties").is_none() => {
                    format!(
                        "map of {}",
                        type_name(root, resolve(root, &Value::Object(v.clone())))
                    )
                }
                _ => "object".into(),
            },
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests;
