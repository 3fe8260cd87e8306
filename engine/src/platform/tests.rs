use super::*;

fn parse(text: &str) -> Result<Platform> {
    Platform::parse(Source::parse("platform.yaml", text)?, Path::new("."))
}

fn error(text: &str) -> String {
    parse(text).expect_err("should be refused").to_string()
}

#[test]
fn an_empty_file_keeps_every_default() {
    let platform = parse("").unwrap();
    assert_eq!(platform.limit_policy(), LimitPolicy::default());
    assert!(platform.lock.is_none());
    assert!(platform.policies.is_empty());
}

#[test]
fn reads_limits_with_units_and_per_definition_overrides() {
    let platform = parse(
        "limits:\n  time: 250ms\n  fuel: 500M\n  memory: 64Mi\n  tableElements: 5000\n  \
         stack: 512Ki\n  output: 1Mi\n  objects: 20\ndefinitions:\n  heavy:\n    limits:\n      \
         fuel: 2G\n      time: 2s\n",
    )
    .unwrap();
    let defaults = platform.limits;
    assert_eq!(defaults.time, Duration::from_millis(250));
    assert_eq!(defaults.fuel, Some(500_000_000));
    assert_eq!(defaults.memory, 64 << 20);
    assert_eq!(defaults.table_elements, 5000);
    assert_eq!(defaults.stack, 512 << 10);
    assert_eq!(defaults.output, 1 << 20);
    assert_eq!(defaults.objects, 20);
    let policy = platform.limit_policy();
    let heavy = policy.of("heavy");
    assert_eq!(heavy.fuel, Some(2_000_000_000));
    assert_eq!(heavy.time, Duration::from_secs(2));
    // What the override does not set comes from the file's defaults.
    assert_eq!(heavy.memory, 64 << 20);
    assert_eq!(policy.of("other"), &defaults);
}

#[test]
fn reads_policies_in_order_with_their_action() {
    let platform = parse(
        "policies:\n  - type: require-labels\n    properties: {labels: [team]}\n  \
         - type: disallow-latest-tag\n    action: warn\n",
    )
    .unwrap();
    let names: Vec<&str> = platform
        .policies
        .iter()
        .map(|p| p.type_name.as_str())
        .collect();
    assert_eq!(names, ["require-labels", "disallow-latest-tag"]);
    assert_eq!(platform.policies[0].action, Action::Deny);
    assert_eq!(platform.policies[1].action, Action::Warn);
    assert_eq!(
        platform.policies[0].properties["labels"],
        serde_json::json!(["team"])
    );
    assert_eq!(platform.policies[1].site.to_string(), "platform.yaml:4:5: ");
}

#[test]
fn refuses_an_unknown_key_with_its_line() {
    let e = error("limits:\n  fule: 5M\n");
    assert!(
        e.starts_with("platform.yaml:2:9: field \"limits.fule\": unknown field `fule`"),
        "{e}"
    );
}

#[test]
fn refuses_bad_quantities_with_their_field() {
    let e = error("limits:\n  memory: 64MB\n");
    assert!(
        e.contains("field \"limits.memory\": unknown unit \"MB\" for a size (use Ki, Mi, Gi)"),
        "{e}"
    );
    let e = error("limits:\n  time: 5\n");
    assert!(e.contains("field \"limits.time\": write a unit"), "{e}");
    let e = error("limits:\n  fuel: 0\n");
    assert!(e.contains("fuel must be more than zero"), "{e}");
    let e = error("limits:\n  fuel: lots\n");
    assert!(
        e.contains("\"lots\" does not start with a whole number"),
        "{e}"
    );
    let e = error("definitions:\n  x:\n    limits:\n      stack: 2Mi\n");
    assert!(
        e.contains("field \"definitions.x.limits.stack\": the stack limit is one"),
        "{e}"
    );
    let e = error("policies:\n  - type: x\n    action: block\n");
    assert!(
        e.contains("field \"policies[0].action\": unknown variant `block`"),
        "{e}"
    );
}

#[test]
fn a_missing_lock_file_is_an_error_at_the_lock_key() {
    let e = error("lock: does-not-exist.lock\n");
    assert!(
        e.contains("platform.yaml:1:7: field \"lock\": cannot use the lock file"),
        "{e}"
    );
}

#[test]
fn a_lock_checks_digests_before_anything_runs() {
    let mut lock = Lock {
        version: 1,
        definitions: BTreeMap::new(),
    };
    lock.definitions.insert(
        "my-trait".into(),
        Pin::file("my-trait.wasm".into(), "aa".repeat(32)),
    );
    assert_eq!(
        lock.check("defs/other-name.wasm", &"aa".repeat(32)),
        Ok("my-trait")
    );
    let e = lock
        .check("defs/my-trait.wasm", &"bb".repeat(32))
        .unwrap_err();
    assert!(
        e.contains("does not match the digest pinned for \"my-trait\""),
        "{e}"
    );
    let e = lock.check("defs/new.wasm", &"cc".repeat(32)).unwrap_err();
    assert!(e.contains("is not pinned in the lock file"), "{e}");
}

#[test]
fn a_lock_reads_back_what_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut lock = Lock {
        version: 1,
        definitions: BTreeMap::new(),
    };
    lock.definitions
        .insert("b".into(), Pin::file("b: odd.wasm".into(), "01".repeat(32)));
    let path = dir.path().join("kiln.lock");
    std::fs::write(&path, lock.to_yaml()).unwrap();
    assert_eq!(Lock::read(&path).unwrap(), lock);
    let empty = Lock {
        version: 1,
        definitions: BTreeMap::new(),
    };
    std::fs::write(&path, empty.to_yaml()).unwrap();
    assert_eq!(Lock::read(&path).unwrap(), empty);
    std::fs::write(&path, "version: 2\ndefinitions: {}\n").unwrap();
    let e = Lock::read(&path).unwrap_err().to_string();
    assert!(e.contains("unsupported lock version 2"), "{e}");
}

#[test]
fn names_are_checked_against_the_definitions() {
    let registry = Registry::builtin();
    let check = |text: &str| parse(text).unwrap().check_names(&registry);
    check("definitions:\n  scaler: {limits: {fuel: 1G}}\npolicies:\n  - type: require-labels\n")
        .unwrap();
    let e = check("definitions:\n  scalr:\n    limits: {fuel: 1G}\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("platform.yaml:3:5: field \"definitions.scalr\": no definition named \"scalr\" (did you mean \"scaler\"?)"),
        "{e}"
    );
    let e = check("policies:\n  - type: scaler\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("field \"type\": \"scaler\" is a trait, not a policy"),
        "{e}"
    );
}

#[test]
fn an_override_sets_only_what_it_names() {
    let platform =
        parse("limits: {fuel: 10M}\ndefinitions:\n  heavy:\n    limits: {time: 1s}\n").unwrap();
    let mut limits = platform.limits;
    // What a command-line flag does to the defaults reaches every definition...
    limits.memory = 1 << 20;
    let mut platform = platform;
    platform.limits = limits;
    let heavy = *platform.limit_policy().of("heavy");
    assert_eq!(heavy.memory, 1 << 20);
    assert_eq!(heavy.fuel, Some(10_000_000));
    // ...but not what the override sets.
    assert_eq!(heavy.time, Duration::from_secs(1));
}

fn lock_of(pins: &[(&str, &str)]) -> Lock {
    Lock {
        version: 1,
        definitions: pins
            .iter()
            .map(|(name, sha)| {
                let pin = Pin::file(format!("{name}.wasm"), sha.to_string());
                (name.to_string(), pin)
            })
            .collect(),
    }
}

#[test]
fn tightening_takes_the_stricter_of_each_limit_of_every_definition() {
    let base = parse(
        "limits: { time: 5s, fuel: 1G, memory: 64Mi }\ndefinitions:\n  heavy:\n    \
         limits: { fuel: 2G, time: 10s }\n",
    )
    .unwrap();
    let other = parse(
        "limits: { time: 60s, memory: 32Mi, objects: 10 }\ndefinitions:\n  heavy:\n    \
         limits: { fuel: 5G }\n  light:\n    limits: { time: 1s }\n",
    )
    .unwrap();
    let policy = base.tightened_by(&other).limit_policy();
    let defaults = policy.defaults;
    assert_eq!(defaults.time, Duration::from_secs(5));
    assert_eq!(defaults.fuel, Some(1_000_000_000));
    assert_eq!(defaults.memory, 32 << 20);
    assert_eq!(defaults.objects, 10);
    // The base lets `heavy` burn more fuel; the other file cannot raise it further.
    let heavy = policy.of("heavy");
    assert_eq!(heavy.fuel, Some(2_000_000_000));
    assert_eq!(heavy.time, Duration::from_secs(10));
    assert_eq!(heavy.memory, 32 << 20);
    let light = policy.of("light");
    assert_eq!(light.time, Duration::from_secs(1));
    assert_eq!(light.fuel, Some(1_000_000_000));
    // Fuel off in the base: the other file's fuel applies.
    let unmetered = parse("")
        .unwrap()
        .tightened_by(&parse("limits: { fuel: 7M }").unwrap());
    assert_eq!(unmetered.limits.fuel, Some(7_000_000));
}

#[test]
fn tightening_keeps_the_base_lock_and_policies() {
    let mut base =
        parse("policies:\n  - type: require-labels\n    properties: { labels: [team] }\n").unwrap();
    base.lock = Some(lock_of(&[("a", "aa"), ("b", "bb")]));
    let mut other = parse("policies:\n  - type: disallow-latest-tag\n").unwrap();
    let merged = base.tightened_by(&other);
    assert_eq!(merged.lock, base.lock);
    let types: Vec<&str> = merged
        .policies
        .iter()
        .map(|p| p.type_name.as_str())
        .collect();
    assert_eq!(types, ["require-labels", "disallow-latest-tag"]);

    // Two locks: only what both pin, under one name with one digest.
    other.lock = Some(lock_of(&[("a", "aa"), ("b", "other"), ("c", "cc")]));
    assert_eq!(
        base.tightened_by(&other).lock,
        Some(lock_of(&[("a", "aa")]))
    );

    // No lock in the base: the other's applies.
    base.lock = None;
    assert_eq!(base.tightened_by(&other).lock, other.lock);
}

#[test]
fn tightening_grants_reuse_only_where_both_do_and_keeps_the_smaller_budgets() {
    let base = parse(
        "limits: { renderMemory: 256Mi }\ndefinitions:\n  scaler: { reuse: true }\n  hpa: { reuse: true }\n",
    )
    .unwrap();
    let file = parse(
        "limits: { renderMemory: 1Gi, cacheSize: 64Mi }\ndefinitions:\n  hpa: { reuse: true }\n  gateway: { reuse: true }\n",
    )
    .unwrap();
    let tightened = base.tightened_by(&file).limit_policy();
    assert_eq!(tightened.reuse, ["hpa".to_string()].into());
    assert_eq!(tightened.budget, 256 << 20);
    assert_eq!(tightened.cache_max, 64 << 20);
}

fn parse_with_empty_lock(text: &str) -> Result<Platform> {
    Platform::parse_with(Source::parse("platform.yaml", text)?, &|_: &Path| {
        Ok(Lock {
            version: 1,
            definitions: BTreeMap::new(),
        })
    })
}

#[test]
fn sources_are_read_in_order_beside_the_definitions_settings() {
    let platform = parse_with_empty_lock(
        "lock: kiln.lock\ndefinitions:\n  sources:\n    - oci://r.example.com/platform/pdb:1.4\n    \
         - oci://127.0.0.1:5000/team/traits@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n  \
         heavy:\n    reuse: true\n",
    )
    .unwrap();
    let texts: Vec<&str> = platform.sources.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(texts.len(), 2);
    assert_eq!(texts[0], "oci://r.example.com/platform/pdb:1.4");
    assert_eq!(platform.sources[1].reference.registry, "127.0.0.1:5000");
    assert_eq!(
        platform.sources[1].site.position.map(|(line, _)| line),
        Some(5)
    );
    assert_eq!(platform.lock_file.as_deref(), Some(Path::new("kiln.lock")));
    // `sources` is not a definition's name: no override is made for it.
    assert!(platform.reuse.contains("heavy"));
    assert!(!platform.overrides.contains_key("sources"));
}

#[test]
fn sources_are_refused_at_their_line_when_malformed_doubled_or_unlocked() {
    let unlocked = parse_with_empty_lock("definitions:\n  sources:\n    - oci://r.io/a:1\n")
        .unwrap_err()
        .to_string();
    assert!(unlocked.contains("platform.yaml:3:"), "{unlocked}");
    assert!(unlocked.contains("pinned by a lock file"), "{unlocked}");
    let cases = [
        (
            "    - r.io/a:1\n",
            "platform.yaml:4:7",
            "must start with oci://",
        ),
        (
            "    - oci://r.io/a\n",
            "platform.yaml:4:7",
            "names neither a tag nor a digest",
        ),
        (
            "    - 42\n",
            "platform.yaml:4:7",
            "expected an oci:// reference",
        ),
        (
            "    - oci://r.io/a:1\n    - oci://r.io/a:1\n",
            "platform.yaml:5:7",
            "listed twice",
        ),
    ];
    for (items, at, expected) in cases {
        let error = parse_with_empty_lock(&format!(
            "lock: kiln.lock\ndefinitions:\n  sources:\n{items}"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            error.contains(at) && error.contains(expected),
            "{items}: {error}"
        );
    }
    let not_a_list =
        parse_with_empty_lock("lock: kiln.lock\ndefinitions:\n  sources: oci://r.io/a:1\n")
            .unwrap_err()
            .to_string();
    assert!(not_a_list.contains("expected a list"), "{not_a_list}");
    // A definition's settings keep their field in errors.
    let error = parse_with_empty_lock("definitions:\n  heavy:\n    limits:\n      fuel: lots\n")
        .unwrap_err()
        .to_string();
    assert!(error.contains("definitions.heavy.limits.fuel"), "{error}");
}

#[test]
fn a_lock_holds_sources_beside_files_and_each_writer_keeps_the_other() {
    let module = "ab".repeat(32);
    let manifest = format!("sha256:{}", "cd".repeat(32));
    let lock = Lock {
        version: 1,
        definitions: BTreeMap::from([
            (
                "local".to_string(),
                Pin::file("local.wasm".into(), "01".repeat(32)),
            ),
            (
                "pdb".to_string(),
                Pin::source("oci://r.io/pdb:1".into(), manifest.clone(), module.clone()),
            ),
        ]),
    };
    let text = lock.to_yaml();
    assert_eq!(Lock::parse("kiln.lock".into(), &text).unwrap(), lock);
    assert_eq!(
        lock.source("oci://r.io/pdb:1").map(|(name, _)| name),
        Some("pdb")
    );
    // A source's module is checked by digest like a file's.
    assert_eq!(lock.check("oci://r.io/pdb:1", &module), Ok("pdb"));

    let relocked = lock.with_sources(BTreeMap::new());
    assert!(
        relocked.definitions.contains_key("local") && !relocked.definitions.contains_key("pdb")
    );
    let relocked = lock.with_files(BTreeMap::new());
    assert!(
        relocked.definitions.contains_key("pdb") && !relocked.definitions.contains_key("local")
    );

    for (pin, expected) in [
        (
            format!(
                "file: a.wasm\n    source: oci://r.io/a:1\n    manifest: {manifest}\n    sha256: {module}"
            ),
            "either a file or a source",
        ),
        (
            format!("source: oci://r.io/a:1\n    sha256: {module}"),
            "needs its manifest digest",
        ),
        (
            format!("source: r.io/a:1\n    manifest: {manifest}\n    sha256: {module}"),
            "must start with oci://",
        ),
        (
            format!("source: oci://r.io/a:1\n    manifest: sha256:00\n    sha256: {module}"),
            "64 lowercase hex digits",
        ),
        (
            "file: a.wasm\n    sha256: ABC".to_string(),
            "64 lowercase hex digits",
        ),
    ] {
        let text = format!("version: 1\ndefinitions:\n  a:\n    {pin}\n");
        let error = Lock::parse("kiln.lock".into(), &text)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("kiln.lock:4:") && error.contains(expected),
            "{pin}: {error}"
        );
    }
}
