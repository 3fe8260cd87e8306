//! `resource`: add resource requests and limits on K8s pod for your workload (KubeVela's
//! `resource` trait). Patches the first container of the pod template
//! (`spec.template`, or a CronJob's `spec.jobTemplate.spec.template`).

use kiln_sdk::prelude::*;

/// Parameters of `resource`.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Specify the amount of cpu for requests and limits
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = 1))]
    pub cpu: Option<Amount>,
    /// Specify the amount of memory for requests and limits
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "2048Mi", "pattern" = MEMORY_PATTERN))]
    pub memory: Option<String>,
    /// Specify the resources in requests
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Resources>,
    /// Specify the resources in limits
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Resources>,
}

/// An amount of CPU: a number of cores or a quantity string such as `500m`.
#[derive(Deserialize, Serialize, JsonSchema, Clone, PartialEq)]
#[serde(untagged)]
pub enum Amount {
    Integer(i64),
    Float(f64),
    Text(String),
}

/// Requests or limits.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Specify the amount of cpu
    #[serde(default = "one_cpu")]
    pub cpu: Amount,
    /// Specify the amount of memory
    #[serde(default = "default_memory")]
    #[schemars(extend("pattern" = MEMORY_PATTERN))]
    pub memory: String,
}

const MEMORY_PATTERN: &str = "^([1-9][0-9]{0,63})(E|P|T|G|M|K|Ei|Pi|Ti|Gi|Mi|Ki)$";

fn one_cpu() -> Amount {
    Amount::Integer(1)
}
fn default_memory() -> String {
    "2048Mi".into()
}

/// KubeVela's memory pattern: `^([1-9][0-9]{0,63})(E|P|T|G|M|K|Ei|Pi|Ti|Gi|Mi|Ki)$`.
fn check_memory(field: &str, memory: &str) -> Result<()> {
    let digits = memory.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = memory.split_at(digits);
    let number_ok = (1..=64).contains(&number.len()) && !number.starts_with('0');
    let unit_ok = [
        "E", "P", "T", "G", "M", "K", "Ei", "Pi", "Ti", "Gi", "Mi", "Ki",
    ]
    .contains(&unit);
    if number_ok && unit_ok {
        Ok(())
    } else {
        Err(Error::field(
            field,
            format!("{memory:?} does not match {MEMORY_PATTERN} (e.g. 512Mi, 2Gi)"),
        ))
    }
}

/// Patches `resources` of the first container with `retainKeys` on `requests` and
/// `limits`. `cpu` and `memory` (either alone takes the other's default) set both, unless
/// `requests` or `limits` is given.
pub fn resource(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    if let Some(memory) = &params.memory {
        check_memory("memory", memory)?;
    }
    if let Some(r) = &params.requests {
        check_memory("requests.memory", &r.memory)?;
    }
    if let Some(l) = &params.limits {
        check_memory("limits.memory", &l.memory)?;
    }

    let mut resources = Map::new();
    let amounts = |cpu: &Amount, memory: &String| json!({ "cpu": cpu, "memory": memory });
    if (params.cpu.is_some() || params.memory.is_some())
        && params.requests.is_none()
        && params.limits.is_none()
    {
        let cpu = params.cpu.clone().unwrap_or_else(one_cpu);
        let memory = params.memory.clone().unwrap_or_else(default_memory);
        for field in ["requests", "limits"] {
            resources.insert(format!("$patchStrategy/{field}"), json!("retainKeys"));
            resources.insert(field.into(), amounts(&cpu, &memory));
        }
    }
    for (field, value) in [("requests", &params.requests), ("limits", &params.limits)] {
        if let Some(r) = value {
            resources.insert(format!("$patchStrategy/{field}"), json!("retainKeys"));
            resources.insert(field.into(), amounts(&r.cpu, &r.memory));
        }
    }

    let mut patch = json!({});
    let mut found = false;
    for path in [
        ["spec", "template", "spec"].as_slice(),
        ["spec", "jobTemplate", "spec", "template", "spec"].as_slice(),
    ] {
        // The pod template exists when the path up to `template` does.
        let template = &path[..path.len() - 1];
        let pointer: String = template.iter().map(|p| format!("/{p}")).collect();
        if ctx.workload.pointer(&pointer).is_none() {
            continue;
        }
        found = true;
        let containers = ctx
            .workload
            .pointer(&format!("{pointer}/spec/containers"))
            .and_then(Value::as_array);
        let Some(first) = containers
            .and_then(|c| c.first())
            .and_then(|c| c.get("name"))
            .and_then(Value::as_str)
        else {
            return Err(Error::msg(format!(
                "the workload has no named container at {}.containers",
                path.join(".")
            )));
        };
        let mut node = json!({ "containers": [{ "name": first, "resources": resources }] });
        for key in path.iter().rev() {
            node = json!({ *key: node });
        }
        json_merge(&mut patch, node);
    }
    if !found {
        return Err(Error::msg(
            "the workload has no pod template (spec.template or spec.jobTemplate.spec.template)",
        ));
    }
    Ok(TraitOutput::new().patch(Patch::merge(patch)))
}

/// Merges two patch documents built here (maps only).
fn json_merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                json_merge(t.entry(k).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p,
    }
}

kiln_sdk::export_trait! {
    name: "resource",
    description: "Add resource requests and limits on K8s pod for your workload which follows the pod spec in path 'spec.template.'",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch", "cronjobs.batch"],
    render: resource,
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
                { "name": "web", "image": "shop:1.0" },
                { "name": "proxy", "image": "envoy" }
            ] } } }
        }));
        ctx.context.component_name = "web".into();
        ctx
    }

    fn resources(out: &TraitOutput) -> &Value {
        &out.patch_value().unwrap()["spec"]["template"]["spec"]["containers"][0]["resources"]
    }

    #[test]
    fn cpu_and_memory_are_both_request_and_limit() {
        let out =
            render_trait(resource, json!({"cpu": "500m", "memory": "256Mi"}), &ctx()).unwrap();
        assert!(matches!(out.patch, Some(Patch::Merge(_))));
        assert_eq!(
            out.patch_value().unwrap(),
            &json!({"spec": {"template": {"spec": {"containers": [{
                "name": "web",
                "resources": {
                    "$patchStrategy/requests": "retainKeys",
                    "requests": {"cpu": "500m", "memory": "256Mi"},
                    "$patchStrategy/limits": "retainKeys",
                    "limits": {"cpu": "500m", "memory": "256Mi"}
                }
            }]}}}})
        );
    }

    #[test]
    fn either_alone_takes_the_others_default() {
        let out = render_trait(resource, json!({"cpu": "500m"}), &ctx()).unwrap();
        assert_eq!(
            resources(&out)["requests"],
            json!({"cpu": "500m", "memory": "2048Mi"})
        );
        let out = render_trait(resource, json!({"memory": "256Mi"}), &ctx()).unwrap();
        assert_eq!(
            resources(&out)["limits"],
            json!({"cpu": 1, "memory": "256Mi"})
        );
    }

    #[test]
    fn fixture_requests_and_limits_differ() {
        let props = json!({"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1000m", "memory": "1Gi"}});
        let out = render_trait(resource, props, &ctx()).unwrap();
        assert_eq!(
            resources(&out)["requests"],
            json!({"cpu": "250m", "memory": "256Mi"})
        );
        assert_eq!(
            resources(&out)["limits"],
            json!({"cpu": "1000m", "memory": "1Gi"})
        );
        let props = json!({"requests": {"cpu": "1.5", "memory": "300Mi"}, "limits": {"cpu": 2, "memory": "500Mi"}});
        let out = render_trait(resource, props, &ctx()).unwrap();
        assert_eq!(
            resources(&out)["limits"],
            json!({"cpu": 2, "memory": "500Mi"})
        );
    }

    #[test]
    fn requests_alone_set_no_limits_and_defaults_apply() {
        let out = render_trait(resource, json!({"requests": {}}), &ctx()).unwrap();
        assert_eq!(
            resources(&out),
            &json!({
                "$patchStrategy/requests": "retainKeys",
                "requests": {"cpu": 1, "memory": "2048Mi"}
            })
        );
        let out = render_trait(
            resource,
            json!({"cpu": 2, "requests": {"cpu": "1"}}),
            &ctx(),
        )
        .unwrap();
        assert!(
            resources(&out).get("limits").is_none(),
            "cpu is ignored beside requests"
        );
    }

    #[test]
    fn a_cron_jobs_pods_are_reached_through_its_job_template() {
        let ctx = TraitContext::for_test(json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "shop:1.0"}]}}}}}
        }));
        let out = render_trait(resource, json!({"cpu": "500m", "memory": "256Mi"}), &ctx).unwrap();
        let patch = out.patch_value().unwrap();
        assert!(patch["spec"].get("template").is_none());
        assert_eq!(
            patch["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["resources"]
                ["requests"],
            json!({"cpu": "500m", "memory": "256Mi"})
        );
    }

    #[test]
    fn memory_must_carry_a_unit() {
        let err =
            render_trait(resource, json!({"cpu": "500m", "memory": "256"}), &ctx()).unwrap_err();
        assert!(err.to_string().starts_with("memory: "), "{err}");
        let err = render_trait(resource, json!({"limits": {"memory": "0Gi"}}), &ctx()).unwrap_err();
        assert!(err.to_string().starts_with("limits.memory: "), "{err}");
        assert!(check_memory("m", "1Ki").is_ok());
        assert!(check_memory("m", "1Gb").is_err());
    }

    #[test]
    fn errors() {
        let ctx = TraitContext::for_test(json!({"kind": "ConfigMap"}));
        assert!(render_trait(resource, json!({"cpu": "1"}), &ctx).is_err());
        let err = render_trait(resource, json!({"cpu": true}), &super::tests::ctx()).unwrap_err();
        assert!(err.to_string().starts_with("cpu: "), "{err}");
        let err = render_trait(resource, json!({"gpu": 1}), &super::tests::ctx()).unwrap_err();
        assert!(err.to_string().contains("unknown field `gpu`"), "{err}");
    }
}
