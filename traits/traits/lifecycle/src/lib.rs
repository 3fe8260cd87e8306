//! `lifecycle`: add postStart / preStop hooks to every container of the pod template
//! (KubeVela's `lifecycle` trait).

use kiln_sdk::prelude::*;
use pod_spec::containers;

/// Parameters of `lifecycle`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the postStart hook
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_start: Option<LifecycleHandler>,
    /// Specify the preStop hook
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_stop: Option<LifecycleHandler>,
}

/// A lifecycle hook: a command, an HTTP GET request or a TCP connection.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LifecycleHandler {
    /// Run a command in the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecAction>,
    /// Send an HTTP GET request
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_get: Option<HttpGetAction>,
    /// Open a TCP connection
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_socket: Option<TcpSocketAction>,
}

/// A command to run.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecAction {
    /// The command line to execute inside the container
    #[serde(default)]
    pub command: Vec<String>,
}

/// An HTTP GET request.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpGetAction {
    /// The path to access on the HTTP server
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The port to access on the container
    #[schemars(range(min = 1, max = 65535))]
    pub port: i64,
    /// The host name to connect to, defaults to the pod IP
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The scheme to use for connecting to the host
    #[serde(default)]
    pub scheme: Scheme,
    /// Custom headers to set in the request
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_headers: Option<Vec<HttpHeader>>,
}

/// The scheme of an HTTP request.
#[derive(Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Scheme {
    #[default]
    Http,
    Https,
}

/// An HTTP header.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpHeader {
    /// The header field name
    pub name: String,
    /// The header field value
    pub value: String,
}

/// A TCP connection.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpSocketAction {
    /// The port to connect to
    #[schemars(range(min = 1, max = 65535))]
    pub port: i64,
    /// The host name to connect to, defaults to the pod IP
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// Checks KubeVela's `#Port: int & >=1 & <=65535`.
fn check_ports(params: &Params) -> Result<()> {
    let mut errors: Option<Error> = None;
    for (field, handler) in [
        ("postStart", &params.post_start),
        ("preStop", &params.pre_stop),
    ] {
        let Some(handler) = handler else { continue };
        let ports = [
            ("httpGet", handler.http_get.as_ref().map(|h| h.port)),
            ("tcpSocket", handler.tcp_socket.as_ref().map(|t| t.port)),
        ];
        for (action, port) in ports {
            match port {
                Some(port) if !(1..=65535).contains(&port) => {
                    let e = Error::field(
                        format!("{field}.{action}.port"),
                        format!("must be between 1 and 65535, found {port}"),
                    );
                    errors = Some(match errors {
                        Some(errors) => errors.and(e),
                        None => e,
                    });
                }
                _ => {}
            }
        }
    }
    errors.map_or(Ok(()), Err)
}

/// Sets `lifecycle` on every container of `spec.template.spec.containers` (KubeVela:
/// `containers: [...{lifecycle: ...}]`, which constrains each container). The containers are
/// matched by `name`; the hooks unify with any the containers already have.
pub fn lifecycle(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    check_ports(&params)?;
    let hooks = json!(params);
    let existing = ctx
        .workload
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let containers: Vec<Value> = existing
        .iter()
        .map(|c| {
            let mut item = Map::new();
            if let Some(name) = c.get("name") {
                item.insert("name".into(), name.clone());
            }
            item.insert("lifecycle".into(), hooks.clone());
            Value::Object(item)
        })
        .collect();
    Ok(TraitOutput::new().patch(containers::patch(containers)))
}

kiln_sdk::export_trait! {
    name: "lifecycle",
    description: "Add lifecycle hooks for every container of K8s pod for your workload which follows the pod spec in path 'spec.template'.",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"],
    render: lifecycle,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn ctx() -> TraitContext {
        TraitContext::for_test(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": { "template": { "spec": { "containers": [
                { "name": "nginx-app", "image": "nginx:latest" },
                { "name": "proxy", "image": "envoy" }
            ] } } }
        }))
    }

    fn containers(out: &TraitOutput) -> &Value {
        &out.patch_value().unwrap()["spec"]["template"]["spec"]["containers"]
    }

    #[test]
    fn fixture_exec_hooks_on_every_container() {
        let props = json!({
            "postStart": {"exec": {"command": ["/bin/sh", "-c", "echo 'Started' > /tmp/started"]}},
            "preStop": {"exec": {"command": ["/bin/sh", "-c", "nginx -s quit"]}}
        });
        let out = render_trait(lifecycle, props, &ctx()).unwrap();
        assert!(matches!(out.patch, Some(Patch::Merge(_))));
        let hooks = json!({
            "postStart": {"exec": {"command": ["/bin/sh", "-c", "echo 'Started' > /tmp/started"]}},
            "preStop": {"exec": {"command": ["/bin/sh", "-c", "nginx -s quit"]}}
        });
        assert_eq!(
            out.patch_value().unwrap(),
            &json!({"spec": {"template": {"spec": {
                "$patchKey/containers": "name",
                "containers": [
                    {"name": "nginx-app", "lifecycle": hooks},
                    {"name": "proxy", "lifecycle": hooks}
                ]
            }}}})
        );
    }

    #[test]
    fn usage_example_http_get_gets_default_scheme() {
        let props = json!({
            "postStart": {"exec": {"command": ["echo", "hello world"]}},
            "preStop": {"httpGet": {"host": "www.aliyun.com", "scheme": "HTTPS", "port": 443}}
        });
        let out = render_trait(lifecycle, props, &ctx()).unwrap();
        assert_eq!(
            containers(&out)[0]["lifecycle"]["preStop"],
            json!({"httpGet": {"host": "www.aliyun.com", "scheme": "HTTPS", "port": 443}})
        );
        let props = json!({"preStop": {
            "httpGet": {"path": "/quit", "port": 8080, "httpHeaders": [{"name": "X", "value": "y"}]},
            "tcpSocket": {"port": 80}
        }});
        let out = render_trait(lifecycle, props, &ctx()).unwrap();
        assert_eq!(
            containers(&out)[1]["lifecycle"],
            json!({"preStop": {
                "httpGet": {"path": "/quit", "port": 8080, "scheme": "HTTP", "httpHeaders": [{"name": "X", "value": "y"}]},
                "tcpSocket": {"port": 80}
            }})
        );
    }

    #[test]
    fn no_hooks_is_an_empty_lifecycle() {
        let out = render_trait(lifecycle, json!({}), &ctx()).unwrap();
        assert_eq!(
            containers(&out),
            &json!([
                {"name": "nginx-app", "lifecycle": {}},
                {"name": "proxy", "lifecycle": {}}
            ])
        );
    }

    #[test]
    fn a_workload_without_containers_gets_an_empty_list() {
        let ctx = TraitContext::for_test(json!({"kind": "Deployment"}));
        let out = render_trait(lifecycle, json!({}), &ctx).unwrap();
        assert_eq!(containers(&out), &json!([]));
    }

    #[test]
    fn ports_must_be_valid() {
        let props = json!({
            "postStart": {"tcpSocket": {"port": 0}},
            "preStop": {"httpGet": {"port": 70000}}
        });
        let err = render_trait(lifecycle, props, &ctx()).unwrap_err();
        let fields: Vec<Option<&str>> = err.messages().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                Some("postStart.tcpSocket.port"),
                Some("preStop.httpGet.port")
            ]
        );
    }

    #[test]
    fn scheme_is_closed() {
        let props = json!({"preStop": {"httpGet": {"port": 80, "scheme": "FTP"}}});
        let err = render_trait(lifecycle, props, &ctx()).unwrap_err();
        assert!(
            err.to_string().starts_with("preStop.httpGet.scheme"),
            "{err}"
        );
    }

    #[test]
    fn rejects_unknown_parameters() {
        let err = render_trait(lifecycle, json!({"postStop": {}}), &ctx()).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `postStop`"),
            "{err}"
        );
    }
}
