use super::*;

#[test]
fn chunks_are_a_power_of_two_of_at_least_50_components() {
    assert_eq!(chunk_size(0), 1);
    assert_eq!(chunk_size(1), 1);
    assert_eq!(chunk_size(15), 15);
    assert_eq!(chunk_size(16), 8);
    assert_eq!(chunk_size(99), 50);
    assert_eq!(chunk_size(100), 50);
    assert_eq!(chunk_size(199), 100);
    assert_eq!(chunk_size(200), 50);
    assert_eq!(chunk_size(1000), 63);
    for n in [
        16usize, 17, 49, 50, 51, 99, 100, 101, 799, 800, 801, 999, 1000, 10_000,
    ] {
        let size = chunk_size(n);
        let chunks = n.div_ceil(size);
        assert!(chunks.is_power_of_two(), "{n} components: {chunks} chunks");
        assert!(
            (2..=MAX_CHUNKS).contains(&chunks),
            "{n} components: {chunks} chunks"
        );
        assert!(
            chunks == 2 || size >= MIN_COMPONENTS_PER_CHUNK,
            "{n} components: chunks of {size}"
        );
        // Balanced: the last chunk is not much smaller than the others.
        assert!(n - (chunks - 1) * size + chunks > size, "{n}: {size}");
    }
}

#[test]
fn parses_cluster_versions() {
    let v: ClusterVersion = "1.29.3".parse().unwrap();
    assert_eq!((v.major, v.minor, v.patch), (1, 29, 3));
    let v: ClusterVersion = "v1.30.1-gke.100".parse().unwrap();
    assert_eq!((v.major, v.minor, v.patch), (1, 30, 1));
    let v: ClusterVersion = "1.28".parse().unwrap();
    assert_eq!(v.to_string(), "v1.28.0");
    assert!("1".parse::<ClusterVersion>().is_err());
    assert!("one.two".parse::<ClusterVersion>().is_err());
}

#[test]
fn keeps_the_group_versions_of_kube_api_versions() {
    assert_eq!(
        parse_api_versions("apps/v1,apps/v1/Deployment,v1,v1/Pod, networking.k8s.io/v1 ,,v1"),
        ["apps/v1", "networking.k8s.io/v1", "v1"]
    );
}
