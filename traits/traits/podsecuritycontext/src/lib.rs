//! `podsecuritycontext`: set the pod-level security context of the pod template (KubeVela's
//! `podsecuritycontext` trait).

use kiln_sdk::prelude::*;

/// Parameters of `podsecuritycontext`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the AppArmor profile for the pod
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_armor_profile: Option<Profile>,
    /// A special supplemental group that applies to all containers in the pod
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_group: Option<i64>,
    /// The GID to run the entrypoint of the container process
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_group: Option<i64>,
    /// Specify the UID to run the entrypoint of the container process
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
    /// Specify if the container runs as a non-root user
    #[serde(default = "yes")]
    pub run_as_non_root: bool,
    /// Specify the seccomp profile for the pod
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp_profile: Option<Profile>,
}

fn yes() -> bool {
    true
}

/// An AppArmor or seccomp profile.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Profile {
    /// The kind of profile
    #[serde(rename = "type")]
    pub kind: ProfileType,
    /// localhostProfile is required when type is 'Localhost'
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub localhost_profile: Option<String>,
}

/// The kind of an AppArmor or seccomp profile.
#[derive(Deserialize, Serialize, JsonSchema, PartialEq, Eq, Clone, Copy)]
pub enum ProfileType {
    RuntimeDefault,
    Unconfined,
    Localhost,
}

fn check_profile(field: &str, profile: &Option<Profile>) -> Result<()> {
    match profile {
        Some(p) if p.kind == ProfileType::Localhost && p.localhost_profile.is_none() => {
            Err(Error::field(
                format!("{field}.localhostProfile"),
                "localhostProfile is required when type is 'Localhost'",
            ))
        }
        _ => Ok(()),
    }
}

/// Sets `spec.template.spec.securityContext`: `runAsNonRoot` always, the other fields when
/// set. It unifies with the workload's security context: a contradicting value is a conflict.
pub fn podsecuritycontext(params: Params, _ctx: &TraitContext) -> Result<TraitOutput> {
    check_profile("appArmorProfile", &params.app_armor_profile)?;
    check_profile("seccompProfile", &params.seccomp_profile)?;
    Ok(TraitOutput::new().patch(Patch::merge(json!({
        "spec": { "template": { "spec": { "securityContext": params } } }
    }))))
}

kiln_sdk::export_trait! {
    name: "podsecuritycontext",
    description: "Adds security context to the pod spec in path 'spec.template.spec.securityContext'.",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"],
    render: podsecuritycontext,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_sdk::testing::render_trait;

    fn ctx() -> TraitContext {
        TraitContext::for_test(json!({"apiVersion": "apps/v1", "kind": "Deployment"}))
    }

    fn security_context(out: &TraitOutput) -> &Value {
        &out.patch_value().unwrap()["spec"]["template"]["spec"]["securityContext"]
    }

    #[test]
    fn fixture_non_root_user() {
        let props = json!({"runAsNonRoot": true, "runAsUser": 65532});
        let out = render_trait(podsecuritycontext, props, &ctx()).unwrap();
        assert!(matches!(out.patch, Some(Patch::Merge(_))));
        assert_eq!(
            security_context(&out),
            &json!({"runAsNonRoot": true, "runAsUser": 65532})
        );
        assert!(out.outputs.is_empty());
    }

    #[test]
    fn defaults_to_run_as_non_root() {
        let out = render_trait(podsecuritycontext, json!({}), &ctx()).unwrap();
        assert_eq!(security_context(&out), &json!({"runAsNonRoot": true}));
    }

    #[test]
    fn every_field() {
        let props = json!({
            "appArmorProfile": {"type": "Localhost", "localhostProfile": "k8s-apparmor"},
            "fsGroup": 2000,
            "runAsGroup": 3000,
            "runAsUser": 1000,
            "runAsNonRoot": false,
            "seccompProfile": {"type": "RuntimeDefault"}
        });
        let out = render_trait(podsecuritycontext, props, &ctx()).unwrap();
        assert_eq!(
            security_context(&out),
            &json!({
                "appArmorProfile": {"type": "Localhost", "localhostProfile": "k8s-apparmor"},
                "fsGroup": 2000,
                "runAsGroup": 3000,
                "runAsUser": 1000,
                "runAsNonRoot": false,
                "seccompProfile": {"type": "RuntimeDefault"}
            })
        );
    }

    #[test]
    fn localhost_profiles_need_a_profile() {
        let props = json!({"seccompProfile": {"type": "Localhost"}});
        let err = render_trait(podsecuritycontext, props, &ctx()).unwrap_err();
        assert_eq!(
            err.messages().next(),
            Some((
                Some("seccompProfile.localhostProfile"),
                "localhostProfile is required when type is 'Localhost'"
            ))
        );
    }

    #[test]
    fn profile_types_are_closed() {
        let props = json!({"appArmorProfile": {"type": "Custom"}});
        let err = render_trait(podsecuritycontext, props, &ctx()).unwrap_err();
        assert!(err.to_string().starts_with("appArmorProfile.type"), "{err}");
    }

    #[test]
    fn rejects_unknown_parameters() {
        let err =
            render_trait(podsecuritycontext, json!({"privileged": true}), &ctx()).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `privileged`"),
            "{err}"
        );
    }
}
