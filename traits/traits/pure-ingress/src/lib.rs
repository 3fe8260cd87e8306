//! `pure-ingress`: enable public web traffic for the component with an Ingress only, no
//! Service (KubeVela's deprecated `pure-ingress` trait).

use std::collections::BTreeMap;

use kiln_sdk::prelude::*;

/// Parameters of `pure-ingress`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Specify the domain you want to expose
    pub domain: String,
    /// Specify the mapping relationship between the http path and the workload port
    #[serde(default)]
    pub http: BTreeMap<String, i64>,
}

/// Renders `ingress`, named after the component, routing each `http` path (in sorted order)
/// to the port of the Service named after the component. Kubernetes before 1.19 gets
/// `networking.k8s.io/v1beta1` and its backend shape (and no `pathType`).
pub fn pure_ingress(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    let name = &ctx.component_name;
    let legacy_api = !ctx.supports("networking.k8s.io/v1", (1, 19));
    let paths: Vec<Value> = params
        .http
        .iter()
        .map(|(path, port)| {
            if legacy_api {
                json!({
                    "path": path,
                    "backend": { "serviceName": name, "servicePort": port }
                })
            } else {
                json!({
                    "path": path,
                    "pathType": "ImplementationSpecific",
                    "backend": { "service": { "name": name, "port": { "number": port } } }
                })
            }
        })
        .collect();
    let api_version = if legacy_api {
        "networking.k8s.io/v1beta1"
    } else {
        "networking.k8s.io/v1"
    };
    Ok(TraitOutput::new().with_output(
        "ingress",
        json!({
            "apiVersion": api_version,
            "kind": "Ingress",
            "metadata": { "name": name },
            "spec": { "rules": [{
                "host": params.domain,
                "http": { "paths": paths }
            }] }
        }),
    ))
}

kiln_sdk::export_trait! {
    name: "pure-ingress",
    description: "Enable public web traffic for the component without creating a Service.",
    render: pure_ingress,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn ctx() -> TraitContext {
        let mut ctx =
            TraitContext::for_test(json!({"apiVersion": "apps/v1", "kind": "Deployment"}));
        ctx.context.component_name = "nginx-app".into();
        ctx
    }

    #[test]
    fn fixture_ingress_v1() {
        let props = json!({"domain": "example.com", "http": {"/": 80}});
        let out = render_trait(pure_ingress, props, &ctx()).unwrap();
        assert!(out.patch.is_none());
        let names: Vec<&str> = out.outputs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["ingress"]);
        assert_eq!(
            out.output("ingress").unwrap(),
            &json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {"name": "nginx-app"},
                "spec": {"rules": [{
                    "host": "example.com",
                    "http": {"paths": [{
                        "path": "/",
                        "pathType": "ImplementationSpecific",
                        "backend": {"service": {"name": "nginx-app", "port": {"number": 80}}}
                    }]}
                }]}
            })
        );
    }

    #[test]
    fn paths_are_sorted() {
        let props =
            json!({"domain": "a.example.com", "http": {"/web": 8080, "/api": 9090, "/": 80}});
        let out = render_trait(pure_ingress, props, &ctx()).unwrap();
        let paths: Vec<&str> = out.output("ingress").unwrap()["spec"]["rules"][0]["http"]["paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["path"].as_str().unwrap())
            .collect();
        assert_eq!(paths, ["/", "/api", "/web"]);
    }

    #[test]
    fn legacy_cluster_gets_v1beta1() {
        let mut ctx = ctx();
        ctx.context.cluster_version.minor = 18;
        let props = json!({"domain": "example.com", "http": {"/": 80}});
        let out = render_trait(pure_ingress, props, &ctx).unwrap();
        assert_eq!(
            out.output("ingress").unwrap(),
            &json!({
                "apiVersion": "networking.k8s.io/v1beta1",
                "kind": "Ingress",
                "metadata": {"name": "nginx-app"},
                "spec": {"rules": [{
                    "host": "example.com",
                    "http": {"paths": [{
                        "path": "/",
                        "backend": {"serviceName": "nginx-app", "servicePort": 80}
                    }]}
                }]}
            })
        );
    }

    #[test]
    fn no_http_is_no_paths() {
        let out = render_trait(pure_ingress, json!({"domain": "example.com"}), &ctx()).unwrap();
        assert_eq!(
            out.output("ingress").unwrap()["spec"]["rules"][0]["http"]["paths"],
            json!([])
        );
    }

    #[test]
    fn domain_is_required_and_ports_are_numbers() {
        let err = render_trait(pure_ingress, json!({"http": {"/": 80}}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("missing field `domain`"), "{err}");
        let props = json!({"domain": "a", "http": {"/": "80"}});
        let err = render_trait(pure_ingress, props, &ctx()).unwrap_err();
        assert!(err.to_string().starts_with("http./: invalid type"), "{err}");
    }

    #[test]
    fn rejects_unknown_parameters() {
        let props = json!({"domain": "a", "class": "nginx"});
        let err = render_trait(pure_ingress, props, &ctx()).unwrap_err();
        assert!(err.to_string().contains("unknown field `class`"), "{err}");
    }
}
