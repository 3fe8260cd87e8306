//! KubeVela's `vela dry-run` tests, with their custom definitions rewritten as Kiln guests
//! (`tests/guests/{myworker,myingress,test-webservice,test-ingress}`):
//!
//! - `pkg/appfile/dryrun` (`dryrun_test.go`): the rendered objects must equal KubeVela's
//!   exactly, every label and `annotations: {}` included, in order;
//! - `e2e/plugin` (`plugin_test.go`): `vela dry-run`'s text must appear in the output.
//!
//! The inputs and expected outputs are copied under `fixtures/kubevela-dryrun/` and
//! `fixtures/vela-plugin-dryrun/`, each with its attribution line.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::common::*;

/// One directory holding the four guests, built once per test run.
fn definitions() -> &'static str {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["myworker", "myingress", "test-webservice", "test-ingress"] {
            let wasm = build_guest("tests/guests", name);
            std::fs::copy(&wasm, dir.path().join(format!("{name}.wasm"))).expect("copy a module");
        }
        // Kept for the whole test run (a TempDir would be removed on drop).
        dir.keep()
    })
    .to_str()
    .expect("UTF-8 path")
}

/// Parses one YAML document into JSON.
fn yaml(text: &str) -> Value {
    kiln::app::yaml::parse(text)
        .unwrap_or_else(|e| panic!("invalid YAML {e:?}:\n{text}"))
        .to_json()
}

/// KubeVela's expected `types.ComponentManifest` of `dryrun-app.yaml`.
fn expected_manifest() -> Value {
    yaml(include_str!(
        "fixtures/kubevela-dryrun/dryrun-exp-comp.yaml"
    ))
}

#[test]
fn dryrun_app_renders_exactly_kubevelas_component_manifest() {
    let app = include_str!("fixtures/kubevela-dryrun/dryrun-app.yaml");
    // `lives` and `enemies` are not parameters of `myworker`: KubeVela's dry-run ignores
    // them, and so does the guest, whose parameters are open (no `deny_unknown_fields`).
    assert!(app.contains("lives: \"3\"") && app.contains("enemies: \"alien\""));
    // --vela-headers: KubeVela's dry-run has no revision, and this mode leaves it empty too
    // (its comment-only header documents read as null).
    let objects: Vec<Value> =
        objects(render_stdin(app, &["-d", definitions(), "--vela-headers"]).ok())
            .into_iter()
            .filter(|o| !o.is_null())
            .collect();

    let manifest = expected_manifest();
    assert_eq!(manifest["Name"], "myweb");
    assert_eq!(manifest["Namespace"], "default");
    let mut expected = vec![manifest["ComponentOutput"].clone()];
    expected.extend(
        manifest["ComponentOutputsAndTraits"]
            .as_array()
            .expect("a list of trait outputs")
            .iter()
            .cloned(),
    );
    let kinds: Vec<&Value> = expected.iter().map(|o| &o["kind"]).collect();
    assert_eq!(kinds, ["Deployment", "Service", "Ingress"]);
    assert_eq!(objects.len(), expected.len(), "{objects:#?}");
    for (actual, expected) in objects.iter().zip(&expected) {
        assert_eq!(actual, expected, "{}", expected["kind"]);
    }
}

#[test]
fn dryrun_app_with_ns_keeps_the_apps_namespace() {
    let app = include_str!("fixtures/kubevela-dryrun/dryrun-app-with-ns.yaml");
    let objects: Vec<Value> =
        objects(render_stdin(app, &["-d", definitions(), "--vela-headers"]).ok())
            .into_iter()
            .filter(|o| !o.is_null())
            .collect();
    assert_eq!(objects.len(), 1, "{objects:#?}");
    // KubeVela's test asserts the namespace only.
    assert_eq!(objects[0]["metadata"]["namespace"], "custom-ns");
    // The rest is the workload of the app without a namespace, for this app and namespace.
    let mut expected = expected_manifest()["ComponentOutput"].clone();
    expected["metadata"]["namespace"] = json!("custom-ns");
    expected["metadata"]["labels"]["app.oam.dev/namespace"] = json!("custom-ns");
    expected["metadata"]["labels"]["app.oam.dev/name"] = json!("app-dryrun-ns");
    assert_eq!(objects[0], expected);
}

#[test]
fn myingress_applies_to_every_component_type() {
    // `appliesToWorkloads: ["*"]`: a DaemonSet takes it too.
    let app = "\
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: agents
spec:
  components:
    - name: agent
      type: daemon
      properties:
        image: busybox
      traits:
        - type: myingress
          properties:
            domain: agent.example.com
            http:
              /: 9100
";
    let objects = objects(render_stdin(app, &["-d", definitions()]).ok());
    let kinds: Vec<&Value> = objects.iter().map(|o| &o["kind"]).collect();
    assert_eq!(kinds, ["DaemonSet", "Service", "Ingress"]);
    assert_eq!(objects[2]["spec"]["rules"][0]["host"], "agent.example.com");
    assert_eq!(
        objects[2]["spec"]["rules"][0]["http"]["paths"][0]["backend"],
        json!({"serviceName": "agent", "servicePort": 9100})
    );
}

/// The expected `vela dry-run` text, without the fixture's attribution line.
fn expected_dry_run_text() -> &'static str {
    let text = include_str!("fixtures/vela-plugin-dryrun/expected-dry-run-output.txt");
    let (attribution, expected) = text.split_once('\n').expect("an attribution line");
    assert!(attribution.starts_with("# adapted from KubeVela (Apache-2.0)"));
    expected
}

fn plugin_dry_run() -> Run {
    run(&[
        "render",
        "tests/e2e/fixtures/vela-plugin-dryrun/app.yaml",
        "-n",
        "default",
        "--vela-headers",
        "-d",
        definitions(),
    ])
}

/// Every document, header, label, blank line and separator of KubeVela's output, in its
/// order: Kiln's `--vela-headers` text is KubeVela's, byte for byte.
#[test]
fn the_plugin_dry_run_text_appears_verbatim() {
    let out = plugin_dry_run();
    let stdout = out.ok();
    assert!(
        stdout.contains(expected_dry_run_text()),
        "--- expected:\n{}\n--- kiln:\n{stdout}",
        expected_dry_run_text()
    );
}

#[test]
fn test_webservice_renders_its_other_parameters() {
    let app = "\
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: full
spec:
  components:
    - name: api
      type: test-webservice
      properties:
        image: ghcr.io/example/api:1.0
        cmd: [api, serve]
        port: 8080
        cpu: 500m
        addRevisionLabel: true
        env:
          - name: MODE
            value: prod
          - name: TOKEN
            valueFrom:
              secretKeyRef:
                name: api
                key: token
        volumes:
          - name: data
            mountPath: /data
            type: pvc
            claimName: api-data
          - name: conf
            mountPath: /etc/api
            type: configMap
            cmName: api-conf
            items:
              - key: a
                path: a.yaml
          - name: creds
            mountPath: /etc/creds
            type: secret
            secretName: api-creds
          - name: scratch
            mountPath: /scratch
            type: emptyDir
            medium: Memory
";
    let objects = objects(render_stdin(app, &["-d", definitions()]).ok());
    assert_eq!(objects.len(), 1);
    let pod = &objects[0]["spec"]["template"];
    // The revision is Kiln's content revision, `<app>-<8 hex>` (empty, as in `vela dry-run`,
    // only with --vela-headers).
    let labels = &pod["metadata"]["labels"];
    assert_eq!(labels["app.oam.dev/component"], "api");
    let revision = labels["app.oam.dev/appRevision"].as_str().unwrap();
    assert!(
        revision.starts_with("full-") && revision.len() == "full-".len() + 8,
        "{revision}"
    );
    assert_eq!(labels.as_object().unwrap().len(), 2);
    assert_eq!(
        pod["spec"]["containers"][0],
        json!({
            "name": "api",
            "image": "ghcr.io/example/api:1.0",
            "command": ["api", "serve"],
            "ports": [{"containerPort": 8080}],
            "resources": {"limits": {"cpu": "500m"}, "requests": {"cpu": "500m"}},
            "env": [
                {"name": "MODE", "value": "prod"},
                {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}}
            ],
            "volumeMounts": [
                {"name": "data", "mountPath": "/data"},
                {"name": "conf", "mountPath": "/etc/api"},
                {"name": "creds", "mountPath": "/etc/creds"},
                {"name": "scratch", "mountPath": "/scratch"}
            ]
        })
    );
    assert_eq!(
        pod["spec"]["volumes"],
        json!([
            {"name": "data", "persistentVolumeClaim": {"claimName": "api-data"}},
            {"name": "conf", "configMap": {
                "name": "api-conf", "defaultMode": 420,
                "items": [{"key": "a", "path": "a.yaml", "mode": 511}]
            }},
            {"name": "creds", "secret": {"secretName": "api-creds", "defaultMode": 420}},
            {"name": "scratch", "emptyDir": {"medium": "Memory"}}
        ])
    );
}

#[test]
fn test_webservice_parameters_are_closed() {
    let app = "\
apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: typo
spec:
  components:
    - name: api
      type: test-webservice
      properties:
        image: nginx
        prot: 8080
";
    let err = render_stdin(app, &["-d", definitions()])
        .failed()
        .to_string();
    assert!(
        err.contains("component \"api\", field \"prot\": unknown parameter \"prot\""),
        "{err}"
    );
}

#[test]
fn test_ingress_applies_to_deployments_only() {
    let app = include_str!("fixtures/vela-plugin-dryrun/app.yaml")
        .replace("type: test-webservice", "type: daemon")
        .replace("        port: 80\n", "");
    let err = render_stdin(&app, &["-d", definitions()])
        .failed()
        .to_string();
    assert!(
        err.contains("trait \"test-ingress\" does not apply to component type \"daemon\""),
        "{err}"
    );
}
