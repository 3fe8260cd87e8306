//! The platform's configuration: what the platform team decides and app authors cannot
//! change. One YAML file (`--platform`, or `KILN_PLATFORM` in the Argo CD sidecar) sets
//! the sandbox's limits (defaults and per definition), turns on digest pinning of external
//! definitions ([`Lock`]), and lists the guardrail policies every render must pass.
//!
//! ```yaml
//! limits:                 # every module call; omitted keys keep Kiln's defaults
//!   time: 5s              # wall clock (ms, s, m)
//!   fuel: 500M            # deterministic instruction budget (k, M, G); off when omitted
//!   memory: 256Mi         # linear memory (Ki, Mi, Gi or bytes)
//!   tableElements: 100000
//!   stack: 1Mi
//!   output: 16Mi          # bytes of JSON a call returns
//!   objects: 10000        # objects a call returns
//!   renderMemory: 512Mi   # linear memory of all live instances together (process-wide)
//!   cacheSize: 512Mi      # the compiled-module cache on disk (also KILN_CACHE_MAX)
//! definitions:
//!   sources:              # definitions pulled from registries, pinned by the lock
//!     - oci://registry.example.com/platform/pdb@sha256:…
//!     - oci://registry.example.com/platform/team-traits:1.4   # resolved by `kiln definitions lock`
//!   heavy-trait:
//!     limits: { fuel: 2G, time: 10s }
//!   team-sidecar:
//!     reuse: true         # one instance may serve several components (it must be pure)
//! lock: kiln.lock         # relative to this file: only pinned external definitions load
//! policies:
//!   - type: require-labels
//!     properties: { labels: [team] }
//!   - type: disallow-latest-tag
//!     action: warn        # deny (default) or warn: report without failing
//! ```
//!
//! The file is read as strictly as an application: an unknown key or a malformed value is
//! an error with its line and field. `sources` is the one name under `definitions` that is
//! not a definition's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::app::Source;
use crate::app::parse_field;
use crate::definitions::{Kind, Reference, Registry};
pub use crate::definitions::{Lock, Pin, SourceUse};
use crate::error::{Error, Result, Site};
use crate::sandbox::{LimitPolicy, Limits};

/// The platform configuration file, parsed.
#[derive(Debug, Clone, Default)]
pub struct Platform {
    /// The limits of definitions, where no override says otherwise.
    pub limits: Limits,
    /// Per-definition overrides: only what each sets.
    pub overrides: BTreeMap<String, LimitOverride>,
    /// Where each override is written, for messages.
    override_sites: BTreeMap<String, Site>,
    /// The pinned digests of external definitions, when pinning is on.
    pub lock: Option<Lock>,
    /// The lock file's path as the file writes it (relative to the file's directory).
    pub lock_file: Option<PathBuf>,
    /// Definitions from registries (`definitions.sources`), in file order.
    pub sources: Vec<SourceUse>,
    /// The guardrail policies, in the order they run.
    pub policies: Vec<PolicyUse>,
    /// External definitions whose instance may serve several calls (`reuse: true`).
    pub reuse: BTreeSet<String>,
    /// The memory budget of all live instances (`limits.renderMemory`).
    pub render_memory: Option<usize>,
    /// The compiled-module cache's size cap (`limits.cacheSize`).
    pub cache_size: Option<u64>,
}

/// The limits one definition's override sets; the rest come from the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitOverride {
    pub time: Option<Duration>,
    pub fuel: Option<u64>,
    pub memory: Option<usize>,
    pub table_elements: Option<usize>,
    pub output: Option<usize>,
    pub objects: Option<usize>,
}

impl LimitOverride {
    /// `base` with what this override sets.
    pub fn apply(&self, base: Limits) -> Limits {
        Limits {
            time: self.time.unwrap_or(base.time),
            fuel: self.fuel.or(base.fuel),
            memory: self.memory.unwrap_or(base.memory),
            table_elements: self.table_elements.unwrap_or(base.table_elements),
            stack: base.stack,
            output: self.output.unwrap_or(base.output),
            objects: self.objects.unwrap_or(base.objects),
        }
    }
}

/// A guardrail policy the platform applies to every application.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyUse {
    /// The policy definition's name.
    pub type_name: String,
    /// Its parameters.
    pub properties: Map<String, Value>,
    /// What a violation of severity `error` does.
    pub action: Action,
    /// Where it is configured (file, line and column), for messages.
    pub site: Site,
}

impl PolicyUse {
    /// Checks that the policy names a definition of kind policy.
    pub fn check_kind(&self, registry: &Registry) -> Result<()> {
        let problem = match registry.kind(&self.type_name) {
            Some(Kind::Policy) => return Ok(()),
            Some(kind) => format!("is a {kind}, not a policy"),
            None => match registry.suggest(&self.type_name, Kind::Policy) {
                Some(s) => format!("is not a known policy (did you mean \"{s}\"?)"),
                None => format!(
                    "is not a known policy; known policies: {}",
                    registry.names_of(Kind::Policy).join(", ")
                ),
            },
        };
        Err(Error::Invalid {
            site: Box::new(Site {
                field: Some("type".into()),
                ..self.site.clone()
            }),
            message: format!("\"{}\" {problem}", self.type_name),
        })
    }
}

/// What a policy's denials do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Fail the render, listing every violation.
    #[default]
    Deny,
    /// Report violations as warnings (audit mode while a policy is rolled out).
    Warn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    limits: LimitSettings,
    /// Each definition's settings, and `sources`: read one by one (see [`SOURCES`]).
    #[serde(default)]
    definitions: BTreeMap<String, Value>,
    lock: Option<PathBuf>,
    #[serde(default)]
    policies: Vec<PolicySettings>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LimitSettings {
    time: Option<Text>,
    fuel: Option<Text>,
    memory: Option<Text>,
    table_elements: Option<u64>,
    stack: Option<Text>,
    output: Option<Text>,
    objects: Option<u64>,
    render_memory: Option<Text>,
    cache_size: Option<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DefinitionSettings {
    #[serde(default)]
    limits: LimitSettings,
    /// Whether one instance may serve several calls (external definitions only).
    #[serde(default)]
    reuse: bool,
}

/// A policy as the platform file (or a test file) writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicySettings {
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default)]
    properties: Map<String, Value>,
    #[serde(default)]
    action: Action,
}

/// The policies written at `at` in `source` (a list), each with its site.
pub(crate) fn policy_uses(
    source: &Source,
    at: &str,
    settings: &[PolicySettings],
) -> Vec<PolicyUse> {
    settings
        .iter()
        .enumerate()
        .map(|(i, p)| PolicyUse {
            type_name: p.type_name.clone(),
            properties: p.properties.clone(),
            action: p.action,
            site: source.site(&parse_field(&format!("{at}[{i}]"))),
        })
        .collect()
}

/// The key under `definitions` that lists registries' definitions rather than naming one.
const SOURCES: &str = "sources";

/// `definitions.sources`: each a reference, once, with a lock to pin them.
fn source_uses(source: &Source, value: &Value, locked: bool) -> Result<Vec<SourceUse>> {
    let at = |i: Option<usize>| {
        let field = match i {
            Some(i) => format!("definitions.{SOURCES}[{i}]"),
            None => format!("definitions.{SOURCES}"),
        };
        parse_field(&field)
    };
    let items = value
        .as_array()
        .ok_or_else(|| source.invalid(&at(None), "expected a list of oci:// references"))?;
    if !items.is_empty() && !locked {
        return Err(source.invalid(
            &at(None),
            "definitions from registries are pinned by a lock file: add `lock: kiln.lock` \
             and run `kiln definitions lock --platform FILE`",
        ));
    }
    let mut uses: Vec<SourceUse> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let text = item
            .as_str()
            .ok_or_else(|| source.invalid(&at(Some(i)), "expected an oci:// reference"))?;
        let reference = text
            .parse::<Reference>()
            .map_err(|e| source.invalid(&at(Some(i)), e))?;
        if uses.iter().any(|u| u.text == text) {
            return Err(source.invalid(&at(Some(i)), format!("\"{text}\" is listed twice")));
        }
        uses.push(SourceUse {
            text: text.to_string(),
            reference,
            site: source.site(&at(Some(i))),
        });
    }
    Ok(uses)
}

/// A quantity written as a number or a string with a unit (`5s`, `256Mi`, `500M`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    Number(u64),
    String(String),
}

impl Platform {
    /// Reads and checks the platform configuration at `path`.
    pub fn read(path: &Path) -> Result<Platform> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            error: source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Platform::parse(Source::parse(path.display().to_string(), &text)?, base)
    }

    /// Checks a parsed configuration; relative paths in it are relative to `base`.
    pub fn parse(source: Source, base: &Path) -> Result<Platform> {
        Platform::parse_with(source, &|path: &Path| Lock::read(&base.join(path)))
    }

    /// [`Platform::parse`] with the lock file read by `read_lock`, given its path as
    /// written: for a configuration confined to a directory tree (`kiln test`).
    pub fn parse_with(
        source: Source,
        read_lock: &dyn Fn(&Path) -> Result<Lock>,
    ) -> Result<Platform> {
        let json = source.root().to_json();
        let json = if json.is_null() {
            Value::Object(Map::new())
        } else {
            json
        };
        let file: File = serde_path_to_error::deserialize(json).map_err(|e| {
            let path = parse_field(&e.path().to_string());
            source.invalid(&path, e.inner().to_string())
        })?;
        let at = |path: &str| parse_field(path);

        let (defaults, stack) = limit_override(&source, &file.limits, "limits")?;
        let mut limits = defaults.apply(Limits::default());
        if let Some(stack) = stack {
            limits.stack = stack;
        }
        let size = |text: &Option<Text>, key: &str| {
            text.as_ref()
                .map(|t| bytes(t).map_err(|m| source.invalid(&at(&format!("limits.{key}")), m)))
                .transpose()
        };
        let render_memory = size(&file.limits.render_memory, "renderMemory")?;
        let cache_size = size(&file.limits.cache_size, "cacheSize")?.map(|n| n as u64);
        let mut overrides = BTreeMap::new();
        let mut override_sites = BTreeMap::new();
        let mut reuse = BTreeSet::new();
        let mut sources = Vec::new();
        for (name, value) in &file.definitions {
            if name == SOURCES {
                sources = source_uses(&source, value, file.lock.is_some())?;
                continue;
            }
            let settings: DefinitionSettings =
                serde_path_to_error::deserialize(value).map_err(|e| {
                    let inner = e.path().to_string();
                    let field = match inner.as_str() {
                        "." => format!("definitions.{name}"),
                        inner => format!("definitions.{name}.{inner}"),
                    };
                    source.invalid(&at(&field), e.inner().to_string())
                })?;
            if settings.reuse {
                reuse.insert(name.clone());
            }
            let process_wide = [
                ("renderMemory", settings.limits.render_memory.is_some()),
                ("cacheSize", settings.limits.cache_size.is_some()),
            ];
            if let Some((key, _)) = process_wide.iter().find(|(_, set)| *set) {
                return Err(source.invalid(
                    &at(&format!("definitions.{name}.limits.{key}")),
                    format!("{key} is one for the whole process; set it under `limits`"),
                ));
            }
            let field = format!("definitions.{name}.limits");
            let (limits, stack) = limit_override(&source, &settings.limits, &field)?;
            if stack.is_some() {
                return Err(source.invalid(
                    &at(&format!("{field}.stack")),
                    "the stack limit is one for the whole process; set it under `limits`",
                ));
            }
            overrides.insert(name.clone(), limits);
            override_sites.insert(
                name.clone(),
                Site {
                    field: Some(format!("definitions.{name}")),
                    ..source.site(&at(&format!("definitions.{name}")))
                },
            );
        }
        let lock = match &file.lock {
            Some(path) => Some(read_lock(path).map_err(|e| {
                source.invalid(&at("lock"), format!("cannot use the lock file: {e}"))
            })?),
            None => None,
        };
        let policies = policy_uses(&source, "policies", &file.policies);
        Ok(Platform {
            limits,
            overrides,
            override_sites,
            lock,
            lock_file: file.lock,
            sources,
            policies,
            reuse,
            render_memory,
            cache_size,
        })
    }

    /// This configuration (the operator's) with `other` (from repository content, such as
    /// a test file's `platform:`) able only to tighten it: this lock stays (with both, a
    /// definition loads only if both pin it, under one name with one digest), every policy
    /// of this one runs first and `other`'s after, and each limit, of every definition, is
    /// the stricter of the two.
    pub fn tightened_by(&self, other: &Platform) -> Platform {
        let (mine, theirs) = (self.limit_policy(), other.limit_policy());
        let overrides = self
            .overrides
            .keys()
            .chain(other.overrides.keys())
            .map(|name| {
                let limits = stricter(mine.of(name), theirs.of(name));
                let all = LimitOverride {
                    time: Some(limits.time),
                    fuel: limits.fuel,
                    memory: Some(limits.memory),
                    table_elements: Some(limits.table_elements),
                    output: Some(limits.output),
                    objects: Some(limits.objects),
                };
                (name.clone(), all)
            })
            .collect();
        let mut override_sites = other.override_sites.clone();
        override_sites.extend(self.override_sites.clone());
        let lock = match (&self.lock, &other.lock) {
            (Some(mine), Some(theirs)) => Some(Lock {
                version: mine.version,
                definitions: mine
                    .definitions
                    .iter()
                    .filter(|(name, pin)| {
                        theirs
                            .definitions
                            .get(*name)
                            .is_some_and(|p| p.sha256 == pin.sha256)
                    })
                    .map(|(name, pin)| (name.clone(), pin.clone()))
                    .collect(),
            }),
            (mine, theirs) => mine.clone().or_else(|| theirs.clone()),
        };
        Platform {
            limits: stricter(&self.limits, &other.limits),
            overrides,
            override_sites,
            lock,
            // Definitions come from the operator's registries only.
            lock_file: self.lock_file.clone(),
            sources: self.sources.clone(),
            policies: self
                .policies
                .iter()
                .chain(&other.policies)
                .cloned()
                .collect(),
            // Keeping an instance between components is a waiver: both must grant it.
            reuse: self.reuse.intersection(&other.reuse).cloned().collect(),
            render_memory: Some(mine.budget.min(theirs.budget)),
            cache_size: Some(mine.cache_max.min(theirs.cache_max)),
        }
    }

    /// The limits of every definition, for the sandbox.
    pub fn limit_policy(&self) -> LimitPolicy {
        let defaults = LimitPolicy::default();
        LimitPolicy {
            defaults: self.limits,
            per_definition: self
                .overrides
                .iter()
                .map(|(name, o)| (name.clone(), o.apply(self.limits)))
                .collect(),
            reuse: self.reuse.clone(),
            budget: self.render_memory.unwrap_or(defaults.budget),
            cache_max: self.cache_size.unwrap_or(defaults.cache_max),
        }
    }

    /// Checks the names the configuration uses against the definitions there are: every
    /// override names a definition, every policy a policy. Typos are errors, with a
    /// suggestion, at their line.
    pub fn check_names(&self, registry: &Registry) -> Result<()> {
        for (name, site) in &self.override_sites {
            if registry.kind(name).is_none() {
                let suggestion = [Kind::Workload, Kind::Trait, Kind::Policy]
                    .into_iter()
                    .find_map(|k| registry.suggest(name, k))
                    .map(|s| format!(" (did you mean \"{s}\"?)"))
                    .unwrap_or_default();
                return Err(Error::Invalid {
                    site: Box::new(site.clone()),
                    message: format!("no definition named \"{name}\"{suggestion}"),
                });
            }
        }
        self.policies
            .iter()
            .try_for_each(|policy| policy.check_kind(registry))
    }
}

/// The lower of each limit; fuel that is off is no limit.
fn stricter(a: &Limits, b: &Limits) -> Limits {
    Limits {
        time: a.time.min(b.time),
        fuel: a.fuel.into_iter().chain(b.fuel).min(),
        memory: a.memory.min(b.memory),
        table_elements: a.table_elements.min(b.table_elements),
        stack: a.stack.min(b.stack),
        output: a.output.min(b.output),
        objects: a.objects.min(b.objects),
    }
}

/// What `settings` (at `field`) sets, and the stack size if it sets one.
fn limit_override(
    source: &Source,
    settings: &LimitSettings,
    field: &str,
) -> Result<(LimitOverride, Option<usize>)> {
    let bad = |key: &str, message: String| {
        source.invalid(&parse_field(&format!("{field}.{key}")), message)
    };
    let size = |n: u64, key: &str| usize::try_from(n).map_err(|e| bad(key, e.to_string()));
    let limits = LimitOverride {
        time: settings
            .time
            .as_ref()
            .map(|t| duration(t).map_err(|m| bad("time", m)))
            .transpose()?,
        fuel: settings
            .fuel
            .as_ref()
            .map(|t| count(t).map_err(|m| bad("fuel", m)))
            .transpose()?,
        memory: settings
            .memory
            .as_ref()
            .map(|t| bytes(t).map_err(|m| bad("memory", m)))
            .transpose()?,
        table_elements: settings
            .table_elements
            .map(|n| size(n, "tableElements"))
            .transpose()?,
        output: settings
            .output
            .as_ref()
            .map(|t| bytes(t).map_err(|m| bad("output", m)))
            .transpose()?,
        objects: settings.objects.map(|n| size(n, "objects")).transpose()?,
    };
    let stack = settings
        .stack
        .as_ref()
        .map(|t| bytes(t).map_err(|m| bad("stack", m)))
        .transpose()?;
    Ok((limits, stack))
}

/// Splits `500Mi` into `(500, "Mi")`.
fn number_and_unit(text: &Text) -> Result<(u64, String), String> {
    let s = match text {
        Text::Number(n) => return Ok((*n, String::new())),
        Text::String(s) => s.trim(),
    };
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let number = s[..digits]
        .parse()
        .map_err(|_| format!("\"{s}\" does not start with a whole number"))?;
    Ok((number, s[digits..].trim().to_string()))
}

fn scaled(text: &Text, units: &[(&str, u64)], what: &str) -> Result<u64, String> {
    let (number, unit) = number_and_unit(text)?;
    let factor = units
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            let known: Vec<&str> = units
                .iter()
                .map(|(u, _)| *u)
                .filter(|u| !u.is_empty())
                .collect();
            format!(
                "unknown unit \"{unit}\" for {what} (use {})",
                known.join(", ")
            )
        })?;
    let value = number
        .checked_mul(factor)
        .ok_or_else(|| format!("{what} is too large"))?;
    if value == 0 {
        return Err(format!("{what} must be more than zero"));
    }
    Ok(value)
}

fn duration(text: &Text) -> Result<Duration, String> {
    if let Text::Number(_) = text {
        return Err("write a unit: ms, s or m (e.g. 5s)".into());
    }
    let ms = scaled(
        text,
        &[("ms", 1), ("s", 1_000), ("m", 60_000)],
        "a time limit",
    )?;
    Ok(Duration::from_millis(ms))
}

fn count(text: &Text) -> Result<u64, String> {
    scaled(
        text,
        &[
            ("", 1),
            ("k", 1_000),
            ("M", 1_000_000),
            ("G", 1_000_000_000),
        ],
        "fuel",
    )
}

/// A size as the platform file writes it (`512Mi`, `2Gi`, `1048576`), for the same
/// setting given elsewhere (`KILN_CACHE_MAX`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    bytes(&Text::String(text.to_string())).map(|n| n as u64)
}

fn bytes(text: &Text) -> Result<usize, String> {
    let n = scaled(
        text,
        &[("", 1), ("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30)],
        "a size",
    )?;
    usize::try_from(n).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
