//! Applying patches: Kiln's strategic merge (KubeVela's patch semantics), RFC 7396 JSON
//! merge patch and RFC 6902 JSON patch.
//!
//! The host owns merging. A definition returns a patch document; this module applies it to
//! the workload (or an auxiliary object) and remembers who set what, so that a conflict names
//! both parties: `trait "a" sets 3, trait "b" sets 5`.
//!
//! Strategic merge, in short:
//! - maps merge deeply; equal scalars agree; different scalars conflict;
//! - lists of objects merge by key (matching items merge, others stay in place, new ones are
//!   appended): `containers`, `initContainers`, `ephemeralContainers`, `env`, `volumes`,
//!   `volumeMounts`, `imagePullSecrets` by `name`, `hostAliases` by `ip`, `ports` by
//!   `containerPort` (or `port`), and any list whose patch says `"$patchKey/<field>": "<key>"`;
//! - other lists merge position by position (a longer patch extends the list);
//! - a `$patchKey` is inherited by the lists inside the field it is set on, alternatives are
//!   comma-separated and a key may be a path (`secretRef.name,configMapRef.name`), exactly as
//!   KubeVela's `// +patchKey=` (see [`MergeOptions::KUBEVELA`] for its semantics to the
//!   letter);
//! - `"$patchStrategy/<field>": "retainKeys"` replaces the field's value (in a keyed list: the
//!   matching items, wholesale) and `"$patchStrategy/<field>": "replace"` replaces a list whole.

pub mod trace;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use trace::{Contributor, Trace};

/// A patch as a definition returned it.
#[derive(Debug, Clone, PartialEq)]
pub enum Patch {
    /// Kiln's strategic merge.
    Merge(Value),
    /// RFC 7396.
    JsonMergePatch(Value),
    /// RFC 6902: an array of operations.
    JsonPatch(Value),
}

/// Why a patch could not be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatchError {
    /// Two parties set the same field to different values.
    #[error(
        "conflicting values for \"{path}\": {first} sets {first_value}, {second} sets {second_value}"
    )]
    Conflict {
        path: String,
        first: String,
        first_value: String,
        second: String,
        second_value: String,
    },
    /// The patch document is malformed.
    #[error("{0}")]
    Invalid(String),
}

/// Who set which field of one object: the owner of a path is that of its longest recorded
/// prefix, or the object's creator.
#[derive(Debug, Clone)]
pub struct Owners {
    creator: String,
    by_path: BTreeMap<String, String>,
}

impl Owners {
    /// Ownership of an object made by `creator` (e.g. `component type "webservice"`).
    pub fn new(creator: impl Into<String>) -> Owners {
        Owners {
            creator: creator.into(),
            by_path: BTreeMap::new(),
        }
    }

    /// Who made the object.
    pub fn creator(&self) -> &str {
        &self.creator
    }

    fn record(&mut self, path: &str, owner: &str) {
        // Finer records under `path` are superseded.
        let stale: Vec<String> = self
            .by_path
            .range(path.to_string()..)
            .take_while(|(p, _)| p.starts_with(path))
            .filter(|(p, _)| is_within(p, path))
            .map(|(p, _)| p.clone())
            .collect();
        for p in stale {
            self.by_path.remove(&p);
        }
        self.by_path.insert(path.to_string(), owner.to_string());
    }

    fn owner_of(&self, path: &str) -> &str {
        let mut best: Option<(&String, &String)> = None;
        for (p, owner) in &self.by_path {
            if is_within(path, p) && best.is_none_or(|(b, _)| p.len() > b.len()) {
                best = Some((p, owner));
            }
        }
        best.map_or(self.creator.as_str(), |(_, o)| o.as_str())
    }
}

/// True when `path` is `prefix` or lies under it.
fn is_within(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// How the strategic merge treats lists whose patch names no `$patchKey`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeOptions {
    /// Merge the lists Kubernetes merges by key (`containers`, `env`, `volumes`, `ports`...)
    /// by that key even when the patch does not say so. Kiln's default. Off, the merge is
    /// exactly KubeVela's: unannotated lists merge by position.
    pub implicit_keys: bool,
}

impl MergeOptions {
    /// Kiln's defaults.
    pub const KILN: MergeOptions = MergeOptions {
        implicit_keys: true,
    };
    /// KubeVela's semantics to the letter (its `sets.StrategyUnify`).
    pub const KUBEVELA: MergeOptions = MergeOptions {
        implicit_keys: false,
    };
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions::KILN
    }
}

/// Applies `patch` to `target` on behalf of `owner` (e.g. `trait "scaler"`), recording in
/// `owners` who set what, so that a later patch that sets a field differently is a
/// conflict naming both parties. Lists Kubernetes keys (containers by `name`, ports by
/// `containerPort`...) merge by key.
///
/// ```
/// use kiln::patch::{apply, Owners, Patch};
/// use serde_json::json;
///
/// let mut deployment = json!({"spec": {"template": {"spec": {"containers": [
///     {"name": "app", "image": "nginx:1.27"}
/// ]}}}});
/// let mut owners = Owners::new("component type \"webservice\"");
/// let sidecar = Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [
///     {"name": "log", "image": "busybox:1.36"}
/// ]}}}}));
/// apply(&mut deployment, &sidecar, "trait \"sidecar\"", &mut owners)?;
/// assert_eq!(deployment["spec"]["template"]["spec"]["containers"][1]["name"], "log");
///
/// let other = Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [
///     {"name": "app", "image": "nginx:1.28"}
/// ]}}}}));
/// let conflict = apply(&mut deployment, &other, "trait \"pin\"", &mut owners).unwrap_err();
/// assert!(conflict.to_string().contains("component type \"webservice\" sets \"nginx:1.27\""));
/// # Ok::<(), kiln::patch::PatchError>(())
/// ```
pub fn apply(
    target: &mut Value,
    patch: &Patch,
    owner: &str,
    owners: &mut Owners,
) -> Result<(), PatchError> {
    apply_with(target, patch, owner, owners, MergeOptions::KILN)
}

/// [`apply`] with explicit [`MergeOptions`].
///
/// A failed merge may leave `target` and `owners` partly patched: the error ends the
/// render, and every caller drops the object with it, so the object is not copied first
/// (the copy before each trait's patch was ~1% of a large render's profile, plus its
/// allocations). JSON patches stay all or nothing, as RFC 6902 says.
pub fn apply_with(
    target: &mut Value,
    patch: &Patch,
    owner: &str,
    owners: &mut Owners,
    options: MergeOptions,
) -> Result<(), PatchError> {
    match patch {
        Patch::Merge(p) => {
            let mut merge = Merge {
                owner,
                owners,
                options,
            };
            merge.value(target, p, &mut String::new(), None, None)
        }
        Patch::JsonMergePatch(p) => {
            json_merge_patch(target, p);
            Ok(())
        }
        Patch::JsonPatch(ops) => json_patch(target, ops),
    }
}

/// [`apply`], recording in `trace` (when there is one) each field the patch changed, as
/// `by`'s step. Without a trace it is [`apply`], and costs what it costs.
pub fn apply_traced(
    target: &mut Value,
    patch: &Patch,
    owner: &str,
    owners: &mut Owners,
    trace: Option<(&mut Trace, &Arc<Contributor>)>,
) -> Result<(), PatchError> {
    let Some((trace, by)) = trace else {
        return apply(target, patch, owner, owners);
    };
    let before = target.clone();
    apply(target, patch, owner, owners)?;
    trace.record(&before, target, by);
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    RetainKeys,
    Replace,
}

struct Merge<'a> {
    owner: &'a str,
    owners: &'a mut Owners,
    options: MergeOptions,
}

/// The merge key Kubernetes uses for a list field, when it has one.
fn implicit_key(field: &str, items: &[Value]) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "volumeMounts"
        | "imagePullSecrets" => Some("name"),
        "hostAliases" => Some("ip"),
        "ports" if items.iter().all(|i| i.get("containerPort").is_some()) => Some("containerPort"),
        "ports" => Some("port"),
        _ => None,
    }
}

/// The scalar at a dotted key path inside a list item (`name`, `secretRef.name`).
fn lookup<'v>(item: &'v Value, key: &str) -> Option<&'v Value> {
    let mut value = item;
    for part in key.split('.') {
        value = value.get(part)?;
    }
    (!value.is_object() && !value.is_array()).then_some(value)
}

/// One entry of a patch list aligned to the target list: a patch item (with the key it
/// matched by, if any) or nothing to change at that position.
enum Aligned<'p> {
    Item(&'p Value, Option<(&'p str, &'p Value)>),
    Keep,
}

impl Merge<'_> {
    /// Merges `patch` into `target` at `path`. `key` is the list key in force (the field's
    /// own `$patchKey`, or one inherited from an enclosing field, as KubeVela's tags are).
    fn value(
        &mut self,
        target: &mut Value,
        patch: &Value,
        path: &mut String,
        key: Option<&str>,
        strategy: Option<Strategy>,
    ) -> Result<(), PatchError> {
        if target.is_null() || strategy == Some(Strategy::Replace) {
            *target = clean(patch)?;
            self.owners.record(path, self.owner);
            return Ok(());
        }
        match (target, patch) {
            (Value::Object(t), Value::Object(p)) if strategy.is_none() => self.map(t, p, path, key),
            (Value::Array(t), Value::Array(p)) => self.list(t, p, path, key, strategy),
            (target, patch) if strategy == Some(Strategy::RetainKeys) => {
                *target = clean(patch)?;
                self.owners.record(path, self.owner);
                Ok(())
            }
            (target, patch) if *target == clean(patch)? => Ok(()),
            (target, patch) => Err(PatchError::Conflict {
                path: path.clone(),
                first: self.owners.owner_of(path).to_string(),
                first_value: short(target),
                second: self.owner.to_string(),
                second_value: short(patch),
            }),
        }
    }

    fn map(
        &mut self,
        target: &mut Map<String, Value>,
        patch: &Map<String, Value>,
        path: &mut String,
        inherited: Option<&str>,
    ) -> Result<(), PatchError> {
        for (field, value) in patch {
            if field.starts_with('$') {
                check_directive(field, value, patch)?;
                continue;
            }
            let strategy = strategy_of(patch, field)?;
            let own = match patch.get(&format!("$patchKey/{field}")) {
                Some(Value::String(k)) => Some(k.as_str()),
                Some(_) => {
                    return Err(PatchError::Invalid(format!(
                        "\"$patchKey/{field}\" must be a string"
                    )));
                }
                None => None,
            };
            // A field's own key first; then (Kiln) what Kubernetes knows of the field; then
            // a key inherited from an enclosing field, as KubeVela's tags are.
            let implicit = match value {
                Value::Array(items) if self.options.implicit_keys => implicit_key(field, items),
                _ => None,
            };
            let key = own.or(implicit).or(inherited);
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(field);
            let slot = target.entry(field.clone()).or_insert(Value::Null);
            self.value(slot, value, path, key, strategy)?;
            path.truncate(len);
        }
        Ok(())
    }

    fn list(
        &mut self,
        target: &mut Vec<Value>,
        patch: &[Value],
        path: &mut String,
        key: Option<&str>,
        strategy: Option<Strategy>,
    ) -> Result<(), PatchError> {
        let retain = strategy == Some(Strategy::RetainKeys);
        let aligned = match key {
            Some(key) => align(target, patch, key, retain),
            None => None,
        };
        let Some(aligned) = aligned else {
            if retain {
                // KubeVela ignores retainKeys on a list without a key; Kiln replaces it.
                *target = patch.iter().map(clean).collect::<Result<_, _>>()?;
                self.owners.record(path, self.owner);
                return Ok(());
            }
            return self.positional(target, patch, path, key);
        };
        // Keyed: the patch was aligned to the target's items; unify position by position,
        // appending what matched nothing.
        for (i, entry) in aligned.into_iter().enumerate() {
            let Aligned::Item(item, matched) = entry else {
                continue;
            };
            let len = path.len();
            match matched {
                Some((k, v)) => path.push_str(&format!("[{k}={}]", short(v))),
                None => path.push_str(&format!("[{i}]")),
            }
            if i < target.len() {
                self.value(&mut target[i], item, path, key, None)?;
            } else {
                target.push(clean(item)?);
                self.owners.record(path, self.owner);
            }
            path.truncate(len);
        }
        Ok(())
    }

    /// Position by position, as CUE unifies an open list: items merge pairwise, a longer
    /// patch extends the list.
    fn positional(
        &mut self,
        target: &mut Vec<Value>,
        patch: &[Value],
        path: &mut String,
        key: Option<&str>,
    ) -> Result<(), PatchError> {
        for (i, item) in patch.iter().enumerate() {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            if i < target.len() {
                self.value(&mut target[i], item, path, key, None)?;
            } else {
                target.push(clean(item)?);
                self.owners.record(path, self.owner);
            }
            path.truncate(len);
        }
        Ok(())
    }
}

/// KubeVela's keyed list merge (`listMergeProcess`): for each key alternative
/// (`a,b.c`), target items holding that key take the patch item with the same value (or
/// nothing); patch items that matched nothing are appended in patch order; patch items
/// without any key are dropped. When no patch item holds a key alternative, the merge falls
/// back to position (`None`). With `retain`, matched target items are replaced wholesale.
fn align<'p>(
    target: &mut [Value],
    patch: &'p [Value],
    keys: &'p str,
    retain: bool,
) -> Option<Vec<Aligned<'p>>> {
    let mut aligned = Vec::with_capacity(target.len() + patch.len());
    let mut pending: Vec<(usize, &'p str, &'p Value)> = Vec::new();
    for key in keys.split(',').map(str::trim) {
        let keyed: Vec<(usize, &'p Value)> = patch
            .iter()
            .enumerate()
            .filter_map(|(i, item)| lookup(item, key).map(|v| (i, v)))
            .collect();
        if keyed.is_empty() {
            if patch.is_empty() {
                continue;
            }
            return None;
        }
        let mut unmatched: Vec<(usize, &'p Value)> = keyed;
        for item in target.iter_mut() {
            let Some(value) = lookup(item, key).cloned() else {
                continue;
            };
            match unmatched.iter().position(|(_, v)| **v == value) {
                Some(found) => {
                    let (index, v) = unmatched.remove(found);
                    if retain {
                        target_reset(item);
                    }
                    aligned.push(Aligned::Item(&patch[index], Some((key, v))));
                }
                None => aligned.push(Aligned::Keep),
            }
        }
        pending.extend(unmatched.into_iter().map(|(i, v)| (i, key, v)));
    }
    pending.sort_by_key(|(i, _, _)| *i);
    pending.dedup_by_key(|(i, _, _)| *i);
    aligned.extend(
        pending
            .into_iter()
            .map(|(i, key, v)| Aligned::Item(&patch[i], Some((key, v)))),
    );
    Some(aligned)
}

/// Empties a target item so that the patch item replaces it (retainKeys).
fn target_reset(item: &mut Value) {
    *item = Value::Object(Map::new());
}

fn strategy_of(patch: &Map<String, Value>, field: &str) -> Result<Option<Strategy>, PatchError> {
    match patch.get(&format!("$patchStrategy/{field}")) {
        None => Ok(None),
        Some(Value::String(s)) if s == "retainKeys" => Ok(Some(Strategy::RetainKeys)),
        Some(Value::String(s)) if s == "replace" => Ok(Some(Strategy::Replace)),
        Some(other) => Err(PatchError::Invalid(format!(
            "\"$patchStrategy/{field}\" must be \"retainKeys\" or \"replace\", found {other}"
        ))),
    }
}

fn check_directive(
    field: &str,
    value: &Value,
    patch: &Map<String, Value>,
) -> Result<(), PatchError> {
    let target = field
        .strip_prefix("$patchKey/")
        .or_else(|| field.strip_prefix("$patchStrategy/"));
    match target {
        Some(t) if patch.contains_key(t) => Ok(()),
        Some(t) => Err(PatchError::Invalid(format!(
            "directive \"{field}\" ({value}) names a field \"{t}\" the patch does not set"
        ))),
        None => Err(PatchError::Invalid(format!(
            "unknown patch directive \"{field}\" (expected $patchKey/<field> or \
             $patchStrategy/<field>)"
        ))),
    }
}

/// The patch value without directives (what lands in the object).
fn clean(value: &Value) -> Result<Value, PatchError> {
    Ok(match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                if k.starts_with('$') {
                    check_directive(k, v, map)?;
                } else {
                    out.insert(k.clone(), clean(v)?);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(clean).collect::<Result<_, _>>()?),
        other => other.clone(),
    })
}

/// A value for a message: JSON, shortened.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 80 {
        let cut = text.char_indices().nth(77).map_or(text.len(), |(i, _)| i);
        format!("{}...", &text[..cut])
    } else {
        text
    }
}

/// RFC 7396: objects merge recursively, `null` deletes, anything else replaces.
pub fn json_merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(map) = target else {
        unreachable!("just made an object")
    };
    for (k, v) in patch {
        if v.is_null() {
            map.remove(k);
        } else {
            json_merge_patch(map.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// RFC 6902: applies the operations in order; any failure leaves `target` unchanged.
pub fn json_patch(target: &mut Value, operations: &Value) -> Result<(), PatchError> {
    let Value::Array(ops) = operations else {
        return Err(PatchError::Invalid(
            "a JSON patch must be a list of operations".into(),
        ));
    };
    let mut doc = target.clone();
    for (i, op) in ops.iter().enumerate() {
        apply_operation(&mut doc, op).map_err(|message| {
            PatchError::Invalid(format!(
                "JSON patch operation #{} of {}: {message}",
                i + 1,
                ops.len()
            ))
        })?;
    }
    *target = doc;
    Ok(())
}

fn apply_operation(doc: &mut Value, op: &Value) -> Result<(), String> {
    let field = |name: &str| -> Result<&str, String> {
        op.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("missing string \"{name}\""))
    };
    let value = || {
        op.get("value")
            .cloned()
            .ok_or("missing \"value\"".to_string())
    };
    let path = field("path")?;
    match field("op")? {
        "add" => add(doc, path, value()?),
        "remove" => remove(doc, path).map(drop),
        "replace" => {
            remove(doc, path)?;
            add(doc, path, value()?)
        }
        "move" => {
            let from = field("from")?;
            if path
                .strip_prefix(from)
                .is_some_and(|rest| rest.starts_with('/'))
            {
                return Err(format!("cannot move \"{from}\" into itself"));
            }
            let v = remove(doc, from)?;
            add(doc, path, v)
        }
        "copy" => {
            let v = doc
                .pointer(field("from")?)
                .cloned()
                .ok_or_else(|| format!("\"{}\" does not exist", field("from").unwrap_or("")))?;
            add(doc, path, v)
        }
        "test" => {
            let expected = value()?;
            match doc.pointer(path) {
                Some(actual) if *actual == expected => Ok(()),
                Some(actual) => Err(format!(
                    "test failed: \"{path}\" is {actual}, not {expected}"
                )),
                None => Err(format!("test failed: \"{path}\" does not exist")),
            }
        }
        other => Err(format!("unknown op \"{other}\"")),
    }
}

/// Splits a JSON pointer into its parent pointer and unescaped last token.
fn split_pointer(path: &str) -> Result<(&str, String), String> {
    if path.is_empty() {
        return Err("the whole document cannot be the target".into());
    }
    if !path.starts_with('/') {
        return Err(format!("\"{path}\" is not a JSON pointer"));
    }
    let i = path.rfind('/').unwrap_or(0);
    Ok((
        &path[..i],
        path[i + 1..].replace("~1", "/").replace("~0", "~"),
    ))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = split_pointer(path)?;
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(last, value);
            Ok(())
        }
        Some(Value::Array(items)) => {
            let index = if last == "-" {
                items.len()
            } else {
                array_index(&last, items.len() + 1)?
            };
            items.insert(index, value);
            Ok(())
        }
        Some(_) => Err(format!("\"{parent}\" is not an object or a list")),
        None => Err(format!("\"{parent}\" does not exist")),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = split_pointer(path)?;
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => map
            .remove(&last)
            .ok_or_else(|| format!("\"{path}\" does not exist")),
        Some(Value::Array(items)) => {
            let index = array_index(&last, items.len())?;
            Ok(items.remove(index))
        }
        _ => Err(format!("\"{path}\" does not exist")),
    }
}

fn array_index(token: &str, len: usize) -> Result<usize, String> {
    let valid = !token.is_empty()
        && token.bytes().all(|b| b.is_ascii_digit())
        && (token == "0" || !token.starts_with('0'));
    match token.parse::<usize>() {
        Ok(i) if valid && i < len => Ok(i),
        _ => Err(format!(
            "\"{token}\" is not a valid index in a list of {len}"
        )),
    }
}

#[cfg(test)]
mod tests;
