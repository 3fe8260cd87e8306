use super::*;
use std::fs::File;

fn cache(root: &Path, max: u64) -> CompiledCache {
    let engine = Engine::default();
    CompiledCache::open(root, &engine, max).expect("a private temporary cache")
}

#[test]
fn a_description_must_carry_the_mac() {
    let root = tempfile::tempdir().unwrap();
    let cache = cache(root.path(), DEFAULT_MAX_BYTES);
    let digest = [7u8; 32];
    cache.store_description(&digest, b"{\"name\":\"x\"}");
    assert_eq!(cache.description(&digest).unwrap(), b"{\"name\":\"x\"}");
    let path = cache.description_path(&digest);
    let mut text = std::fs::read(&path).unwrap();
    *text.last_mut().unwrap() = b'!';
    std::fs::write(&path, text).unwrap();
    assert!(cache.description(&digest).is_none());
}

#[test]
fn two_caches_under_one_root_share_its_key() {
    let root = tempfile::tempdir().unwrap();
    let a = cache(root.path(), DEFAULT_MAX_BYTES);
    let b = cache(root.path(), DEFAULT_MAX_BYTES);
    assert_eq!(a.key, b.key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(root.path().join("key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn eviction_removes_the_least_recently_used_beyond_the_cap() {
    let root = tempfile::tempdir().unwrap();
    let cache = cache(root.path(), 2500);
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for (i, age) in [(1u8, 1), (2, 2), (3, 3)] {
        let digest = [i; 32];
        cache.store_artifact(&digest, &[0u8; 1000]);
        let file = File::options()
            .write(true)
            .open(cache.artifact_path(&digest))
            .unwrap();
        file.set_modified(old + std::time::Duration::from_secs(age))
            .unwrap();
    }
    // The third store went over the cap (3000 > 2500): the oldest went.
    assert!(!cache.artifact_path(&[1; 32]).exists());
    assert!(!cache.mac_path(&[1; 32]).exists());
    assert!(cache.artifact_path(&[2; 32]).exists());
    assert!(cache.artifact_path(&[3; 32]).exists());
}

#[cfg(unix)]
#[test]
fn a_cache_writable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let refused =
        CompiledCache::open(root.path(), &Engine::default(), DEFAULT_MAX_BYTES).unwrap_err();
    assert!(
        refused
            .reason
            .contains("writable by group or others (mode 777)")
    );
}
