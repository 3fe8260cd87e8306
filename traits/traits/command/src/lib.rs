//! `command`: add command on K8s pod for your workload (KubeVela's `command` trait): replace
//! the command, replace the args, or add and delete args, of containers in the pod template.
//!
//! KubeVela's parameter is `*#PatchParams | close({containers: [...#PatchParams]})`: either
//! the settings for one container or a `containers` list of them, never both. Kiln declares
//! the union of the two forms and rejects `containers` mixed with the single-container
//! fields.

use std::collections::BTreeSet;

use kiln_sdk::prelude::*;
use pod_spec::containers;

/// Parameters of `command`: the settings for one container, or `containers`, a list of them.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the name of the target container, if not set, use the component name
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub container_name: Option<String>,
    /// Specify the command to use in the target container, if not set, it will not be changed
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Specify the args to use in the target container, if set, it will override existing args
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
    /// Specify the args to add in the target container, existing args will be kept, cannot be used with `args`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_args: Option<Vec<String>>,
    /// Specify the existing args to delete in the target container, cannot be used with `args`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub del_args: Option<Vec<String>>,
    /// Specify the commands for multiple containers
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<PatchParams>>,
}

/// The command settings for one container.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchParams {
    /// Specify the name of the target container, if not set, use the component name
    #[serde(default)]
    pub container_name: String,
    /// Specify the command to use in the target container, if not set, it will not be changed
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Specify the args to use in the target container, if set, it will override existing args
    #[serde(default)]
    pub args: Option<Vec<String>>,
    /// Specify the args to add in the target container, existing args will be kept, cannot be used with `args`
    #[serde(default)]
    pub add_args: Option<Vec<String>>,
    /// Specify the existing args to delete in the target container, cannot be used with `args`
    #[serde(default)]
    pub del_args: Option<Vec<String>>,
}

/// Patches each target container: `command` replaced when given, and `args` always
/// replaced with `args`, or the existing args minus `delArgs` plus the new `addArgs`
/// (KubeVela: `+patchStrategy=replace`). Containers merge by `name`.
pub fn command(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
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
            command: params.command,
            args: params.args,
            add_args: params.add_args,
            del_args: params.del_args,
        })]);
    };
    containers::reject_mixed(
        "containers",
        &[
            ("containerName", params.container_name.is_some()),
            ("command", params.command.is_some()),
            ("args", params.args.is_some()),
            ("addArgs", params.add_args.is_some()),
            ("delArgs", params.del_args.is_some()),
        ],
    )?;
    Ok(containers::named(
        containers,
        |c| c.container_name.is_empty(),
        "container name must be set for containers",
    ))
}

/// The patch for one container.
fn patch_container(p: &PatchParams, base: &[Value]) -> Result<Value> {
    let name = &p.container_name;
    let container = containers::find(base, name)?;
    if p.args.is_some() && (p.add_args.is_some() || p.del_args.is_some()) {
        return Err(Error::msg(
            "cannot set addArgs/delArgs and args at the same time",
        ));
    }
    let del: BTreeSet<&str> = p.del_args.iter().flatten().map(String::as_str).collect();
    let current: Vec<String> = match &p.args {
        Some(args) => args.clone(),
        None => container
            .get("args")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let existing: BTreeSet<&str> = current.iter().map(String::as_str).collect();
    let mut args: Vec<&str> = current
        .iter()
        .map(String::as_str)
        .filter(|a| !del.contains(a))
        .collect();
    args.extend(
        p.add_args
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|a| !del.contains(a) && !existing.contains(a)),
    );

    let mut patch = json!({ "name": name });
    if let Some(command) = &p.command {
        patch["$patchStrategy/command"] = json!("replace");
        patch["command"] = json!(command);
    }
    patch["$patchStrategy/args"] = json!("replace");
    patch["args"] = json!(args);
    Ok(patch)
}

kiln_sdk::export_trait! {
    name: "command",
    description: "Add command on K8s pod for your workload which follows the pod spec in path 'spec.template'",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"],
    render: command,
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
                { "name": "web", "image": "shop:1.0", "command": ["shop"], "args": ["--port", "80", "--debug"] },
                { "name": "proxy", "image": "envoy:1.30", "args": ["--log-level", "info"] }
            ] } } }
        }));
        ctx.context.component_name = "web".into();
        ctx
    }

    fn containers(out: &TraitOutput) -> &Value {
        &out.patch_value().unwrap()["spec"]["template"]["spec"]["containers"]
    }

    fn args(out: &TraitOutput, i: usize) -> &Value {
        &containers(out)[i]["args"]
    }

    #[test]
    fn replaces_the_command_of_the_container_named_after_the_component() {
        let out = render_trait(
            command,
            json!({"command": ["shop-server", "serve"]}),
            &ctx(),
        )
        .unwrap();
        assert_eq!(
            containers(&out),
            &json!([{
                "name": "web",
                "$patchStrategy/command": "replace",
                "command": ["shop-server", "serve"],
                "$patchStrategy/args": "replace",
                "args": ["--port", "80", "--debug"]
            }])
        );
    }

    #[test]
    fn fixture_command_and_args() {
        let mut ctx = ctx();
        ctx.context.component_name = "proxy".into();
        let props = json!({"command": ["/bin/sh"], "args": ["-c", "echo hello"]});
        let out = render_trait(command, props, &ctx).unwrap();
        assert_eq!(containers(&out)[0]["command"], json!(["/bin/sh"]));
        assert_eq!(args(&out, 0), &json!(["-c", "echo hello"]));
    }

    #[test]
    fn args_add_args_and_del_args() {
        let out = render_trait(command, json!({"args": ["--port", "8080"]}), &ctx()).unwrap();
        assert_eq!(args(&out, 0), &json!(["--port", "8080"]));
        let out =
            render_trait(command, json!({"addArgs": ["--debug", "--trace"]}), &ctx()).unwrap();
        assert_eq!(
            args(&out, 0),
            &json!(["--port", "80", "--debug", "--trace"])
        );
        let out = render_trait(command, json!({"delArgs": ["--debug"]}), &ctx()).unwrap();
        assert_eq!(args(&out, 0), &json!(["--port", "80"]));
        let props = json!({"addArgs": ["--trace"], "delArgs": ["--trace", "--debug"]});
        let out = render_trait(command, props, &ctx()).unwrap();
        assert_eq!(args(&out, 0), &json!(["--port", "80"]));
        let out = render_trait(command, json!({}), &ctx()).unwrap();
        assert!(containers(&out)[0].get("command").is_none());
        assert_eq!(args(&out, 0), &json!(["--port", "80", "--debug"]));
    }

    #[test]
    fn containers_patch_each_named_container() {
        let props = json!({"containers": [
            {"containerName": "web", "args": ["--port", "9090"]},
            {"containerName": "proxy", "delArgs": ["--log-level", "info"]}
        ]});
        let out = render_trait(command, props, &ctx()).unwrap();
        assert_eq!(args(&out, 0), &json!(["--port", "9090"]));
        assert_eq!(containers(&out)[1]["name"], "proxy");
        assert_eq!(args(&out, 1), &json!([]));
        let props = json!({"containerName": "proxy", "command": ["envoy"], "addArgs": ["--concurrency", "2"]});
        let out = render_trait(command, props, &ctx()).unwrap();
        assert_eq!(
            args(&out, 0),
            &json!(["--log-level", "info", "--concurrency", "2"])
        );
    }

    #[test]
    fn errors() {
        let props = json!({"args": ["--port", "8080"], "addArgs": ["--trace"]});
        let err = render_trait(command, props, &ctx()).unwrap_err();
        assert_eq!(
            err,
            Error::msg("cannot set addArgs/delArgs and args at the same time")
        );
        let props = json!({"containerName": "worker", "command": ["work"]});
        let err = render_trait(command, props, &ctx()).unwrap_err();
        assert_eq!(err, Error::msg("container worker not found"));
        let props = json!({"containers": [{"command": ["work"]}]});
        let err = render_trait(command, props, &ctx()).unwrap_err();
        assert_eq!(err, Error::msg("container name must be set for containers"));
        let props = json!({"args": [], "containers": []});
        let err = render_trait(command, props, &ctx()).unwrap_err();
        assert!(
            err.to_string().starts_with("args: cannot be combined"),
            "{err}"
        );
        let err = render_trait(command, json!({"cmd": ["x"]}), &ctx()).unwrap_err();
        assert!(err.to_string().contains("unknown field `cmd`"), "{err}");
    }
}
