//! `securitycontext`: set the security context of containers in the pod template (KubeVela's
//! `securitycontext` trait).
//!
//! KubeVela's parameter is `#PatchParams | close({containers: [...#PatchParams]})`: either
//! the settings for one container or a `containers` list of them, never both. Kiln declares
//! the union of the two forms and rejects `containers` mixed with the single-container
//! fields.

use kiln_sdk::prelude::*;
use pod_spec::containers;

/// Parameters of `securitycontext`: the settings for one container, or `containers`, a list
/// of them.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the name of the target container, if not set, use the component name
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub container_name: Option<String>,
    /// Specify the addCapabilities of the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_capabilities: Option<Vec<String>>,
    /// Specify the allowPrivilegeEscalation of the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub allow_privilege_escalation: Option<bool>,
    /// Specify the dropCapabilities of the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_capabilities: Option<Vec<String>>,
    /// Specify the privileged of the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub privileged: Option<bool>,
    /// Specify the readOnlyRootFilesystem of the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub read_only_root_filesystem: Option<bool>,
    /// Specify the runAsNonRoot of the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = true))]
    pub run_as_non_root: Option<bool>,
    /// Specify the runAsUser of the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
    /// Specify the runAsGroup of the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_group: Option<i64>,
    /// Specify the container image for multiple containers
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<PatchParams>>,
}

/// The security settings for one container.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchParams {
    /// Specify the name of the target container, if not set, use the component name
    #[serde(default)]
    pub container_name: String,
    /// Specify the addCapabilities of the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_capabilities: Option<Vec<String>>,
    /// Specify the allowPrivilegeEscalation of the container
    #[serde(default)]
    pub allow_privilege_escalation: bool,
    /// Specify the dropCapabilities of the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_capabilities: Option<Vec<String>>,
    /// Specify the privileged of the container
    #[serde(default)]
    pub privileged: bool,
    /// Specify the readOnlyRootFilesystem of the container
    #[serde(default)]
    pub read_only_root_filesystem: bool,
    /// Specify the runAsNonRoot of the container
    #[serde(default = "yes")]
    pub run_as_non_root: bool,
    /// Specify the runAsUser of the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
    /// Specify the runAsGroup of the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_group: Option<i64>,
}

fn yes() -> bool {
    true
}

/// Patches `securityContext` of each target container (merged by `name`, KubeVela:
/// `+patchKey=name`): `capabilities` (always, empty when neither list is set), the user and
/// group when set, and the four flags with their defaults. The security context unifies with
/// the container's: a contradicting value is a conflict.
pub fn securitycontext(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    let targets = targets(params, &ctx.component_name)?;
    let base = containers::of(&ctx.workload)?;
    let patched = containers::patch_each(targets, |p| patch_container(&p, base))?;
    Ok(TraitOutput::new().patch(containers::patch(patched)))
}

/// The per-container settings, with the component name for an unnamed single container;
/// an unnamed entry of `containers` is an error (in place, as KubeVela's `errs` lists it).
fn targets(params: Params, component: &str) -> Result<Vec<Result<PatchParams>>> {
    let Some(containers) = params.containers else {
        let container_name = containers::single(params.container_name, component);
        return Ok(vec![Ok(PatchParams {
            container_name,
            add_capabilities: params.add_capabilities,
            allow_privilege_escalation: params.allow_privilege_escalation.unwrap_or(false),
            drop_capabilities: params.drop_capabilities,
            privileged: params.privileged.unwrap_or(false),
            read_only_root_filesystem: params.read_only_root_filesystem.unwrap_or(false),
            run_as_non_root: params.run_as_non_root.unwrap_or(true),
            run_as_user: params.run_as_user,
            run_as_group: params.run_as_group,
        })]);
    };
    containers::reject_mixed(
        "containers",
        &[
            ("containerName", params.container_name.is_some()),
            ("addCapabilities", params.add_capabilities.is_some()),
            (
                "allowPrivilegeEscalation",
                params.allow_privilege_escalation.is_some(),
            ),
            ("dropCapabilities", params.drop_capabilities.is_some()),
            ("privileged", params.privileged.is_some()),
            (
                "readOnlyRootFilesystem",
                params.read_only_root_filesystem.is_some(),
            ),
            ("runAsNonRoot", params.run_as_non_root.is_some()),
            ("runAsUser", params.run_as_user.is_some()),
            ("runAsGroup", params.run_as_group.is_some()),
        ],
    )?;
    Ok(containers::named(
        containers,
        |c| c.container_name.is_empty(),
        "containerName must be set for containers",
    ))
}

/// The patch for one container: `{name, securityContext}`.
fn patch_container(p: &PatchParams, base: &[Value]) -> Result<Value> {
    let name = &p.container_name;
    containers::find(base, name)?;
    let mut capabilities = Map::new();
    if let Some(add) = &p.add_capabilities {
        capabilities.insert("add".into(), json!(add));
    }
    if let Some(drop) = &p.drop_capabilities {
        capabilities.insert("drop".into(), json!(drop));
    }
    let mut context = Map::new();
    context.insert("capabilities".into(), Value::Object(capabilities));
    if let Some(user) = p.run_as_user {
        context.insert("runAsUser".into(), json!(user));
    }
    if let Some(group) = p.run_as_group {
        context.insert("runAsGroup".into(), json!(group));
    }
    context.insert(
        "allowPrivilegeEscalation".into(),
        json!(p.allow_privilege_escalation),
    );
    context.insert(
        "readOnlyRootFilesystem".into(),
        json!(p.read_only_root_filesystem),
    );
    context.insert("privileged".into(), json!(p.privileged));
    context.insert("runAsNonRoot".into(), json!(p.run_as_non_root));
    Ok(json!({ "name": name, "securityContext": context }))
}

kiln_sdk::export_trait! {
    name: "securitycontext",
    description: "Adds security context to the container spec in path 'spec.template.spec.containers.[].securityContext'.",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"],
    render: securitycontext,
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
                { "name": "podtato-head-frontend", "image": "ghcr.io/podtato-head/podtato-server:v0.3.1" },
                { "name": "proxy", "image": "envoy" }
            ] } } }
        }));
        ctx.context.component_name = "podtato-head-frontend".into();
        ctx
    }

    fn containers(out: &TraitOutput) -> &Value {
        &out.patch_value().unwrap()["spec"]["template"]["spec"]["containers"]
    }

    #[test]
    fn fixture_drop_all() {
        let props = json!({
            "dropCapabilities": ["ALL"],
            "runAsNonRoot": true,
            "privileged": false,
            "readOnlyRootFilesystem": false
        });
        let out = render_trait(securitycontext, props, &ctx()).unwrap();
        assert!(matches!(out.patch, Some(Patch::Merge(_))));
        assert_eq!(
            out.patch_value().unwrap()["spec"]["template"]["spec"]["$patchKey/containers"],
            "name"
        );
        assert_eq!(
            containers(&out),
            &json!([{
                "name": "podtato-head-frontend",
                "securityContext": {
                    "capabilities": {"drop": ["ALL"]},
                    "allowPrivilegeEscalation": false,
                    "readOnlyRootFilesystem": false,
                    "privileged": false,
                    "runAsNonRoot": true
                }
            }])
        );
    }

    #[test]
    fn defaults_and_empty_capabilities() {
        let out = render_trait(securitycontext, json!({}), &ctx()).unwrap();
        assert_eq!(
            containers(&out)[0]["securityContext"],
            json!({
                "capabilities": {},
                "allowPrivilegeEscalation": false,
                "readOnlyRootFilesystem": false,
                "privileged": false,
                "runAsNonRoot": true
            })
        );
    }

    #[test]
    fn named_container_with_ids() {
        let props = json!({
            "containerName": "proxy",
            "addCapabilities": ["NET_ADMIN"],
            "runAsUser": 1000,
            "runAsGroup": 3000,
            "runAsNonRoot": false,
            "allowPrivilegeEscalation": true
        });
        let out = render_trait(securitycontext, props, &ctx()).unwrap();
        assert_eq!(
            containers(&out),
            &json!([{
                "name": "proxy",
                "securityContext": {
                    "capabilities": {"add": ["NET_ADMIN"]},
                    "runAsUser": 1000,
                    "runAsGroup": 3000,
                    "allowPrivilegeEscalation": true,
                    "readOnlyRootFilesystem": false,
                    "privileged": false,
                    "runAsNonRoot": false
                }
            }])
        );
    }

    #[test]
    fn multiple_containers() {
        let props = json!({"containers": [
            {"containerName": "podtato-head-frontend", "readOnlyRootFilesystem": true},
            {"containerName": "proxy", "privileged": true}
        ]});
        let out = render_trait(securitycontext, props, &ctx()).unwrap();
        let c = containers(&out);
        assert_eq!(c[0]["name"], "podtato-head-frontend");
        assert_eq!(c[0]["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c[1]["name"], "proxy");
        assert_eq!(c[1]["securityContext"]["privileged"], true);
        assert_eq!(c[1]["securityContext"]["runAsNonRoot"], true);
    }

    #[test]
    fn errors_are_collected() {
        let props = json!({"containers": [
            {"containerName": "worker"},
            {"privileged": true},
            {"containerName": "proxy"}
        ]});
        let err = render_trait(securitycontext, props, &ctx()).unwrap_err();
        assert_eq!(
            err,
            Error::msg("container worker not found")
                .and(Error::msg("containerName must be set for containers"))
        );
    }

    #[test]
    fn a_missing_default_container_is_an_error() {
        let mut ctx = ctx();
        ctx.context.component_name = "other".into();
        let err = render_trait(securitycontext, json!({}), &ctx).unwrap_err();
        assert_eq!(err, Error::msg("container other not found"));
    }

    #[test]
    fn containers_cannot_mix_with_single_fields() {
        let props = json!({"privileged": true, "containers": [{"containerName": "proxy"}]});
        let err = render_trait(securitycontext, props, &ctx()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("privileged: cannot be combined"),
            "{err}"
        );
    }

    #[test]
    fn a_workload_without_containers_is_an_error() {
        let ctx = TraitContext::for_test(json!({"kind": "ConfigMap"}));
        assert!(render_trait(securitycontext, json!({}), &ctx).is_err());
    }

    #[test]
    fn rejects_unknown_parameters() {
        let err = render_trait(securitycontext, json!({"capabilities": {}}), &ctx()).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `capabilities`"),
            "{err}"
        );
    }
}
