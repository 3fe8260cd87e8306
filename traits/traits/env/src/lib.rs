//! `env`: add, override or unset environment variables of containers in the pod template
//! (KubeVela's `env` trait).
//!
//! KubeVela's parameter is `*#PatchParams | close({containers: [...#PatchParams]})`: either
//! the settings for one container or a `containers` list of them, never both. Kiln declares
//! the union of the two forms and rejects `containers` mixed with the single-container
//! fields.

use std::collections::{BTreeMap, BTreeSet};

use kiln_sdk::prelude::*;
use pod_spec::containers;

/// Parameters of `env`: the settings for one container, or `containers`, a list of them.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the name of the target container, if not set, use the component name
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub container_name: Option<String>,
    /// Specify if replacing the whole environment settings for the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = false))]
    pub replace: Option<bool>,
    /// Specify the  environment variables to merge, if key already existing, override its value
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = {}))]
    pub env: Option<BTreeMap<String, String>>,
    /// Specify which existing environment variables to unset
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = []))]
    pub unset: Option<Vec<String>>,
    /// Specify the environment variables for multiple containers
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<PatchParams>>,
}

/// The environment settings for one container.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchParams {
    /// Specify the name of the target container, if not set, use the component name
    #[serde(default)]
    pub container_name: String,
    /// Specify if replacing the whole environment settings for the container
    #[serde(default)]
    pub replace: bool,
    /// Specify the  environment variables to merge, if key already existing, override its value
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Specify which existing environment variables to unset
    #[serde(default)]
    pub unset: Vec<String>,
}

/// Patches the `env` of each target container, replacing it wholesale with: the existing
/// variables in order (minus `unset`, overridden by `env`; none when `replace`), then the new
/// ones in sorted order. Containers merge by `name` (KubeVela: `+patchKey=name`, `env`
/// `+patchStrategy=replace`).
pub fn env(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
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
            replace: params.replace.unwrap_or(false),
            env: params.env.unwrap_or_default(),
            unset: params.unset.unwrap_or_default(),
        })]);
    };
    containers::reject_mixed(
        "containers",
        &[
            ("containerName", params.container_name.is_some()),
            ("replace", params.replace.is_some()),
            ("env", params.env.is_some()),
            ("unset", params.unset.is_some()),
        ],
    )?;
    Ok(containers::named(
        containers,
        |c| c.container_name.is_empty(),
        "containerName must be set for containers",
    ))
}

/// The patch for one container: `{name, env}` with `env` replaced whole.
fn patch_container(p: &PatchParams, base: &[Value]) -> Result<Value> {
    let name = &p.container_name;
    let container = containers::find(base, name)?;
    let unset: BTreeSet<&str> = p.unset.iter().map(String::as_str).collect();
    let new = |k: &String, v: &String| json!({ "name": k, "value": v });
    let env: Vec<Value> = match container.get("env").filter(|e| !e.is_null()) {
        None => p
            .env
            .iter()
            .filter(|(k, _)| !unset.contains(k.as_str()))
            .map(|(k, v)| new(k, v))
            .collect(),
        Some(base_env) => {
            let base_env = base_env.as_array().map(Vec::as_slice).unwrap_or_default();
            let base_names: BTreeSet<&str> = base_env
                .iter()
                .filter_map(|e| e.get("name").and_then(Value::as_str))
                .collect();
            let mut env = Vec::new();
            if !p.replace {
                for e in base_env {
                    let Some(var) = e.get("name").and_then(Value::as_str) else {
                        continue;
                    };
                    if unset.contains(var) {
                        continue;
                    }
                    let mut item = json!({ "name": var });
                    if let Some(value) = p.env.get(var) {
                        item["value"] = json!(value);
                    } else {
                        for field in ["value", "valueFrom"] {
                            if let Some(v) = e.get(field).filter(|v| !v.is_null()) {
                                item[field] = v.clone();
                            }
                        }
                    }
                    env.push(item);
                }
            }
            env.extend(
                p.env
                    .iter()
                    .filter(|(k, _)| {
                        !unset.contains(k.as_str())
                            && (p.replace || !base_names.contains(k.as_str()))
                    })
                    .map(|(k, v)| new(k, v)),
            );
            env
        }
    };
    Ok(json!({ "name": name, "$patchStrategy/env": "replace", "env": env }))
}

kiln_sdk::export_trait! {
    name: "env",
    description: "Add env on K8s pod for your workload which follows the pod spec in path 'spec.template'",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"],
    render: env,
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
                {
                    "name": "web",
                    "image": "shop:1.0",
                    "env": [
                        {"name": "LOG_LEVEL", "value": "info"},
                        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}
                    ]
                },
                { "name": "proxy", "image": "envoy" }
            ] } } }
        }));
        ctx.context.component_name = "web".into();
        ctx
    }

    fn containers(out: &TraitOutput) -> &Value {
        &out.patch_value().unwrap()["spec"]["template"]["spec"]["containers"]
    }

    const DB_PASSWORD: &str = "DB_PASSWORD";

    fn db_password() -> Value {
        json!({"name": DB_PASSWORD, "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}})
    }

    #[test]
    fn merges_and_overrides() {
        let props = json!({"env": {"REGION": "eu-west-1", "LOG_LEVEL": "debug"}});
        let out = render_trait(env, props, &ctx()).unwrap();
        assert!(matches!(out.patch, Some(Patch::Merge(_))));
        assert_eq!(
            containers(&out),
            &json!([{
                "name": "web",
                "$patchStrategy/env": "replace",
                "env": [
                    {"name": "LOG_LEVEL", "value": "debug"},
                    db_password(),
                    {"name": "REGION", "value": "eu-west-1"}
                ]
            }])
        );
    }

    #[test]
    fn replace_drops_the_existing_variables() {
        let props = json!({"replace": true, "env": {"REGION": "eu-west-1"}});
        let out = render_trait(env, props, &ctx()).unwrap();
        assert_eq!(
            containers(&out)[0]["env"],
            json!([{"name": "REGION", "value": "eu-west-1"}])
        );
    }

    #[test]
    fn unset_wins_over_env() {
        let props = json!({"unset": ["LOG_LEVEL", "REGION"], "env": {"REGION": "x", "ZONE": "a"}});
        let out = render_trait(env, props, &ctx()).unwrap();
        assert_eq!(
            containers(&out)[0]["env"],
            json!([db_password(), {"name": "ZONE", "value": "a"}])
        );
    }

    #[test]
    fn a_container_without_env_gets_sorted_variables() {
        let props = json!({"containerName": "proxy", "env": {"ZONE": "a", "REGION": "eu"}});
        let out = render_trait(env, props, &ctx()).unwrap();
        assert_eq!(
            containers(&out),
            &json!([{
                "name": "proxy",
                "$patchStrategy/env": "replace",
                "env": [{"name": "REGION", "value": "eu"}, {"name": "ZONE", "value": "a"}]
            }])
        );
    }

    #[test]
    fn fixture_order_is_sorted_keys() {
        let props = json!({"env": {
            "LOG_LEVEL": "debug",
            "ENVIRONMENT": "production",
            "API_KEY": "secret-key-123",
            "APP_VERSION": "v1.2.3",
            "DATABASE_URL": "postgresql://localhost:5432/mydb"
        }});
        let mut ctx = ctx();
        ctx.context.component_name = "proxy".into();
        let out = render_trait(env, props, &ctx).unwrap();
        let names: Vec<&str> = containers(&out)[0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "API_KEY",
                "APP_VERSION",
                "DATABASE_URL",
                "ENVIRONMENT",
                "LOG_LEVEL"
            ]
        );
    }

    #[test]
    fn multiple_containers() {
        let props = json!({"containers": [
            {"containerName": "web", "unset": ["LOG_LEVEL"]},
            {"containerName": "proxy", "env": {"A": "1"}}
        ]});
        let out = render_trait(env, props, &ctx()).unwrap();
        assert_eq!(
            containers(&out),
            &json!([
                {"name": "web", "$patchStrategy/env": "replace", "env": [db_password()]},
                {"name": "proxy", "$patchStrategy/env": "replace", "env": [{"name": "A", "value": "1"}]}
            ])
        );
    }

    #[test]
    fn a_missing_container_is_an_error() {
        let err = render_trait(env, json!({"containerName": "worker"}), &ctx()).unwrap_err();
        assert_eq!(err, Error::msg("container worker not found"));
    }

    #[test]
    fn containers_entries_need_a_name() {
        let props = json!({"containers": [{"env": {"A": "1"}}]});
        let err = render_trait(env, props, &ctx()).unwrap_err();
        assert_eq!(err, Error::msg("containerName must be set for containers"));
    }

    #[test]
    fn containers_cannot_mix_with_single_fields() {
        let props = json!({"env": {"A": "1"}, "containers": [{"containerName": "web"}]});
        let err = render_trait(env, props, &ctx()).unwrap_err();
        assert!(
            err.to_string().starts_with("env: cannot be combined"),
            "{err}"
        );
    }

    #[test]
    fn a_value_must_be_a_string() {
        let err = render_trait(env, json!({"env": {"REPLICAS": 3}}), &ctx()).unwrap_err();
        assert!(
            err.to_string().starts_with("env.REPLICAS: invalid type"),
            "{err}"
        );
    }

    #[test]
    fn a_workload_without_containers_is_an_error() {
        let ctx = TraitContext::for_test(json!({"kind": "ConfigMap"}));
        assert!(render_trait(env, json!({"env": {"A": "1"}}), &ctx).is_err());
    }

    #[test]
    fn rejects_unknown_parameters() {
        let err = render_trait(env, json!({"envs": {}}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("unknown field `envs`"), "{err}");
    }
}
