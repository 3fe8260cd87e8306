use super::*;

fn config(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("config.json");
    std::fs::write(&path, text).expect("the config is written");
    (dir, path)
}

fn basic(auth: RegistryAuth) -> Option<(String, String)> {
    match auth {
        RegistryAuth::Basic(user, password) => Some((user, password)),
        _ => None,
    }
}

#[test]
fn given_credentials_win() {
    let given = Credentials {
        username: "ci".into(),
        password: "secret".into(),
    };
    let auth = for_registry("registry.example.com", Some(&given)).unwrap();
    assert_eq!(basic(auth), Some(("ci".into(), "secret".into())));
    // And are never printed.
    assert!(!format!("{given:?}").contains("secret"));
}

#[test]
fn auths_are_read_by_registry_host() {
    // "kiln:s3cret", as `docker login` writes it.
    let (_dir, path) = config(r#"{"auths": {"127.0.0.1:5000": {"auth": "a2lsbjpzM2NyZXQ="}}}"#);
    let auth = from_docker_config("127.0.0.1:5000", &path).unwrap();
    assert_eq!(basic(auth), Some(("kiln".into(), "s3cret".into())));
    // Another registry gets nothing: anonymous.
    let other = from_docker_config("registry.example.com", &path).unwrap();
    assert!(matches!(other, RegistryAuth::Anonymous));
}

#[test]
fn no_file_is_anonymous_and_a_broken_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = from_docker_config("r.io", &dir.path().join("config.json")).unwrap();
    assert!(matches!(missing, RegistryAuth::Anonymous));

    let (_dir, path) = config("{\"auths\": ");
    let error = from_docker_config("r.io", &path).unwrap_err().to_string();
    assert!(error.contains("is not valid JSON"), "{error}");
    assert!(error.contains("credentials for r.io"), "{error}");
}

#[test]
fn a_helper_that_cannot_run_is_named() {
    let (_dir, path) =
        config(r#"{"credHelpers": {"r.io": "kiln-test-helper-that-does-not-exist"}}"#);
    let error = from_docker_config("r.io", &path).unwrap_err().to_string();
    assert!(error.contains("could not be run"), "{error}");
}

#[test]
fn an_identity_token_is_refused_in_words() {
    let (_dir, path) = config(r#"{"auths": {"r.io": {"identitytoken": "abc"}}}"#);
    let error = from_docker_config("r.io", &path).unwrap_err().to_string();
    assert!(error.contains("identity token"), "{error}");
}
