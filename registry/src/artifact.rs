//! The Wasm OCI artifact format (CNCF TAG-Runtime, `oci-wasm`): what Kiln pushes, and the
//! only shape it pulls.
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
use oci_wasm::{ToConfig, WasmConfig};
use serde_json::Value;

/// The manifest's media type.
pub const MANIFEST_MEDIA_TYPE: &str = OCI_IMAGE_MEDIA_TYPE;
/// The config's media type.
pub const CONFIG_MEDIA_TYPE: &str = oci_wasm::WASM_MANIFEST_CONFIG_MEDIA_TYPE;
/// The one layer's media type.
pub const LAYER_MEDIA_TYPE: &str = oci_wasm::WASM_LAYER_MEDIA_TYPE;
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

/// What is pushed for `module`: the config (exports, imports and world read from the
/// component itself), the layer, and the manifest with `annotations`.
pub fn build(
    module: &[u8],
    annotations: BTreeMap<String, String>,
) -> Result<(Config, ImageLayer, OciImageManifest), String> {
    // A core module decodes as a component with an empty world: told apart by the preamble's
    // layer field (1 for a component), as wasmparser does.
    if module.len() < 8 || &module[..4] != b"\0asm" || module[6..8] != [1, 0] {
        return Err("not a WebAssembly component (a core module, or not WebAssembly)".into());
    }
    let (mut config, layer) = WasmConfig::from_raw_component(module.to_vec(), None)
        .map_err(|e| format!("not a WebAssembly component: {e:#}"))?;
    if let Some(component) = config.component.as_mut() {
        component.target = Some(TARGET_WORLD.to_string());
    }
    let config = config.to_config().map_err(|e| format!("{e:#}"))?;
    let annotations = (!annotations.is_empty()).then_some(annotations);
    let mut manifest = OciImageManifest::build(std::slice::from_ref(&layer), &config, annotations);
    // Optional in the spec, but what tells a reader the document's type without headers.
    manifest.media_type = Some(MANIFEST_MEDIA_TYPE.to_string());
    Ok((config, layer, manifest))
}

#[cfg(test)]
mod tests;
