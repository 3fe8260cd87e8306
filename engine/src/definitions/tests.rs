use super::*;
use crate::sandbox::Limits;

fn builtin(name: &str) -> &'static Builtin {
    BUILTINS
        .iter()
        .find(|b| b.name == name)
        .expect("a built-in")
}

fn load(sandbox: &Sandbox, name: &str) -> Arc<Module> {
    let registry = Registry::builtin();
    let loaded = registry
        .load(sandbox, &BTreeSet::from([name]))
        .expect("loads");
    loaded.get(name).expect("loaded").clone()
}

#[test]
fn a_render_uses_the_modules_a_preload_loaded_and_reports_the_names_it_skipped() {
    let sandbox = Sandbox::new(Limits::default(), None).unwrap();
    let registry = Registry::builtin();
    let (during, names) = rayon::in_place_scope(|scope| {
        registry.preload(scope, &sandbox, ["scaler", "no-such-type", "gateway"]);
        // Asked for while (or after) the preload loads it: waits, then takes that one.
        let during = registry.module(&sandbox, "scaler").unwrap();
        (during, BTreeSet::from(["gateway", "scaler"]))
    });
    let loaded = registry.load_modules(&sandbox, &names).unwrap();
    let preloaded = |name: &str| registry.entries[name].loaded_by(&sandbox).unwrap().clone();
    assert!(Arc::ptr_eq(&during, &preloaded("scaler")));
    assert!(Arc::ptr_eq(
        loaded.get("scaler").unwrap(),
        &preloaded("scaler")
    ));
    assert!(Arc::ptr_eq(
        loaded.get("gateway").unwrap(),
        &preloaded("gateway")
    ));
    assert!(
        !registry.entries["gateway"]
            .preloading
            .load(Ordering::Acquire)
    );
    // The unknown name is the render's to report, as before.
    let err = registry.module(&sandbox, "no-such-type").unwrap_err();
    assert!(err.to_string().contains("no such definition"), "{err}");
}

#[test]
fn a_preload_never_starts_a_load_that_compiles() {
    // Another memory limit: an engine whose code the build's artifacts do not fit, so the
    // built-ins compile. A preload that compiled could deadlock a render waiting for it.
    let limits = Limits {
        memory: 64 << 20,
        ..Limits::default()
    };
    let sandbox = Sandbox::new(limits, None).unwrap();
    assert_ne!(sandbox.engine_key(), BUILTIN_ENGINE_KEY);
    let registry = Registry::builtin();
    rayon::in_place_scope(|scope| {
        registry.preload(scope, &sandbox, ["scaler"]);
        let entry = &registry.entries["scaler"];
        assert!(!entry.preloading.load(Ordering::Acquire));
        assert!(entry.loaded_by(&sandbox).is_none());
    });
    // The render's own load compiles it.
    let loaded = registry
        .load_modules(&sandbox, &BTreeSet::from(["scaler"]))
        .unwrap();
    assert_eq!(loaded.get("scaler").unwrap().metadata.name, "scaler");
}

#[test]
fn a_built_in_loads_from_the_binary_and_never_from_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::new(Limits::default(), Some(cache.path().into())).unwrap();
    assert_eq!(sandbox.engine_key(), BUILTIN_ENGINE_KEY);
    // A planted artifact where the built-in's would be: never read.
    let stored = sandbox
        .cache()
        .unwrap()
        .artifact_path(&builtin("scaler").digest);
    std::fs::write(&stored, b"planted native code").unwrap();
    let module = load(&sandbox, "scaler");
    assert_eq!(module.metadata.name, "scaler");
    assert!(module.builtin);
    assert_eq!(std::fs::read(&stored).unwrap(), b"planted native code");
    assert!(
        sandbox.take_warnings().is_empty(),
        "the cache was not even read"
    );
}

#[test]
fn another_engine_configuration_compiles_the_built_ins_itself() {
    let cache = tempfile::tempdir().unwrap();
    let limits = Limits {
        fuel: Some(1_000_000_000),
        ..Limits::default()
    };
    let sandbox = Sandbox::new(limits, Some(cache.path().into())).unwrap();
    assert_ne!(sandbox.engine_key(), BUILTIN_ENGINE_KEY);
    let module = load(&sandbox, "labels");
    let stored = sandbox.cache().unwrap().artifact_path(&module.digest);
    let artifact = std::fs::read(stored).unwrap();
    assert!(!artifact.is_empty());
    assert_ne!(artifact, builtin("labels").precompiled);
}

#[test]
fn without_a_cache_the_embedded_artifact_loads_directly() {
    let sandbox = Sandbox::new(Limits::default(), None).unwrap();
    let module = load(&sandbox, "hpa");
    assert_eq!(module.metadata.name, "hpa");
    assert_eq!(module.digest, builtin("hpa").digest);
}
