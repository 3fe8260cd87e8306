//! The patch engine: Kiln's strategic merge (in both `MergeOptions::KILN` and
//! `MergeOptions::KUBEVELA`), RFC 7396 JSON merge patch and RFC 6902 JSON patch, on JSON
//! trees built from the input with `arbitrary`. Keys and strings are drawn mostly from the
//! words the engine gives meaning to (`containers`, `name`, `$patchKey/...`,
//! `$patchStrategy/...`, `retainKeys`, JSON pointers...), so that the fuzzer reaches keyed
//! lists, directives and conflicts rather than only random maps.
//!
//! Checked: no panic; a failed strategic merge or JSON patch leaves the target (and the
//! ownership record) unchanged, as documented; a JSON merge patch is idempotent.
#![no_main]

use arbitrary::Arbitrary;
use kiln::patch::{self, MergeOptions, Owners, Patch};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

/// Deeper trees are cut to `null`. Real patches are parsed by serde_json, which refuses
/// more than 128 levels, so the engine's recursion never sees deeper documents.
const MAX_DEPTH: usize = 48;

#[derive(Arbitrary, Debug)]
enum Word {
    Name,
    Image,
    Containers,
    InitContainers,
    Env,
    Volumes,
    VolumeMounts,
    ImagePullSecrets,
    HostAliases,
    Ip,
    Ports,
    Port,
    ContainerPort,
    SecretRefName,
    Spec,
    Template,
    Value,
    A,
    B,
    Empty,
    PatchKey(Box<Word>),
    PatchStrategy(Box<Word>),
    RetainKeys,
    Replace,
    /// Several key alternatives, as in `secretRef.name,configMapRef.name`.
    Alternatives(Box<Word>, Box<Word>),
    Dollar(String),
    Other(String),
}

impl Word {
    fn text(&self) -> String {
        match self {
            Word::Name => "name".into(),
            Word::Image => "image".into(),
            Word::Containers => "containers".into(),
            Word::InitContainers => "initContainers".into(),
            Word::Env => "env".into(),
            Word::Volumes => "volumes".into(),
            Word::VolumeMounts => "volumeMounts".into(),
            Word::ImagePullSecrets => "imagePullSecrets".into(),
            Word::HostAliases => "hostAliases".into(),
            Word::Ip => "ip".into(),
            Word::Ports => "ports".into(),
            Word::Port => "port".into(),
            Word::ContainerPort => "containerPort".into(),
            Word::SecretRefName => "secretRef.name".into(),
            Word::Spec => "spec".into(),
            Word::Template => "template".into(),
            Word::Value => "value".into(),
            Word::A => "a".into(),
            Word::B => "b".into(),
            Word::Empty => String::new(),
            Word::PatchKey(w) => format!("$patchKey/{}", w.text()),
            Word::PatchStrategy(w) => format!("$patchStrategy/{}", w.text()),
            Word::RetainKeys => "retainKeys".into(),
            Word::Replace => "replace".into(),
            Word::Alternatives(a, b) => format!("{},{}", a.text(), b.text()),
            Word::Dollar(s) => format!("${s}"),
            Word::Other(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i16),
    Float(f32),
    Str(Word),
    Array(Vec<Json>),
    Object(Vec<(Word, Json)>),
}

impl Json {
    fn value(&self, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Int(i) => Value::from(*i),
            Json::Float(f) => serde_json::Number::from_f64(f64::from(*f)).map_or(Value::Null, Value::Number),
            Json::Str(w) => Value::String(w.text()),
            Json::Array(items) => Value::Array(items.iter().map(|i| i.value(depth + 1)).collect()),
            Json::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.text(), v.value(depth + 1)))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

/// One token of a JSON pointer.
#[derive(Arbitrary, Debug)]
enum Token {
    Index(u8),
    Dash,
    LeadingZero,
    Word(Word),
    Tilde0,
    Tilde1,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct Pointer {
    tokens: Vec<Token>,
    /// Not starting with `/` (an invalid pointer).
    relative: bool,
}

impl Pointer {
    fn text(&self) -> String {
        let mut out = String::new();
        for (i, token) in self.tokens.iter().enumerate() {
            if i > 0 || !self.relative {
                out.push('/');
            }
            match token {
                Token::Index(n) => out.push_str(&(n % 8).to_string()),
                Token::Dash => out.push('-'),
                Token::LeadingZero => out.push_str("01"),
                Token::Word(w) => out.push_str(&w.text().replace('~', "~0").replace('/', "~1")),
                Token::Tilde0 => out.push_str("~0"),
                Token::Tilde1 => out.push_str("a~1b"),
                Token::Raw(s) => out.push_str(s),
            }
        }
        out
    }
}

#[derive(Arbitrary, Debug)]
enum OpKind {
    Add,
    Remove,
    Replace,
    Move,
    Copy,
    Test,
    Other(String),
    Missing,
}

#[derive(Arbitrary, Debug)]
struct Op {
    kind: OpKind,
    path: Option<Pointer>,
    from: Option<Pointer>,
    value: Option<Json>,
}

impl Op {
    fn value(&self) -> Value {
        let mut map = Map::new();
        let op = match &self.kind {
            OpKind::Add => Some("add".to_string()),
            OpKind::Remove => Some("remove".into()),
            OpKind::Replace => Some("replace".into()),
            OpKind::Move => Some("move".into()),
            OpKind::Copy => Some("copy".into()),
            OpKind::Test => Some("test".into()),
            OpKind::Other(s) => Some(s.clone()),
            OpKind::Missing => None,
        };
        if let Some(op) = op {
            map.insert("op".into(), Value::String(op));
        }
        if let Some(p) = &self.path {
            map.insert("path".into(), Value::String(p.text()));
        }
        if let Some(p) = &self.from {
            map.insert("from".into(), Value::String(p.text()));
        }
        if let Some(v) = &self.value {
            map.insert("value".into(), v.value(1));
        }
        Value::Object(map)
    }
}

#[derive(Arbitrary, Debug)]
enum Operations {
    Ops(Vec<Op>),
    /// Anything at all (mostly not a list of operations).
    Raw(Json),
}

#[derive(Arbitrary, Debug)]
struct Input {
    target: Json,
    first: Json,
    second: Json,
    merge_patch: Json,
    operations: Operations,
}

/// Two strategic merges by different owners (the second may conflict with the first).
fn strategic(target: &Value, first: &Value, second: &Value, options: MergeOptions) {
    let mut doc = target.clone();
    let mut owners = Owners::new("component type \"fuzz\"");
    for (owner, p) in [("trait \"first\"", first), ("trait \"second\"", second)] {
        let before = doc.clone();
        match patch::apply_with(&mut doc, &Patch::Merge(p.clone()), owner, &mut owners, options) {
            Ok(()) => {}
            Err(e) => {
                let _ = e.to_string();
                assert_eq!(doc, before, "a failed merge changed the target");
            }
        }
    }
}

fuzz_target!(|input: Input| {
    let target = input.target.value(0);
    let first = input.first.value(0);
    let second = input.second.value(0);

    strategic(&target, &first, &second, MergeOptions::KILN);
    strategic(&target, &first, &second, MergeOptions::KUBEVELA);

    // RFC 7396, directly and through `apply`; applying the same merge patch twice changes
    // nothing more.
    let merge_patch = input.merge_patch.value(0);
    let mut once = target.clone();
    patch::json_merge_patch(&mut once, &merge_patch);
    let mut twice = once.clone();
    patch::json_merge_patch(&mut twice, &merge_patch);
    assert_eq!(once, twice, "JSON merge patch is not idempotent");
    let mut via_apply = target.clone();
    let mut owners = Owners::new("fuzz");
    patch::apply(&mut via_apply, &Patch::JsonMergePatch(merge_patch), "fuzz", &mut owners)
        .expect("a JSON merge patch always applies");
    assert_eq!(once, via_apply);

    // RFC 6902: a failed patch leaves the target unchanged.
    let operations = match &input.operations {
        Operations::Ops(ops) => Value::Array(ops.iter().map(Op::value).collect()),
        Operations::Raw(j) => j.value(0),
    };
    let mut doc = target.clone();
    match patch::json_patch(&mut doc, &operations) {
        Ok(()) => {}
        Err(e) => {
            let _ = e.to_string();
            assert_eq!(doc, target, "a failed JSON patch changed the target");
        }
    }
    let mut doc = target.clone();
    let _ = patch::apply_with(
        &mut doc,
        &Patch::JsonPatch(operations),
        "fuzz",
        &mut Owners::new("fuzz"),
        MergeOptions::KUBEVELA,
    );
});
