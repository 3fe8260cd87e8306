//! `kiln definitions push|pull`, and `kiln definitions lock` of the platform file's
//! sources: definitions to and from OCI registries ([`kiln_registry`]), into the store a
//! render reads. These are the only commands that use the network.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use kiln::definitions::{Reference, Registry};
use kiln::platform::{Lock, Pin, Platform};
use kiln::sandbox::Sandbox;
use kiln::store::Store;
use kiln_registry::{Artifact, Client, Credentials, Options};

use crate::args::{Flags, RegistryArgs};
use crate::output::{Output, count};
use crate::setup::{self, Setup};

/// `kiln definitions push FILE oci://…:TAG`: checks that FILE is a definition (it loads and
/// describes itself, as a render would load it), pushes it, and prints the digest.
pub fn push(
    setup: Setup,
    file: &Path,
    reference: &str,
    annotations: &[String],
    args: &RegistryArgs,
) -> Result<Output> {
    let reference = parse(reference)?;
    let mut extra = BTreeMap::new();
    for annotation in annotations {
        let (key, value) = annotation
            .split_once('=')
            .filter(|(key, _)| !key.is_empty())
            .with_context(|| format!("--annotation {annotation}: expected KEY=VALUE"))?;
        extra.insert(key.to_string(), value.to_string());
    }
    let bytes = read_module(file)?;
    let shown = file.display().to_string();
    let defined = describe(&setup.sandbox, &shown, &bytes)?;
    // The standard annotations say what it is; the command line's win.
    let mut annotations = BTreeMap::from([
        (
            "org.opencontainers.image.title".to_string(),
            defined.name.clone(),
        ),
        (
            "org.opencontainers.image.version".to_string(),
            defined.version.clone(),
        ),
        (
            "org.opencontainers.image.description".to_string(),
            defined.summary.clone(),
        ),
    ]);
    annotations.extend(extra);
    let pushed = client(args)?.push(&reference, &shown, &bytes, annotations)?;
    Ok(Output::print(format!(
        "pushed {} to {reference}\ndigest: {}\n",
        defined.what(),
        pushed.manifest_digest
    )))
}

/// `kiln definitions pull oci://…`: pulls the artifact, checks that it is a definition,
/// stores it, and prints its digest, name, kind and version.
pub fn pull(setup: Setup, reference: &str, args: &RegistryArgs) -> Result<Output> {
    let reference = parse(reference)?;
    let store = setup.store()?;
    let artifact = client(args)?.pull(&reference)?;
    let defined = store_definition(&setup.sandbox, store, &reference, &artifact)?;
    Ok(Output::print(format!(
        "pulled {reference}\ndigest: {}\nmodule: {}\ndefines: {}\n",
        artifact.manifest_digest,
        artifact.module_digest,
        defined.what()
    )))
}

/// `kiln definitions lock` without DIR: pulls each of the platform file's sources (a tag
/// resolved to the digest it names now), stores it, and writes the platform's lock file
/// with their pins beside those of files, which it keeps. Every source is pulled before
/// the lock is written: one failure writes nothing.
pub fn lock(flags: &Flags, args: &RegistryArgs) -> Result<Output> {
    let path = flags.platform.as_ref().context(
        "`kiln definitions lock` without DIR pins the platform file's definitions.sources: \
         give --platform FILE (or KILN_PLATFORM)",
    )?;
    let platform = read_for_lock(path)?;
    if platform.sources.is_empty() {
        bail!(
            "{}: definitions.sources lists nothing to lock (give DIR to lock a directory)",
            path.display()
        );
    }
    // `sources` requires `lock:`, which the platform's reader checked.
    let lock_file = platform
        .lock_file
        .as_ref()
        .map(|file| path.parent().unwrap_or(Path::new(".")).join(file))
        .context("the platform file has no lock:")?;
    let sandbox = setup::sandbox(flags, &platform)?;
    let store = setup::store(flags).context("no store: set --store DIR or KILN_STORE")?;
    let client = client(args)?;
    let mut pins = BTreeMap::new();
    let mut report = String::new();
    for source in &platform.sources {
        let artifact = client.pull(&source.reference)?;
        let defined = store_definition(&sandbox, &store, &source.reference, &artifact)?;
        let pin = Pin::source(
            source.text.clone(),
            artifact.manifest_digest.clone(),
            artifact.module_digest["sha256:".len()..].to_string(),
        );
        if pins.insert(defined.name.clone(), pin).is_some() {
            bail!(
                "{}: defines \"{}\", as another source does",
                source.text,
                defined.name
            );
        }
        let _ = writeln!(
            report,
            "  {}\n    {} → {}",
            source.text,
            artifact.manifest_digest,
            defined.what()
        );
    }
    let lock = platform.lock.unwrap_or_default().with_sources(pins);
    kiln::files::write_atomically(&lock_file, lock.to_yaml().as_bytes())
        .with_context(|| format!("writing {}", lock_file.display()))?;
    Ok(Output::print(format!(
        "pinned {} in {}\n{report}",
        count(platform.sources.len(), "source"),
        lock_file.display()
    )))
}

/// The platform file for `lock`: its lock file may not exist yet, or pin what an older
/// version of the file listed, so a missing one reads as empty.
fn read_for_lock(path: &Path) -> Result<Platform> {
    let context = || format!("reading the platform configuration {}", path.display());
    let text = std::fs::read_to_string(path).with_context(context)?;
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let source =
        kiln::app::Source::parse(path.display().to_string(), &text).with_context(context)?;
    let read_lock = |file: &Path| {
        let file = base.join(file);
        match std::fs::metadata(&file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Lock::default()),
            _ => Lock::read(&file),
        }
    };
    Platform::parse_with(source, &read_lock).with_context(context)
}

/// Pulls the platform's sources that the lock pins and the store lacks, by the pinned
/// manifest digest (never the tag, which may have moved): for `kiln cache warm`. Each
/// failure is a warning; what pulled is stored.
pub fn pull_missing(setup: &Setup, args: &RegistryArgs, warnings: &mut Vec<String>) {
    let Some(store) = &setup.store else {
        if !setup.platform.sources.is_empty() {
            warnings.push("warning: no store (set KILN_STORE): sources not pulled".into());
        }
        return;
    };
    let mut client = None;
    for source in &setup.platform.sources {
        let Some((_, pin)) = setup
            .platform
            .lock
            .as_ref()
            .and_then(|l| l.source(&source.text))
        else {
            warnings.push(format!(
                "warning: not pulled: {} is not pinned in the lock file; run `kiln definitions \
                 lock --platform FILE`",
                source.text
            ));
            continue;
        };
        let module = format!("sha256:{}", pin.sha256);
        if store.contains(&module) {
            continue;
        }
        let Some(manifest) = &pin.manifest else {
            continue;
        };
        let client = match client.get_or_insert_with(|| self::client(args)) {
            Ok(client) => client,
            Err(e) => {
                warnings.push(format!("warning: not pulled: {e:#}"));
                return;
            }
        };
        let pulled = client
            .pull(&source.reference.with_digest(manifest))
            .map_err(anyhow::Error::from)
            .and_then(|artifact| {
                if artifact.module_digest != module {
                    bail!(
                        "{}: its component is {}, not the {} the lock pins",
                        source.text,
                        artifact.module_digest,
                        module
                    );
                }
                store_definition(&setup.sandbox, store, &source.reference, &artifact)
            });
        if let Err(e) = pulled {
            warnings.push(format!("warning: not pulled: {e:#}"));
        }
    }
}

/// A registry client with the command line's credentials and TLS settings.
fn client(args: &RegistryArgs) -> Result<Client> {
    let credentials = match (&args.username, args.password_stdin) {
        (Some(username), true) => {
            let mut password = String::new();
            std::io::stdin()
                .take(64 * 1024)
                .read_to_string(&mut password)
                .context("reading the password from stdin")?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            if password.is_empty() {
                bail!("--password-stdin: stdin held no password");
            }
            Some(Credentials {
                username: username.clone(),
                password,
            })
        }
        _ => None,
    };
    Ok(Client::new(Options {
        credentials,
        ca_file: args.ca_file.clone(),
        insecure: args.insecure,
        ..Options::default()
    })?)
}

fn parse(reference: &str) -> Result<Reference> {
    reference.parse().map_err(|e: String| anyhow!(e))
}

fn read_module(file: &Path) -> Result<Vec<u8>> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    if size > kiln::definitions::MAX_MODULE_BYTES {
        bail!(
            "{}: the file is {size} bytes; definitions are limited to {}",
            file.display(),
            kiln::definitions::MAX_MODULE_BYTES
        );
    }
    std::fs::read(file).with_context(|| format!("reading {}", file.display()))
}

/// What a definition says it is.
struct Defined {
    name: String,
    kind: String,
    version: String,
    summary: String,
}

impl Defined {
    fn what(&self) -> String {
        format!("{} ({}, version {})", self.name, self.kind, self.version)
    }
}

/// Loads `bytes` as a render loads a definition (compiled in the sandbox, `describe` run,
/// its name checked) and says what it defines.
fn describe(sandbox: &Sandbox, origin: &str, bytes: &[u8]) -> Result<Defined> {
    let mut registry = Registry::builtin();
    // A definition may be meant to replace a built-in (--override-builtins at render).
    registry.add_modules(sandbox, vec![(origin.to_string(), bytes.to_vec())], true)?;
    let name = registry
        .external()
        .map(|(name, _, _)| name.to_string())
        .next()
        .context("the module defined nothing")?;
    let module = registry.module(sandbox, &name)?;
    let meta = &module.metadata;
    let defined = Defined {
        kind: registry
            .kind(&name)
            .map(|k| k.to_string())
            .unwrap_or_default(),
        version: meta.version.clone(),
        summary: meta
            .description
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
        name,
    };
    Ok(defined)
}

/// Checks that a pulled artifact is a definition, then stores it: a module that does not
/// load never enters the store.
fn store_definition(
    sandbox: &Sandbox,
    store: &Store,
    reference: &Reference,
    artifact: &Artifact,
) -> Result<Defined> {
    let defined = describe(sandbox, &reference.to_string(), &artifact.module)
        .with_context(|| format!("{reference} is not a Kiln definition"))?;
    artifact
        .store(store)
        .with_context(|| format!("storing {reference}"))?;
    Ok(defined)
}
