use super::*;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::new(dir.path().join("store"));
    (dir, store)
}

#[test]
fn a_blob_is_read_back_by_its_digest() {
    let (_dir, store) = store();
    let digest = store.write(b"a definition").unwrap();
    assert_eq!(digest, crate::digest::oci(b"a definition"));
    assert!(store.contains(&digest));
    assert_eq!(store.read(&digest, 100).unwrap(), b"a definition");
    // Written once: a second write of the same bytes is the same blob.
    assert_eq!(store.write(b"a definition").unwrap(), digest);
    let path = store.path(&digest).unwrap();
    assert!(path.ends_with(format!("blobs/sha256/{}", &digest[7..])));
}

#[test]
fn a_missing_blob_is_named() {
    let (_dir, store) = store();
    let digest = crate::digest::oci(b"never pulled");
    assert!(!store.contains(&digest));
    let error = store.read(&digest, 100).unwrap_err();
    assert!(matches!(error, StoreError::Missing { .. }), "{error}");
    assert!(error.to_string().contains(&digest), "{error}");
}

#[test]
fn a_blob_changed_on_disk_is_refused() {
    let (_dir, store) = store();
    let digest = store.write(b"the module").unwrap();
    std::fs::write(store.path(&digest).unwrap(), b"the tampered module").unwrap();
    let error = store.read(&digest, 100).unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
    assert!(error.to_string().contains("changed on disk"), "{error}");
    // Writing the right bytes again repairs it.
    store.write(b"the module").unwrap();
    assert_eq!(store.read(&digest, 100).unwrap(), b"the module");
}

#[test]
fn a_blob_over_the_cap_is_not_read() {
    let (_dir, store) = store();
    let digest = store.write(&[0; 64]).unwrap();
    let error = store.read(&digest, 63).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::TooLarge {
                size: 64,
                max: 63,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_malformed_digest_never_becomes_a_path() {
    let (_dir, store) = store();
    for bad in ["sha256:../../etc/passwd", "md5:00", ""] {
        assert!(
            matches!(store.read(bad, 100), Err(StoreError::Digest(_))),
            "{bad}"
        );
        assert!(!store.contains(bad));
    }
}
