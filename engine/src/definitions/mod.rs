//! The registry of definitions: Kiln's built-ins (embedded in the binary), `.wasm`
//! components from directories the user names, and the platform's `oci://` sources, read
//! from the [`crate::store`] by the digests the [`Lock`] pins ([`Registry::add_sources`]).
//!
//! Only the built-ins an application uses are compiled and loaded ([`Registry::load`]).
//! External definitions are loaded when their directory (or source) is added, and named by
//! what their `describe` returns (the file name does not matter).

mod lock;
pub mod reference;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;

use crate::digest::{hex, sha256};
use crate::error::{Error, Result};
use crate::parameters::ParameterSchema;
use crate::sandbox::{Module, Precompiled, Sandbox, wit};
use crate::store::{Store, StoreError};
pub use lock::{Lock, Pin};
pub use reference::{Reference, SourceUse};

/// KubeVela built-ins Kiln does not ship, and why: both need more than the repository.
pub const UNAVAILABLE: &[(&str, &str)] = &[
    (
        "ref-objects",
        "it copies objects from a live cluster, which an offline renderer cannot read; \
         put the objects in the application with k8s-objects instead",
    ),
    (
        "helmchart",
        "it fetches a chart from a Helm repository at render time, which would make the \
         output depend on the network; render the chart with Argo CD's Helm support instead",
    ),
];

/// Why a KubeVela built-in that Kiln does not ship is missing, if `name` is one.
pub fn unavailable_reason(name: &str) -> Option<&'static str> {
    UNAVAILABLE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, why)| *why)
}

/// Largest definition file read.
pub const MAX_MODULE_BYTES: u64 = 64 * 1024 * 1024;
/// Most definition files read from one directory.
pub const MAX_DIRECTORY_FILES: usize = 64;
/// Most bytes of definition files read from one directory (a Python definition is ~18 MB).
pub const MAX_DIRECTORY_BYTES: u64 = 256 * 1024 * 1024;

/// Checks a directory of definitions by its listing, before any file is read: at most
/// [`MAX_DIRECTORY_FILES`] files, each at most [`MAX_MODULE_BYTES`], together at most
/// [`MAX_DIRECTORY_BYTES`]. `files` are (display name, size).
pub fn check_directory(dir: &str, files: &[(String, u64)]) -> Result<()> {
    let refuse = |module: &str, message: String| Error::Definition {
        module: module.to_string(),
        message,
    };
    if files.len() > MAX_DIRECTORY_FILES {
        return Err(refuse(
            dir,
            format!(
                "the directory holds {} definition files; at most {MAX_DIRECTORY_FILES} are read",
                files.len()
            ),
        ));
    }
    if let Some((name, size)) = files.iter().find(|(_, size)| *size > MAX_MODULE_BYTES) {
        return Err(refuse(
            name,
            format!("the file is {size} bytes; definitions are limited to {MAX_MODULE_BYTES}"),
        ));
    }
    let total: u64 = files.iter().map(|(_, size)| size).sum();
    if total > MAX_DIRECTORY_BYTES {
        return Err(refuse(
            dir,
            format!(
                "its definition files hold {total} bytes together; at most \
                 {MAX_DIRECTORY_BYTES} are read"
            ),
        ));
    }
    Ok(())
}

/// What a definition renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A component type.
    Workload,
    /// A trait.
    Trait,
    /// A platform policy.
    Policy,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Workload => "component type",
            Kind::Trait => "trait",
            Kind::Policy => "policy",
        })
    }
}

impl From<wit::Kind> for Kind {
    fn from(kind: wit::Kind) -> Kind {
        match kind {
            wit::Kind::Workload => Kind::Workload,
            wit::Kind::Trait => Kind::Trait,
            wit::Kind::Policy => Kind::Policy,
        }
    }
}

/// A built-in definition: a member of [`LIBRARY`], embedded by the build.
pub struct Builtin {
    pub name: &'static str,
    pub kind: Kind,
    /// sha256 of the sources it is built from and its name: unlike the library's digest,
    /// the same wherever Kiln is built (see `engine/build.rs`), so it names the built-in in
    /// the content revision of rendered objects.
    pub source: [u8; 32],
}

/// Kiln's standard library: one component (`traits/library`, of the `kiln:library` world)
/// whose members are the [`BUILTINS`], embedded by the build.
pub struct Library {
    /// sha256 of `bytes`, computed at build time.
    pub digest: [u8; 32],
    pub bytes: &'static [u8],
    /// `bytes` compiled at build time for the engine [`BUILTIN_ENGINE_KEY`] names.
    pub precompiled: &'static [u8],
}

/// Bytes aligned to a page: the library's precompiled artifact, placed by the build in the
/// executable's text so that it runs where the binary is mapped (see `sandbox::code`).
#[repr(C, align(4096))]
pub struct PageAligned<const N: usize>(pub [u8; N]);

include!(concat!(env!("OUT_DIR"), "/builtins.rs"));

/// Where a definition comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Builtin,
    /// A file the platform (or the user on their own machine) named: `-d DIR`.
    File(PathBuf),
    /// A file of the application's repository (`KILN_DEFINITIONS` in Argo CD): written by
    /// app authors, so it can never replace another definition or be a policy.
    Repository(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builtin => f.write_str("built-in"),
            Origin::File(path) | Origin::Repository(path) => write!(f, "{}", path.display()),
        }
    }
}

struct Entry {
    kind: Kind,
    origin: Origin,
    /// Its component: a file's, or for a built-in the library it is a member of.
    bytes: Cow<'static, [u8]>,
    digest: Option<[u8; 32]>,
    /// A built-in's: the library's artifact, compiled at build time.
    precompiled: Option<Precompiled>,
    /// External definitions are loaded when added (their kind is only known then).
    module: Option<Arc<Module>>,
    /// A built-in once loaded, with the sandbox it was loaded by: an application tree
    /// renders many applications with one registry, and loads each module once.
    loaded: OnceLock<(u64, Arc<Module>)>,
    /// Set while [`Registry::preload`] loads it: a render that needs it then waits rather
    /// than load it a second time.
    preloading: AtomicBool,
    /// The parameter schema, once compiled.
    schema: OnceLock<Arc<ParameterSchema>>,
}

/// The definitions known to a render, by name.
pub struct Registry {
    entries: BTreeMap<String, Entry>,
    /// When set, external definitions must be pinned in it.
    lock: Option<Lock>,
}

/// The modules an application uses, loaded, with their parameter schemas compiled (unless
/// they came from [`Registry::load_modules`]).
#[derive(Default)]
pub struct Loaded {
    modules: HashMap<String, Arc<Module>>,
    schemas: crate::parameters::Schemas,
}

impl Loaded {
    /// The loaded module `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Module>> {
        self.modules.get(name)
    }

    /// The parameter schemas of the loaded modules.
    pub fn schemas(&self) -> &crate::parameters::Schemas {
        &self.schemas
    }
}

impl Registry {
    /// The built-in definitions only.
    pub fn builtin() -> Registry {
        let entries = BUILTINS
            .iter()
            .map(|b| {
                let entry = Entry {
                    kind: b.kind,
                    origin: Origin::Builtin,
                    bytes: Cow::Borrowed(LIBRARY.bytes),
                    digest: Some(LIBRARY.digest),
                    precompiled: Some(Precompiled {
                        engine_key: BUILTIN_ENGINE_KEY,
                        artifact: LIBRARY.precompiled,
                    }),
                    module: None,
                    loaded: OnceLock::new(),
                    preloading: AtomicBool::new(false),
                    schema: OnceLock::new(),
                };
                (b.name.to_string(), entry)
            })
            .collect();
        Registry {
            entries,
            lock: None,
        }
    }

    /// Turns digest pinning on: from now on, an external definition loads only if its
    /// sha256 is in `lock` (checked before it is compiled) and it describes itself by the
    /// name it is pinned as.
    pub fn pin(&mut self, lock: Lock) {
        self.lock = Some(lock);
    }

    /// Adds every `*.wasm` in `dir`. A name that is already defined is an error, unless
    /// it is a built-in and `allow_override` is set.
    pub fn add_dir(&mut self, sandbox: &Sandbox, dir: &Path, allow_override: bool) -> Result<()> {
        let files = definition_files(dir)?
            .iter()
            .map(|path| Ok((path.display().to_string(), read_module_file(path)?)))
            .collect::<Result<Vec<_>>>()?;
        self.add_modules(sandbox, files, allow_override)
    }

    /// Adds definition components given as (where they came from, bytes), with the same
    /// rules as [`Registry::add_dir`].
    pub fn add_modules(
        &mut self,
        sandbox: &Sandbox,
        files: Vec<(String, Vec<u8>)>,
        allow_override: bool,
    ) -> Result<()> {
        self.add_files(sandbox, files, false, allow_override)
    }

    /// Adds the definitions the platform takes from registries, from `store`, exactly as
    /// the lock pins them: each source's module is read by its pinned digest, verified
    /// against it, and must describe itself by the name it is pinned as. Nothing here
    /// touches the network; a source not pulled yet is an error that says how to pull it.
    pub fn add_sources(
        &mut self,
        sandbox: &Sandbox,
        store: &Store,
        sources: &[SourceUse],
        allow_override: bool,
    ) -> Result<()> {
        let files = sources
            .iter()
            .map(|source| Ok((source.text.clone(), self.read_source(store, source)?)))
            .collect::<Result<Vec<_>>>()?;
        self.add_modules(sandbox, files, allow_override)
    }

    /// The module of `source`, as the lock pins it, from `store`.
    fn read_source(&self, store: &Store, source: &SourceUse) -> Result<Vec<u8>> {
        let refuse = |message: String| Error::Invalid {
            site: Box::new(source.site.clone()),
            message: format!("\"{}\": {message}", source.text),
        };
        let relock = "run `kiln definitions lock --platform FILE`";
        let pin = self
            .lock
            .as_ref()
            .and_then(|lock| lock.source(&source.text))
            .map(|(_, pin)| pin)
            .ok_or_else(|| refuse(format!("it is not pinned in the lock file; {relock}")))?;
        if let Some(wanted) = &source.reference.digest
            && pin.manifest.as_ref() != Some(wanted)
        {
            return Err(refuse(format!(
                "the lock pins manifest {} for it; {relock}",
                pin.manifest.as_deref().unwrap_or("(none)")
            )));
        }
        store
            .read(&format!("sha256:{}", pin.sha256), MAX_MODULE_BYTES)
            .map_err(|error| match error {
                StoreError::Missing { dir, .. } => refuse(format!(
                    "its module (sha256 {}) is not in the store {}; pull it with `kiln \
                     definitions pull {}` or `kiln cache warm --platform FILE`",
                    pin.sha256,
                    dir.display(),
                    source.text
                )),
                other => refuse(other.to_string()),
            })
    }

    /// Adds definitions from the application's repository: like [`Registry::add_modules`],
    /// but whatever the flags, one can never replace a definition that exists (built-in
    /// or the platform's) nor be a policy (the guardrails are the platform's).
    pub fn add_repository_modules(
        &mut self,
        sandbox: &Sandbox,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<()> {
        self.add_files(sandbox, files, true, false)
    }

    fn add_files(
        &mut self,
        sandbox: &Sandbox,
        files: Vec<(String, Vec<u8>)>,
        repository: bool,
        allow_override: bool,
    ) -> Result<()> {
        // Collected whole, then the first failure in file order: the same error every run.
        let loaded: Vec<Result<(String, Module)>> = files
            .par_iter()
            .map(|(origin, bytes)| load_module(sandbox, self.lock.as_ref(), origin, bytes))
            .collect();
        let loaded: Vec<(String, Module)> = loaded.into_iter().collect::<Result<_>>()?;
        for ((name, module), (origin, bytes)) in loaded.into_iter().zip(files) {
            let kind = Kind::from(module.metadata.kind);
            if repository && kind == Kind::Policy {
                return Err(Error::Definition {
                    module: origin,
                    message: format!(
                        "describes itself as policy \"{name}\": a repository's definitions \
                         cannot be policies (the guardrails are the platform's)"
                    ),
                });
            }
            if let Some(existing) = self.entries.get(&name) {
                let clash = match existing.origin {
                    Origin::Builtin if repository => Some(
                        "it clashes with the built-in of that name; a repository's definitions \
                         cannot replace built-ins"
                            .to_string(),
                    ),
                    Origin::Builtin if allow_override => None,
                    Origin::Builtin => Some(
                        "it clashes with the built-in of that name (pass --override-builtins \
                         to replace built-ins)"
                            .to_string(),
                    ),
                    Origin::File(ref other) | Origin::Repository(ref other) => {
                        Some(format!("it is also defined by {}", other.display()))
                    }
                };
                if let Some(message) = clash {
                    return Err(Error::Definition {
                        module: origin,
                        message,
                    });
                }
            }
            let origin = PathBuf::from(origin);
            let entry = Entry {
                kind,
                origin: if repository {
                    Origin::Repository(origin)
                } else {
                    Origin::File(origin)
                },
                digest: Some(module.digest),
                bytes: Cow::Owned(bytes),
                precompiled: None,
                module: Some(Arc::new(module)),
                loaded: OnceLock::new(),
                preloading: AtomicBool::new(false),
                schema: OnceLock::new(),
            };
            self.entries.insert(name, entry);
        }
        Ok(())
    }

    /// Every definition name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The definitions added from files: name, file and sha256.
    pub fn external(&self) -> impl Iterator<Item = (&str, &Path, [u8; 32])> {
        self.entries
            .iter()
            .filter_map(|(name, e)| match (&e.origin, e.digest) {
                (Origin::File(path) | Origin::Repository(path), Some(digest)) => {
                    Some((name.as_str(), path.as_path(), digest))
                }
                _ => None,
            })
    }

    /// The kind of definition `name`, if it exists.
    pub fn kind(&self, name: &str) -> Option<Kind> {
        self.entries.get(name).map(|e| e.kind)
    }

    /// Where definition `name` comes from.
    pub fn origin(&self, name: &str) -> Option<&Origin> {
        self.entries.get(name).map(|e| &e.origin)
    }

    /// True when `name` is a trait definition.
    pub fn is_trait(&self, name: &str) -> bool {
        self.kind(name) == Some(Kind::Trait)
    }

    /// The names of definitions of `kind`, sorted.
    pub fn names_of(&self, kind: Kind) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(_, e)| e.kind == kind)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The closest name of a `kind` definition to `name`, if one is close enough to be a
    /// likely typo.
    pub fn suggest(&self, name: &str, kind: Kind) -> Option<String> {
        self.names_of(kind)
            .into_iter()
            .map(|candidate| (strsim::damerau_levenshtein(name, &candidate), candidate))
            .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(1))
            .min()
            .map(|(_, candidate)| candidate)
    }

    /// Compiles (or loads from the cache) the modules `names` and their parameter schemas,
    /// in parallel.
    pub fn load(&self, sandbox: &Sandbox, names: &BTreeSet<&str>) -> Result<Loaded> {
        let mut loaded = self.load_modules(sandbox, names)?;
        loaded.schemas = self.compile_schemas(&loaded)?;
        Ok(loaded)
    }

    /// Compiles (or loads from the cache) the modules `names`, in parallel, leaving their
    /// parameter schemas to [`Registry::compile_schemas`].
    pub fn load_modules(&self, sandbox: &Sandbox, names: &BTreeSet<&str>) -> Result<Loaded> {
        // The first built-in links the library the others share: on this thread, before
        // they are asked for in parallel, so that they do not all link it at once. Its
        // error, if any, is reported below with the others'.
        if let Some(first) = names.iter().find(|name| {
            self.entries
                .get(**name)
                .is_some_and(|e| e.precompiled.is_some() && e.loaded_by(sandbox).is_none())
        }) {
            let _ = self.module(sandbox, first);
        }
        // Collected whole, then the first failure by name: the same error every run.
        let loaded: Vec<Result<(String, Arc<Module>)>> = names
            .par_iter()
            .map(|name| Ok((name.to_string(), self.module(sandbox, name)?)))
            .collect();
        let modules = loaded.into_iter().collect::<Result<HashMap<_, _>>>()?;
        Ok(Loaded {
            modules,
            schemas: crate::parameters::Schemas::default(),
        })
    }

    /// Compiles the parameter schemas of the modules in `loaded`, in parallel.
    pub fn compile_schemas(&self, loaded: &Loaded) -> Result<crate::parameters::Schemas> {
        let mut names: Vec<&String> = loaded.modules.keys().collect();
        names.sort();
        // The first failure by name, as for modules.
        let compiled: Vec<Result<(&String, Arc<ParameterSchema>)>> = names
            .par_iter()
            .map(|&name| Ok((name, self.schema(name, &loaded.modules[name])?)))
            .collect();
        let mut schemas = crate::parameters::Schemas::default();
        for result in compiled {
            let (name, schema) = result?;
            schemas.insert(name, schema);
        }
        Ok(schemas)
    }

    /// The compiled parameter schema of definition `name` (loaded as `module`), compiled
    /// once per process: it depends only on the module's bytes.
    fn schema(&self, name: &str, module: &Module) -> Result<Arc<ParameterSchema>> {
        let entry = self.entries.get(name).ok_or_else(|| Error::Definition {
            module: name.to_string(),
            message: "no such definition".into(),
        })?;
        if let Some(schema) = entry.schema.get() {
            return Ok(schema.clone());
        }
        let schema = Arc::new(ParameterSchema::compile(
            name,
            &module.metadata.parameter_schema,
        )?);
        // A race compiles twice and keeps one: harmless.
        Ok(entry.schema.get_or_init(|| schema).clone())
    }

    /// The module `name`, loaded.
    pub fn module(&self, sandbox: &Sandbox, name: &str) -> Result<Arc<Module>> {
        let entry = self.entries.get(name).ok_or_else(|| Error::Definition {
            module: name.to_string(),
            message: "no such definition".into(),
        })?;
        if let Some(module) = &entry.module {
            return Ok(module.clone());
        }
        while entry.preloading.load(Ordering::Acquire) && entry.loaded_by(sandbox).is_none() {
            // Another thread loads it (`preload`): run the pool's other jobs meanwhile,
            // which keeps every thread that could be needed for that load working.
            if rayon::yield_now() != Some(rayon::Yield::Executed) {
                std::thread::yield_now();
            }
        }
        self.load_entry(sandbox, name, entry)
    }

    /// Starts loading, on the thread pool, the built-ins among `names` that `sandbox` has
    /// not loaded and can map from the library's precompiled artifact, so that they load
    /// while the caller does something else (parse the application they come from: see
    /// [`crate::app::Text::type_names`]). One job loads them in turn: they are members of
    /// one library, which the first of them links. A name that is not a built-in, or that
    /// fails to load, is left to the render: it reports what the parse finds, and loads
    /// (and fails) again then.
    pub fn preload<'s, 'n>(
        &'s self,
        scope: &rayon::Scope<'s>,
        sandbox: &'s Sandbox,
        names: impl IntoIterator<Item = &'n str>,
    ) {
        let mut entries = Vec::new();
        for name in names {
            let Some((name, entry)) = self.entries.get_key_value(name) else {
                continue;
            };
            // Only a load that maps the library's precompiled artifact: one that compiles
            // runs Cranelift's jobs on this same thread pool, and a render thread that
            // waits for it (`module`) could have stolen one of them, below its wait on its
            // own stack: neither would ever finish (seen in a render whose limits gave an
            // engine that cannot use the artifacts). Such a load is left to the render's own
            // parallel load, which waits for nothing.
            let maps_in_place = entry
                .precompiled
                .as_ref()
                .is_some_and(|p| p.engine_key == sandbox.engine_key());
            if entry.module.is_some()
                || !maps_in_place
                || entry.loaded_by(sandbox).is_some()
                || entry.preloading.swap(true, Ordering::AcqRel)
            {
                continue;
            }
            entries.push((name, entry));
        }
        if entries.is_empty() {
            return;
        }
        scope.spawn(move |_| {
            for (name, entry) in entries {
                let _ = self.load_entry(sandbox, name, entry);
                entry.preloading.store(false, Ordering::Release);
            }
        });
    }

    /// Loads the built-in `entry` in `sandbox`, unless it has already.
    fn load_entry(&self, sandbox: &Sandbox, name: &str, entry: &Entry) -> Result<Arc<Module>> {
        if let Some(module) = entry.loaded_by(sandbox) {
            return Ok(module.clone());
        }
        let module = match (entry.precompiled, entry.digest) {
            (Some(precompiled), Some(digest)) => {
                sandbox.load_builtin(name, &entry.bytes, digest, precompiled)
            }
            _ => sandbox.load(name, &entry.bytes, entry.digest),
        }
        .map_err(|message| Error::Definition {
            module: format!("{name} ({})", entry.origin),
            message: message.to_string(),
        })?;
        if module.metadata.name != name || Kind::from(module.metadata.kind) != entry.kind {
            return Err(Error::Definition {
                module: format!("{name} ({})", entry.origin),
                message: format!(
                    "describes itself as {} \"{}\"",
                    Kind::from(module.metadata.kind),
                    module.metadata.name
                ),
            });
        }
        let module = Arc::new(module);
        // Two sandboxes, or a render racing past a preload that failed: one is kept.
        let _ = entry.loaded.set((sandbox.id(), module.clone()));
        Ok(module)
    }
}

impl Entry {
    /// The module, if `sandbox` loaded it.
    fn loaded_by(&self, sandbox: &Sandbox) -> Option<&Arc<Module>> {
        self.loaded
            .get()
            .filter(|(id, _)| *id == sandbox.id())
            .map(|(_, module)| module)
    }
}

/// The `*.wasm` files of `dir`, sorted, after [`check_directory`] has passed their count
/// and sizes: nothing is read yet.
pub fn definition_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| Error::Io { path, error }
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .map_err(io(dir))?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "wasm") && p.is_file());
    paths.sort();
    let sizes = paths
        .iter()
        .map(|p| {
            let size = std::fs::metadata(p).map_err(io(p))?.len();
            Ok((p.display().to_string(), size))
        })
        .collect::<Result<Vec<_>>>()?;
    check_directory(&dir.display().to_string(), &sizes)?;
    Ok(paths)
}

fn read_module_file(path: &Path) -> Result<Vec<u8>> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        error: source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_MODULE_BYTES {
        return Err(Error::Definition {
            module: path.display().to_string(),
            message: format!(
                "the file is {size} bytes; definitions are limited to {MAX_MODULE_BYTES}"
            ),
        });
    }
    std::fs::read(path).map_err(io)
}

/// Loads one external definition and names it by what it describes itself as. With a
/// `lock`, the module must be pinned there, under that name.
fn load_module(
    sandbox: &Sandbox,
    lock: Option<&Lock>,
    origin: &str,
    bytes: &[u8],
) -> Result<(String, Module)> {
    if bytes.len() as u64 > MAX_MODULE_BYTES {
        return Err(Error::Definition {
            module: origin.to_string(),
            message: format!(
                "the file is {} bytes; definitions are limited to {MAX_MODULE_BYTES}",
                bytes.len()
            ),
        });
    }
    let stem = Path::new(origin)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("module");
    let refuse = |message| Error::Definition {
        module: origin.to_string(),
        message,
    };
    let digest = sha256(bytes);
    let pinned = match lock {
        Some(lock) => Some(lock.check(origin, &hex(&digest)).map_err(refuse)?),
        None => None,
    };
    let mut module = sandbox
        .load(stem, bytes, Some(digest))
        .map_err(|e| refuse(e.to_string()))?;
    let name = module.metadata.name.clone();
    if let Some(pinned) = pinned.filter(|pinned| *pinned != name) {
        return Err(refuse(format!(
            "describes itself as \"{name}\" but its digest is pinned as \"{pinned}\""
        )));
    }
    if !valid_name(&name) {
        return Err(Error::Definition {
            module: origin.to_string(),
            message: format!(
                "describes itself as \"{name}\", which is not a valid definition name \
                 (lowercase letters, digits and '-')"
            ),
        });
    }
    module.name = name.clone();
    Ok((name, module))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests;
