use super::*;

#[test]
fn a_cached_description_reads_back_as_it_was() {
    let metadata = wit::Metadata {
        name: "scaler".into(),
        kind: wit::Kind::Trait,
        version: "0.1.0".into(),
        description: "Scales.".into(),
        parameter_schema: "{\"type\":\"object\"}".into(),
        applies_to: vec!["deployments.apps".into()],
        conflicts_with: vec![],
        workload_type: None,
    };
    let back = metadata_from_json(metadata_to_json(&metadata).as_bytes()).unwrap();
    assert_eq!(metadata_to_json(&back), metadata_to_json(&metadata));
    assert!(metadata_from_json(b"{\"name\": 1}").is_none());
    assert!(metadata_from_json(b"not json").is_none());
}

#[test]
fn a_request_sandbox_has_a_budget_of_its_own_and_shares_the_rest() {
    use wasmtime::ResourceLimiter;
    let policy = LimitPolicy {
        budget: 3 << 20,
        ..LimitPolicy::default()
    };
    let sandbox = Sandbox::new(policy, None).unwrap();
    let request = sandbox.for_request();
    // The same engine and modules: what the server's registry loaded runs in it.
    assert_eq!(request.id(), sandbox.id());
    assert_eq!(request.engine_key(), sandbox.engine_key());
    assert!(Arc::ptr_eq(&request.library, &sandbox.library));

    let limits = Limits::default();
    let (mut server, _) = sandbox.store(&limits);
    let (mut first, _) = request.store(&limits);
    // 2 MiB each of a 3 MiB budget: both fit, for the request's budget is its own...
    assert!(
        server
            .data_mut()
            .meter
            .memory_growing(0, 2 << 20, None)
            .unwrap()
    );
    assert!(
        first
            .data_mut()
            .meter
            .memory_growing(0, 2 << 20, None)
            .unwrap()
    );
    // ...and the request's stores share it, as one process's would.
    let (mut second, _) = request.store(&limits);
    assert!(
        second
            .data_mut()
            .meter
            .memory_growing(0, 2 << 20, None)
            .is_err()
    );
    // Another request is not charged for this one.
    let (mut other, _) = sandbox.for_request().store(&limits);
    assert!(
        other
            .data_mut()
            .meter
            .memory_growing(0, 2 << 20, None)
            .unwrap()
    );
}
