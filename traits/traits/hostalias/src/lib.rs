//! `hostalias`: add host aliases to the pod template of the workload (KubeVela's `hostalias`
//! trait).

use kiln_sdk::prelude::*;

/// Parameters of `hostalias`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the hostAliases to add
    #[serde(default)]
    pub host_aliases: Vec<HostAlias>,
}

/// One `/etc/hosts` entry.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostAlias {
    /// The IP address of the host file entry
    pub ip: String,
    /// The hostnames for the IP address
    #[serde(default)]
    pub hostnames: Vec<String>,
}

/// Adds the aliases to `spec.template.spec.hostAliases`, merged by `ip` (KubeVela:
/// `+patchKey=ip`): an alias for an IP the workload already lists unifies with it, others are
/// appended.
pub fn hostalias(params: Params, _ctx: &TraitContext) -> Result<TraitOutput> {
    Ok(TraitOutput::new().patch(Patch::merge(json!({
        "spec": { "template": { "spec": {
            "$patchKey/hostAliases": "ip",
            "hostAliases": params.host_aliases
        } } }
    }))))
}

kiln_sdk::export_trait! {
    name: "hostalias",
    description: "Add host aliases on K8s pod for your workload which follows the pod spec in path 'spec.template'.",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"],
    render: hostalias,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn ctx() -> TraitContext {
        TraitContext::for_test(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": { "template": { "spec": {
                "containers": [{ "name": "nginx-app", "image": "nginx:latest" }]
            } } }
        }))
    }

    #[test]
    fn fixture_host_aliases() {
        let props = json!({"hostAliases": [
            {"ip": "127.0.0.1", "hostnames": ["myapp.local", "api.local"]}
        ]});
        let out = render_trait(hostalias, props, &ctx()).unwrap();
        assert!(matches!(out.patch, Some(Patch::Merge(_))));
        assert_eq!(
            out.patch_value().unwrap(),
            &json!({"spec": {"template": {"spec": {
                "$patchKey/hostAliases": "ip",
                "hostAliases": [{"ip": "127.0.0.1", "hostnames": ["myapp.local", "api.local"]}]
            }}}})
        );
        assert!(out.outputs.is_empty());
    }

    #[test]
    fn several_aliases_keep_their_order() {
        let props = json!({"hostAliases": [
            {"ip": "10.0.0.2", "hostnames": ["b"]},
            {"ip": "10.0.0.1", "hostnames": ["a"]}
        ]});
        let out = render_trait(hostalias, props, &ctx()).unwrap();
        let aliases = &out.patch_value().unwrap()["spec"]["template"]["spec"]["hostAliases"];
        assert_eq!(aliases[0]["ip"], "10.0.0.2");
        assert_eq!(aliases[1]["ip"], "10.0.0.1");
    }

    #[test]
    fn hostnames_default_to_empty() {
        let props = json!({"hostAliases": [{"ip": "10.0.0.1"}]});
        let out = render_trait(hostalias, props, &ctx()).unwrap();
        assert_eq!(
            out.patch_value().unwrap()["spec"]["template"]["spec"]["hostAliases"],
            json!([{"ip": "10.0.0.1", "hostnames": []}])
        );
    }

    #[test]
    fn ip_is_required() {
        let props = json!({"hostAliases": [{"hostnames": ["a"]}]});
        let err = render_trait(hostalias, props, &ctx()).unwrap_err();
        assert!(err.to_string().contains("missing field `ip`"), "{err}");
    }

    #[test]
    fn rejects_unknown_parameters() {
        let err = render_trait(hostalias, json!({"aliases": []}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("unknown field `aliases`"), "{err}");
    }
}
