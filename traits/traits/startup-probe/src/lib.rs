//! `startup-probe`: add a startup probe to containers of the pod template (KubeVela's
//! `startup-probe` trait).
//!
//! KubeVela's parameter is `*#StartupProbeParams | close({probes: [...#StartupProbeParams]})`:
//! either the probe for one container or a `probes` list of them, never both. Kiln declares
//! the union of the two forms and rejects `probes` mixed with the single-container fields.

use kiln_sdk::prelude::*;
use pod_spec::containers;

/// Parameters of `startup-probe`: the probe for one container, or `probes`, a list of them.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the name of the target container, if not set, use the component name
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub container_name: Option<String>,
    /// Number of seconds after the container has started before liveness probes are initiated. Minimum value is 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 0))]
    pub initial_delay_seconds: Option<i64>,
    /// How often, in seconds, to execute the probe. Minimum value is 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 10))]
    pub period_seconds: Option<i64>,
    /// Number of seconds after which the probe times out. Minimum value is 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 1))]
    pub timeout_seconds: Option<i64>,
    /// Minimum consecutive successes for the probe to be considered successful after having failed.  Minimum value is 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 1))]
    pub success_threshold: Option<i64>,
    /// Minimum consecutive failures for the probe to be considered failed after having succeeded. Minimum value is 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 3))]
    pub failure_threshold: Option<i64>,
    /// Optional duration in seconds the pod needs to terminate gracefully upon probe failure. Set this value longer than the expected cleanup time for your process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
    /// Instructions for assessing container startup status by executing a command. Either this attribute or the httpGet attribute or the grpc attribute or the tcpSocket attribute MUST be specified. This attribute is mutually exclusive with the httpGet attribute and the tcpSocket attribute and the gRPC attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecProbe>,
    /// Instructions for assessing container startup status by executing an HTTP GET request. Either this attribute or the exec attribute or the grpc attribute or the tcpSocket attribute MUST be specified. This attribute is mutually exclusive with the exec attribute and the tcpSocket attribute and the gRPC attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_get: Option<HttpGetProbe>,
    /// Instructions for assessing container startup status by probing a gRPC service. Either this attribute or the exec attribute or the grpc attribute or the httpGet attribute MUST be specified. This attribute is mutually exclusive with the exec attribute and the httpGet attribute and the tcpSocket attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<GrpcProbe>,
    /// Instructions for assessing container startup status by probing a TCP socket. Either this attribute or the exec attribute or the tcpSocket attribute or the httpGet attribute MUST be specified. This attribute is mutually exclusive with the exec attribute and the httpGet attribute and the gRPC attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_socket: Option<TcpSocketProbe>,
    /// Specify the startup probe for multiple containers
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<Vec<StartupProbeParams>>,
}

/// The startup probe for one container.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StartupProbeParams {
    /// Specify the name of the target container, if not set, use the component name
    #[serde(default)]
    pub container_name: String,
    /// Number of seconds after the container has started before liveness probes are initiated. Minimum value is 0.
    #[serde(default)]
    pub initial_delay_seconds: i64,
    /// How often, in seconds, to execute the probe. Minimum value is 1.
    #[serde(default = "ten")]
    pub period_seconds: i64,
    /// Number of seconds after which the probe times out. Minimum value is 1.
    #[serde(default = "one")]
    pub timeout_seconds: i64,
    /// Minimum consecutive successes for the probe to be considered successful after having failed.  Minimum value is 1.
    #[serde(default = "one")]
    pub success_threshold: i64,
    /// Minimum consecutive failures for the probe to be considered failed after having succeeded. Minimum value is 1.
    #[serde(default = "three")]
    pub failure_threshold: i64,
    /// Optional duration in seconds the pod needs to terminate gracefully upon probe failure. Set this value longer than the expected cleanup time for your process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
    /// Instructions for assessing container startup status by executing a command. Either this attribute or the httpGet attribute or the grpc attribute or the tcpSocket attribute MUST be specified. This attribute is mutually exclusive with the httpGet attribute and the tcpSocket attribute and the gRPC attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecProbe>,
    /// Instructions for assessing container startup status by executing an HTTP GET request. Either this attribute or the exec attribute or the grpc attribute or the tcpSocket attribute MUST be specified. This attribute is mutually exclusive with the exec attribute and the tcpSocket attribute and the gRPC attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_get: Option<HttpGetProbe>,
    /// Instructions for assessing container startup status by probing a gRPC service. Either this attribute or the exec attribute or the grpc attribute or the httpGet attribute MUST be specified. This attribute is mutually exclusive with the exec attribute and the httpGet attribute and the tcpSocket attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<GrpcProbe>,
    /// Instructions for assessing container startup status by probing a TCP socket. Either this attribute or the exec attribute or the tcpSocket attribute or the httpGet attribute MUST be specified. This attribute is mutually exclusive with the exec attribute and the httpGet attribute and the gRPC attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_socket: Option<TcpSocketProbe>,
}

fn one() -> i64 {
    1
}
fn three() -> i64 {
    3
}
fn ten() -> i64 {
    10
}

/// A probe that runs a command.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecProbe {
    /// A command to be executed inside the container to assess its health. Each space delimited token of the command is a separate array element. Commands exiting 0 are considered to be successful probes, whilst all other exit codes are considered failures.
    #[serde(default)]
    pub command: Vec<String>,
}

/// A probe that sends an HTTP GET request.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpGetProbe {
    /// The endpoint, relative to the port, to which the HTTP GET request should be directed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The port numer to access on the host or container.
    pub port: i64,
    /// The hostname to connect to, defaults to the pod IP. You probably want to set "Host" in httpHeaders instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The Scheme to use for connecting to the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "HTTP"))]
    pub scheme: Option<Scheme>,
    /// Custom headers to set in the request. HTTP allows repeated headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_headers: Option<Vec<HttpHeader>>,
}

/// The scheme of an HTTP request.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Scheme {
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

/// A probe that calls a gRPC health check.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrpcProbe {
    /// The port number of the gRPC service.
    pub port: i64,
    /// The name of the service to place in the gRPC HealthCheckRequest
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// A probe that opens a TCP connection.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpSocketProbe {
    /// Number or name of the port to access on the container.
    pub port: IntOrString,
    /// Host name to connect to, defaults to the pod IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// A port number or name.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum IntOrString {
    Int(i64),
    String(String),
}

/// Patches `startupProbe` of each target container (merged by `name`, KubeVela:
/// `+patchKey=name`): the handlers that are set, the five timings with their defaults and
/// `terminationGracePeriodSeconds` when set. The probe unifies with any the container has.
pub fn startup_probe(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    let targets = targets(params, &ctx.component_name)?;
    let base = containers::of(&ctx.workload)?;
    let patched = containers::patch_each(targets, |p| patch_container(p, base))?;
    Ok(TraitOutput::new().patch(containers::patch(patched)))
}

/// The per-container probes, with the component name for an unnamed single probe; an
/// unnamed entry of `probes` is an error (in place, as KubeVela's `errs` lists it).
fn targets(params: Params, component: &str) -> Result<Vec<Result<StartupProbeParams>>> {
    let Some(probes) = params.probes else {
        let container_name = containers::single(params.container_name, component);
        return Ok(vec![Ok(StartupProbeParams {
            container_name,
            initial_delay_seconds: params.initial_delay_seconds.unwrap_or(0),
            period_seconds: params.period_seconds.unwrap_or_else(ten),
            timeout_seconds: params.timeout_seconds.unwrap_or_else(one),
            success_threshold: params.success_threshold.unwrap_or_else(one),
            failure_threshold: params.failure_threshold.unwrap_or_else(three),
            termination_grace_period_seconds: params.termination_grace_period_seconds,
            exec: params.exec,
            http_get: params.http_get,
            grpc: params.grpc,
            tcp_socket: params.tcp_socket,
        })]);
    };
    containers::reject_mixed(
        "probes",
        &[
            ("containerName", params.container_name.is_some()),
            (
                "initialDelaySeconds",
                params.initial_delay_seconds.is_some(),
            ),
            ("periodSeconds", params.period_seconds.is_some()),
            ("timeoutSeconds", params.timeout_seconds.is_some()),
            ("successThreshold", params.success_threshold.is_some()),
            ("failureThreshold", params.failure_threshold.is_some()),
            (
                "terminationGracePeriodSeconds",
                params.termination_grace_period_seconds.is_some(),
            ),
            ("exec", params.exec.is_some()),
            ("httpGet", params.http_get.is_some()),
            ("grpc", params.grpc.is_some()),
            ("tcpSocket", params.tcp_socket.is_some()),
        ],
    )?;
    Ok(containers::named(
        probes,
        |p| p.container_name.is_empty(),
        "containerName must be set when specifying startup probe for multiple containers",
    ))
}

/// The patch for one container: `{name, startupProbe}`.
fn patch_container(p: StartupProbeParams, base: &[Value]) -> Result<Value> {
    let name = p.container_name.clone();
    containers::find(base, &name)?;
    let mut probe = json!(p);
    if let Some(probe) = probe.as_object_mut() {
        probe.remove("containerName");
    }
    Ok(json!({ "name": name, "startupProbe": probe }))
}

kiln_sdk::export_trait! {
    name: "startup-probe",
    description: "Add startup probe hooks for the specified container of K8s pod for your workload which follows the pod spec in path 'spec.template'.",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"],
    render: startup_probe,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn ctx() -> TraitContext {
        let mut ctx = TraitContext::for_test(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": { "template": { "spec": { "containers": [
                { "name": "busybox-runner", "image": "busybox", "command": ["sleep", "1000"] },
                { "name": "nginx", "image": "nginx" }
            ] } } }
        }));
        ctx.context.component_name = "busybox-runner".into();
        ctx
    }

    fn containers(out: &TraitOutput) -> &Value {
        &out.patch_value().unwrap()["spec"]["template"]["spec"]["containers"]
    }

    #[test]
    fn fixture_http_get_probes() {
        let props = json!({
            "containerName": "busybox-runner",
            "httpGet": {"host": "www.guidewire.com", "scheme": "HTTPS", "port": 443},
            "periodSeconds": 4,
            "failureThreshold": 4
        });
        let out = render_trait(startup_probe, props, &ctx()).unwrap();
        assert!(matches!(out.patch, Some(Patch::Merge(_))));
        assert_eq!(
            out.patch_value().unwrap()["spec"]["template"]["spec"]["$patchKey/containers"],
            "name"
        );
        assert_eq!(
            containers(&out),
            &json!([{
                "name": "busybox-runner",
                "startupProbe": {
                    "httpGet": {"host": "www.guidewire.com", "scheme": "HTTPS", "port": 443},
                    "initialDelaySeconds": 0,
                    "periodSeconds": 4,
                    "timeoutSeconds": 1,
                    "successThreshold": 1,
                    "failureThreshold": 4
                }
            }])
        );

        let props = json!({
            "containerName": "nginx",
            "httpGet": {"host": "www.guidewire.com", "scheme": "HTTPS", "port": 443},
            "periodSeconds": 5,
            "failureThreshold": 5
        });
        let out = render_trait(startup_probe, props, &ctx()).unwrap();
        assert_eq!(containers(&out)[0]["name"], "nginx");
        assert_eq!(containers(&out)[0]["startupProbe"]["periodSeconds"], 5);
    }

    #[test]
    fn defaults_to_the_component_container() {
        let props = json!({"exec": {"command": ["cat", "/tmp/ready"]}, "terminationGracePeriodSeconds": 30});
        let out = render_trait(startup_probe, props, &ctx()).unwrap();
        assert_eq!(
            containers(&out),
            &json!([{
                "name": "busybox-runner",
                "startupProbe": {
                    "exec": {"command": ["cat", "/tmp/ready"]},
                    "initialDelaySeconds": 0,
                    "periodSeconds": 10,
                    "timeoutSeconds": 1,
                    "successThreshold": 1,
                    "failureThreshold": 3,
                    "terminationGracePeriodSeconds": 30
                }
            }])
        );
    }

    #[test]
    fn grpc_and_tcp_socket() {
        let props = json!({
            "grpc": {"port": 9000, "service": "health"},
            "tcpSocket": {"port": "http", "host": "localhost"}
        });
        let out = render_trait(startup_probe, props, &ctx()).unwrap();
        let probe = &containers(&out)[0]["startupProbe"];
        assert_eq!(probe["grpc"], json!({"port": 9000, "service": "health"}));
        assert_eq!(
            probe["tcpSocket"],
            json!({"port": "http", "host": "localhost"})
        );
        let out = render_trait(startup_probe, json!({"tcpSocket": {"port": 80}}), &ctx()).unwrap();
        assert_eq!(
            containers(&out)[0]["startupProbe"]["tcpSocket"],
            json!({"port": 80})
        );
    }

    #[test]
    fn multiple_probes() {
        let props = json!({"probes": [
            {"containerName": "busybox-runner", "exec": {"command": ["true"]}},
            {"containerName": "nginx", "httpGet": {"path": "/", "port": 80}, "periodSeconds": 2}
        ]});
        let out = render_trait(startup_probe, props, &ctx()).unwrap();
        let c = containers(&out);
        assert_eq!(c[0]["name"], "busybox-runner");
        assert_eq!(c[0]["startupProbe"]["exec"], json!({"command": ["true"]}));
        assert_eq!(c[1]["name"], "nginx");
        assert_eq!(
            c[1]["startupProbe"]["httpGet"],
            json!({"path": "/", "port": 80})
        );
        assert_eq!(c[1]["startupProbe"]["periodSeconds"], 2);
        assert_eq!(c[1]["startupProbe"]["failureThreshold"], 3);
    }

    #[test]
    fn errors_are_collected() {
        let props = json!({"probes": [
            {"exec": {"command": ["true"]}},
            {"containerName": "sidecar"}
        ]});
        let err = render_trait(startup_probe, props, &ctx()).unwrap_err();
        assert_eq!(
            err,
            Error::msg(
                "containerName must be set when specifying startup probe for multiple containers"
            )
            .and(Error::msg("container sidecar not found"))
        );
    }

    #[test]
    fn probes_cannot_mix_with_single_fields() {
        let props = json!({"periodSeconds": 3, "probes": []});
        let err = render_trait(startup_probe, props, &ctx()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("periodSeconds: cannot be combined"),
            "{err}"
        );
    }

    #[test]
    fn rejects_unknown_parameters() {
        let err = render_trait(startup_probe, json!({"name": "x"}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("unknown field `name`"), "{err}");
    }
}
