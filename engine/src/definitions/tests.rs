use super::*;
use crate::sandbox::{LimitPolicy, Limits};

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
    // A memory limit above the default: an engine whose code the build's artifacts do not
    // fit, so the built-ins compile. A preload that compiled could deadlock a render
    // waiting for it.
    let limits = Limits {
        memory: 512 << 20,
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
    let stored = sandbox.cache().unwrap().artifact_path(&LIBRARY.digest);
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
    assert_ne!(artifact, LIBRARY.precompiled);
}

#[test]
fn a_lower_memory_limit_keeps_the_engine_the_built_ins_were_precompiled_for() {
    let limits = Limits {
        memory: 64 << 20,
        ..Limits::default()
    };
    let sandbox = Sandbox::new(limits, None).unwrap();
    assert_eq!(sandbox.engine_key(), BUILTIN_ENGINE_KEY);
}

#[test]
fn without_a_cache_the_embedded_artifact_loads_directly() {
    let sandbox = Sandbox::new(Limits::default(), None).unwrap();
    let module = load(&sandbox, "hpa");
    assert_eq!(module.metadata.name, "hpa");
    assert_eq!(module.digest, LIBRARY.digest);
}

#[test]
fn the_library_holds_exactly_the_built_ins_in_their_order() {
    let sandbox = Sandbox::new(Limits::default(), None).unwrap();
    let members = sandbox
        .library_members(
            LIBRARY.bytes,
            LIBRARY.digest,
            Precompiled {
                engine_key: BUILTIN_ENGINE_KEY,
                artifact: LIBRARY.precompiled,
            },
        )
        .unwrap();
    let builtins: Vec<&str> = BUILTINS.iter().map(|b| b.name).collect();
    assert_eq!(members, builtins);
}

#[test]
fn every_built_in_is_a_member_that_describes_itself_by_its_name_and_kind() {
    let sandbox = Sandbox::new(Limits::default(), None).unwrap();
    let registry = Registry::builtin();
    let names: BTreeSet<&str> = BUILTINS.iter().map(|b| b.name).collect();
    let loaded = registry.load_modules(&sandbox, &names).unwrap();
    for builtin in BUILTINS {
        let module = loaded.get(builtin.name).unwrap();
        assert_eq!(module.metadata.name, builtin.name);
        assert_eq!(Kind::from(module.metadata.kind), builtin.kind);
        assert!(module.builtin);
        assert_eq!(module.digest, LIBRARY.digest);
    }
}

#[test]
fn a_name_the_library_does_not_hold_is_an_error_naming_it() {
    let sandbox = Sandbox::new(Limits::default(), None).unwrap();
    let precompiled = Precompiled {
        engine_key: BUILTIN_ENGINE_KEY,
        artifact: LIBRARY.precompiled,
    };
    let err = sandbox
        .load_builtin("no-such", LIBRARY.bytes, LIBRARY.digest, precompiled)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "does not implement the kiln:definition@0.1.0 world: Kiln's standard library holds \
         no definition named \"no-such\""
    );
}

#[test]
fn each_member_s_description_is_cached_under_its_own_key() {
    // The members share the library's digest: a description cached under it alone would
    // describe every member as the first one loaded.
    let cache = tempfile::tempdir().unwrap();
    let names = BTreeSet::from(["hpa", "scaler", "webservice"]);
    for _ in 0..2 {
        let sandbox = Sandbox::new(Limits::default(), Some(cache.path().into())).unwrap();
        let registry = Registry::builtin();
        let loaded = registry.load_modules(&sandbox, &names).unwrap();
        for name in &names {
            assert_eq!(loaded.get(name).unwrap().metadata.name, *name);
        }
    }
}

/// A render request for a component `webservice` of an app `app`.
fn request(parameters: &str, workload: Option<&str>) -> wit::RenderRequest {
    wit::RenderRequest {
        parameters: parameters.into(),
        context: wit::Context {
            app_name: "app".into(),
            namespace: "default".into(),
            component_name: "web".into(),
            component_type: "webservice".into(),
            app_revision: "app-v1".into(),
            cluster_version: wit::ClusterVersion {
                major: 1,
                minor: 30,
                git_version: "v1.30.0".into(),
            },
            api_versions: Vec::new(),
            app_labels: Vec::new(),
            app_annotations: Vec::new(),
        },
        workload: workload.map(Into::into),
        outputs: Vec::new(),
    }
}

#[test]
fn the_built_ins_share_one_instance_unless_the_platform_gives_one_its_own_limits() {
    let workload = r#"{"apiVersion":"apps/v1","kind":"Deployment","spec":{"template":{}}}"#;
    let calls = [
        ("webservice", r#"{"image":"nginx"}"#, None),
        ("scaler", r#"{"replicas":2}"#, Some(workload)),
        ("labels", r#"{"team":"a"}"#, Some(workload)),
    ];
    let run = |policy: LimitPolicy| {
        let sandbox = Sandbox::new(policy, None).unwrap();
        let registry = Registry::builtin();
        let names = calls.iter().map(|(name, _, _)| *name).collect();
        let loaded = registry.load_modules(&sandbox, &names).unwrap();
        let mut instances = sandbox.instances();
        for (name, parameters, workload) in calls {
            let response = instances
                .render(loaded.get(name).unwrap(), &request(parameters, workload))
                .unwrap()
                .unwrap_or_else(|d| panic!("{name}: {}", d[0].message));
            assert!(
                response.output.is_some() || response.patch.is_some(),
                "{name}"
            );
        }
        instances.live_count()
    };
    assert_eq!(run(LimitPolicy::from(Limits::default())), 1);
    let mut own = LimitPolicy::from(Limits::default());
    own.per_definition.insert(
        "scaler".into(),
        Limits {
            time: std::time::Duration::from_secs(1),
            ..Limits::default()
        },
    );
    assert_eq!(run(own), 2);
}

#[test]
fn a_member_s_refusal_leaves_the_shared_instance_serving() {
    let sandbox = Sandbox::new(Limits::default(), None).unwrap();
    let registry = Registry::builtin();
    let loaded = registry
        .load_modules(&sandbox, &BTreeSet::from(["webservice"]))
        .unwrap();
    let webservice = loaded.get("webservice").unwrap();
    let mut instances = sandbox.instances();
    // A parameter error is the definition's answer, not a trap: the instance serves on.
    let refused = instances
        .render(webservice, &request(r#"{"image": 1}"#, None))
        .unwrap()
        .unwrap_err();
    assert_eq!(
        refused[0].field.as_deref(),
        Some("image"),
        "{:?}",
        refused[0]
    );
    let ok = instances
        .render(webservice, &request(r#"{"image":"nginx"}"#, None))
        .unwrap()
        .unwrap();
    assert!(ok.output.unwrap().contains("nginx"));
    assert_eq!(instances.live_count(), 1);
}

#[test]
fn a_copy_of_the_library_from_outside_is_refused_as_a_definition() {
    // A file goes through `Sandbox::load`, which links the `definition` world only: the
    // library's bytes from a directory are refused, never loaded as Kiln's own built-ins.
    let cache = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::new(Limits::default(), Some(cache.path().into())).unwrap();
    let err = sandbox.load("library", LIBRARY.bytes, None).unwrap_err();
    assert!(
        matches!(err, crate::sandbox::LoadError::World(_)),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("does not implement the kiln:definition@0.1.0 world"),
        "{err}"
    );
}
