//! The output contract: KubeVela's labels, default names and namespaces on every object,
//! and the YAML stream or JSON lines that Argo CD reads.
//!
//! Output is deterministic: keys sorted, objects in pipeline order, no timestamps.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::digest::{hex, sha256};

/// Where an object came from, which decides its OAM labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The component's workload.
    Workload { type_name: String },
    /// An auxiliary object of the workload (KubeVela's `outputs` of a component).
    Auxiliary { resource: String },
    /// An object a trait output.
    Trait {
        trait_type: String,
        resource: String,
    },
}

/// A finished Kubernetes object and its origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The object; `Null` once [`Object::serialize`] has written it out.
    pub value: Value,
    pub component: String,
    pub origin: Origin,
    /// The object written as one document of a format, when it was written ahead.
    pub text: Option<(Format, String)>,
    /// Its [`identity`], kept when its value is written ahead.
    pub identity: Option<String>,
    /// Who set each of its fields, when the render was asked to trace
    /// ([`crate::render::RenderOptions::trace`]).
    pub trace: Option<crate::patch::trace::Trace>,
}

impl Object {
    /// Writes the object as one document of `format` (what [`write`] prints for it, less
    /// separators and headers) and drops its value: a large application's objects are
    /// held as text, several times smaller than JSON values, from when they are final.
    pub fn serialize(&mut self, format: Format) {
        let mut text = String::new();
        body(&self.value, format, &mut text);
        self.text = Some((format, text));
        self.value = Value::Null;
    }
}

/// The application facts that go into labels, names and namespaces.
pub struct Labels<'a> {
    pub app_name: &'a str,
    pub component: &'a str,
    pub namespace: &'a str,
    pub revision: &'a str,
    pub app_labels: &'a BTreeMap<String, String>,
    pub app_annotations: &'a BTreeMap<String, String>,
}

/// Kinds that have no namespace (built-in Kubernetes APIs).
const CLUSTER_SCOPED: &[&str] = &[
    "APIService",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "CSIDriver",
    "CSINode",
    "CustomResourceDefinition",
    "FlowSchema",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
];

/// Annotations of the Application that are not copied to its objects.
fn filtered_annotation(key: &str, extra: &[&str]) -> bool {
    key == "kubectl.kubernetes.io/last-applied-configuration"
        || key == "app.oam.dev/inplace-upgrade"
        || key.starts_with("filter.oam.dev/")
        || extra.contains(&key)
}

/// Keys listed (comma-separated) in a `filter.oam.dev/*-keys` annotation.
fn filter_list<'a>(annotations: &'a BTreeMap<String, String>, name: &str) -> Vec<&'a str> {
    annotations
        .get(name)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Checks what every object must be: a map with string `apiVersion` and `kind`, and a
/// `metadata` map when present. Returns what is wrong.
pub fn check_object(value: &Value) -> Result<(), String> {
    let Value::Object(map) = value else {
        return Err(format!("is not an object: {}", type_name(value)));
    };
    for field in ["apiVersion", "kind"] {
        match map.get(field) {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(_) => return Err(format!("has a {field} that is not a non-empty string")),
            None => return Err(format!("has no {field}")),
        }
    }
    match map.get("metadata") {
        None | Some(Value::Object(_)) => Ok(()),
        Some(_) => Err("has a metadata that is not a map".into()),
    }
}

/// Whether Argo CD reads `value` as a list of objects to apply one by one: its `items`
/// is an array (apimachinery's `Unstructured.IsList`).
pub fn is_list(value: &Value) -> bool {
    matches!(value.get("items"), Some(Value::Array(_)))
}

/// The identity Argo CD and Kubernetes give an object: `<group>/<kind>/<namespace>/<name>`
/// (the version does not count), with `namespace` for a namespaced object that names
/// none. `None` for an object without a name (it is named after its content later).
pub fn identity(value: &Value, namespace: &str) -> Option<String> {
    let kind = value.get("kind")?.as_str()?;
    let name = value["metadata"]["name"]
        .as_str()
        .filter(|n| !n.is_empty())?;
    let api_version = value["apiVersion"].as_str().unwrap_or_default();
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    let namespace = if CLUSTER_SCOPED.contains(&kind) {
        ""
    } else {
        value["metadata"]["namespace"]
            .as_str()
            .filter(|n| !n.is_empty())
            .unwrap_or(namespace)
    };
    Some(format!("{group}/{kind}/{namespace}/{name}"))
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// Adds the labels contract, default name and namespace to an object (checked by
/// [`check_object`] before).
pub fn finish(mut value: Value, origin: Origin, labels: &Labels<'_>) -> Object {
    let cluster_scoped = value
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| CLUSTER_SCOPED.contains(&k));

    // An object without a name is named after its content, hashed as the definition
    // returned it (only computed when needed: hashing is not free on the hot path).
    let unnamed = value["metadata"]["name"].as_str().is_none_or(str::is_empty);
    let name = unnamed.then(|| {
        default_name(&origin, labels.component, || {
            hex(&sha256(&serde_json::to_vec(&value).unwrap_or_default()))
        })
    });
    let Value::Object(object) = &mut value else {
        unreachable!("check_object ran first")
    };
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(metadata) = metadata else {
        unreachable!("check_object ran first")
    };
    if let Some(name) = name {
        metadata.insert("name".into(), Value::String(name));
    }
    if !cluster_scoped
        && metadata
            .get("namespace")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        metadata.insert(
            "namespace".into(),
            Value::String(labels.namespace.to_string()),
        );
    }

    let label_filter = filter_list(labels.app_annotations, "filter.oam.dev/label-keys");
    let annotation_filter = filter_list(labels.app_annotations, "filter.oam.dev/annotation-keys");
    let mut oam = vec![
        ("app.oam.dev/name", labels.app_name.to_string()),
        ("app.oam.dev/component", labels.component.to_string()),
        ("app.oam.dev/appRevision", labels.revision.to_string()),
        ("app.oam.dev/namespace", labels.namespace.to_string()),
    ];
    match &origin {
        Origin::Workload { type_name } => {
            oam.push(("app.oam.dev/resourceType", "WORKLOAD".into()));
            oam.push(("workload.oam.dev/type", type_name.clone()));
        }
        Origin::Auxiliary { resource } => {
            oam.push(("app.oam.dev/resourceType", "TRAIT".into()));
            oam.push(("trait.oam.dev/type", "AuxiliaryWorkload".into()));
            oam.push(("trait.oam.dev/resource", resource.clone()));
        }
        Origin::Trait {
            trait_type,
            resource,
        } => {
            oam.push(("app.oam.dev/resourceType", "TRAIT".into()));
            oam.push(("trait.oam.dev/type", trait_type.clone()));
            oam.push(("trait.oam.dev/resource", resource.clone()));
        }
    }

    let object_labels = string_map(metadata, "labels");
    for (k, v) in labels.app_labels {
        if !label_filter.contains(&k.as_str()) {
            object_labels.insert(k.clone(), Value::String(v.clone()));
        }
    }
    for (k, v) in oam {
        object_labels.insert(k.to_string(), Value::String(v));
    }
    let object_annotations = string_map(metadata, "annotations");
    for (k, v) in labels.app_annotations {
        if !filtered_annotation(k, &annotation_filter) {
            object_annotations.insert(k.clone(), Value::String(v.clone()));
        }
    }

    Object {
        identity: identity(&value, labels.namespace),
        value,
        component: labels.component.to_string(),
        origin,
        text: None,
        trace: None,
    }
}

/// The name of an object that has none: the component's for its workload,
/// `<component>-<trait or output>-<8 hex digits of the object's hash>` for the others
/// (`digest` is asked only then: a workload is not hashed).
fn default_name(origin: &Origin, component: &str, digest: impl FnOnce() -> String) -> String {
    match origin {
        Origin::Workload { .. } => component.to_string(),
        Origin::Auxiliary { resource } => format!("{component}-{resource}-{}", &digest()[..8]),
        Origin::Trait { trait_type, .. } => {
            format!("{component}-{trait_type}-{}", &digest()[..8])
        }
    }
}

/// `metadata.<field>` as a map, created (or replaced, when not a map) as needed.
fn string_map<'m>(metadata: &'m mut Map<String, Value>, field: &str) -> &'m mut Map<String, Value> {
    let slot = metadata
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(map) => map,
        _ => unreachable!("just made a map"),
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A YAML stream, documents separated by `---`.
    Yaml,
    /// One JSON object per line (what Argo CD reads best).
    Json,
}

/// Objects serialised per task when writing: big enough that a task outweighs its
/// scheduling, small enough that two cores share a 100-object application.
const OBJECTS_PER_TASK: usize = 32;

/// Writes the objects in `format`. With `headers`, YAML documents carry `vela dry-run`'s
/// comment headers.
///
/// Objects are written in parallel, in fixed slices joined in order: the text is the same
/// whatever the number of threads.
pub fn write(objects: &[Object], format: Format, app_name: &str, headers: bool) -> String {
    write_slices(objects, format, app_name, headers).concat()
}

/// What [`write`] returns, as [`Text`], taking the objects: the text of objects written
/// ahead in `format` ([`Object::serialize`]) is moved into it, not copied, so a large
/// application's output is held once, not twice.
pub fn into_text(objects: Vec<Object>, format: Format, app_name: &str, headers: bool) -> Text {
    let all_written = objects
        .iter()
        .all(|o| matches!(&o.text, Some((written, _)) if *written == format));
    if headers || !all_written {
        // Something is left to write (or headers read neighbours): in parallel.
        return Text::from_pieces(write_slices(&objects, format, app_name, headers));
    }
    let mut text = Text::default();
    text.pieces.reserve(2 * objects.len());
    for object in objects {
        let document = match object.text {
            Some((written, text)) if written == format => text,
            _ => {
                let mut text = String::new();
                body(&object.value, format, &mut text);
                text
            }
        };
        match format {
            Format::Json => {
                text.push(document);
                text.push("\n");
            }
            Format::Yaml => {
                text.push("---\n");
                text.push(document);
            }
        }
    }
    text
}

/// The objects written in fixed slices, in parallel, in order.
fn write_slices(objects: &[Object], format: Format, app_name: &str, headers: bool) -> Vec<String> {
    let indices: Vec<usize> = (0..objects.len()).collect();
    indices
        .par_chunks(OBJECTS_PER_TASK)
        .map(|slice| {
            let mut out = String::with_capacity(slice.len() * 1024);
            for &i in slice {
                write_object(objects, i, format, app_name, headers, &mut out);
            }
            out
        })
        .collect()
}

/// Output text held as pieces in order, written out one after the other: the output of a
/// render is as large as its objects, and joining them into one string would hold it twice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text {
    pieces: Vec<Cow<'static, str>>,
}

impl Text {
    fn from_pieces(pieces: Vec<String>) -> Text {
        Text {
            pieces: pieces.into_iter().map(Cow::Owned).collect(),
        }
    }

    /// Appends `piece`.
    pub fn push(&mut self, piece: impl Into<Cow<'static, str>>) {
        self.pieces.push(piece.into());
    }

    /// Appends every piece of `other`.
    pub fn append(&mut self, other: Text) {
        self.pieces.extend(other.pieces);
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.pieces.iter().map(|p| p.len()).sum()
    }

    /// Whether there is no text at all.
    pub fn is_empty(&self) -> bool {
        self.pieces.iter().all(|p| p.is_empty())
    }

    /// Writes the pieces to `out`, in order.
    pub fn write_to(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        self.pieces
            .iter()
            .try_for_each(|piece| out.write_all(piece.as_bytes()))
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text {
            pieces: vec![Cow::Owned(text)],
        }
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.pieces.iter().try_for_each(|piece| f.write_str(piece))
    }
}

/// Appends object `i` of `objects` (its neighbours decide `vela dry-run`'s blank lines).
fn write_object(
    objects: &[Object],
    i: usize,
    format: Format,
    app_name: &str,
    headers: bool,
    out: &mut String,
) {
    let object = &objects[i];
    match format {
        Format::Json => {
            object_body(object, format, out);
            out.push('\n');
        }
        Format::Yaml if headers => vela_dry_run(objects, i, app_name, out),
        Format::Yaml => {
            out.push_str("---\n");
            object_body(object, format, out);
        }
    }
}

/// Appends `object` as one document of `format`: its text if it was written ahead in
/// that format, else its value.
fn object_body(object: &Object, format: Format, out: &mut String) {
    match &object.text {
        Some((written, text)) if *written == format => out.push_str(text),
        _ => body(&object.value, format, out),
    }
}

/// Appends `value` as one document of `format`.
fn body(value: &Value, format: Format, out: &mut String) {
    match format {
        Format::Json => {
            let _ = write!(out, "{value}");
        }
        Format::Yaml => yaml::document(value, out),
    }
}

/// `vela dry-run`'s layout: per component a `# Application(..) -- Component(..)` header,
/// `## From the ..` before each other object, every object followed by a blank line and
/// `---`, and a blank line after each component.
fn vela_dry_run(objects: &[Object], i: usize, app_name: &str, out: &mut String) {
    let object = &objects[i];
    match &object.origin {
        Origin::Workload { .. } => {
            let _ = writeln!(
                out,
                "---\n# Application({app_name}) -- Component({})\n---\n",
                object.component
            );
        }
        Origin::Auxiliary { .. } => out.push_str("## From the auxiliary workload\n"),
        Origin::Trait { trait_type, .. } => {
            let _ = writeln!(out, "## From the trait {trait_type}");
        }
    }
    object_body(object, Format::Yaml, out);
    out.push_str("\n---\n");
    let last_of_component = objects
        .get(i + 1)
        .is_none_or(|next| next.component != object.component);
    if last_of_component {
        out.push('\n');
    }
}

pub mod yaml {
    //! A small YAML emitter for JSON values and YAML nodes ([`Tree`]), in kubectl's style (two-space indent, list items
    //! at their key's indent). Strings are plain only when every YAML 1.1 and 1.2 reader
    //! reads them back as the same string; otherwise they are double-quoted, with every
    //! character such a reader refuses raw, or reads as a line break, escaped.

    use std::fmt::Write as _;

    use serde_json::{Number, Value};

    use crate::app::yaml::{Node, NodeValue};

    /// A tree the emitter writes: JSON values (objects in `serde_json`'s order, sorted), or
    /// the nodes of a YAML file (maps in file order, as `kiln convert` keeps them).
    pub trait Tree: Sized {
        /// A map's entries, in the order they are written.
        type Entries<'a>: Iterator<Item = (&'a str, &'a Self)>
        where
            Self: 'a;

        /// What the node is.
        fn shape(&self) -> Shape<'_, Self>;
    }

    /// What a [`Tree`] node is, to the emitter.
    pub enum Shape<'a, T: Tree + 'a> {
        /// A map with at least one entry, written as a block.
        Map(T::Entries<'a>),
        /// A list with at least one item, written as a block.
        Seq(&'a [T]),
        /// A scalar, or an empty map or list, written on its key's line.
        Inline(Inline<'a>),
    }

    /// A node written on its key's (or its dash's) line.
    pub enum Inline<'a> {
        Null,
        Bool(bool),
        Number(&'a Number),
        String(&'a str),
        EmptyMap,
        EmptySeq,
    }

    /// A JSON object's entries, to the emitter.
    pub struct ObjectEntries<'a>(serde_json::map::Iter<'a>);

    impl<'a> Iterator for ObjectEntries<'a> {
        type Item = (&'a str, &'a Value);

        fn next(&mut self) -> Option<Self::Item> {
            self.0.next().map(|(k, v)| (k.as_str(), v))
        }
    }

    /// A YAML map's entries, to the emitter.
    pub struct NodeEntries<'a>(std::slice::Iter<'a, (String, Node)>);

    impl<'a> Iterator for NodeEntries<'a> {
        type Item = (&'a str, &'a Node);

        fn next(&mut self) -> Option<Self::Item> {
            self.0.next().map(|(k, v)| (k.as_str(), v))
        }
    }

    impl Tree for Value {
        type Entries<'a> = ObjectEntries<'a>;

        fn shape(&self) -> Shape<'_, Value> {
            match self {
                Value::Object(map) if !map.is_empty() => Shape::Map(ObjectEntries(map.iter())),
                Value::Array(items) if !items.is_empty() => Shape::Seq(items),
                Value::Object(_) => Shape::Inline(Inline::EmptyMap),
                Value::Array(_) => Shape::Inline(Inline::EmptySeq),
                Value::Null => Shape::Inline(Inline::Null),
                Value::Bool(b) => Shape::Inline(Inline::Bool(*b)),
                Value::Number(n) => Shape::Inline(Inline::Number(n)),
                Value::String(s) => Shape::Inline(Inline::String(s)),
            }
        }
    }

    impl Tree for Node {
        type Entries<'a> = NodeEntries<'a>;

        fn shape(&self) -> Shape<'_, Node> {
            match &self.value {
                NodeValue::Map(entries) if !entries.is_empty() => {
                    Shape::Map(NodeEntries(entries.iter()))
                }
                NodeValue::Seq(items) if !items.is_empty() => Shape::Seq(items),
                NodeValue::Map(_) => Shape::Inline(Inline::EmptyMap),
                NodeValue::Seq(_) => Shape::Inline(Inline::EmptySeq),
                NodeValue::Null => Shape::Inline(Inline::Null),
                NodeValue::Bool(b) => Shape::Inline(Inline::Bool(*b)),
                NodeValue::Number(n) => Shape::Inline(Inline::Number(n)),
                NodeValue::String(s) => Shape::Inline(Inline::String(s)),
            }
        }
    }

    /// Appends `value` as one YAML document (no `---`).
    pub fn document<T: Tree>(value: &T, out: &mut String) {
        match value.shape() {
            Shape::Map(entries) => block_map::<T>(entries, 0, out),
            Shape::Seq(items) => block_seq(items, 0, out),
            Shape::Inline(scalar) => {
                inline(&scalar, out);
                out.push('\n');
            }
        }
    }

    fn indent(n: usize, out: &mut String) {
        for _ in 0..n {
            out.push(' ');
        }
    }

    fn block_map<'a, T: Tree + 'a>(entries: T::Entries<'a>, level: usize, out: &mut String) {
        for (k, v) in entries {
            indent(level, out);
            key(k, level, out);
            value_after_key(v, level, out);
        }
    }

    /// The longest key, as written, that is written as an implicit key (`key:`). YAML 1.1
    /// and 1.2 readers refuse an implicit key of more than 1024 characters.
    const LONGEST_IMPLICIT_KEY: usize = 1000;

    /// Writes `k` and its `:`, the key starting at column `level`: an explicit key
    /// (`? key`, then `:` on the next line) when it is too long to be implicit.
    fn key(k: &str, level: usize, out: &mut String) {
        let start = out.len();
        string(k, out);
        // Bytes first: a key of fewer bytes has no more characters.
        if out.len() - start > LONGEST_IMPLICIT_KEY
            && out[start..].chars().count() > LONGEST_IMPLICIT_KEY
        {
            out.insert_str(start, "? ");
            out.push('\n');
            indent(level, out);
        }
        out.push(':');
    }

    fn value_after_key<T: Tree>(v: &T, level: usize, out: &mut String) {
        match v.shape() {
            Shape::Map(entries) => {
                out.push('\n');
                block_map::<T>(entries, level + 2, out);
            }
            Shape::Seq(items) => {
                out.push('\n');
                block_seq(items, level, out);
            }
            Shape::Inline(scalar) => {
                out.push(' ');
                inline(&scalar, out);
                out.push('\n');
            }
        }
    }

    fn block_seq<T: Tree>(items: &[T], level: usize, out: &mut String) {
        for item in items {
            indent(level, out);
            out.push('-');
            match item.shape() {
                Shape::Map(entries) => {
                    // First key on the dash's line, the rest aligned under it.
                    let mut first = true;
                    for (k, v) in entries {
                        if first {
                            out.push(' ');
                            first = false;
                        } else {
                            indent(level + 2, out);
                        }
                        key(k, level + 2, out);
                        value_after_key(v, level + 2, out);
                    }
                }
                Shape::Seq(inner) => {
                    out.push('\n');
                    block_seq(inner, level + 2, out);
                }
                Shape::Inline(scalar) => {
                    out.push(' ');
                    inline(&scalar, out);
                    out.push('\n');
                }
            }
        }
    }

    fn inline(v: &Inline<'_>, out: &mut String) {
        match v {
            Inline::Null => out.push_str("null"),
            Inline::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Inline::Number(n) => out.push_str(&n.to_string()),
            Inline::String(s) => string(s, out),
            Inline::EmptySeq => out.push_str("[]"),
            Inline::EmptyMap => out.push_str("{}"),
        }
    }

    /// Writes a string plain when safe, else double-quoted.
    pub fn string(s: &str, out: &mut String) {
        if is_plain_safe(s) {
            out.push_str(s);
        } else {
            double_quoted(s, out);
        }
    }

    /// Writes `s` double-quoted, with JSON's escapes (all valid YAML, and the same text as
    /// JSON's for other strings), and `\u` escapes for what JSON leaves raw but a YAML
    /// reader does not read back as it is: DEL and the C1 controls (not printable in YAML
    /// 1.1 or 1.2; PyYAML refuses the whole stream), NEL, U+2028 and U+2029 (line breaks to
    /// a YAML 1.1 reader, folded into a space or a newline), the BOM (YAML 1.2 allows it
    /// in quoted scalars only for JSON's sake, and says to escape it), and U+FFFE and
    /// U+FFFF (not printable).
    fn double_quoted(s: &str, out: &mut String) {
        out.push('"');
        let mut raw = 0;
        for (i, c) in s.char_indices() {
            let escape = match c {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\u{8}' => "\\b",
                '\u{c}' => "\\f",
                '\u{0}'..='\u{1f}'
                | '\u{7f}'..='\u{9f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{feff}'
                | '\u{fffe}'
                | '\u{ffff}' => "",
                _ => continue,
            };
            out.push_str(&s[raw..i]);
            raw = i + c.len_utf8();
            if escape.is_empty() {
                // Lower-case hex, as JSON writes the C0 controls. Writing to a `String`
                // cannot fail.
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            } else {
                out.push_str(escape);
            }
        }
        out.push_str(&s[raw..]);
        out.push('"');
    }

    /// Words some YAML reader (1.1 or 1.2) resolves to a non-string.
    pub(super) const RESERVED: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
        "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~", "<<",
        "=",
    ];

    /// The longest word of [`RESERVED`].
    pub(super) const LONGEST_RESERVED: usize = 5;

    /// One pass over the bytes: this runs for every key and string of every object.
    fn is_plain_safe(s: &str) -> bool {
        let bytes = s.as_bytes();
        let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
            return false;
        };
        // Anything that may read as a number, date or time, or that starts or ends like an
        // indicator: quote.
        if first.is_ascii_digit()
            || matches!(first, b'.' | b'+' | b'-' | b' ' | b':' | b'@' | b'%' | b'~')
            || matches!(last, b' ' | b':' | b'~')
        {
            return false;
        }
        if bytes.len() <= LONGEST_RESERVED && RESERVED.contains(&s) {
            return false;
        }
        // Plain characters only (no `#`, so no comment), and no `: ` (a key) inside.
        let mut after_colon = false;
        for &b in bytes {
            if !is_plain_byte(b) || (after_colon && b == b' ') {
                return false;
            }
            after_colon = b == b':';
        }
        true
    }

    fn is_plain_byte(b: u8) -> bool {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_'
                    | b'.'
                    | b'/'
                    | b':'
                    | b'@'
                    | b'+'
                    | b'='
                    | b'~'
                    | b'('
                    | b')'
                    | b' '
                    | b'$'
                    | b'^'
                    | b';'
                    | b'%'
            )
    }
}

#[cfg(test)]
mod tests;
