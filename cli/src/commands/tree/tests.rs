use super::*;

#[test]
fn names_an_application_by_its_directory() {
    let root = Path::new("/repo");
    assert_eq!(
        app_name(root, Path::new("/repo/apps/shop/vela.yaml")),
        "apps/shop"
    );
    assert_eq!(app_name(root, Path::new("/repo/x/app.yaml")), "x");
}
