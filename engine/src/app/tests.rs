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
