use super::*;

/// A real component: Kiln's standard library, as Kiln embeds it.
fn component() -> &'static [u8] {
    kiln::definitions::LIBRARY.bytes
}

#[test]
fn what_kiln_pushes_is_what_kiln_pulls() {
    let annotations = BTreeMap::from([("org.opencontainers.image.version".into(), "1.0.0".into())]);
    let (config, layer, manifest) = build(component(), annotations.clone()).unwrap();
    assert_eq!(config.media_type, CONFIG_MEDIA_TYPE);
    assert_eq!(layer.media_type, LAYER_MEDIA_TYPE);

    let bytes = serde_json::to_vec(&manifest).unwrap();
    let json: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["mediaType"], MANIFEST_MEDIA_TYPE);
    let read = read_manifest(&bytes).unwrap();
    assert_eq!(read.layer.digest, kiln::digest::oci(component()));
    assert_eq!(read.layer.size, component().len() as u64);
    assert_eq!(read.config.digest, kiln::digest::oci(&config.data));
    assert_eq!(read.annotations, annotations);

    // The config says what the component is: wasm, wasip2, its layer and its world.
    let config: Value = serde_json::from_slice(&config.data).unwrap();
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["os"], "wasip2");
    assert_eq!(
        config["layerDigests"][0],
        kiln::digest::oci(component()).as_str()
    );
    assert_eq!(config["component"]["target"], TARGET_WORLD);
    // The world exports its functions directly (sdk/wit/library/library.wit).
    assert_eq!(
        config["component"]["exports"],
        serde_json::json!(["members", "describe", "render"])
    );
}

#[test]
fn created_is_rfc_3339_utc() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_796_601_599), "2026-12-06T23:59:59Z");
    assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
}

#[test]
fn the_config_lists_what_the_component_imports() {
    let (config, _, _) = build(component(), BTreeMap::new()).unwrap();
    let config: Value = serde_json::from_slice(&config.data).unwrap();
    let imports: Vec<&str> = config["component"]["imports"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // What the sandbox offers a definition: Kiln's types and WASI 0.2, nothing else.
    assert!(!imports.is_empty());
    assert!(
        imports
            .iter()
            .all(|i| i.starts_with("wasi:") || i.starts_with("kiln:")),
        "{imports:?}"
    );
}

#[test]
fn a_file_that_is_not_a_component_is_not_pushed() {
    let Err(error) = build(b"\0asm\x01\0\0\0", BTreeMap::new()) else {
        panic!("a core module is not a component");
    };
    assert!(error.contains("not a WebAssembly component"), "{error}");
    assert!(build(b"#!/bin/sh\n", BTreeMap::new()).is_err());
}

fn manifest(config_type: &str, layers: &[&str]) -> Vec<u8> {
    let digest = kiln::digest::oci(b"x");
    let layers: Vec<Value> = layers
        .iter()
        .map(|t| serde_json::json!({"mediaType": t, "digest": digest, "size": 1}))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": config_type, "digest": digest, "size": 1},
        "layers": layers,
    }))
    .unwrap()
}

#[test]
fn what_is_not_a_wasm_artifact_is_named() {
    let cases = [
        (
            manifest("application/vnd.oci.image.config.v1+json", &["application/vnd.oci.image.layer.v1.tar+gzip"]),
            "(a container image)",
        ),
        (manifest(CONFIG_MEDIA_TYPE, &[LAYER_MEDIA_TYPE, LAYER_MEDIA_TYPE]), "has 2 layers"),
        (manifest(CONFIG_MEDIA_TYPE, &[]), "has 0 layers"),
        (manifest(CONFIG_MEDIA_TYPE, &["application/octet-stream"]), "its layer is application/octet-stream"),
        (
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#.to_vec(),
            "image index",
        ),
        (
            br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}"#.to_vec(),
            "Docker image manifest",
        ),
        (b"<html>".to_vec(), "not JSON"),
    ];
    for (bytes, expected) in cases {
        let why = read_manifest(&bytes).unwrap_err();
        assert!(why.contains(expected), "{expected}: {why}");
    }
    assert!(read_manifest(&manifest(CONFIG_MEDIA_TYPE, &[LAYER_MEDIA_TYPE])).is_ok());
}

#[test]
fn a_descriptor_with_a_malformed_digest_is_refused() {
    let bytes = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": "sha256:../../x", "size": 1},
        "layers": [],
    }))
    .unwrap();
    let why = read_manifest(&bytes).unwrap_err();
    assert!(why.contains("config's digest"), "{why}");
}

#[test]
fn a_stored_artifact_holds_all_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().to_path_buf());
    let artifact = Artifact {
        manifest_digest: kiln::digest::oci(b"manifest"),
        manifest: b"manifest".to_vec(),
        config: b"config".to_vec(),
        module: component().to_vec(),
        module_digest: kiln::digest::oci(component()),
        annotations: BTreeMap::new(),
    };
    artifact.store(&store).unwrap();
    for digest in [&artifact.manifest_digest, &artifact.module_digest] {
        assert!(store.contains(digest), "{digest}");
    }
}
