//! `service-account`: run the pods of the workload under a service account, optionally
//! creating it and granting it RBAC privileges (KubeVela's `service-account` trait).

use kiln_sdk::prelude::*;

/// Parameters of `service-account`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Specify the name of ServiceAccount
    pub name: String,
    /// Specify whether to create new ServiceAccount or not
    #[serde(default)]
    pub create: bool,
    /// Specify the privileges of the ServiceAccount, if not empty, RoleBindings(ClusterRoleBindings) will be created
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileges: Option<Vec<Privileges>>,
}

/// Privileges granted to the service account.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Privileges {
    /// Specify the verbs to be allowed for the resource
    #[serde(default)]
    pub verbs: Vec<String>,
    /// Specify the apiGroups of the resource
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_groups: Option<Vec<String>>,
    /// Specify the resources to be allowed
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<String>>,
    /// Specify the resourceNames to be allowed
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_names: Option<Vec<String>>,
    /// Specify the resource url to be allowed
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "nonResourceURLs")]
    pub non_resource_urls: Option<Vec<String>>,
    /// Specify the scope of the privileges, default to be namespace scope
    #[serde(default)]
    pub scope: Scope,
}

/// Where privileges apply.
#[derive(Deserialize, Serialize, JsonSchema, Default, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    #[default]
    Namespace,
    Cluster,
}

/// A policy rule: the privileges without their scope.
fn rule(p: &Privileges) -> Value {
    let mut rule = Map::new();
    rule.insert("verbs".into(), json!(p.verbs));
    for (field, value) in [
        ("apiGroups", &p.api_groups),
        ("resources", &p.resources),
        ("resourceNames", &p.resource_names),
        ("nonResourceURLs", &p.non_resource_urls),
    ] {
        if let Some(value) = value {
            rule.insert(field.into(), json!(value));
        }
    }
    Value::Object(rule)
}

fn rules(privileges: &[Privileges], scope: Scope) -> Vec<Value> {
    privileges
        .iter()
        .filter(|p| p.scope == scope)
        .map(rule)
        .collect()
}

const RBAC: &str = "rbac.authorization.k8s.io";

/// Sets `spec.template.spec.serviceAccountName`, replacing the workload's (KubeVela:
/// `+patchStrategy=retainKeys`). Renders `service-account` when `create`, then
/// `cluster-role` and `cluster-role-binding` (named `<namespace>:<name>`) for cluster-scoped
/// privileges and `role` and `role-binding` for namespaced ones.
pub fn service_account(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    let name = &params.name;
    let mut out = TraitOutput::new().patch(Patch::merge(json!({
        "spec": { "template": { "spec": {
            "$patchStrategy/serviceAccountName": "retainKeys",
            "serviceAccountName": name
        } } }
    })));
    if params.create {
        out = out.with_output(
            "service-account",
            json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": { "name": name }
            }),
        );
    }
    let Some(privileges) = &params.privileges else {
        return Ok(out);
    };
    let cluster_rules = rules(privileges, Scope::Cluster);
    if !cluster_rules.is_empty() {
        let cluster_name = format!("{}:{name}", ctx.namespace);
        out = out
            .with_output(
                "cluster-role",
                json!({
                    "apiVersion": format!("{RBAC}/v1"),
                    "kind": "ClusterRole",
                    "metadata": { "name": cluster_name },
                    "rules": cluster_rules
                }),
            )
            .with_output(
                "cluster-role-binding",
                json!({
                    "apiVersion": format!("{RBAC}/v1"),
                    "kind": "ClusterRoleBinding",
                    "metadata": { "name": cluster_name },
                    "roleRef": { "apiGroup": RBAC, "kind": "ClusterRole", "name": cluster_name },
                    "subjects": [{
                        "kind": "ServiceAccount",
                        "name": name,
                        "namespace": ctx.namespace
                    }]
                }),
            );
    }
    let namespace_rules = rules(privileges, Scope::Namespace);
    if !namespace_rules.is_empty() {
        out = out
            .with_output(
                "role",
                json!({
                    "apiVersion": format!("{RBAC}/v1"),
                    "kind": "Role",
                    "metadata": { "name": name },
                    "rules": namespace_rules
                }),
            )
            .with_output(
                "role-binding",
                json!({
                    "apiVersion": format!("{RBAC}/v1"),
                    "kind": "RoleBinding",
                    "metadata": { "name": name },
                    "roleRef": { "apiGroup": RBAC, "kind": "Role", "name": name },
                    "subjects": [{ "kind": "ServiceAccount", "name": name }]
                }),
            );
    }
    Ok(out)
}

kiln_sdk::export_trait! {
    name: "service-account",
    description: "Specify serviceAccount for your workload which follows the pod spec in path 'spec.template'.",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"],
    render: service_account,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn ctx() -> TraitContext {
        let mut ctx = TraitContext::for_test(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": { "template": { "spec": {
                "containers": [{ "name": "nginx-app", "image": "nginx:latest" }]
            } } }
        }));
        ctx.context.namespace = "prod".into();
        ctx
    }

    fn names(out: &TraitOutput) -> Vec<&str> {
        out.outputs.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn fixture_create() {
        let props = json!({"name": "my-service-account", "create": true});
        let out = render_trait(service_account, props, &ctx()).unwrap();
        assert_eq!(
            out.patch_value().unwrap(),
            &json!({"spec": {"template": {"spec": {
                "$patchStrategy/serviceAccountName": "retainKeys",
                "serviceAccountName": "my-service-account"
            }}}})
        );
        assert_eq!(names(&out), ["service-account"]);
        assert_eq!(
            out.output("service-account").unwrap(),
            &json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "my-service-account"}
            })
        );
    }

    #[test]
    fn existing_account_only_patches() {
        let out = render_trait(service_account, json!({"name": "robot"}), &ctx()).unwrap();
        assert!(out.outputs.is_empty());
        assert_eq!(
            out.patch_value().unwrap()["spec"]["template"]["spec"]["serviceAccountName"],
            "robot"
        );
    }

    #[test]
    fn privileges_by_scope() {
        let props = json!({
            "name": "robot",
            "create": true,
            "privileges": [
                {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]},
                {"verbs": ["get"], "nonResourceURLs": ["/healthz"], "scope": "cluster"},
                {"verbs": ["watch"], "resources": ["configmaps"], "resourceNames": ["cfg"], "scope": "namespace"}
            ]
        });
        let out = render_trait(service_account, props, &ctx()).unwrap();
        assert_eq!(
            names(&out),
            [
                "service-account",
                "cluster-role",
                "cluster-role-binding",
                "role",
                "role-binding"
            ]
        );
        assert_eq!(
            out.output("cluster-role").unwrap(),
            &json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "prod:robot"},
                "rules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]
            })
        );
        assert_eq!(
            out.output("cluster-role-binding").unwrap(),
            &json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "prod:robot"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "prod:robot"},
                "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "prod"}]
            })
        );
        assert_eq!(
            out.output("role").unwrap(),
            &json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "robot"},
                "rules": [
                    {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]},
                    {"verbs": ["watch"], "resources": ["configmaps"], "resourceNames": ["cfg"]}
                ]
            })
        );
        assert_eq!(
            out.output("role-binding").unwrap(),
            &json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "robot"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "robot"},
                "subjects": [{"kind": "ServiceAccount", "name": "robot"}]
            })
        );
    }

    #[test]
    fn only_cluster_privileges() {
        let props = json!({"name": "robot", "privileges": [{"verbs": ["*"], "scope": "cluster"}]});
        let out = render_trait(service_account, props, &ctx()).unwrap();
        assert_eq!(names(&out), ["cluster-role", "cluster-role-binding"]);
    }

    #[test]
    fn empty_privileges_render_nothing() {
        let props = json!({"name": "robot", "privileges": []});
        let out = render_trait(service_account, props, &ctx()).unwrap();
        assert!(out.outputs.is_empty());
    }

    #[test]
    fn name_is_required_and_scope_closed() {
        let err = render_trait(service_account, json!({"create": true}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("missing field `name`"), "{err}");
        let props = json!({"name": "r", "privileges": [{"verbs": ["get"], "scope": "global"}]});
        let err = render_trait(service_account, props, &ctx()).unwrap_err();
        assert!(err.to_string().starts_with("privileges[0].scope"), "{err}");
    }

    #[test]
    fn rejects_unknown_parameters() {
        let err =
            render_trait(service_account, json!({"name": "r", "roles": []}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("unknown field `roles`"), "{err}");
    }
}
