use serde_json::{Value, json};

use super::*;

// The first six documents are KubeVela's test inputs (Apache-2.0), copied unchanged:
// pkg/appfile/dryrun/testdata/testing-dry-run-{1,2,3,4}.yaml of kubevela/kubevela and
// applications/policies/{override,topology}.yaml of kubevela/vela-go-definitions.

const DRY_RUN_1: &str = r#"apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: testing-app
  namespace: default
spec:
  components:
    - name: testing-dryrun
      type: webservice
      properties:
        image: oamdev/hello-world:v1
        ports:
        - port: 8000
          expose: true
      traits:
        - type: scaler
          properties:
            replicas: 1
  policies:
    - name: target-default
      type: topology
      properties:
        clusters: [ "local" ]
        namespace: "default"
    - name: target-prod
      type: topology
      properties:
        clusters: [ "local" ]
        namespace: "prod"
    - name: deploy-ha
      type: override
      properties:
        components:
          - type: webservice
            traits:
              - type: scaler
                properties:
                  replicas: 3
  workflow:
    steps:
      - name: deploy2default
        type: deploy
        properties:
          policies: [ "target-default" ]
      - name: deploy2prod
        type: deploy
        properties:
          policies: [ "target-prod", "deploy-ha" ]
"#;

const DRY_RUN_2: &str = r#"apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: testing-app
spec:
  components:
    - name: testing-dryrun
      type: webservice
      properties:
        image: oamdev/hello-world:v1
        ports:
        - port: 8000
          expose: true
      traits:
        - type: scaler
          properties:
            replicas: 1
  policies:
    - name: deploy-ha
      type: override
      properties:
        components:
          - type: webservice
            traits:
              - type: scaler
                properties:
                  replicas: 3
"#;

const DRY_RUN_3: &str = r#"apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: testing-app
spec:
  components:
    - name: testing-dryrun
      type: webservice
      properties:
        image: oamdev/hello-world:v1
  workflow:
    steps:
      - name: suspend
        type: suspend

"#;

const DRY_RUN_4: &str = r#"apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: testing-app
spec:
  components:
    - name: testing-dryrun
      type: webservice
      properties:
        image: oamdev/hello-world:v1
  policies:
    - name: mypolicy
      type: mypolicy
      properties:
        name: "my-policy"

"#;

const OVERRIDE_EXAMPLE: &str = r#"apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: deploy-with-override
  namespace: default
spec:
  components:
    - name: nginx-with-override
      type: webservice
      properties:
        image: nginx
  policies:
    - name: topology-local
      type: topology
      properties:
        clusters: ["local"]
        namespace: default
    - name: override-nginx-legacy-image
      type: override
      properties:
        components:
          - name: nginx-with-override
            properties:
              image: nginx:latest
    - name: override-high-availability
      type: override
      properties:
        components:
          - type: webservice
            traits:
              - type: scaler
                properties:
                  replicas: 3
  workflow:
    steps:
      - type: deploy
        name: deploy-local
        properties:
          policies: ["topology-local", "override-nginx-legacy-image", "override-high-availability"]
"#;

const TOPOLOGY_EXAMPLE: &str = r#"apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: basic-topology
  namespace: default
spec:
  components:
    - name: nginx-basic
      type: webservice
      properties:
        image: nginx
  policies:
    - name: topology-hangzhou-clusters
      type: topology
      properties:
        clusters: ["local"]
"#;

fn read(text: &str) -> Application {
    Application::from_source(
        crate::app::Source::parse("app.yaml", text).unwrap(),
        &|_: &str| false,
    )
    .unwrap()
}

fn select(text: &str, env: Option<&str>) -> Result<Selected> {
    select_environment(read(text), env)
}

fn error(text: &str, env: Option<&str>) -> String {
    select(text, env).unwrap_err().to_string()
}

fn component<'a>(selected: &'a Selected, name: &str) -> &'a Component {
    selected
        .app
        .components
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no component {name}"))
}

fn properties(component: &Component) -> Value {
    Value::Object(component.properties.clone())
}

/// `type: properties` of each trait, in order.
fn traits(component: &Component) -> Vec<(String, Value)> {
    component
        .traits
        .iter()
        .map(|t| (t.type_name.clone(), Value::Object(t.properties.clone())))
        .collect()
}

fn names(selected: &Selected) -> Vec<&str> {
    selected.app.components.iter().map(|c| &*c.name).collect()
}

/// An Application with two components and the given `policies` and `workflow` (YAML that
/// goes under `spec:`, indented by two).
fn app(spec_tail: &str) -> String {
    format!(
        "apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: shop
spec:
  components:
    - name: web
      type: webservice
      properties:
        image: web:1
        env: {{A: a, B: b}}
        ports: [{{port: 80}}]
      traits:
        - type: scaler
          properties: {{replicas: 1}}
        - type: labels
          properties: {{team: a}}
    - name: worker
      type: worker
      properties:
        image: worker:1
{spec_tail}"
    )
}

// The fixtures.

#[test]
fn dry_run_1_deploy_to_default_keeps_one_replica() {
    let selected = select(DRY_RUN_1, Some("deploy2default")).unwrap();
    assert_eq!(selected.name.as_deref(), Some("deploy2default"));
    assert_eq!(selected.app.namespace.as_deref(), Some("default"));
    let c = component(&selected, "testing-dryrun");
    assert_eq!(traits(c), [("scaler".into(), json!({"replicas": 1}))]);
    assert_eq!(
        properties(c),
        json!({"image": "oamdev/hello-world:v1", "ports": [{"port": 8000, "expose": true}]})
    );
    assert!(selected.warnings.is_empty(), "{:?}", selected.warnings);
}

#[test]
fn dry_run_1_deploy_to_prod_scales_to_three_in_prod() {
    let selected = select(DRY_RUN_1, Some("deploy2prod")).unwrap();
    assert_eq!(selected.name.as_deref(), Some("deploy2prod"));
    assert_eq!(selected.app.namespace.as_deref(), Some("prod"));
    let c = component(&selected, "testing-dryrun");
    assert_eq!(traits(c), [("scaler".into(), json!({"replicas": 3}))]);
    // The merged trait keeps its own place in the file for errors.
    assert_eq!(dotted(&c.traits[0].path), "spec.components[0].traits[0]");
    assert!(selected.warnings.is_empty(), "{:?}", selected.warnings);
}

#[test]
fn dry_run_1_lists_its_environments() {
    let envs = environments(&read(DRY_RUN_1)).unwrap();
    let summary: Vec<(Option<&str>, Vec<&str>)> = envs
        .iter()
        .map(|e| {
            (
                e.name.as_deref(),
                e.policies.iter().map(|p| &*p.name).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Some("deploy2default"), vec!["target-default"]),
            (Some("deploy2prod"), vec!["target-prod", "deploy-ha"]),
        ]
    );
}

#[test]
fn dry_run_1_needs_a_choice() {
    assert_eq!(
        error(DRY_RUN_1, None),
        "app.yaml: application \"testing-app\" has 2 environments (deploy2default, \
         deploy2prod): choose one with --env or KILN_ENV"
    );
}

#[test]
fn dry_run_2_with_only_an_override_policy_applies_it() {
    let selected = select(DRY_RUN_2, None).unwrap();
    assert_eq!(selected.name, None);
    assert_eq!(selected.app.namespace, None);
    let c = component(&selected, "testing-dryrun");
    assert_eq!(traits(c), [("scaler".into(), json!({"replicas": 3}))]);
}

#[test]
fn dry_run_3_without_policies_renders_as_written() {
    let app = read(DRY_RUN_3);
    assert_eq!(app.workflow_steps.len(), 1);
    assert_eq!(app.workflow_steps[0].type_name, "suspend");
    let selected = select_environment(app.clone(), None).unwrap();
    assert_eq!(selected.name, None);
    assert_eq!(names(&selected), ["testing-dryrun"]);
    assert_eq!(
        properties(component(&selected, "testing-dryrun")),
        json!({"image": "oamdev/hello-world:v1"})
    );
    assert!(environments(&app).unwrap().is_empty());
}

#[test]
fn dry_run_4_keeps_other_policies_for_later_stages() {
    let selected = select(DRY_RUN_4, None).unwrap();
    assert_eq!(selected.name, None);
    let policy = &selected.app.policies[0];
    assert_eq!(
        (&*policy.name, &*policy.type_name),
        ("mypolicy", "mypolicy")
    );
    assert_eq!(
        Value::Object(policy.properties.clone()),
        json!({"name": "my-policy"})
    );
    assert_eq!(dotted(&policy.path), "spec.policies[0]");
    assert_eq!(
        selected.app.source.site(&policy.path).position,
        Some((12, 7))
    );
}

#[test]
fn override_example_sets_the_image_and_appends_a_scaler() {
    let selected = select(OVERRIDE_EXAMPLE, None).unwrap();
    assert_eq!(selected.name.as_deref(), Some("deploy-local"));
    assert_eq!(selected.app.namespace.as_deref(), Some("default"));
    let c = component(&selected, "nginx-with-override");
    assert_eq!(properties(c), json!({"image": "nginx:latest"}));
    assert_eq!(traits(c), [("scaler".into(), json!({"replicas": 3}))]);
    // An appended trait's errors point at the override that added it.
    assert_eq!(
        dotted(&c.traits[0].properties_path),
        "spec.policies[2].properties.components[0].traits[0].properties"
    );
    assert!(selected.warnings.is_empty(), "{:?}", selected.warnings);
}

#[test]
fn topology_example_is_one_environment_without_deploy_steps() {
    let selected = select(TOPOLOGY_EXAMPLE, None).unwrap();
    assert_eq!(selected.name.as_deref(), Some("topology-hangzhou-clusters"));
    // No namespace in the topology: the application's stays.
    assert_eq!(selected.app.namespace.as_deref(), Some("default"));
    assert_eq!(
        properties(component(&selected, "nginx-basic")),
        json!({"image": "nginx"})
    );
}

// Override semantics.

#[test]
fn properties_merge_deeply_lists_replace_and_null_removes() {
    let selected = select(
        &app("  policies:
    - name: o
      type: override
      properties:
        components:
          - name: web
            properties:
              image: web:2
              env: {B: bb, C: c}
              ports: [{port: 8080}]
              extra: {nested: {x: 1}}
          - name: worker
            properties: {image: null}
"),
        None,
    )
    .unwrap();
    assert_eq!(
        properties(component(&selected, "web")),
        json!({
            "image": "web:2",
            "env": {"A": "a", "B": "bb", "C": "c"},
            "ports": [{"port": 8080}],
            "extra": {"nested": {"x": 1}},
        })
    );
    assert_eq!(properties(component(&selected, "worker")), json!({}));
}

#[test]
fn trait_patches_merge_append_and_disable_in_order() {
    let selected = select(
        &app("  policies:
    - name: o
      type: override
      properties:
        components:
          - name: web
            traits:
              - {type: labels, disable: true}
              - {type: scaler, properties: {replicas: 2}}
              - {type: gateway, properties: {domain: a.example}}
              - {type: expose, disable: true}
"),
        None,
    )
    .unwrap();
    assert_eq!(
        traits(component(&selected, "web")),
        [
            ("scaler".into(), json!({"replicas": 2})),
            ("gateway".into(), json!({"domain": "a.example"})),
        ]
    );
    assert!(component(&selected, "worker").traits.is_empty());
}

#[test]
fn entries_match_by_type_by_name_and_by_wildcard() {
    let selected = select(
        &app("  policies:
    - name: o
      type: override
      properties:
        components:
          - type: worker
            properties: {by: type}
          - name: web
            properties: {by: name}
          - name: '*'
            properties: {all: true}
          - name: 'w*r'
            properties: {glob: true}
          - name: web
            type: worker
            properties: {never: true}
"),
        None,
    )
    .unwrap();
    assert_eq!(
        properties(component(&selected, "web")),
        json!({"image": "web:1", "env": {"A": "a", "B": "b"}, "ports": [{"port": 80}],
               "by": "name", "all": true})
    );
    assert_eq!(
        properties(component(&selected, "worker")),
        json!({"image": "worker:1", "by": "type", "all": true, "glob": true})
    );
}

#[test]
fn an_entry_naming_no_component_warns() {
    let selected = select(
        &app("  policies:
    - name: o
      type: override
      properties:
        components:
          - name: wbe
            properties: {image: x}
"),
        None,
    )
    .unwrap();
    assert_eq!(
        selected.warnings,
        [
            "app.yaml:27:19: field \"spec.policies[0].properties.components[0].name\": warning: \
          override policy \"o\": no component named \"wbe\" (did you mean \"web\"?): this entry changes \
          nothing"
        ]
    );
    assert_eq!(properties(component(&selected, "web"))["image"], "web:1");
}

#[test]
fn a_selector_keeps_the_named_components_in_file_order() {
    let spec = "  policies:
    - name: o
      type: override
      properties:
        selector: [worker]
";
    let selected = select(&app(spec), None).unwrap();
    assert_eq!(names(&selected), ["worker"]);
    // An empty selector keeps all (override.cue: "if empty, all components").
    let selected = select(&app(&spec.replace("[worker]", "[]")), None).unwrap();
    assert_eq!(names(&selected), ["web", "worker"]);
}

#[test]
fn overrides_apply_in_the_order_the_step_lists_them() {
    let spec = "  policies:
    - name: two
      type: override
      properties:
        components: [{name: web, properties: {image: web:2}}]
    - name: three
      type: override
      properties:
        components: [{name: web, properties: {image: web:3}}]
  workflow:
    steps:
      - name: a
        type: deploy
        properties: {policies: [three, two]}
      - name: b
        type: deploy
        properties: {policies: [two, three]}
      - name: plain
        type: deploy
";
    let image = |env| {
        properties(component(&select(&app(spec), Some(env)).unwrap(), "web"))["image"].clone()
    };
    assert_eq!(image("a"), "web:2");
    assert_eq!(image("b"), "web:3");
    assert_eq!(image("plain"), "web:1");
}

#[test]
fn without_deploy_steps_each_topology_is_an_environment_with_every_override() {
    let spec = "  policies:
    - name: staging
      type: topology
      properties: {namespace: staging}
    - name: ha
      type: override
      properties:
        components: [{type: webservice, traits: [{type: scaler, properties: {replicas: 3}}]}]
    - name: prod
      type: topology
      properties: {clusters: [local], namespace: prod}
  workflow:
    steps:
      - {name: wait, type: suspend}
";
    let app_text = app(spec);
    for env in ["staging", "prod"] {
        let selected = select(&app_text, Some(env)).unwrap();
        assert_eq!(selected.name.as_deref(), Some(env));
        assert_eq!(selected.app.namespace.as_deref(), Some(env));
        assert_eq!(
            traits(component(&selected, "web"))[0],
            ("scaler".into(), json!({"replicas": 3}))
        );
    }
}

#[test]
fn deploy_steps_inside_a_step_group_and_inline_policies_count() {
    let selected = select(
        &app("  workflow:
    steps:
      - name: group
        type: step-group
        subSteps:
          - name: to-qa
            type: deploy
            properties:
              inlinePolicies:
                - type: topology
                  properties: {namespace: qa}
                - type: override
                  properties:
                    components: [{name: web, properties: {image: web:qa}}]
"),
        None,
    )
    .unwrap();
    assert_eq!(selected.name.as_deref(), Some("to-qa"));
    assert_eq!(selected.app.namespace.as_deref(), Some("qa"));
    assert_eq!(properties(component(&selected, "web"))["image"], "web:qa");
    let envs = environments(&read(&app("  workflow:
    steps:
      - name: to-qa
        type: deploy
        properties:
          inlinePolicies: [{type: override}]
")))
    .unwrap();
    assert_eq!(envs[0].policies[0].name, "inline-override-policy-0");
}

#[test]
fn other_clusters_and_cluster_selectors_are_warnings() {
    let selected = select(
        &app("  policies:
    - name: regions
      type: topology
      properties:
        clusters: [local, hangzhou, beijing]
        clusterLabelSelector: {region: cn}
"),
        None,
    )
    .unwrap();
    assert_eq!(
        selected.warnings,
        [
            "app.yaml:26:19: field \"spec.policies[0].properties.clusters\": warning: topology policy \
             \"regions\": clusters \"hangzhou\", \"beijing\" are not rendered: Kiln renders for \
             one cluster, Argo CD's destination",
            "app.yaml:27:31: field \"spec.policies[0].properties.clusterLabelSelector\": \
             warning: topology policy \"regions\": clusterLabelSelector is ignored: Kiln renders for one \
             cluster, Argo CD's destination",
        ]
    );
    assert_eq!(selected.app.namespace, None);
}

#[test]
fn the_input_application_is_not_changed() {
    let app = read(DRY_RUN_2);
    let _ = select_environment(app.clone(), None).unwrap();
    assert_eq!(
        traits(&app.components[0]),
        [("scaler".into(), json!({"replicas": 1}))]
    );
}

// Errors.

#[test]
fn an_unknown_environment_suggests_a_close_one() {
    assert_eq!(
        error(DRY_RUN_1, Some("deploy2prd")),
        "app.yaml: application \"testing-app\" has no environment \"deploy2prd\" (did you mean \
         \"deploy2prod\"?); its environments: deploy2default, deploy2prod"
    );
    assert_eq!(
        error(DRY_RUN_1, Some("staging")),
        "app.yaml: application \"testing-app\" has no environment \"staging\"; its \
         environments: deploy2default, deploy2prod"
    );
}

#[test]
fn naming_an_environment_of_an_application_without_any_is_an_error() {
    let expected = "app.yaml: application \"testing-app\" has no environment \"prod\": it \
                    defines none (environments are the deploy steps of spec.workflow, else its \
                    topology policies)";
    assert_eq!(error(DRY_RUN_3, Some("prod")), expected);
    // The one environment of an override-only application has no name either.
    assert_eq!(error(DRY_RUN_2, Some("prod")), expected);
}

#[test]
fn a_step_naming_an_unknown_policy_is_an_error_at_its_place() {
    let text = DRY_RUN_1.replace(
        "policies: [ \"target-prod\", \"deploy-ha\" ]",
        "policies: [ \"target-prd\", \"deploy-ha\" ]",
    );
    let expected = "app.yaml:48:23: field \"spec.workflow.steps[1].properties.policies[0]\": no \
                    policy named \"target-prd\" (did you mean \"target-prod\"?)";
    // Whichever environment is chosen.
    assert_eq!(error(&text, Some("deploy2default")), expected);
    assert_eq!(error(&text, None), expected);
}

#[test]
fn a_selector_naming_an_unknown_component_is_an_error() {
    assert_eq!(
        error(
            &app("  policies:
    - name: o
      type: override
      properties:
        selector: [web, wroker]
"),
            None
        ),
        "app.yaml:26:25: field \"spec.policies[0].properties.selector[1]\": no component named \
         \"wroker\" (did you mean \"worker\"?)"
    );
}

#[test]
fn wrongly_typed_fields_are_errors_at_their_place() {
    let cases = [
        (
            "  policies:\n    - {name: t, type: topology, properties: {namespace: 3}}\n",
            "app.yaml:23:57: field \"spec.policies[0].properties.namespace\": expected a string, \
             found a number",
        ),
        (
            "  policies:\n    - {name: o, type: override, properties: {components: {name: web}}}\n",
            "app.yaml:23:58: field \"spec.policies[0].properties.components\": expected a list, \
             found a map",
        ),
        (
            "  policies:\n    - name: o\n      type: override\n      properties:\n        \
             components: [{traits: [{type: scaler, disable: 'yes'}]}]\n",
            "app.yaml:26:56: field \
             \"spec.policies[0].properties.components[0].traits[0].disable\": expected a \
             boolean, found a string",
        ),
        (
            "  policies:\n    - {name: o, type: override, properties: {components: [{traits: [{properties: {}}]}]}}\n",
            "app.yaml:23:69: field \"spec.policies[0].properties.components[0].traits[0]\": \
             missing trait type",
        ),
        (
            "  policies:\n    - {name: o, type: override, properties: {components: [{nmae: web}]}}\n",
            "app.yaml:23:66: field \"spec.policies[0].properties.components[0].nmae\": unknown \
             override component field \"nmae\" (expected name, type, properties, traits, \
             externalRevision)",
        ),
        (
            "  policies:\n    - {name: t, type: topology, properties: {namespace: Prod}}\n",
            "app.yaml:23:57: field \"spec.policies[0].properties.namespace\": \"Prod\" is not a \
             valid name: use at most 63 lowercase letters, digits and '-', starting and ending \
             with a letter or digit",
        ),
        (
            "  policies:\n    - {name: t, type: topology, properties: {cluster: [local]}}\n",
            "app.yaml:23:55: field \"spec.policies[0].properties.cluster\": unknown topology field \
             \"cluster\" (expected clusters, clusterLabelSelector, clusterSelector, allowEmpty, \
             namespace)",
        ),
        (
            "  workflow:\n    steps:\n      - {name: a, type: deploy, properties: {policies: a}}\n",
            "app.yaml:24:56: field \"spec.workflow.steps[0].properties.policies\": expected a \
             list, found a string",
        ),
        (
            "  policies:\n    - {name: o, type: override, properties: [1]}\n",
            "app.yaml:23:45: field \"spec.policies[0].properties\": expected a map, found a list",
        ),
    ];
    let mut failures = Vec::new();
    for (spec, expected) in cases {
        let text = app(spec);
        let err = Application::from_source(
            crate::app::Source::parse("app.yaml", &text).unwrap(),
            &|_: &str| false,
        )
        .and_then(|app| select_environment(app, None));
        let got = err.unwrap_err().to_string();
        if got != expected {
            failures.push(format!("{spec}\n  got: {got}\n want: {expected}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn environments_must_be_well_named() {
    let unnamed = app("  workflow:\n    steps:\n      - {type: deploy}\n");
    assert_eq!(
        error(&unnamed, None),
        "app.yaml:24:9: field \"spec.workflow.steps[0]\": a deploy step needs a name: it names \
         the environment"
    );
    let twice = app(
        "  workflow:\n    steps:\n      - {name: a, type: deploy}\n      - {name: a, type: deploy}\n",
    );
    assert_eq!(
        error(&twice, None),
        "app.yaml:25:16: field \"spec.workflow.steps[1].name\": duplicate deploy step name \"a\""
    );
}

#[test]
fn one_environment_cannot_render_two_namespaces() {
    let spec = "  policies:
    - {name: a, type: topology, properties: {namespace: one}}
    - {name: b, type: topology, properties: {namespace: two}}
  workflow:
    steps:
      - {name: both, type: deploy, properties: {policies: [a, b]}}
";
    assert_eq!(
        error(&app(spec), None),
        "app.yaml:24:57: field \"spec.policies[1].properties.namespace\": topology policy \"b\" \
         deploys to namespace \"two\", but topology policy \"a\" of the same environment to \
         \"one\": Kiln renders one namespace per environment"
    );
}

#[test]
fn glob_matches_whole_names() {
    assert!(glob("web", "web"));
    assert!(!glob("web", "web-2"));
    assert!(glob("*", "anything"));
    assert!(glob("web-*", "web-2"));
    assert!(glob("*-api", "shop-api"));
    assert!(!glob("*-api", "shop-api-2"));
    assert!(glob("a*b*c", "a-b-c"));
    assert!(!glob("ab*b", "ab"));
}

#[test]
fn policies_of_other_types_are_noted_not_applied() {
    let selected = select(
        &app("  policies:
    - name: keep
      type: garbage-collect
      properties: {keepLegacyResource: true}
"),
        None,
    )
    .unwrap();
    assert_eq!(
        selected.warnings,
        [
            "app.yaml:24:13: field \"spec.policies[0].type\": warning: policy \"keep\" of type \
             \"garbage-collect\" is not applied: Kiln applies the override and topology \
             policies; the others act in the cluster, and guardrails are the platform's \
             (KILN_PLATFORM)"
        ]
    );
}
