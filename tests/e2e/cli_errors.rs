//! Every error path: a precise message on stderr naming file, line and column, component,
//! trait and field where they exist; exit code 1; nothing on stdout.

use crate::common::*;

const HEAD: &str = "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: shop\nspec:\n  components:\n";

fn app(components: &str) -> String {
    format!("{HEAD}{components}")
}

#[track_caller]
fn assert_error(run: Run, expected: &str) {
    let err = run.failed();
    assert_eq!(err.trim_end(), format!("error: {expected}"));
}

#[test]
fn malformed_yaml() {
    assert_error(
        render_stdin("name: shop\nservices:\n  web:\n    image: [nginx\n", &[]),
        "<stdin>:5:1: invalid YAML: while parsing a flow sequence, expected ',' or ']'",
    );
}

#[test]
fn malformed_yaml_in_a_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vela.yaml");
    std::fs::write(&file, "name: shop\nservices:\n  web: {image: nginx\n").unwrap();
    let err = run(&["render", dir.path().to_str().unwrap()])
        .failed()
        .to_string();
    assert!(
        err.starts_with(&format!("error: {}:", file.display())),
        "{err}"
    );
    assert!(err.contains("invalid YAML"), "{err}");
}

#[test]
fn a_parameter_of_the_wrong_type() {
    assert_error(
        render_stdin(
            &app(
                "    - name: web\n      type: webservice\n      properties:\n        image: nginx\n      traits:\n        - type: scaler\n          properties:\n            replicas: three\n",
            ),
            &[],
        ),
        "<stdin>:14:23: component \"web\", trait \"scaler\", field \"replicas\": expected integer, found a string (\"three\")",
    );
}

#[test]
fn a_property_of_the_wrong_type_in_an_appfile() {
    let err = render_stdin(
        "name: shop\nservices:\n  web:\n    image: nginx\n    ports: 80\n",
        &[],
    )
    .failed()
    .to_string();
    assert!(
        err.starts_with("error: <stdin>:5:12: component \"web\", field \"ports\": expected array, found a number (80)"),
        "{err}"
    );
}

#[test]
fn an_unknown_component_type_suggests_the_nearest() {
    let err = render_stdin(&app("    - name: web\n      type: webservise\n"), &[])
        .failed()
        .to_string();
    assert!(
        err.starts_with(
            "error: <stdin>:8:13: component \"web\", field \"spec.components[0].type\": unknown \
             component type \"webservise\" (did you mean \"webservice\"?); known component types: "
        ),
        "{err}"
    );
    assert!(err.contains("webservice, worker"), "{err}");
}

#[test]
fn an_unknown_trait_suggests_the_nearest() {
    let err = render_stdin(
        &app("    - name: web\n      type: webservice\n      properties: {image: nginx}\n      traits:\n        - type: scalar\n"),
        &[],
    )
    .failed()
    .to_string();
    assert!(
        err.contains("<stdin>:11:17: component \"web\", field \"spec.components[0].traits[0].type\": unknown trait \"scalar\" (did you mean \"scaler\"?); known traits: "),
        "{err}"
    );
}

#[test]
fn every_unknown_name_is_reported_at_once() {
    let err = render_stdin(
        &app("    - name: a\n      type: nope\n    - name: b\n      type: webservice\n      traits:\n        - type: nada\n"),
        &[],
    )
    .failed()
    .to_string();
    assert!(err.contains("unknown component type \"nope\""), "{err}");
    assert!(err.contains("unknown trait \"nada\""), "{err}");
}

#[test]
fn a_missing_required_parameter() {
    assert_error(
        render_stdin(
            &app(
                "    - name: web\n      type: webservice\n      properties:\n        cpu: \"1\"\n",
            ),
            &[],
        ),
        "<stdin>:10:9: component \"web\", field \"image\": missing required parameter \"image\"",
    );
}

#[test]
fn a_trait_used_as_a_component_type() {
    let err = render_stdin(&app("    - name: web\n      type: scaler\n"), &[])
        .failed()
        .to_string();
    assert!(
        err.contains("\"scaler\" is a trait, not a component type"),
        "{err}"
    );
}

#[test]
fn a_trait_key_in_an_appfile_must_hold_a_map() {
    let err = render_stdin(
        "name: shop\nservices:\n  web:\n    image: nginx\n    scaler: [1]\n",
        &[],
    )
    .failed()
    .to_string();
    assert!(
        err.contains("\"scaler\" is a trait, so its value must be a map"),
        "{err}"
    );
}

#[test]
fn two_parties_setting_one_field_differently_are_both_named() {
    let err = render_stdin(
        &app("    - name: web\n      type: webservice\n      properties: {image: nginx}\n      traits:\n        - type: sidecar\n          properties: {name: web, image: busybox}\n"),
        &[],
    )
    .failed()
    .to_string();
    assert!(
        err.contains("component \"web\", trait \"sidecar\": conflicting values for \"spec.template.spec.containers[name=\"web\"].image\": component type \"webservice\" sets \"nginx\", trait \"sidecar\" sets \"busybox\""),
        "{err}"
    );
}

#[test]
fn two_traits_setting_one_field_differently_are_both_named() {
    let err = render_stdin(
        &app("    - name: web\n      type: webservice\n      properties: {image: nginx}\n      traits:\n        - type: sidecar\n          properties: {name: log, image: a}\n        - type: sidecar\n          properties: {name: log, image: b}\n"),
        &[],
    )
    .failed()
    .to_string();
    assert!(
        err.contains("trait \"sidecar\" sets \"a\", trait \"sidecar\" (#2) sets \"b\""),
        "{err}"
    );
}

#[test]
fn an_application_of_another_kind() {
    assert_error(
        render_stdin(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
            &[],
        ),
        "<stdin>:1:13: field \"apiVersion\": unsupported apiVersion \"apps/v1\"; expected core.oam.dev/v1beta1 or core.oam.dev/v1alpha2",
    );
}

#[test]
fn a_missing_file() {
    let err = run(&["render", "no/such/app.yaml"]).failed().to_string();
    assert!(
        err.contains("no/such/app.yaml: No such file or directory"),
        "{err}"
    );
}

#[test]
fn a_directory_without_an_application_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = run(&["render", dir.path().to_str().unwrap()])
        .failed()
        .to_string();
    assert!(err.contains("no application file in this directory (looked for vela.yaml, vela.json, Appfile, app.yaml)"), "{err}");
}

#[test]
fn a_bad_cluster_version_is_a_usage_error() {
    let run = run(&["render", "examples/hello", "--cluster-version", "latest"]);
    assert_eq!(run.code, Some(2));
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .contains("\"latest\" is not a Kubernetes version"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_unknown_definition_to_show() {
    let err = run(&["definitions", "show", "scalr"]).failed().to_string();
    assert!(
        err.contains("no definition named \"scalr\" (did you mean \"scaler\"?)"),
        "{err}"
    );
}

#[test]
fn every_parameter_violation_of_the_app_is_reported_at_once() {
    let err = render_stdin(
        "name: shop\nservices:\n  web:\n    image: nginx\n    replicas: 3\n    scaler:\n      replica: 2\n  api:\n    type: worker\n    cpu: 1\n",
        &[],
    )
    .failed()
    .to_string();
    assert_eq!(
        err.trim_end(),
        "error: <stdin>:5:15: component \"web\", field \"replicas\": unknown parameter \"replicas\"; known parameters: addRevisionLabel, annotations, args, cmd, cpu, env, exposeType, hostAliases, image, imagePullPolicy, imagePullSecrets, labels, limit, livenessProbe, memory, port, ports, readinessProbe, volumeMounts, volumes\n\
         <stdin>:7:16: component \"web\", trait \"scaler\", field \"replica\": unknown parameter \"replica\" (did you mean \"replicas\"?); known parameters: replicas\n\
         <stdin>:10:10: component \"api\", field \"cpu\": expected string, found a number (1)\n\
         <stdin>:9:5: component \"api\", field \"image\": missing required parameter \"image\""
    );
}

#[test]
fn a_trait_on_a_workload_it_does_not_apply_to() {
    let err = render_stdin(
        &app("    - name: agent\n      type: daemon\n      properties: {image: fluentd}\n      traits:\n        - type: scaler\n          properties: {replicas: 2}\n"),
        &[],
    )
    .failed()
    .to_string();
    assert!(
        err.contains("<stdin>:11:11: component \"agent\", trait \"scaler\": trait \"scaler\" does not apply to component type \"daemon\" (daemonsets.apps); it applies to: deployments.apps, statefulsets.apps"),
        "{err}"
    );
}

#[test]
fn kubevela_builtins_that_need_a_cluster_say_why() {
    let err = render_stdin(&app("    - name: cfg\n      type: ref-objects\n"), &[])
        .failed()
        .to_string();
    assert!(
        err.contains("KubeVela's \"ref-objects\" is not available in Kiln: it copies objects from a live cluster"),
        "{err}"
    );
    let list = run(&["definitions", "list"]);
    assert!(list.ok().contains("helmchart"), "{}", list.stdout);
}

#[test]
fn a_wrong_value_inside_an_optional_parameter_names_the_inner_field() {
    let err = render_stdin(
        "name: shop\nservices:\n  web:\n    image: nginx\n    limit: {cpu: 2}\n    k8s-update-strategy:\n      strategy: {type: RollingUpdate, rollingStrategy: {maxUnavailable: 0}}\n",
        &[],
    )
    .failed()
    .to_string();
    assert_eq!(
        err.trim_end(),
        "error: <stdin>:5:18: component \"web\", field \"limit.cpu\": expected string, found a number (2)\n\
         <stdin>:7:73: component \"web\", trait \"k8s-update-strategy\", field \"strategy.rollingStrategy.maxUnavailable\": expected string, found a number (0)"
    );
}
