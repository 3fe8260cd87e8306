//! Builds Kiln's standard library (the guest crates in `traits/`) for `wasm32-wasip2` and
//! embeds it in the binary, so a fresh clone needs nothing but `cargo build`.
//!
//! Every built-in definition is a member of one component, `traits/library`, of the
//! `kiln:library` world (`sdk/wit/library/`): a render maps, links and instantiates one
//! module however many built-ins it uses. The guests are their own workspace, built by a
//! nested cargo into `<target>/wasm-guests` (never the outer target dir itself: its lock is
//! held). The `.wasm` file is copied into `OUT_DIR` only when its bytes change, and
//! `builtins.rs` there lists the members and embeds the library with `include_bytes!`.
//!
//! The library is also precompiled here, with the engine configuration the sandbox uses
//! by default (`src/sandbox/engine_config.rs`, compiled into this script too), so that a
//! first run with an empty cache compiles nothing: loading the artifact takes well under a
//! millisecond, Cranelift seconds. The sandbox uses the artifact only when its engine's
//! compatibility key equals the one recorded here (same wasmtime, configuration and CPU
//! features); otherwise it compiles, as before.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

#[path = "src/sandbox/engine_config.rs"]
mod engine_config;

const TARGET: &str = "wasm32-wasip2";

/// The crate (`traits/library`) that links every definition into one component.
const LIBRARY_CRATE: &str = "kiln-library";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .expect("engine/ has a parent")
        .to_path_buf();
    let traits = root.join("traits");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));

    let guests = guest_crates(&traits);
    let sources = sources_digest(&root, &traits, &guests);
    rerun_if_changed(&root, &traits, &guests);
    // Library crates shared by guests (under `lib/`) and the library component itself are
    // not definitions.
    let definitions: Vec<(String, &str)> = guests
        .iter()
        .filter_map(|member| Some((member.clone(), guest_kind(&traits, member)?)))
        .collect();
    check_library_members(&traits, &definitions);
    check_target();

    let target_dir = guest_target_dir(&out_dir);
    build_guests(&traits, &target_dir);

    let release = target_dir.join(TARGET).join("release");
    let engine = wasmtime::Engine::new(&engine_config::engine_config(
        false,
        engine_config::DEFAULT_MEMORY,
        engine_config::DEFAULT_STACK,
    ))
    .expect("a wasmtime engine for precompiling the built-ins");
    let engine_key = engine_config::engine_key(&engine);

    // The one component every built-in is a member of.
    let file = format!("{}.wasm", LIBRARY_CRATE.replace('-', "_"));
    let built = release.join(&file);
    let bytes = fs::read(&built)
        .unwrap_or_else(|e| panic!("the guest build produced no {}: {e}", built.display()));
    let embedded = out_dir.join(&file);
    if fs::read(&embedded).ok().as_deref() != Some(&bytes[..]) {
        fs::write(&embedded, &bytes).expect("write OUT_DIR");
    }
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    let artifact = precompile(&engine, &engine_key, &out_dir, &file, &bytes, &digest);
    let length = fs::metadata(out_dir.join(&artifact))
        .expect("the artifact just written")
        .len();

    let mut table = String::from("/// The built-in definitions, members of [`LIBRARY`].\n");
    table.push_str("pub static BUILTINS: &[Builtin] = &[\n");
    for (member, kind) in &definitions {
        // The member's directory is the definition's name: `workloads/webservice` is
        // `webservice`.
        let name = member.rsplit('/').next().unwrap_or(member);
        let source: [u8; 32] = Sha256::new()
            .chain_update(sources)
            .chain_update(name.as_bytes())
            .finalize()
            .into();
        table.push_str(&format!(
            "    Builtin {{ name: {name:?}, kind: Kind::{kind}, source: {source:?} }},\n"
        ));
    }
    table.push_str("];\n");
    // The artifact goes into the executable's text, page-aligned: the sandbox runs it where
    // the binary is mapped, without a copy (see `sandbox::code`).
    table.push_str(&format!(
        "#[cfg_attr(all(target_os = \"linux\", target_env = \"gnu\"), \
         unsafe(link_section = \".text.kiln_builtin_artifacts\"))]\n\
         static LIBRARY_ARTIFACT: PageAligned<{length}> = \
         PageAligned(*include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{artifact}\")));\n\
         /// Kiln's standard library: the component every built-in is a member of.\n\
         pub static LIBRARY: Library = Library {{ digest: {digest:?}, \
         bytes: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{file}\")), \
         precompiled: &LIBRARY_ARTIFACT.0 }};\n"
    ));
    table.push_str(&format!(
        "/// The engine key the built-ins were precompiled for.\n\
         pub static BUILTIN_ENGINE_KEY: &str = {engine_key:?};\n"
    ));
    let table_path = out_dir.join("builtins.rs");
    if fs::read_to_string(&table_path).ok().as_deref() != Some(table.as_str()) {
        fs::write(&table_path, table).expect("write builtins.rs");
    }
}

/// Precompiles the component `file` (`bytes`, whose sha256 is `digest`) into `OUT_DIR`
/// unless an artifact for the same bytes and engine is there; returns the artifact's file
/// name. The name holds the digest and the engine key, so a stale artifact is never used.
fn precompile(
    engine: &wasmtime::Engine,
    engine_key: &str,
    out_dir: &Path,
    file: &str,
    bytes: &[u8],
    digest: &[u8; 32],
) -> String {
    let short: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let stem = file.trim_end_matches(".wasm");
    let name = format!("{stem}-{short}-{engine_key}.cwasm");
    let path = out_dir.join(&name);
    if !path.is_file() {
        let artifact = engine
            .precompile_component(bytes)
            .unwrap_or_else(|e| panic!("precompiling the built-in {file}: {e:?}"));
        let partial = out_dir.join(format!("{name}.partial"));
        fs::write(&partial, artifact).expect("write an artifact to OUT_DIR");
        fs::rename(&partial, &path).expect("move an artifact into place in OUT_DIR");
        // Older artifacts of this guest (other bytes or engine) are no longer listed.
        if let Ok(entries) = fs::read_dir(out_dir) {
            for entry in entries.flatten() {
                let other = entry.file_name().to_string_lossy().into_owned();
                if other != name
                    && other.starts_with(&format!("{stem}-"))
                    && other.ends_with(".cwasm")
                {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }
    name
}

/// `Workload`, `Trait` or `Policy`, from `[package.metadata.kiln] kind = "..."` of the
/// Cargo.toml of the guest `member` (a path below `traits/`): the registry must know which
/// names are traits before it loads any module. `None` for a library crate, the members
/// under `lib/`, and for the library component (`library`). The kind must be the one of
/// the member's directory (`workloads/`, `traits/`, `policies/`), so the layout of
/// `traits/` says what each crate is.
fn guest_kind(traits: &Path, member: &str) -> Option<&'static str> {
    let directory = member.split('/').next().unwrap_or_default();
    if directory == "lib" || member == "library" {
        return None;
    }
    let manifest = traits.join(member).join("Cargo.toml");
    let text = fs::read_to_string(&manifest).expect("read a guest Cargo.toml");
    let mut in_section = false;
    let mut kind = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[package.metadata.kiln]";
        } else if in_section && let Some(value) = line.strip_prefix("kind") {
            kind = Some(value.trim_start_matches([' ', '=']).trim_matches('"'));
        }
    }
    match (directory, kind) {
        ("workloads", Some("workload")) => Some("Workload"),
        ("traits", Some("trait")) => Some("Trait"),
        ("policies", Some("policy")) => Some("Policy"),
        (_, kind) => panic!(
            "{}: a member of traits/ is a library under lib/, or a definition whose \
             [package.metadata.kiln] kind is that of its directory (workloads/ workload, \
             traits/ trait, policies/ policy); found kind {kind:?} under {directory:?}",
            manifest.display()
        ),
    }
}

/// Fails the build, with the fix, when `traits/library` leaves out a definition of the
/// workspace: a built-in missing from the component would only fail when first used.
fn check_library_members(traits: &Path, definitions: &[(String, &str)]) {
    let manifest = traits.join("library/Cargo.toml");
    let text = fs::read_to_string(&manifest).expect("read traits/library/Cargo.toml");
    let source = fs::read_to_string(traits.join("library/src/lib.rs"))
        .expect("read traits/library/src/lib.rs");
    for (member, _) in definitions {
        let name = member.rsplit('/').next().unwrap_or(member);
        let dependency = format!("{name} = {{ path = \"../{member}\" }}");
        let export = format!("{}::__KilnDefinition", name.replace('-', "_"));
        if !text.contains(&dependency) || !source.contains(&export) {
            println!(
                "cargo::error=the definition {member} is not in Kiln's standard library: add \
                 `{dependency}` to traits/library/Cargo.toml and `{export},` to \
                 traits/library/src/lib.rs"
            );
            std::process::exit(0);
        }
    }
}

/// The member crates of `traits/` (paths such as `workloads/webservice`), from its
/// workspace `members` list.
fn guest_crates(traits: &Path) -> Vec<String> {
    let manifest = fs::read_to_string(traits.join("Cargo.toml")).expect("read traits/Cargo.toml");
    let start = manifest
        .find("members")
        .and_then(|i| manifest[i..].find('[').map(|j| i + j + 1))
        .expect("traits/Cargo.toml has a members list");
    let end = start
        + manifest[start..]
            .find(']')
            .expect("the members list is closed");
    manifest[start..end]
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .flat_map(|line| line.split(','))
        .map(|item| item.trim().trim_matches('"').to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

fn rerun_if_changed(root: &Path, traits: &Path, guests: &[String]) {
    let mut paths = vec![
        traits.join("Cargo.toml"),
        traits.join("Cargo.lock"),
        root.join("sdk/wit"),
        root.join("sdk/Cargo.toml"),
        root.join("sdk/src"),
    ];
    for name in guests {
        paths.push(traits.join(name).join("Cargo.toml"));
        paths.push(traits.join(name).join("src"));
    }
    for path in paths {
        println!("cargo::rerun-if-changed={}", path.display());
    }
    println!("cargo::rerun-if-env-changed=CARGO_HOME");
}

/// Fails early, with the fix, when the wasm target is not installed.
fn check_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output();
    let installed = match libdir {
        Ok(out) if out.status.success() => {
            Path::new(String::from_utf8_lossy(&out.stdout).trim()).is_dir()
        }
        _ => false,
    };
    if !installed {
        println!(
            "cargo::error=the Rust target {TARGET} is not installed; Kiln's built-in \
             definitions are compiled to it. Run: rustup target add {TARGET}"
        );
        std::process::exit(0);
    }
}

/// `<target>/wasm-guests`: the first ancestor of OUT_DIR holding `CACHEDIR.TAG` is the
/// outer target dir, shared by every profile, so guests build once.
fn guest_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(|target| target.join("wasm-guests"))
        .unwrap_or_else(|| out_dir.join("wasm-guests"))
}

fn build_guests(traits: &Path, target_dir: &Path) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    // The library only: it is the one component, and the definitions are the rlibs it
    // links.
    cmd.args(["build", "--release", "--locked", "--target", TARGET])
        .args(["--package", LIBRARY_CRATE])
        .arg("--manifest-path")
        .arg(traits.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    // The host's flags and wrappers are not the guests' (they broke the guest link, and
    // clippy's wrapper would lint the guests inside this build script).
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
    ] {
        cmd.env_remove(var);
    }
    // The same sources give the same bytes wherever they are checked out: panic locations
    // would otherwise embed the checkout's and the registry's absolute paths, and the
    // built-ins' digests (which name them in caches, locks and the content revision of
    // every rendered object) would depend on the directory Kiln was built in.
    let root = traits.parent().unwrap_or(traits);
    let mut flags = vec![format!("--remap-path-prefix={}=/kiln", root.display())];
    if let Some(cargo_home) = cargo_home() {
        flags.push(format!(
            "--remap-path-prefix={}=/cargo",
            cargo_home.display()
        ));
    }
    cmd.env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"));
    let out = cmd.output().expect("run cargo for the guest crates");
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        for line in stderr.lines() {
            println!("cargo::warning={line}");
        }
        println!("cargo::error=building the built-in definitions in traits/ failed (see above)");
        std::process::exit(0);
    }
}

/// Cargo's home (`CARGO_HOME`, or `~/.cargo`), where the registry's sources are.
fn cargo_home() -> Option<PathBuf> {
    env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
}

/// sha256 of the standard library's sources (every guest crate, the SDK and its WIT, the
/// guests' lock file), by path relative to the repository: what the built-ins are built
/// from, the same wherever the repository is checked out (their compiled bytes are not:
/// cargo's metadata hashes include the checkout's path).
fn sources_digest(root: &Path, traits: &Path, guests: &[String]) -> [u8; 32] {
    // The inputs `rerun_if_changed` names: what a change of rebuilds the built-ins.
    let mut files = vec![
        traits.join("Cargo.toml"),
        traits.join("Cargo.lock"),
        root.join("sdk/Cargo.toml"),
    ];
    files.extend(guests.iter().map(|g| traits.join(g).join("Cargo.toml")));
    let dirs = guests
        .iter()
        .map(|g| traits.join(g).join("src"))
        .chain([root.join("sdk/src"), root.join("sdk/wit")]);
    for dir in dirs {
        collect_files(&dir, &mut files);
    }
    let mut relative: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|f| {
            let name = f.strip_prefix(root).unwrap_or(&f).display().to_string();
            (name, f)
        })
        .collect();
    relative.sort();
    let mut hash = Sha256::new();
    for (name, path) in relative {
        let bytes = fs::read(&path).unwrap_or_default();
        hash.update((name.len() as u64).to_le_bytes());
        hash.update(name.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    hash.finalize().into()
}

/// Every file under `dir`, but build outputs (`target/`).
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if entry.file_name() != "target" {
                collect_files(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}
