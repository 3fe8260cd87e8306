//! What a definition may import and must export, checked before it costs anything.
//!
//! Imports are read from the component's bytes with `wasmparser` before Cranelift sees
//! them: a module that imports anything beyond Kiln's types and WASI 0.2 is refused, by
//! name, without compiling it. Exports are checked on the compiled component's type.

use wasmparser::{ComponentTypeRef, Encoding, Parser, Payload};
use wasmtime::Engine;
use wasmtime::component::{Component, types::ComponentItem};

/// The imports a definition may have: interface names without their `@version`, and the
/// versions accepted. Kiln's world imports only its types; Rust's standard library
/// imports WASI's CLI, I/O, clock, random, filesystem and socket interfaces, which the
/// sandbox links with nothing granted (no preopened directory, no environment, every
/// address refused, pinned clocks and randomness).
pub const ALLOWED_IMPORTS: &[(&str, &str)] = &[
    ("kiln:definition/types", "0.1.0"),
    ("wasi:cli/", "0.2."),
    ("wasi:io/", "0.2."),
    ("wasi:clocks/", "0.2."),
    ("wasi:random/", "0.2."),
    ("wasi:filesystem/", "0.2."),
    ("wasi:sockets/", "0.2."),
];

/// The functions a definition must export.
const REQUIRED_EXPORTS: &[&str] = &["describe", "render"];

/// Reads the imports of the component `bytes` without compiling it, and refuses one that
/// is not allowed (or bytes that are not a component).
pub(super) fn check_imports(bytes: &[u8]) -> Result<(), String> {
    if !bytes.starts_with(b"\0asm") {
        return Err("not a WebAssembly file (it does not start with \\0asm)".into());
    }
    let invalid = |e: wasmparser::BinaryReaderError| {
        let message = e.message();
        format!(
            "not a valid WebAssembly component: {} (at byte {})",
            message.lines().next().unwrap_or(message),
            e.offset()
        )
    };
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(invalid)?;
        match payload {
            Payload::Version { encoding, .. } if depth == 0 && encoding != Encoding::Component => {
                return Err(
                    "is a core WebAssembly module, not a component (build it for \
                            wasm32-wasip2, or wrap it with `wasm-tools component new`)"
                        .into(),
                );
            }
            // Nested modules and components import from their parent, which checks.
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) if depth == 0 => break,
            Payload::End(_) => depth -= 1,
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    let import = import.map_err(invalid)?;
                    // A type import names a type the world shares (`metadata`), and grants
                    // nothing: only what can be called is checked.
                    if !matches!(import.ty, ComponentTypeRef::Type(_)) {
                        refuse_unless_allowed(import.name.name)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn refuse_unless_allowed(name: &str) -> Result<(), String> {
    if import_allowed(name) {
        return Ok(());
    }
    Err(format!(
        "imports \"{name}\", which is not allowed: definitions may import only \
         kiln:definition/types@0.1.0 and WASI 0.2 (cli, io, clocks, random, filesystem, \
         sockets)"
    ))
}

/// Refuses a compiled component whose imports go beyond [`ALLOWED_IMPORTS`] (an artifact
/// from the cache was checked before it was compiled, but checking again costs nothing) or
/// that lacks Kiln's exports, naming the offending import or the missing export.
pub(super) fn check_component(engine: &Engine, component: &Component) -> Result<(), String> {
    let ty = component.component_type();
    for (name, _) in ty.imports(engine) {
        refuse_unless_allowed(name)?;
    }
    let exports: Vec<(&str, ComponentItem)> = ty
        .exports(engine)
        .map(|(name, item)| (name, item.ty))
        .collect();
    for required in REQUIRED_EXPORTS {
        if !exports
            .iter()
            .any(|(name, item)| name == required && matches!(item, ComponentItem::ComponentFunc(_)))
        {
            let found: Vec<&str> = exports.iter().map(|(name, _)| *name).collect();
            return Err(format!(
                "does not export the function \"{required}\" of the kiln:definition@0.1.0 \
                 world (it exports: {})",
                if found.is_empty() {
                    "nothing".to_string()
                } else {
                    found.join(", ")
                }
            ));
        }
    }
    Ok(())
}

/// Whether an import name (`wasi:io/streams@0.2.6`) is on [`ALLOWED_IMPORTS`].
fn import_allowed(name: &str) -> bool {
    let (interface, version) = name.split_once('@').unwrap_or((name, ""));
    ALLOWED_IMPORTS.iter().any(|(allowed, versions)| {
        let interface_ok = match allowed.strip_suffix('/') {
            Some(package) => interface
                .strip_prefix(package)
                .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1),
            None => interface == *allowed,
        };
        interface_ok && version.starts_with(versions)
    })
}

#[cfg(test)]
mod tests;
