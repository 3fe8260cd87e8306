//! One definition's parameter schema, as its module announces it (JSON Schema 2020-12, the
//! way schemars writes it), rewritten as draft-07: the draft every YAML language server
//! reads the same way.
//!
//! Why not leave it in 2020-12: yaml-language-server validates a subschema that carries its
//! own `$schema` with that draft's rules, and one schema error anywhere blanks validation
//! and completion for the whole file. One draft throughout, checked, is what an editor
//! needs. The rewrites are schemars' own `draft07()` transforms (prefix items, unevaluated
//! properties, `$ref` siblings), done on the JSON, so they apply to definitions in any
//! language.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Keywords whose value is a map of names to schemas.
const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "dependentSchemas"];
/// Keywords whose value is a list of schemas.
const SCHEMA_LISTS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value is one schema (`items` may also be a list).
const SCHEMA_SINGLES: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "contains",
    "additionalProperties",
    "propertyNames",
    "additionalItems",
    "unevaluatedProperties",
    "unevaluatedItems",
    "items",
];
/// Keywords that identify schemas by URI: one document per definition cannot keep them.
const UNSUPPORTED: &[&str] = &[
    "$id",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "$recursiveRef",
    "$recursiveAnchor",
];

/// The draft-07 schemas of the definition whose parameter schema is `schema`, named
/// `root` in the merged document: `root` itself, and every `$defs` entry `N` (nested ones
/// too) as `root.N`, so that two definitions' `$defs` of one name never clash. Every
/// `$ref` points into the merged document's `definitions`.
///
/// Fails, with what it found, on a schema that is not a schema, a keyword that names
/// schemas by URI (`$id`, `$anchor`, `$dynamicRef`...), or a `$ref` to anything outside
/// the definition's own schema.
pub(super) fn convert(schema: &Value, root: &str) -> Result<BTreeMap<String, Value>, String> {
    let mut rewrite = Rewrite {
        root,
        definitions: BTreeMap::new(),
    };
    let converted = rewrite.schema(&inline_root_reference(schema))?;
    if rewrite.definitions.contains_key(root) {
        return Err(format!(
            "\"{root}\" is both the schema and one of its $defs"
        ));
    }
    rewrite.definitions.insert(root.to_string(), converted);
    Ok(rewrite.definitions)
}

/// A schema whose root is only a `$ref` to one of its `$defs` (as some generators write
/// it), with that definition inlined at the root: its title, description and properties
/// are then the root's, and an appfile service can add its trait keys beside them.
fn inline_root_reference(schema: &Value) -> std::borrow::Cow<'_, Value> {
    let Some(Value::String(target)) = schema.get("$ref") else {
        return std::borrow::Cow::Borrowed(schema);
    };
    let inlined = ["#/$defs/", "#/definitions/"].iter().find_map(|prefix| {
        let name = decode_token(target.strip_prefix(prefix)?).ok()?;
        let keyword = &prefix[2..prefix.len() - 1];
        match schema.get(keyword)?.get(&name)? {
            Value::Object(definition) => Some(definition.clone()),
            _ => None,
        }
    });
    let (Some(mut inlined), Value::Object(root)) = (inlined, schema) else {
        return std::borrow::Cow::Borrowed(schema);
    };
    for (keyword, value) in root {
        if keyword != "$ref" {
            inlined
                .entry(keyword.clone())
                .or_insert_with(|| value.clone());
        }
    }
    std::borrow::Cow::Owned(Value::Object(inlined))
}

/// The definition `name` of the merged document, as a `$ref`.
pub(super) fn reference(name: &str) -> String {
    format!("#/definitions/{}", pointer_token(name))
}

/// `token` escaped for a JSON pointer in a URI fragment: `~` and `/` as RFC 6901 says,
/// then anything but unreserved characters percent-encoded (yaml-language-server
/// percent-decodes every `$ref`).
fn pointer_token(token: &str) -> String {
    let escaped = token.replace('~', "~0").replace('/', "~1");
    let mut out = String::with_capacity(escaped.len());
    for byte in escaped.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `token` of a JSON pointer in a URI fragment, decoded (the inverse of [`pointer_token`]).
fn decode_token(token: &str) -> Result<String, String> {
    let decoded =
        percent_decode(token).ok_or_else(|| format!("bad percent-encoding in \"{token}\""))?;
    Ok(decoded.replace("~1", "/").replace("~0", "~"))
}

/// `text` with its percent-encoding decoded; `None` when it is malformed or not UTF-8.
pub(super) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(text.get(i + 1..i + 3)?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The rewrite of one definition's schema: where its `$defs` go.
struct Rewrite<'a> {
    /// The definition's name in the merged document (`trait.scaler`).
    root: &'a str,
    /// Its `$defs`, hoisted, by their names in the merged document.
    definitions: BTreeMap<String, Value>,
}

impl Rewrite<'_> {
    fn schema(&mut self, schema: &Value) -> Result<Value, String> {
        match schema {
            Value::Bool(_) => Ok(schema.clone()),
            Value::Object(keywords) => self.object(keywords),
            other => Err(format!(
                "a schema must be an object or a boolean, found {other}"
            )),
        }
    }

    fn object(&mut self, keywords: &Map<String, Value>) -> Result<Value, String> {
        let mut out = Map::new();
        for (keyword, value) in keywords {
            let keyword = keyword.as_str();
            if UNSUPPORTED.contains(&keyword) {
                return Err(format!(
                    "it uses {keyword}, which a merged editor schema cannot keep"
                ));
            }
            match keyword {
                // One `$schema`, at the merged document's root.
                "$schema" => {}
                "$defs" | "definitions" => self.hoist(value)?,
                "$ref" => {
                    let Value::String(target) = value else {
                        return Err(format!("$ref must be a string, found {value}"));
                    };
                    out.insert("$ref".into(), Value::String(self.target(target)?));
                }
                "items" if value.is_array() => {
                    out.insert(keyword.into(), self.list(keyword, value)?);
                }
                _ if SCHEMA_MAPS.contains(&keyword) => {
                    let Value::Object(entries) = value else {
                        return Err(format!("{keyword} must be an object, found {value}"));
                    };
                    let mut converted = Map::new();
                    for (name, schema) in entries {
                        converted.insert(name.clone(), self.schema(schema)?);
                    }
                    out.insert(keyword.into(), Value::Object(converted));
                }
                _ if SCHEMA_LISTS.contains(&keyword) => {
                    out.insert(keyword.into(), self.list(keyword, value)?);
                }
                _ if SCHEMA_SINGLES.contains(&keyword) => {
                    out.insert(keyword.into(), self.schema(value)?);
                }
                // Values (`enum`, `const`, `default`, `examples`) and annotations, as they are.
                _ => {
                    out.insert(keyword.into(), value.clone());
                }
            }
        }
        Ok(Value::Object(to_draft07(out)))
    }

    fn list(&mut self, keyword: &str, value: &Value) -> Result<Value, String> {
        let Value::Array(items) = value else {
            return Err(format!("{keyword} must be a list, found {value}"));
        };
        items
            .iter()
            .map(|item| self.schema(item))
            .collect::<Result<_, _>>()
            .map(Value::Array)
    }

    /// Moves the `$defs` entries to the merged document's `definitions`, renamed.
    fn hoist(&mut self, value: &Value) -> Result<(), String> {
        let Value::Object(entries) = value else {
            return Err(format!("$defs must be an object, found {value}"));
        };
        for (name, schema) in entries {
            let converted = self.schema(schema)?;
            let renamed = format!("{}.{name}", self.root);
            if self.definitions.insert(renamed, converted).is_some() {
                return Err(format!("two $defs are named \"{name}\""));
            }
        }
        Ok(())
    }

    /// Where a `$ref` of the definition's schema points in the merged document.
    fn target(&self, target: &str) -> Result<String, String> {
        let Some(pointer) = target.strip_prefix('#') else {
            return Err(format!(
                "$ref \"{target}\" points outside the definition's own schema"
            ));
        };
        if pointer.is_empty() {
            return Ok(reference(self.root));
        }
        let mut tokens = pointer
            .strip_prefix('/')
            .ok_or_else(|| format!("$ref \"{target}\" is not a JSON pointer"))?
            .split('/');
        let first = tokens.next().unwrap_or_default();
        let rest: Vec<&str> = tokens.collect();
        if matches!(first, "$defs" | "%24defs" | "definitions") && !rest.is_empty() {
            let name = decode_token(rest[0])?;
            let mut out = reference(&format!("{}.{name}", self.root));
            for token in &rest[1..] {
                out.push('/');
                out.push_str(token);
            }
            return Ok(out);
        }
        // Any other pointer into the schema: resolved against the rewritten root, and
        // checked with every other reference once the document is whole.
        Ok(format!("{}{pointer}", reference(self.root)))
    }
}

/// The 2020-12 keywords of one (already rewritten) schema object replaced by their draft-07
/// equivalents, and editor annotations added.
fn to_draft07(mut schema: Map<String, Value>) -> Map<String, Value> {
    if let Some(prefix) = schema.remove("prefixItems") {
        if let Some(rest) = schema.remove("items") {
            schema.insert("additionalItems".into(), rest);
        }
        schema.insert("items".into(), prefix);
    }
    if let Some(unevaluated) = schema.remove("unevaluatedProperties") {
        close_over_subschemas(&mut schema, unevaluated);
    }
    if let Some(unevaluated) = schema.remove("unevaluatedItems")
        && schema.get("items").is_some_and(Value::is_array)
        && !schema.contains_key("additionalItems")
    {
        schema.insert("additionalItems".into(), unevaluated);
    }
    for keyword in ["dependentRequired", "dependentSchemas"] {
        if let Some(Value::Object(entries)) = schema.remove(keyword) {
            let dependencies = schema
                .entry("dependencies")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(dependencies) = dependencies {
                dependencies.extend(entries);
            }
        }
    }
    // Draft-07 ignores a `$ref`'s siblings (validators and yaml-language-server alike):
    // the reference moves into an `allOf` beside them.
    if schema.len() > 1
        && let Some(target) = schema.remove("$ref")
    {
        let all_of = schema
            .entry("allOf")
            .or_insert_with(|| Value::Array(Vec::new()));
        // Appended: the items already there keep their places, and any pointer to them.
        if let Value::Array(all_of) = all_of {
            all_of.push(serde_json::json!({ "$ref": target }));
        }
    }
    // Descriptions are Markdown (backticks); editors render `markdownDescription`.
    if let Some(Value::String(description)) = schema.get("description")
        && !schema.contains_key("markdownDescription")
    {
        let markdown = Value::String(description.clone());
        schema.insert("markdownDescription".into(), markdown);
    }
    if schema.get("deprecated") == Some(&Value::Bool(true))
        && !schema.contains_key("deprecationMessage")
    {
        schema.insert("deprecationMessage".into(), "Deprecated.".into());
    }
    schema
}

/// `unevaluatedProperties: X` as draft-07's `additionalProperties: X`. Draft-07 sees only
/// the sibling `properties`, so the names the immediate subschemas (`allOf`, `anyOf`,
/// `oneOf`, `if`/`then`/`else`) declare are added as allowed: what schemars writes for a
/// flattened struct that denies unknown fields.
fn close_over_subschemas(schema: &mut Map<String, Value>, unevaluated: Value) {
    if schema.contains_key("additionalProperties") {
        return;
    }
    let mut names = Vec::new();
    for keyword in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(subschemas)) = schema.get(keyword) {
            for subschema in subschemas {
                declared_names(subschema, &mut names);
            }
        }
    }
    for keyword in ["if", "then", "else"] {
        if let Some(subschema) = schema.get(keyword) {
            declared_names(subschema, &mut names);
        }
    }
    if !names.is_empty() {
        let properties = schema
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(properties) = properties {
            for name in names {
                properties.entry(name).or_insert(Value::Bool(true));
            }
        }
    }
    schema.insert("additionalProperties".into(), unevaluated);
}

fn declared_names(schema: &Value, names: &mut Vec<String>) {
    if let Some(Value::Object(properties)) = schema.get("properties") {
        names.extend(properties.keys().cloned());
    }
}
