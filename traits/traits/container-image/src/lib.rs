//! `container-image`: set the image of a container (KubeVela's `container-image` trait).
//!
//! KubeVela's parameter is `#PatchParams | close({containers: [...#PatchParams]})`: either
//! the settings for one container or a `containers` list of them, never both. Kiln declares
//! the union of the two forms and rejects `containers` mixed with the single-container
//! fields.

use kiln_sdk::prelude::*;
use pod_spec::containers;

/// Parameters of `container-image`: the settings for one container, or `containers`, a list
/// of them.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Specify the name of the target container, if not set, use the component name
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub container_name: Option<String>,
    /// Specify the image of the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Specify the image pull policy of the container
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = ""))]
    pub image_pull_policy: Option<ImagePullPolicy>,
    /// Specify the container image for multiple containers
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<PatchParams>>,
}

/// The image settings for one container.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PatchParams {
    /// Specify the name of the target container, if not set, use the component name
    #[serde(default)]
    pub container_name: String,
    /// Specify the image of the container
    pub image: String,
    /// Specify the image pull policy of the container
    #[serde(default)]
    pub image_pull_policy: ImagePullPolicy,
}

/// When to pull the image; `""` leaves the container's policy alone.
#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
pub enum ImagePullPolicy {
    /// Keep the container's policy.
    #[default]
    #[serde(rename = "")]
    Unset,
    IfNotPresent,
    Always,
    Never,
}

/// Patches `image` (and `imagePullPolicy` when set) of each target container, replacing
/// the values it had (KubeVela: `retainKeys`). Containers merge by `name`.
pub fn container_image(params: Params, ctx: &TraitContext) -> Result<TraitOutput> {
    let targets = targets(params, &ctx.component_name)?;
    let base = containers::of(&ctx.workload)?;
    let patched = containers::patch_each(targets, |p| patch_container(&p, base))?;
    Ok(TraitOutput::new().patch(containers::patch(patched)))
}

/// The per-container settings, with the component name for an unnamed single container;
/// an unnamed entry of `containers` is an error (in place, as KubeVela's `errs` lists it).
fn targets(params: Params, component: &str) -> Result<Vec<Result<PatchParams>>> {
    let Some(containers) = params.containers else {
        let Some(image) = params.image else {
            return Err(Error::field("image", "missing field `image`"));
        };
        let container_name = containers::single(params.container_name, component);
        return Ok(vec![Ok(PatchParams {
            container_name,
            image,
            image_pull_policy: params.image_pull_policy.unwrap_or_default(),
        })]);
    };
    containers::reject_mixed(
        "containers",
        &[
            ("containerName", params.container_name.is_some()),
            ("image", params.image.is_some()),
            ("imagePullPolicy", params.image_pull_policy.is_some()),
        ],
    )?;
    Ok(containers::named(
        containers,
        |c| c.container_name.is_empty(),
        "containerName must be set for containers",
    ))
}

/// The patch for one container.
fn patch_container(p: &PatchParams, base: &[Value]) -> Result<Value> {
    let name = &p.container_name;
    containers::find(base, name)?;
    let mut patch = json!({
        "name": name,
        "$patchStrategy/image": "retainKeys",
        "image": p.image
    });
    if p.image_pull_policy != ImagePullPolicy::Unset {
        patch["$patchStrategy/imagePullPolicy"] = json!("retainKeys");
        patch["imagePullPolicy"] = json!(p.image_pull_policy);
    }
    Ok(patch)
}

kiln_sdk::export_trait! {
    name: "container-image",
    description: "Set the image of the container.",
    applies_to: ["deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"],
    render: container_image,
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
                { "name": "web", "image": "shop:1.0", "imagePullPolicy": "IfNotPresent" },
                { "name": "proxy", "image": "envoy:1.30" }
            ] } } }
        }));
        ctx.context.component_name = "web".into();
        ctx
    }

    fn containers(out: &TraitOutput) -> &Value {
        &out.patch_value().unwrap()["spec"]["template"]["spec"]["containers"]
    }

    #[test]
    fn sets_the_image_of_the_container_named_after_the_component() {
        let out = render_trait(container_image, json!({"image": "shop:2.0"}), &ctx()).unwrap();
        assert_eq!(
            containers(&out),
            &json!([{"name": "web", "$patchStrategy/image": "retainKeys", "image": "shop:2.0"}])
        );
    }

    #[test]
    fn fixture_image_pull_policy_is_set_when_given() {
        let props = json!({"image": "nginx:latest", "imagePullPolicy": "Always"});
        let out = render_trait(container_image, props, &ctx()).unwrap();
        assert_eq!(
            containers(&out),
            &json!([{
                "name": "web",
                "$patchStrategy/image": "retainKeys",
                "image": "nginx:latest",
                "$patchStrategy/imagePullPolicy": "retainKeys",
                "imagePullPolicy": "Always"
            }])
        );
    }

    #[test]
    fn container_name_and_containers() {
        let props = json!({"containerName": "proxy", "image": "envoy:1.31"});
        let out = render_trait(container_image, props, &ctx()).unwrap();
        assert_eq!(containers(&out)[0]["name"], "proxy");
        let props = json!({"containers": [
            {"containerName": "web", "image": "shop:2.0"},
            {"containerName": "proxy", "image": "envoy:1.31", "imagePullPolicy": "Never"}
        ]});
        let out = render_trait(container_image, props, &ctx()).unwrap();
        assert_eq!(
            containers(&out),
            &json!([
                {"name": "web", "$patchStrategy/image": "retainKeys", "image": "shop:2.0"},
                {"name": "proxy", "$patchStrategy/image": "retainKeys", "image": "envoy:1.31",
                 "$patchStrategy/imagePullPolicy": "retainKeys", "imagePullPolicy": "Never"}
            ])
        );
    }

    #[test]
    fn errors() {
        let err = render_trait(
            container_image,
            json!({"imagePullPolicy": "Always"}),
            &ctx(),
        )
        .unwrap_err();
        assert_eq!(err, Error::field("image", "missing field `image`"));
        let props = json!({"image": "shop:2.0", "imagePullPolicy": "Sometimes"});
        let err = render_trait(container_image, props, &ctx()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("imagePullPolicy: unknown variant"),
            "{err}"
        );
        let props = json!({"containerName": "worker", "image": "worker:1.0"});
        let err = render_trait(container_image, props, &ctx()).unwrap_err();
        assert_eq!(err, Error::msg("container worker not found"));
        let props =
            json!({"containers": [{"image": "worker:1.0"}, {"containerName": "x", "image": "x"}]});
        let err = render_trait(container_image, props, &ctx()).unwrap_err();
        assert_eq!(
            err,
            Error::msg("containerName must be set for containers")
                .and(Error::msg("container x not found"))
        );
        let props = json!({"image": "a", "containers": [{"containerName": "web", "image": "b"}]});
        let err = render_trait(container_image, props, &ctx()).unwrap_err();
        assert!(
            err.to_string().starts_with("image: cannot be combined"),
            "{err}"
        );
    }
}
