use super::*;

#[test]
fn the_sha256_of_nothing_in_hex() {
    assert_eq!(
        hex(&sha256(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn the_oci_form_is_checked() {
    let empty = oci(b"");
    assert_eq!(
        empty,
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(parse_oci(&empty).as_deref(), Ok(empty.as_str()));
    for bad in [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "sha512:e3b0",
        "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
        "sha256:e3b0",
        "sha256:../../../../etc/passwd",
    ] {
        assert!(parse_oci(bad).is_err(), "{bad}");
    }
}
