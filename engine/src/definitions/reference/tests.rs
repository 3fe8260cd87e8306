use super::*;

fn parse(text: &str) -> Result<Reference, String> {
    text.parse()
}

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn a_tag_a_digest_or_both() {
    let tagged = parse("oci://127.0.0.1:5000/platform/pdb:1.4").unwrap();
    assert_eq!(tagged.registry, "127.0.0.1:5000");
    assert_eq!(tagged.repository, "platform/pdb");
    assert_eq!(tagged.tag.as_deref(), Some("1.4"));
    assert_eq!(tagged.digest, None);

    let pinned = parse(&format!("oci://registry.example.com/pdb@{DIGEST}")).unwrap();
    assert_eq!(pinned.tag, None);
    assert_eq!(pinned.digest.as_deref(), Some(DIGEST));

    let both = parse(&format!("oci://localhost/team/traits/pdb:v2@{DIGEST}")).unwrap();
    assert_eq!(both.repository, "team/traits/pdb");
    assert_eq!(both.tag.as_deref(), Some("v2"));
    assert_eq!(
        both.to_string(),
        format!("oci://localhost/team/traits/pdb:v2@{DIGEST}")
    );
    assert_eq!(
        tagged.with_digest(DIGEST).to_string(),
        format!("oci://127.0.0.1:5000/platform/pdb:1.4@{DIGEST}")
    );
}

#[test]
fn what_is_refused_says_why() {
    let cases = [
        ("registry.example.com/pdb:1", "must start with oci://"),
        ("oci://registry.example.com", "names no repository"),
        (
            "oci://registry.example.com/pdb",
            "neither a tag nor a digest",
        ),
        (
            "oci://registry.example.com/Platform/pdb:1",
            "not a repository name",
        ),
        (
            "oci://registry.example.com/pdb//x:1",
            "not a repository name",
        ),
        ("oci://registry.example.com/pdb:-1", "not a tag"),
        ("oci://registry.example.com/pdb:", "not a tag"),
        (
            "oci://registry.example.com/pdb@sha256:abc",
            "64 lowercase hex digits",
        ),
        (
            "oci://registry.example.com/pdb@md5:abc",
            "not a sha256 digest",
        ),
        ("oci://bad_host/pdb:1", "not a registry host"),
        ("oci://host:99999/pdb:1", "invalid port"),
        ("oci:///pdb:1", "not a registry host"),
    ];
    for (text, expected) in cases {
        let error = parse(text).expect_err(text);
        assert!(error.contains(expected), "{text}: {error}");
    }
    assert!(parse(&format!("oci://r.io/{}:1", "a".repeat(600))).is_err());
}

#[test]
fn loopback_registries_are_told_apart() {
    for (text, loopback) in [
        ("oci://localhost:5000/a:1", true),
        ("oci://127.0.0.1:5000/a:1", true),
        ("oci://127.1.2.3/a:1", true),
        ("oci://[::1]:5000/a:1", true),
        ("oci://127.example.com/a:1", false),
        ("oci://127.a.b.c/a:1", false),
        ("oci://localhost.example.com/a:1", false),
        ("oci://registry.example.com/a:1", false),
    ] {
        assert_eq!(parse(text).unwrap().is_loopback(), loopback, "{text}");
    }
}
