use super::*;
use crate::app::Source;

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn reads_argo_cds_environment() {
    let env = Environment::from_vars(vars(&[
        ("ARGOCD_APP_NAME", "team-a_shop"),
        ("ARGOCD_APP_NAMESPACE", "prod"),
        ("ARGOCD_APP_REVISION", "0123456789abcdef"),
        ("ARGOCD_APP_SOURCE_PATH", "apps/shop"),
        ("ARGOCD_ENV_KILN_DEFINITIONS", "platform/defs"),
        ("PARAM_IMAGE", "ignored"),
        (
            "ARGOCD_APP_PARAMETERS",
            r#"[{"name":"web.image","string":"nginx:2"}]"#,
        ),
    ]))
    .unwrap();
    assert_eq!(env.app_name.as_deref(), Some("shop"));
    assert_eq!(env.namespace.as_deref(), Some("prod"));
    assert_eq!(env.revision.as_deref(), Some("0123456789abcdef"));
    assert_eq!(env.settings["DEFINITIONS"], "platform/defs");
    assert_eq!(env.settings.len(), 1);
    assert_eq!(
        env.parameters,
        [Parameter {
            name: "web.image".into(),
            value: ParameterValue::String("nginx:2".into())
        }]
    );
}

#[test]
fn parameters_may_be_absent_null_or_a_list_of_three_kinds() {
    assert_eq!(parse_parameters("").unwrap(), []);
    assert_eq!(parse_parameters("null").unwrap(), []);
    let all = parse_parameters(
        r#"[{"name":"a","string":"x"},{"name":"b","array":["1","2"]},{"name":"c","map":{"k":"v"}}]"#,
    )
    .unwrap();
    assert_eq!(
        all[1].value,
        ParameterValue::Array(vec!["1".into(), "2".into()])
    );
    assert!(matches!(all[2].value, ParameterValue::Map(_)));
    let err = parse_parameters("{").unwrap_err().to_string();
    assert!(
        err.starts_with("ARGOCD_APP_PARAMETERS: not a JSON array"),
        "{err}"
    );
}

#[test]
fn paths_that_leave_the_repository_are_refused() {
    assert!(confined_path("a/./b", "x").is_ok());
    let err = confined_path("../etc", "KILN_DEFINITIONS")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "KILN_DEFINITIONS: \"../etc\" leaves the repository (\"..\" is refused)"
    );
    let err = confined_path("/etc", "KILN_DEFINITIONS")
        .unwrap_err()
        .to_string();
    assert!(err.contains("is absolute"), "{err}");
}

#[test]
fn the_root_is_the_working_directory_less_the_source_path() {
    let (root, rel) = repository_root(Path::new("/w/123/apps/shop"), Some("apps/shop")).unwrap();
    assert_eq!(root, Path::new("/w/123"));
    assert_eq!(rel, Path::new("apps/shop"));
    let (root, rel) = repository_root(Path::new("/w/123"), Some(".")).unwrap();
    assert_eq!(
        (root.as_path(), rel.as_path()),
        (Path::new("/w/123"), Path::new(""))
    );
    assert!(repository_root(Path::new("/w/123/other"), Some("apps/shop")).is_err());
}

fn shop() -> Application {
    let source = Source::parse(
        "app.yaml",
        "name: shop\nservices:\n  web:\n    image: nginx:1\n    ports: [{port: 80}]\n",
    )
    .unwrap();
    Application::from_source(source, &|_: &str| false).unwrap()
}

#[test]
fn parameters_change_images_properties_and_labels() {
    let mut app = shop();
    apply_parameters(
        &mut app,
        &parse_parameters(
            r#"[{"name":"web.image","string":"nginx:2"},
                {"name":"properties","map":{"web.ports[0].port":"8080","web.cpu":"'500m'"}},
                {"name":"labels","array":["team=a"]}]"#,
        )
        .unwrap(),
    )
    .unwrap();
    let props = &app.components[0].properties;
    assert_eq!(props["image"], "nginx:2");
    assert_eq!(props["ports"][0]["port"], 8080);
    assert_eq!(props["cpu"], "500m");
    assert_eq!(app.labels["team"], "a");
}

#[test]
fn bad_parameters_say_what_is_wrong() {
    let cases = [
        (
            r#"[{"name":"api.image","string":"x"}]"#,
            "no component \"api\" (components: web)",
        ),
        (
            r#"[{"name":"replicas","string":"3"}]"#,
            "unknown parameter \"replicas\" (string)",
        ),
        (
            r#"[{"name":"properties","map":{"cpu":"1"}}]"#,
            "must be <component>.<property path>",
        ),
        (
            r#"[{"name":"properties","map":{"web.image.tag":"1"}}]"#,
            "does not fit",
        ),
        (
            r#"[{"name":"labels","array":["oops"]}]"#,
            "\"oops\" must be key=value",
        ),
    ];
    for (parameters, expected) in cases {
        let err = apply_parameters(&mut shop(), &parse_parameters(parameters).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{parameters}: {err}");
    }
}

/// `properties` overrides of `web.<key>`, each value as given.
fn property_overrides(values: &[(&str, String)]) -> Vec<Parameter> {
    let map = values
        .iter()
        .map(|(key, value)| (format!("web.{key}"), value.clone()))
        .collect();
    vec![Parameter {
        name: "properties".into(),
        value: ParameterValue::Map(map),
    }]
}

#[test]
fn an_alias_bomb_in_a_parameter_value_is_refused() {
    // A 1 MiB anchored string used 20 times: 21 MiB of text from a 1 MiB value.
    let mib = "x".repeat(1024 * 1024);
    let bomb = format!("[&big {mib}{}]", ", *big".repeat(20));
    let err = apply_parameters(&mut shop(), &property_overrides(&[("env", bomb)]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("ARGOCD_APP_PARAMETERS"), "{err}");
    // The string and 15 copies are 16 MiB exactly: the 16th alias is one too many. The
    // string starts at column 7, and each `, *big` is 6 characters.
    let column = 7 + mib.len() + 6 * 15 + 2;
    assert!(
        err.contains(&format!(
            "parameter \"properties\", key \"web.env\", line 1, column {column}: this alias \
             expands the document to more than 16777216 bytes of text"
        )),
        "{err}"
    );
}

#[test]
fn parameter_values_share_one_budget() {
    // Six values of 3 MiB each (a 1 MiB string and two aliases to it): five fit in the
    // 16 MiB, six do not, though each fits alone.
    let mib = "x".repeat(1024 * 1024);
    let value = format!("[&big {mib}, *big, *big]");
    let keys = ["v0", "v1", "v2", "v3", "v4", "v5"];
    let values: Vec<(&str, String)> = keys.iter().map(|k| (*k, value.clone())).collect();
    apply_parameters(&mut shop(), &property_overrides(&values[..5])).unwrap();
    let err = apply_parameters(&mut shop(), &property_overrides(&values))
        .unwrap_err()
        .to_string();
    assert!(err.contains("key \"web.v5\""), "{err}");
    assert!(err.contains("16777216 bytes of text"), "{err}");
}

#[test]
fn announces_images_with_current_values() {
    let a = announcements(&shop());
    assert_eq!(a[0]["name"], "web.image");
    assert_eq!(a[0]["string"], "nginx:1");
    assert_eq!(a[1]["collectionType"], "map");
    assert_eq!(a[2]["collectionType"], "array");
}

/// The revision of `app`, read from `text`, rendered with `parameters`, `environment` and
/// `options`.
fn revision_of(
    text: &str,
    parameters: &[Parameter],
    environment: Option<&str>,
    app: &Application,
    options: &RenderOptions,
) -> String {
    content_revision(&RevisionInputs {
        text: text_digest(text),
        parameters,
        environment,
        app,
        registry: &Registry::builtin(),
        options,
    })
}

#[test]
fn the_revision_is_the_app_name_and_8_hex_of_the_inputs() {
    let app = shop();
    let options = RenderOptions::default();
    let revision = revision_of("text", &[], None, &app, &options);
    let (name, hash) = revision.split_at("shop-".len());
    assert_eq!(name, "shop-");
    assert_eq!(hash.len(), 8);
    assert!(
        hash.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    // Nothing else goes in: the same inputs, the same revision.
    assert_eq!(revision, revision_of("text", &[], None, &app, &options));
}

#[test]
fn every_input_of_the_render_changes_the_revision() {
    let app = shop();
    let options = RenderOptions::default();
    let base = revision_of("text", &[], None, &app, &options);
    let image = parse_parameters(r#"[{"name":"web.image","string":"nginx:2"}]"#).unwrap();
    let mut in_ns = app.clone();
    in_ns.namespace = Some("prod".into());
    let mut other_type = app.clone();
    other_type.components[0].type_name = "worker".into();
    let variants = [
        ("text", revision_of("text2", &[], None, &app, &options)),
        (
            "parameters",
            revision_of("text", &image, None, &app, &options),
        ),
        (
            "environment",
            revision_of("text", &[], Some("prod"), &app, &options),
        ),
        (
            "namespace",
            revision_of("text", &[], None, &in_ns, &options),
        ),
        (
            "definitions",
            revision_of("text", &[], None, &other_type, &options),
        ),
        (
            "--namespace",
            revision_of(
                "text",
                &[],
                None,
                &app,
                &RenderOptions {
                    namespace: Some("prod".into()),
                    ..RenderOptions::default()
                },
            ),
        ),
        (
            "cluster version",
            revision_of(
                "text",
                &[],
                None,
                &app,
                &RenderOptions {
                    cluster_version: "1.31.2".parse().unwrap(),
                    ..RenderOptions::default()
                },
            ),
        ),
        (
            "API versions",
            revision_of(
                "text",
                &[],
                None,
                &app,
                &RenderOptions {
                    api_versions: vec!["apps/v1".into()],
                    ..RenderOptions::default()
                },
            ),
        ),
    ];
    for (input, revision) in &variants {
        assert_ne!(*revision, base, "{input} did not change the revision");
    }
}

#[test]
fn the_namespace_given_and_the_namespace_written_are_the_same_input() {
    // `kiln render -n prod` of an app without a namespace renders what Argo CD renders
    // for it in prod: the same objects, so the same revision.
    let app = shop();
    let mut in_ns = app.clone();
    in_ns.namespace = Some("prod".into());
    let flag = RenderOptions {
        namespace: Some("prod".into()),
        ..RenderOptions::default()
    };
    assert_eq!(
        revision_of("text", &[], None, &app, &flag),
        revision_of("text", &[], None, &in_ns, &RenderOptions::default())
    );
}

#[test]
fn reads_the_destination_clusters_version_and_api_versions() {
    let env = Environment::from_vars(vars(&[
        ("KUBE_VERSION", "1.29.3+k3s1"),
        ("KUBE_API_VERSIONS", "v1,apps/v1,apps/v1/Deployment"),
    ]))
    .unwrap();
    assert_eq!(env.cluster_version.unwrap().to_string(), "v1.29.3");
    assert_eq!(env.api_versions, ["apps/v1", "v1"]);
    let unknown = Environment::from_vars(vars(&[("KUBE_VERSION", "")])).unwrap();
    assert_eq!(unknown.cluster_version, None);
    let err = Environment::from_vars(vars(&[("KUBE_VERSION", "one")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "KUBE_VERSION: \"one\" is not a Kubernetes version (expected e.g. 1.29 or v1.29.3)"
    );
}
