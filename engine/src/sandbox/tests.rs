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
