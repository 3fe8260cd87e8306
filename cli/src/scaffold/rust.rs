//! The Rust templates: a crate on `sdk/`, with a unit test and a sandbox test.

use std::path::{Path, PathBuf};

use super::{Project, Template, test_cases, test_file};

/// The crate of definition `name` in `dir`, on the SDK crate at `sdk`.
pub(super) fn project(template: Template, name: &str, dir: &Path, sdk: &Path) -> Project {
    let snake = name.replace('-', "_");
    let kind = template.kind();
    let source = match template {
        Template::Trait => trait_source(name, &snake),
        Template::Workload => workload_source(name, &snake),
        Template::Policy => policy_source(name, &snake),
    };
    let files = vec![
        (PathBuf::from("Cargo.toml"), cargo_toml(name, kind, sdk)),
        (PathBuf::from("src/lib.rs"), source),
        test_file(
            name,
            "build",
            &format!("target/wasm32-wasip2/release/{snake}.wasm"),
            test_cases(template, name),
        ),
        (PathBuf::from(".gitignore"), "/target\n".to_string()),
    ];
    let next_steps = format!(
        "created {kind} \"{name}\" in {}\n\nnext:\n  cd {}\n  cargo test                                      # unit tests, natively\n  \
         cargo build --release --target wasm32-wasip2   # the component\n  kiln test                                       # {name}.test.yaml, in the sandbox\n",
        dir.display(),
        dir.display()
    );
    Project { files, next_steps }
}

fn cargo_toml(name: &str, kind: &str, sdk: &Path) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

# Its own workspace: build it alone.
[workspace]

[lib]
crate-type = ["cdylib", "rlib"]

[package.metadata.kiln]
kind = "{kind}"

[dependencies]
kiln-sdk = {{ path = {sdk:?} }}
serde = {{ version = "1", features = ["derive"] }}
schemars = "1"

[profile.release]
opt-level = 3
lto = true
codegen-units = 1
panic = "abort"
strip = true
"#,
        sdk = sdk.display().to_string()
    )
}

fn trait_source(name: &str, snake: &str) -> String {
    format!(
        r#"//! `{name}`: a Kiln trait. It adds an annotation to the workload's pods.

use kiln_sdk::prelude::*;

/// Parameters of `{name}` (doc comments become `kiln definitions show` text).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {{
    /// The annotation's value.
    #[serde(default = "default_note")]
    pub note: String,
}}

fn default_note() -> String {{
    "hello".into()
}}

/// Patches the pod template with the annotation.
pub fn {snake}(params: Params, _ctx: &TraitContext) -> Result<TraitOutput> {{
    Ok(TraitOutput::new().patch(Patch::merge(json!({{
        "spec": {{ "template": {{ "metadata": {{ "annotations": {{ "example.com/note": params.note }} }} }} }}
    }}))))
}}

kiln_sdk::export_trait! {{
    name: "{name}",
    description: "Adds an example.com/note annotation to the workload's pods.",
    applies_to: ["deployments.apps", "statefulsets.apps"],
    render: {snake},
}}

#[cfg(test)]
mod tests {{
    use super::*;

    #[test]
    fn annotates_the_pods() {{
        let ctx = TraitContext::for_test(json!({{"kind": "Deployment"}}));
        let out = kiln_sdk::testing::render_trait({snake}, json!({{"note": "hi"}}), &ctx).unwrap();
        let patch = out.patch_value().unwrap();
        assert_eq!(patch["spec"]["template"]["metadata"]["annotations"]["example.com/note"], "hi");
    }}
}}
"#
    )
}

fn workload_source(name: &str, snake: &str) -> String {
    format!(
        r#"//! `{name}`: a Kiln component type. It renders a Deployment of one container.

use kiln_sdk::prelude::*;

/// Parameters of `{name}` (doc comments become `kiln definitions show` text).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {{
    /// The container image.
    pub image: String,
    /// How many pods.
    #[serde(default = "one")]
    pub replicas: u32,
}}

fn one() -> u32 {{
    1
}}

/// Renders the Deployment.
pub fn {snake}(params: Params, ctx: &Context) -> Result<WorkloadOutput> {{
    let labels = json!({{ "app.oam.dev/component": ctx.component_name }});
    Ok(WorkloadOutput::new(json!({{
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "spec": {{
            "replicas": params.replicas,
            "selector": {{ "matchLabels": labels }},
            "template": {{
                "metadata": {{ "labels": labels }},
                "spec": {{ "containers": [{{ "name": ctx.component_name, "image": params.image }}] }}
            }}
        }}
    }})))
}}

kiln_sdk::export_workload! {{
    name: "{name}",
    description: "A Deployment of one container.",
    workload_type: "deployments.apps",
    render: {snake},
}}

#[cfg(test)]
mod tests {{
    use super::*;

    #[test]
    fn renders_a_deployment() {{
        let ctx = Context::for_test("api");
        let out = kiln_sdk::testing::render_workload({snake}, json!({{"image": "nginx:1.27"}}), &ctx).unwrap();
        assert_eq!(out.output["spec"]["replicas"], 1);
        assert_eq!(out.output["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27");
    }}
}}
"#
    )
}

fn policy_source(name: &str, snake: &str) -> String {
    format!(
        r#"//! `{name}`: a Kiln guardrail policy. It denies pods that use the host's network.

use kiln_sdk::prelude::*;

/// Parameters of `{name}`, set in the platform configuration.
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {{}}

/// Denies every pod spec with `hostNetwork: true`.
pub fn {snake}(_params: Params, input: &PolicyInput) -> Result<PolicyOutput> {{
    let mut out = PolicyOutput::new();
    for object in &input.objects {{
        if let Some((path, spec)) = object.pod_spec()
            && spec["hostNetwork"] == json!(true)
        {{
            let field = format!("{{path}}.hostNetwork");
            out = out.deny(object, Some(&field), "pods may not use the host's network");
        }}
    }}
    Ok(out)
}}

kiln_sdk::export_policy! {{
    name: "{name}",
    description: "Pods may not use the host's network.",
    check: {snake},
}}

#[cfg(test)]
mod tests {{
    use super::*;

    #[test]
    fn denies_host_network() {{
        let pod = json!({{"kind": "Pod", "metadata": {{"name": "p", "namespace": "default"}},
                          "spec": {{"hostNetwork": true}}}});
        let out = kiln_sdk::testing::check_policy({snake}, json!({{}}), vec![pod]).unwrap();
        assert_eq!(out.violations().len(), 1);
        assert_eq!(out.violations()[0].field.as_deref(), Some("spec.hostNetwork"));
    }}
}}
"#
    )
}
