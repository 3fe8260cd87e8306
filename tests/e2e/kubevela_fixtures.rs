//! KubeVela's own expectations for its built-ins (vela-go-definitions'
//! builtin-definition-example, field-level checks), restated as Kiln tests.

use serde_json::Value;

use crate::common::*;

/// The value at a KubeVela expectation path: `spec.ports[0].port`,
/// `metadata.annotations["a.b/c"]`.
pub(crate) fn at<'a>(object: &'a Value, path: &str) -> &'a Value {
    let mut value = object;
    let mut rest = path;
    while !rest.is_empty() {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if let Some(after) = rest.strip_prefix("[\"") {
            let end = after.find("\"]").expect("closed key");
            value = &value[&after[..end]];
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').expect("closed index");
            value = &value[after[..end].parse::<usize>().expect("index")];
            rest = &after[end + 1..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            value = &value[&rest[..end]];
            rest = &rest[end..];
        }
    }
    value
}

#[track_caller]
fn check(app: &str, kind: &str, name: &str, fields: &[(&str, Value)]) {
    let objects = objects(render_stdin(app, &[]).ok());
    let object = find(&objects, kind, name);
    for (path, expected) in fields {
        assert_eq!(at(object, path), expected, "{kind} {name} {path}");
    }
}

fn component(name: &str, app: &str, body: &str) -> String {
    format!(
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\nmetadata:\n  name: {app}\n  \
         namespace: default\nspec:\n  components:\n    - name: {name}\n{body}"
    )
}

#[test]
fn scaler() {
    let app = component(
        "nginx-app",
        "scaler-example",
        "      type: webservice\n      properties:\n        image: nginx:latest\n        ports:\n          - port: 80\n            expose: true\n      traits:\n        - type: scaler\n          properties:\n            replicas: 3\n",
    );
    check(
        &app,
        "Deployment",
        "nginx-app",
        &[("spec.replicas", 3.into())],
    );
}

#[test]
fn sidecar() {
    let app = component(
        "log-gen-worker",
        "vela-app-with-sidecar",
        "      type: worker\n      properties:\n        image: busybox\n        cmd: [/bin/sh, -c, 'while true; do date >> /var/log/date.log; sleep 1; done']\n        volumeMounts:\n          emptyDir:\n            - name: varlog\n              mountPath: /var/log\n              medium: \"\"\n      traits:\n        - type: sidecar\n          properties:\n            name: count-log\n            image: busybox\n            cmd: [ /bin/sh, -c, 'tail -n+1 -f /var/log/date.log']\n            volumes:\n              - name: varlog\n                path: /var/log\n",
    );
    check(
        &app,
        "Deployment",
        "log-gen-worker",
        &[
            ("spec.template.spec.containers[1].name", "count-log".into()),
            ("spec.template.spec.containers[1].image", "busybox".into()),
            (
                "spec.template.spec.containers[1].volumeMounts[0].name",
                "varlog".into(),
            ),
            (
                "spec.template.spec.containers[1].volumeMounts[0].mountPath",
                "/var/log".into(),
            ),
        ],
    );
}

#[test]
fn env() {
    let app = component(
        "nginx-app",
        "env-example",
        "      type: webservice\n      properties:\n        image: busybox:latest\n        ports:\n          - port: 8080\n            expose: true\n      traits:\n        - type: env\n          properties:\n            env:\n              LOG_LEVEL: \"debug\"\n              ENVIRONMENT: \"production\"\n              API_KEY: \"secret-key-123\"\n              APP_VERSION: \"v1.2.3\"\n              DATABASE_URL: \"postgresql://localhost:5432/mydb\"\n",
    );
    let p = "spec.template.spec.containers[0].env";
    check(
        &app,
        "Deployment",
        "nginx-app",
        &[
            (&format!("{p}[0].name"), "API_KEY".into()),
            (&format!("{p}[0].value"), "secret-key-123".into()),
            (&format!("{p}[1].name"), "APP_VERSION".into()),
            (&format!("{p}[1].value"), "v1.2.3".into()),
            (&format!("{p}[2].name"), "DATABASE_URL".into()),
            (
                &format!("{p}[2].value"),
                "postgresql://localhost:5432/mydb".into(),
            ),
            (&format!("{p}[3].name"), "ENVIRONMENT".into()),
            (&format!("{p}[3].value"), "production".into()),
            (&format!("{p}[4].name"), "LOG_LEVEL".into()),
            (&format!("{p}[4].value"), "debug".into()),
        ],
    );
}

#[test]
fn expose() {
    let app = component(
        "nginx-app",
        "expose-example",
        "      type: webservice\n      properties:\n        image: nginx:latest\n        ports:\n          - port: 80\n      traits:\n        - type: expose\n          properties:\n            port:\n              - 80\n            type: ClusterIP\n",
    );
    check(
        &app,
        "Service",
        "nginx-app",
        &[
            ("spec.type", "ClusterIP".into()),
            ("spec.ports[0].port", 80.into()),
        ],
    );
}

#[test]
fn labels() {
    let app = component(
        "nginx-app",
        "labels-example",
        "      type: webservice\n      properties:\n        image: nginx:latest\n        ports:\n          - port: 80\n            expose: true\n      traits:\n        - type: labels\n          properties:\n            environment: \"production\"\n            team: \"platform\"\n            tier: \"frontend\"\n",
    );
    check(
        &app,
        "Deployment",
        "nginx-app",
        &[
            (
                "spec.template.metadata.labels.environment",
                "production".into(),
            ),
            ("spec.template.metadata.labels.team", "platform".into()),
            ("spec.template.metadata.labels.tier", "frontend".into()),
            ("metadata.labels.team", "platform".into()),
        ],
    );
}

#[test]
fn annotations() {
    let app = component(
        "nginx-app",
        "annotations-example",
        "      type: webservice\n      properties:\n        image: nginx:latest\n        ports:\n          - port: 80\n            expose: true\n      traits:\n        - type: annotations\n          properties:\n            app.example.com/owner: \"team-platform\"\n            app.example.com/version: \"v1.0\"\n            prometheus.io/scrape: \"true\"\n",
    );
    check(
        &app,
        "Deployment",
        "nginx-app",
        &[
            (
                "spec.template.metadata.annotations[\"app.example.com/owner\"]",
                "team-platform".into(),
            ),
            (
                "spec.template.metadata.annotations[\"app.example.com/version\"]",
                "v1.0".into(),
            ),
            (
                "spec.template.metadata.annotations[\"prometheus.io/scrape\"]",
                "true".into(),
            ),
            (
                "metadata.annotations[\"prometheus.io/scrape\"]",
                "true".into(),
            ),
        ],
    );
}

#[test]
fn webservice_and_worker() {
    let app = component(
        "web",
        "components",
        "      type: webservice\n      properties:\n        image: nginx:1.27\n        ports:\n          - port: 80\n            expose: true\n        cpu: \"500m\"\n        memory: 256Mi\n    - name: jobs\n      type: worker\n      properties:\n        image: busybox\n        cmd: [sleep, \"1000\"]\n",
    );
    check(
        &app,
        "Deployment",
        "web",
        &[
            (
                "spec.selector.matchLabels[\"app.oam.dev/component\"]",
                "web".into(),
            ),
            (
                "spec.template.spec.containers[0].image",
                "nginx:1.27".into(),
            ),
            (
                "spec.template.spec.containers[0].ports[0].containerPort",
                80.into(),
            ),
            (
                "spec.template.spec.containers[0].resources.requests.cpu",
                "500m".into(),
            ),
            (
                "spec.template.spec.containers[0].resources.requests.memory",
                "256Mi".into(),
            ),
        ],
    );
    check(
        &app,
        "Service",
        "web",
        &[
            ("spec.ports[0].port", 80.into()),
            ("spec.type", "ClusterIP".into()),
        ],
    );
    check(
        &app,
        "Deployment",
        "jobs",
        &[(
            "spec.template.spec.containers[0].command",
            serde_json::json!(["sleep", "1000"]),
        )],
    );
}
