use super::*;

fn is_trait(name: &str) -> bool {
    matches!(name, "scaler" | "gateway")
}

fn read(text: &str) -> Result<Application> {
    Application::from_source(Source::parse("app.yaml", text)?, &is_trait)
}

#[test]
fn reads_an_appfile_keeping_service_order_and_splitting_traits() {
    let app = read(
        "name: shop\nservices:\n  web:\n    image: nginx\n    scaler:\n      replicas: 2\n  \
         api:\n    type: worker\n    image: api\n",
    )
    .unwrap();
    assert_eq!(app.name, "shop");
    let names: Vec<_> = app.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["web", "api"]);
    assert_eq!(app.components[0].type_name, "webservice");
    assert_eq!(app.components[0].properties["image"], "nginx");
    assert_eq!(app.components[0].traits[0].type_name, "scaler");
    assert_eq!(app.components[0].traits[0].properties["replicas"], 2);
    assert_eq!(app.components[1].type_name, "worker");
}

#[test]
fn reads_an_application() {
    let app = read(
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: shop\n  \
         namespace: prod\n  labels: {team: a}\nspec:\n  components:\n    - name: web\n      \
         type: webservice\n      properties: {image: nginx}\n      traits:\n        - type: scaler\n          \
         properties: {replicas: 3}\n",
    )
    .unwrap();
    assert_eq!(app.namespace.as_deref(), Some("prod"));
    assert_eq!(app.labels["team"], "a");
    assert_eq!(app.components[0].traits[0].properties["replicas"], 3);
}

#[test]
fn a_trait_key_must_hold_a_map() {
    let err = read("name: a\nservices:\n  web:\n    image: x\n    scaler: 3\n").unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("app.yaml:5:13: field \"services.web.scaler\""),
        "{text}"
    );
    assert!(text.contains("is a trait"), "{text}");
}

#[test]
fn errors_name_file_line_and_field() {
    let err = read(
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {name: a}\nspec:\n  \
         components:\n    - name: web\n      type: 3\n",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "app.yaml:7:13: field \"spec.components[0].type\": expected a string, found a number"
    );
}

#[test]
fn refuses_unknown_component_fields() {
    let err = read(
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {name: a}\nspec:\n  \
         components:\n    - name: web\n      type: webservice\n      propeties: {}\n",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown component field \"propeties\""),
        "{err}"
    );
}

#[test]
fn refuses_invalid_names_and_duplicates() {
    let err = read("name: Shop\nservices: {}\n").unwrap_err();
    assert!(err.to_string().contains("not a valid name"), "{err}");
    let err = read(
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {name: a}\nspec:\n  \
         components:\n    - {name: web, type: webservice}\n    - {name: web, type: worker}\n",
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("duplicate component name"),
        "{err}"
    );
}

#[test]
fn refuses_other_kinds() {
    let err = read("apiVersion: apps/v1\nkind: Deployment\n").unwrap_err();
    assert!(err.to_string().contains("unsupported apiVersion"), "{err}");
}

#[test]
fn dotted_paths_read_like_users_write_them() {
    let path = [
        Segment::Key("spec".into()),
        Segment::Key("components".into()),
        Segment::Index(0),
        Segment::Key("http".into()),
        Segment::Key("/api".into()),
    ];
    assert_eq!(dotted(&path), "spec.components[0].http[\"/api\"]");
}

#[test]
fn reads_policies_and_workflow_steps() {
    let app = read(
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {name: a}\nspec:\n  \
         components: []\n  policies:\n    - name: prod\n      type: topology\n      \
         properties: {namespace: prod}\n    - {name: gc, type: garbage-collect}\n  workflow:\n    \
         steps:\n      - name: wait\n        type: suspend\n      - name: group\n        \
         type: step-group\n        subSteps:\n          - name: to-prod\n            \
         type: deploy\n            properties:\n              policies: [prod]\n              \
         inlinePolicies: [{type: override}]\n",
    )
    .unwrap();
    let policies: Vec<_> = app
        .policies
        .iter()
        .map(|p| (p.name.as_str(), p.type_name.as_str(), p.properties.len()))
        .collect();
    assert_eq!(
        policies,
        [("prod", "topology", 1), ("gc", "garbage-collect", 0)]
    );
    assert_eq!(app.policies[0].properties["namespace"], "prod");
    assert_eq!(dotted(&app.policies[1].path), "spec.policies[1]");
    assert_eq!(
        app.source.site(&app.policies[1].path).position,
        Some((10, 7))
    );
    let steps = &app.workflow_steps;
    assert_eq!(steps.len(), 2);
    assert_eq!(
        (steps[0].name.as_deref(), steps[0].type_name.as_str()),
        (Some("wait"), "suspend")
    );
    assert!(steps[0].policies.is_empty());
    let deploy = &steps[1].sub_steps[0];
    assert_eq!(deploy.type_name, "deploy");
    assert_eq!(deploy.policies, ["prod"]);
    assert_eq!(deploy.inline_policies[0].name, "inline-override-policy-0");
    assert_eq!(dotted(&deploy.path), "spec.workflow.steps[1].subSteps[0]");
}

#[test]
fn an_appfile_has_no_policies() {
    let app = read("name: shop\nservices:\n  web:\n    image: nginx\n").unwrap();
    assert!(app.policies.is_empty() && app.workflow_steps.is_empty());
}

#[test]
fn refuses_malformed_policies() {
    let head = "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata: {name: a}\nspec:\n  \
                components: []\n";
    let cases = [
        (
            "  policies: {name: a}\n",
            "app.yaml:6:13: field \"spec.policies\": expected a list, found a map",
        ),
        (
            "  policies: [override]\n",
            "app.yaml:6:14: field \"spec.policies[0]\": expected a map, found a string",
        ),
        (
            "  policies:\n    - {type: override}\n",
            "app.yaml:7:7: field \"spec.policies[0]\": missing policy name",
        ),
        (
            "  policies:\n    - {name: a}\n",
            "app.yaml:7:7: field \"spec.policies[0]\": missing policy type",
        ),
        (
            "  policies:\n    - {name: a, type: override}\n    - {name: a, type: topology}\n",
            "app.yaml:8:14: field \"spec.policies[1].name\": duplicate policy name \"a\"",
        ),
        (
            "  policies:\n    - {name: a, type: override, propertis: {}}\n",
            "app.yaml:7:44: field \"spec.policies[0].propertis\": unknown policy field \
             \"propertis\" (expected name, type, properties)",
        ),
        (
            "  workflow:\n    steps:\n      - {name: a}\n",
            "app.yaml:8:9: field \"spec.workflow.steps[0]\": missing workflow step type",
        ),
    ];
    for (tail, expected) in cases {
        let err = read(&format!("{head}{tail}")).unwrap_err();
        assert_eq!(err.to_string(), expected, "{tail}");
    }
}

#[test]
fn a_read_application_drops_the_tree_and_still_finds_positions() {
    let text = "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: shop\n\
                spec:\n  components:\n    - name: web\n      type: webservice\n      \
                properties:\n        image: nginx\n      traits:\n        - type: scaler\n";
    let app = read(text).unwrap();
    assert!(
        app.source.root.get().is_none(),
        "the tree is dropped once read"
    );
    let web = &app.components[0];
    assert_eq!(web.position, Some((7, 7)));
    assert_eq!(web.traits[0].position, Some((12, 11)));
    // Parsed again on demand: the same positions as the reader saw.
    assert_eq!(app.source.site(&web.path).position, web.position);
    let image = key(&web.properties_path, "image");
    assert_eq!(app.source.site(&image).position, Some((10, 16)));
}

#[test]
fn an_appfile_knows_where_its_services_and_traits_are() {
    let app =
        read("name: shop\nservices:\n  web:\n    image: nginx\n    scaler:\n      replicas: 2\n")
            .unwrap();
    let web = &app.components[0];
    assert_eq!(web.position, app.source.site(&web.path).position);
    assert_eq!(
        web.traits[0].position,
        app.source.site(&web.traits[0].path).position
    );
    assert_eq!(web.traits[0].position, Some((6, 7)));
}

#[test]
fn type_names_are_found_in_the_text_without_parsing_it() {
    let text = Text {
        file: "app.yaml".into(),
        text: "spec:\n  components:\n  - name: a\n    type: webservice # the workload\n    \
               traits:\n    - type: \"scaler\"\n    -   type: 'hpa'\n    - properties: {}\n      \
               type: scaler\n  - type:\n    name: b\nkind: Application\n"
            .into(),
    };
    let names: Vec<&str> = text.type_names().into_iter().collect();
    assert_eq!(names, ["hpa", "scaler", "webservice"]);
}

#[test]
fn parses_parameter_paths() {
    assert_eq!(
        parse_field("ports[0].port"),
        vec![
            Segment::Key("ports".into()),
            Segment::Index(0),
            Segment::Key("port".into())
        ]
    );
    assert_eq!(dotted(&parse_field("ports[0].port")), "ports[0].port");
}
