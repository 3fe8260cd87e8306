//! `gateway`: enable public web traffic for the component with an Ingress, and a Service
//! unless an existing one is named (KubeVela's `gateway` trait).

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;

/// Parameters of `gateway`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the domain you want to expose
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Specify the mapping relationship between the http path and the workload port
    #[serde(default)]
    pub http: BTreeMap<String, i64>,
    /// Specify the class of ingress to use
    #[serde(default = "nginx")]
    pub class: String,
    /// Set ingress class in '.spec.ingressClassName' instead of 'kubernetes.io/ingress.class' annotation.
    #[serde(default)]
    pub class_in_spec: bool,
    /// Specify the secret name you want to quote to use tls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// Specify the host of the ingress gateway, which is used to generate the endpoints when the host is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_host: Option<String>,
    /// Specify a unique name for this gateway, required to support multiple gateway traits on a component
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Specify a pathType for the ingress rules, defaults to "ImplementationSpecific"
    #[serde(default)]
    pub path_type: PathType,
    /// Specify the annotations to be added to the ingress
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Specify the labels to be added to the ingress
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// If specified, use an existing Service rather than creating one
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_service_name: Option<String>,
}

/// How an Ingress path matches.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
pub enum PathType {
    #[default]
    ImplementationSpecific,
    Prefix,
    Exact,
}

impl PathType {
    fn as_str(self) -> &'static str {
        match self {
            PathType::ImplementationSpecific => "ImplementationSpecific",
            PathType::Prefix => "Prefix",
            PathType::Exact => "Exact",
        }
    }
}

fn nginx() -> String {
    "nginx".into()
}

const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
const HOST_ANNOTATION: &str = "ingress.controller/host";

/// Renders `service[-<name>]` (unless `existingServiceName` is set) and `ingress[-<name>]`.
/// Paths and Service ports follow the sorted `http` keys. Kubernetes before 1.19 gets
/// `networking.k8s.io/v1beta1` and its backend shape.
pub fn gateway(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    let suffix = params
        .name
        .as_ref()
        .map_or_else(String::new, |n| format!("-{n}"));
    let meta_name = format!("{}{suffix}", ctx.component_name);
    let service_name = params
        .existing_service_name
        .clone()
        .unwrap_or_else(|| meta_name.clone());
    let legacy_api = !ctx.supports("networking.k8s.io/v1", (1, 19));

    let mut out = TraitOutput::new();
    if params.existing_service_name.is_none() {
        let ports: Vec<Value> = params
            .http
            .values()
            .map(|port| json!({ "name": format!("port-{port}"), "port": port, "targetPort": port }))
            .collect();
        out = out.with_output(
            format!("service{suffix}"),
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": { "name": service_name },
                "spec": {
                    "selector": { "app.oam.dev/component": ctx.component_name },
                    "ports": ports
                }
            }),
        );
    }

    // Annotations unify in KubeVela: a user value that contradicts a generated one is a
    // conflict.
    let mut annotations = BTreeMap::new();
    if !params.class_in_spec {
        annotations.insert(CLASS_ANNOTATION.to_string(), params.class.clone());
    }
    if let Some(host) = &params.gateway_host {
        annotations.insert(HOST_ANNOTATION.to_string(), host.clone());
    }
    for (key, value) in params.annotations.iter().flatten() {
        match annotations.get(key) {
            Some(generated) if generated != value => {
                return Err(Error::field(
                    format!("annotations.{key}"),
                    format!("conflicting values {value:?} and {generated:?} (set by the gateway)"),
                ));
            }
            _ => {
                annotations.insert(key.clone(), value.clone());
            }
        }
    }
    let labels = params.labels.clone().unwrap_or_default();

    let mut spec = Map::new();
    if params.class_in_spec {
        spec.insert("ingressClassName".into(), json!(params.class));
    }
    if let Some(secret) = &params.secret_name {
        let Some(domain) = &params.domain else {
            return Err(Error::field(
                "domain",
                "a domain is required when secretName is set (it is the TLS host)",
            ));
        };
        spec.insert(
            "tls".into(),
            json!([{ "hosts": [domain], "secretName": secret }]),
        );
    }
    let paths: Vec<Value> = params
        .http
        .iter()
        .map(|(path, port)| {
            let backend = if legacy_api {
                json!({ "serviceName": service_name, "servicePort": port })
            } else {
                json!({ "service": { "name": service_name, "port": { "number": port } } })
            };
            json!({ "path": path, "pathType": params.path_type.as_str(), "backend": backend })
        })
        .collect();
    let mut rule = json!({ "http": { "paths": paths } });
    if let Some(domain) = &params.domain {
        rule["host"] = json!(domain);
    }
    spec.insert("rules".into(), json!([rule]));

    let api_version = if legacy_api {
        "networking.k8s.io/v1beta1"
    } else {
        "networking.k8s.io/v1"
    };
    Ok(out.with_output(
        format!("ingress{suffix}"),
        json!({
            "apiVersion": api_version,
            "kind": "Ingress",
            "metadata": { "name": meta_name, "annotations": annotations, "labels": labels },
            "spec": spec
        }),
    ))
}

kiln_sdk::export_trait! {
    name: "gateway",
    description: "Enable public web traffic for the component, the ingress API matches K8s v1.20+.",
    applies_to: ["deployments.apps", "statefulsets.apps"],
    render: gateway,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn ctx() -> TraitContext {
        let mut ctx =
            TraitContext::for_test(json!({"apiVersion": "apps/v1", "kind": "Deployment"}));
        ctx.context.component_name = "web".into();
        ctx
    }

    #[test]
    fn service_and_ingress() {
        let props = json!({"domain": "shop.example.com", "http": {"/api": 9090, "/": 8080}});
        let out = render_trait(gateway, props, &ctx()).unwrap();
        assert!(out.patch.is_none());
        let names: Vec<&str> = out.outputs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["service", "ingress"]);
        assert_eq!(
            out.output("service").unwrap(),
            &json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": { "name": "web" },
                "spec": {
                    "selector": { "app.oam.dev/component": "web" },
                    "ports": [
                        {"name": "port-8080", "port": 8080, "targetPort": 8080},
                        {"name": "port-9090", "port": 9090, "targetPort": 9090}
                    ]
                }
            })
        );
        let backend =
            |port: i64| json!({ "service": { "name": "web", "port": { "number": port } } });
        assert_eq!(
            out.output("ingress").unwrap(),
            &json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {
                    "name": "web",
                    "annotations": { "kubernetes.io/ingress.class": "nginx" },
                    "labels": {}
                },
                "spec": {
                    "rules": [{
                        "host": "shop.example.com",
                        "http": { "paths": [
                            {"path": "/", "pathType": "ImplementationSpecific", "backend": backend(8080)},
                            {"path": "/api", "pathType": "ImplementationSpecific", "backend": backend(9090)}
                        ] }
                    }]
                }
            })
        );
    }

    #[test]
    fn bench_gateway_with_existing_service() {
        let props = json!({
            "domain": "shop.example.com",
            "http": {"/": 8080},
            "classInSpec": true,
            "existingServiceName": "svc-i"
        });
        let out = render_trait(gateway, props, &ctx()).unwrap();
        assert_eq!(
            out.outputs.len(),
            1,
            "no Service when an existing one is named"
        );
        let ingress = out.output("ingress").unwrap();
        assert_eq!(ingress["apiVersion"], "networking.k8s.io/v1");
        assert_eq!(ingress["metadata"]["annotations"], json!({}));
        assert_eq!(ingress["spec"]["ingressClassName"], "nginx");
        assert_eq!(
            ingress["spec"]["rules"],
            json!([{
                "host": "shop.example.com",
                "http": { "paths": [{
                    "path": "/",
                    "pathType": "ImplementationSpecific",
                    "backend": { "service": { "name": "svc-i", "port": { "number": 8080 } } }
                }] }
            }])
        );
    }

    #[test]
    fn legacy_cluster_gets_v1beta1() {
        let mut ctx = ctx();
        ctx.context.cluster_version.minor = 18;
        let out = render_trait(gateway, json!({"http": {"/": 80}}), &ctx).unwrap();
        let ingress = out.output("ingress").unwrap();
        assert_eq!(ingress["apiVersion"], "networking.k8s.io/v1beta1");
        assert_eq!(
            ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"],
            json!({"serviceName": "web", "servicePort": 80})
        );
        assert!(ingress["spec"]["rules"][0].get("host").is_none());
    }

    #[test]
    fn named_gateway() {
        let out =
            render_trait(gateway, json!({"name": "admin", "http": {"/": 80}}), &ctx()).unwrap();
        let names: Vec<&str> = out.outputs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["service-admin", "ingress-admin"]);
        assert_eq!(
            out.output("service-admin").unwrap()["metadata"]["name"],
            "web-admin"
        );
        let ingress = out.output("ingress-admin").unwrap();
        assert_eq!(ingress["metadata"]["name"], "web-admin");
        assert_eq!(
            ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
            "web-admin"
        );
    }

    #[test]
    fn class_in_spec_tls_and_metadata() {
        let props = json!({
            "domain": "a.example.com",
            "http": {"/": 80},
            "class": "traefik",
            "classInSpec": true,
            "secretName": "tls-a",
            "gatewayHost": "gw.example.com",
            "pathType": "Prefix",
            "annotations": {"x": "y"},
            "labels": {"team": "a"}
        });
        let out = render_trait(gateway, props, &ctx()).unwrap();
        let ingress = out.output("ingress").unwrap();
        assert_eq!(
            ingress["metadata"]["annotations"],
            json!({"ingress.controller/host": "gw.example.com", "x": "y"})
        );
        assert_eq!(ingress["metadata"]["labels"], json!({"team": "a"}));
        assert_eq!(ingress["spec"]["ingressClassName"], "traefik");
        assert_eq!(
            ingress["spec"]["tls"],
            json!([{"hosts": ["a.example.com"], "secretName": "tls-a"}])
        );
        assert_eq!(
            ingress["spec"]["rules"][0]["http"]["paths"][0]["pathType"],
            "Prefix"
        );
    }

    #[test]
    fn empty_http() {
        let out = render_trait(gateway, json!({}), &ctx()).unwrap();
        assert_eq!(out.output("service").unwrap()["spec"]["ports"], json!([]));
        assert_eq!(
            out.output("ingress").unwrap()["spec"]["rules"],
            json!([{ "http": { "paths": [] } }])
        );
    }

    #[test]
    fn secret_name_needs_a_domain() {
        let err = render_trait(gateway, json!({"secretName": "s"}), &ctx()).unwrap_err();
        assert!(err.to_string().starts_with("domain: "), "{err}");
    }

    #[test]
    fn a_contradicting_class_annotation_conflicts() {
        let props = json!({"annotations": {"kubernetes.io/ingress.class": "traefik"}});
        let err = render_trait(gateway, props, &ctx()).unwrap_err();
        assert!(err.to_string().contains("conflicting values"), "{err}");
        let props = json!({"annotations": {"kubernetes.io/ingress.class": "nginx"}});
        assert!(render_trait(gateway, props, &ctx()).is_ok());
    }

    #[test]
    fn rejects_a_bad_path_type() {
        let err = render_trait(gateway, json!({"pathType": "Regex"}), &ctx()).unwrap_err();
        assert!(
            err.to_string().starts_with("pathType: unknown variant"),
            "{err}"
        );
    }
}
