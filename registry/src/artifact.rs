//! The Wasm OCI artifact format (CNCF TAG-Runtime, as the Bytecode Alliance's `oci-wasm`
//! writes it): what Kiln pushes, and the only shape it pulls.
//!
//! - an OCI image manifest (`application/vnd.oci.image.manifest.v1+json`);
//! - its config, `application/vnd.wasm.config.v0+json`: `architecture: wasm`,
//!   `os: wasip2`, the layer's digest, and the component's exports, imports and target
//!   world;
//! - exactly one layer, `application/wasm`: the component.
//!
//! Anything else (a container image, an index of several platforms, two layers) is refused
//! before a blob is downloaded.

use std::collections::BTreeMap;

use kiln::store::{Store, StoreError};
use oci_client::client::{Config, ImageLayer};
use oci_client::manifest::{OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciImageManifest};
use serde::Serialize;
use serde_json::Value;

/// The manifest's media type.
pub const MANIFEST_MEDIA_TYPE: &str = OCI_IMAGE_MEDIA_TYPE;
/// The config's media type.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The one layer's media type.
pub const LAYER_MEDIA_TYPE: &str = "application/wasm";
/// The WIT world every Kiln definition targets (`sdk/wit/definition.wit`), written as the
/// config's `component.target`.
pub const TARGET_WORLD: &str = "kiln:definition/definition@0.1.0";
/// Largest manifest read (the distribution registry's own limit is 4 MiB).
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
/// Largest config read: it lists a component's exports and imports, a few KiB.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// A pulled definition, every part verified against its digest, not yet stored.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The manifest's digest (`sha256:HEX`): what a reference pins.
    pub manifest_digest: String,
    /// The manifest, as the registry sent it.
    pub manifest: Vec<u8>,
    /// The config blob.
    pub config: Vec<u8>,
    /// The component.
    pub module: Vec<u8>,
    /// The component's digest (`sha256:HEX`): what the lock pins and the store holds.
    pub module_digest: String,
    /// The manifest's annotations.
    pub annotations: BTreeMap<String, String>,
}

impl Artifact {
    /// Writes the artifact to `store`: the component first and the manifest last, each
    /// blob whole, so a store that holds a manifest holds what it names.
    pub fn store(&self, store: &Store) -> Result<(), StoreError> {
        store.write(&self.module)?;
        store.write(&self.config)?;
        store.write(&self.manifest)?;
        Ok(())
    }
}

/// A blob a manifest names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// Its media type.
    pub media_type: String,
    /// Its digest, `sha256:HEX`.
    pub digest: String,
    /// Its size in bytes, as the manifest declares it.
    pub size: u64,
}

/// A manifest that is a Wasm OCI artifact: its config and its one layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmManifest {
    /// The config blob.
    pub config: Descriptor,
    /// The component.
    pub layer: Descriptor,
    /// The manifest's annotations.
    pub annotations: BTreeMap<String, String>,
}

/// Reads `bytes` as a Wasm OCI artifact's manifest, or says, in words, what it is instead.
pub fn read_manifest(bytes: &[u8]) -> Result<WasmManifest, String> {
    let manifest: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the manifest is not JSON: {e}"))?;
    let media_type = manifest.get("mediaType").and_then(Value::as_str);
    match media_type {
        None | Some(MANIFEST_MEDIA_TYPE) => {}
        Some(OCI_IMAGE_INDEX_MEDIA_TYPE)
        | Some("application/vnd.docker.distribution.manifest.list.v2+json") => {
            return Err("it is an image index (one entry per platform), not one artifact".into());
        }
        Some("application/vnd.docker.distribution.manifest.v2+json") => {
            return Err("it is a Docker image manifest, not an OCI artifact".into());
        }
        Some(other) => {
            return Err(format!(
                "its manifest is {other}, not {MANIFEST_MEDIA_TYPE}"
            ));
        }
    }
    if manifest.get("schemaVersion").and_then(Value::as_u64) != Some(2) {
        return Err("its manifest's schemaVersion is not 2".into());
    }
    if manifest.get("manifests").is_some() {
        return Err("it is an image index (one entry per platform), not one artifact".into());
    }
    let config = descriptor(manifest.get("config"), "config")?;
    if config.media_type != CONFIG_MEDIA_TYPE {
        let what = match config.media_type.as_str() {
            "application/vnd.oci.image.config.v1+json"
            | "application/vnd.docker.container.image.v1+json" => " (a container image)",
            _ => "",
        };
        return Err(format!(
            "its config is {}{what}, not {CONFIG_MEDIA_TYPE}",
            config.media_type
        ));
    }
    let layers = manifest
        .get("layers")
        .and_then(Value::as_array)
        .ok_or("its manifest has no layers")?;
    let [layer] = layers.as_slice() else {
        return Err(format!(
            "it has {} layers; a Wasm artifact has exactly one, the component",
            layers.len()
        ));
    };
    let layer = descriptor(Some(layer), "layer")?;
    if layer.media_type != LAYER_MEDIA_TYPE {
        return Err(format!(
            "its layer is {}, not {LAYER_MEDIA_TYPE}",
            layer.media_type
        ));
    }
    let annotations = manifest
        .get("annotations")
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Ok(WasmManifest {
        config,
        layer,
        annotations,
    })
}

fn descriptor(value: Option<&Value>, what: &str) -> Result<Descriptor, String> {
    let value = value.ok_or_else(|| format!("its manifest has no {what}"))?;
    let field = |name: &str| value.get(name);
    let media_type = field("mediaType")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("its {what} has no mediaType"))?;
    let digest = field("digest")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("its {what} has no digest"))?;
    let digest = kiln::digest::parse_oci(digest).map_err(|e| format!("its {what}'s {e}"))?;
    let size = field("size")
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("its {what} has no size"))?;
    Ok(Descriptor {
        media_type: media_type.to_string(),
        digest,
        size,
    })
}

/// The config of a Wasm OCI artifact, field for field as `oci-wasm`'s `WasmConfig` writes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WasmConfig {
    /// RFC 3339: `SOURCE_DATE_EPOCH` when set (a reproducible push), else now.
    created: String,
    architecture: &'static str,
    os: &'static str,
    layer_digests: Vec<String>,
    component: Component,
}

/// What the component imports and exports, and the world it targets.
#[derive(Serialize)]
struct Component {
    exports: Vec<String>,
    imports: Vec<String>,
    target: &'static str,
}

/// What is pushed for `module`: the config (exports and imports read from the component
/// itself), the layer, and the manifest with `annotations`.
pub fn build(
    module: &[u8],
    annotations: BTreeMap<String, String>,
) -> Result<(Config, ImageLayer, OciImageManifest), String> {
    let component = component_of(module)?;
    let layer = ImageLayer {
        data: module.to_vec().into(),
        media_type: LAYER_MEDIA_TYPE.to_string(),
        annotations: None,
    };
    let config = WasmConfig {
        created: created(),
        architecture: "wasm",
        os: "wasip2",
        layer_digests: vec![kiln::digest::oci(module)],
        component,
    };
    let config = Config {
        data: serde_json::to_vec(&config)
            .map_err(|e| e.to_string())?
            .into(),
        media_type: CONFIG_MEDIA_TYPE.to_string(),
        annotations: None,
    };
    let annotations = (!annotations.is_empty()).then_some(annotations);
    let mut manifest = OciImageManifest::build(std::slice::from_ref(&layer), &config, annotations);
    // Optional in the spec, but what tells a reader the document's type without headers.
    manifest.media_type = Some(MANIFEST_MEDIA_TYPE.to_string());
    Ok((config, layer, manifest))
}

/// The top-level imports and exports of the component `module`, by name, in its order.
fn component_of(module: &[u8]) -> Result<Component, String> {
    let not_component = || "not a WebAssembly component (a core module, or not WebAssembly)";
    let mut exports = Vec::new();
    let mut imports = Vec::new();
    // Nested modules and components open with a Version payload and close with an End.
    let mut depth = 0usize;
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        let payload = payload.map_err(|e| format!("not a WebAssembly component: {e}"))?;
        match payload {
            wasmparser::Payload::Version { encoding, .. } => {
                if depth == 0 && encoding != wasmparser::Encoding::Component {
                    return Err(not_component().into());
                }
                depth += 1;
            }
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            wasmparser::Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    let import = import.map_err(|e| e.to_string())?;
                    // Interfaces and functions; a type import only names a type they use.
                    if !matches!(import.ty, wasmparser::ComponentTypeRef::Type(_)) {
                        imports.push(import.name.name.to_string());
                    }
                }
            }
            wasmparser::Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    let export = export.map_err(|e| e.to_string())?;
                    if export.kind != wasmparser::ComponentExternalKind::Type {
                        exports.push(export.name.name.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(Component {
        exports,
        imports,
        target: TARGET_WORLD,
    })
}

/// The config's `created`: `SOURCE_DATE_EPOCH` when set, so that pushing the same file
/// twice gives the same digest; else the time of the push.
fn created() -> String {
    let seconds = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    rfc3339(seconds)
}

/// `seconds` since the Unix epoch as RFC 3339 UTC (`1970-01-01T00:00:00Z`), by the
/// civil-from-days algorithm (H. Hinnant).
fn rfc3339(seconds: u64) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests;
