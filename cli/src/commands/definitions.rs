//! `kiln definitions list|show|lock|check`: what definitions there are, what they take,
//! and a platform team's pins and pre-release check.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use kiln::definitions::{Kind, Origin, Registry};
use kiln::platform::{Lock, Pin};
use kiln::sandbox::Sandbox;
use serde_json::Value;

use crate::args::Flags;
use crate::output::{Output, count};
use crate::setup::Setup;

/// `kiln definitions list`: one line per definition, grouped by kind, then the KubeVela
/// built-ins Kiln does not ship.
pub fn list(setup: Setup, flags: &Flags) -> Result<Output> {
    let registry = setup.registry(flags)?;
    setup.platform.check_names(&registry)?;
    let output = list_of(&setup.sandbox, &registry);
    setup.finish(registry, output)
}

fn list_of(sandbox: &Sandbox, registry: &Registry) -> Result<Output> {
    let names: Vec<&str> = registry.names().collect();
    let loaded = registry.load(sandbox, &names.iter().copied().collect())?;
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
    let mut out = String::new();
    for kind in [Kind::Workload, Kind::Trait, Kind::Policy] {
        let of_kind: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| registry.kind(n) == Some(kind))
            .collect();
        if of_kind.is_empty() {
            continue;
        }
        let heading = match kind {
            Kind::Workload => "Workloads (component types)",
            Kind::Trait => "Traits",
            Kind::Policy => "Policies (set in the platform configuration)",
        };
        let _ = writeln!(out, "{heading}:");
        for name in of_kind {
            let Some(module) = loaded.get(name) else {
                continue;
            };
            let origin = match registry.origin(name) {
                Some(Origin::File(path)) => format!(" [{}]", path.display()),
                _ => String::new(),
            };
            let summary = module.metadata.description.lines().next();
            let _ = writeln!(
                out,
                "  {name:width$}  {}{origin}",
                summary.unwrap_or_default()
            );
        }
    }
    out.push_str("Not available (KubeVela built-ins Kiln does not ship):\n");
    for (name, why) in kiln::definitions::UNAVAILABLE {
        let _ = writeln!(out, "  {name:width$}  {why}");
    }
    Ok(Output::print(out))
}

/// `kiln definitions show NAME`: a definition's kind, version, description and parameters.
pub fn show(setup: Setup, flags: &Flags, name: &str) -> Result<Output> {
    let registry = setup.registry(flags)?;
    setup.platform.check_names(&registry)?;
    let output = show_one(&setup.sandbox, &registry, name);
    setup.finish(registry, output)
}

fn show_one(sandbox: &Sandbox, registry: &Registry, name: &str) -> Result<Output> {
    let Some(kind) = registry.kind(name) else {
        let suggestion = [Kind::Workload, Kind::Trait]
            .into_iter()
            .find_map(|k| registry.suggest(name, k))
            .map(|s| format!(" (did you mean \"{s}\"?)"))
            .unwrap_or_default();
        bail!("no definition named \"{name}\"{suggestion}; `kiln definitions list` shows them all");
    };
    let module = registry.module(sandbox, name)?;
    let meta = &module.metadata;
    let mut out = String::new();
    let _ = writeln!(out, "{name} ({kind}, version {})", meta.version);
    let _ = writeln!(out, "{}", meta.description);
    if let Some(w) = &meta.workload_type {
        let _ = writeln!(out, "Renders: {w}");
    }
    if !meta.applies_to.is_empty() {
        let _ = writeln!(out, "Applies to: {}", meta.applies_to.join(", "));
    }
    if !meta.conflicts_with.is_empty() {
        let _ = writeln!(out, "Conflicts with: {}", meta.conflicts_with.join(", "));
    }
    let schema: Value = serde_json::from_str(&meta.parameter_schema)
        .with_context(|| format!("definition \"{name}\" announced an invalid parameter schema"))?;
    out.push_str("\nParameters:\n");
    let mut rows = Vec::new();
    kiln::parameters::schema::parameter_rows(&schema, &schema, "", 0, &mut rows);
    if rows.is_empty() {
        out.push_str("  (none)\n");
    }
    for row in rows {
        let _ = writeln!(out, "{row}");
    }
    Ok(Output::print(out))
}

/// `kiln definitions lock DIR`: pins every definition in `dir` (loaded as `-d` would, but
/// against the unpinned built-ins), written atomically to `DIR/kiln.lock`, keeping the
/// pins of sources from registries that file holds.
pub fn lock(setup: Setup, flags: &Flags, dir: &Path) -> Result<Output> {
    let mut registry = Registry::builtin();
    let added = registry
        .add_dir(&setup.sandbox, dir, flags.override_builtins)
        .with_context(|| format!("loading definitions from {}", dir.display()));
    let output = added.and_then(|()| write_lock(&registry, dir));
    setup.finish(registry, output)
}

fn write_lock(registry: &Registry, dir: &Path) -> Result<Output> {
    let mut files = std::collections::BTreeMap::new();
    for (name, path, digest) in registry.external() {
        let file = path
            .file_name()
            .and_then(|f| f.to_str())
            .with_context(|| format!("{}: the file name is not UTF-8", path.display()))?;
        files.insert(
            name.to_string(),
            Pin::file(file.to_string(), kiln::digest::hex(&digest)),
        );
    }
    let target = dir.join("kiln.lock");
    // The pins of sources from registries (`kiln definitions lock --platform`) stay.
    let existing = match target.exists() {
        true => Lock::read(&target)?,
        false => Lock::default(),
    };
    let pinned = files.len();
    let lock = existing.with_files(files);
    kiln::files::write_atomically(&target, lock.to_yaml().as_bytes())
        .with_context(|| format!("writing {}", target.display()))?;
    Ok(Output::print(format!(
        "pinned {} in {}\n",
        count(pinned, "definition"),
        target.display()
    )))
}

/// `kiln definitions check DIR`: loads each definition of `dir` as a render would (module,
/// pin, name, parameter schema) and reports every failure; the verdict is failure if any.
pub fn check(setup: Setup, flags: &Flags, dir: &Path) -> Result<Output> {
    let mut registry = setup.builtin_registry();
    let outcomes = add_each(&setup.sandbox, &mut registry, dir, flags.override_builtins);
    let mut out = String::new();
    let mut warnings = Vec::new();
    for outcome in &outcomes {
        // The parameter schema compiles at a definition's first use in a render.
        let result = outcome.result.clone().and_then(|name| {
            registry
                .load(&setup.sandbox, &[name.as_str()].into_iter().collect())
                .map(|_| name)
                .map_err(|e| e.to_string())
        });
        match result {
            Ok(name) => {
                let kind = registry
                    .kind(&name)
                    .map(|k| k.to_string())
                    .unwrap_or_default();
                let _ = writeln!(out, "ok: {}: {name} ({kind})", outcome.file);
            }
            Err(why) => warnings.push(format!("error: {why}")),
        }
    }
    let failed = warnings.len();
    let _ = writeln!(
        out,
        "{}: {} checked, {failed} failed",
        dir.display(),
        count(outcomes.len(), "definition")
    );
    let output = Output {
        stdout: out.into(),
        warnings,
        failed: failed > 0,
    };
    setup.finish(registry, Ok(output))
}

/// The outcome of adding one definition file: the name it describes itself as, or why it
/// does not load.
pub struct FileOutcome {
    pub file: String,
    pub result: std::result::Result<String, String>,
}

/// Adds the `*.wasm` files of `dir` to `registry` one at a time, with the checks of `-d`
/// (a valid definition, pinned if the platform pins, no name clash), so that one bad file
/// does not hide the others: each file's outcome, in name order. A directory that cannot
/// be read is one failed outcome.
pub fn add_each(
    sandbox: &Sandbox,
    registry: &mut Registry,
    dir: &Path,
    allow_override: bool,
) -> Vec<FileOutcome> {
    let files = match kiln::definitions::definition_files(dir) {
        Ok(files) => files,
        Err(e) => {
            return vec![FileOutcome {
                file: dir.display().to_string(),
                result: Err(e.to_string()),
            }];
        }
    };
    files
        .into_iter()
        .map(|path| {
            let file = path.display().to_string();
            let result = std::fs::read(&path)
                .map_err(|e| format!("{file}: {e}"))
                .and_then(|bytes| {
                    registry
                        .add_modules(sandbox, vec![(file.clone(), bytes)], allow_override)
                        .map_err(|e| e.to_string())
                })
                .map(|()| {
                    registry
                        .external()
                        .find(|(_, origin, _)| *origin == path)
                        .map(|(name, _, _)| name.to_string())
                        .unwrap_or_default()
                });
            FileOutcome { file, result }
        })
        .collect()
}
