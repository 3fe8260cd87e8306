//! The Python templates: a module on `sdk/python`, with a pytest unit test and a sandbox
//! test, and a `requirements.txt` that installs the SDK and the componentize-py it is
//! tested with.

use std::path::{Path, PathBuf};

use super::{Project, Template, test_cases, test_file};

/// The project of definition `name` in `dir`, on the Python SDK at `sdk`.
pub(super) fn project(template: Template, name: &str, dir: &Path, sdk: &Path) -> Project {
    let snake = name.replace('-', "_");
    let kind = template.kind();
    let (source, unit_test) = match template {
        Template::Trait => (trait_source(name, &snake), trait_unit_test(&snake)),
        Template::Workload => (workload_source(name, &snake), workload_unit_test(&snake)),
        Template::Policy => (policy_source(name, &snake), policy_unit_test(&snake)),
    };
    let files = vec![
        (PathBuf::from(format!("{snake}.py")), source),
        (PathBuf::from(format!("test_{snake}.py")), unit_test),
        test_file(
            name,
            &format!("build with `python -m kiln_sdk build {snake} -o {snake}.wasm`"),
            &format!("{snake}.wasm"),
            test_cases(template, name),
        ),
        (
            PathBuf::from("requirements.txt"),
            format!(
                "# The Kiln SDK (with the componentize-py it is tested with, and pytest).\n\
                 kiln-sdk[build,test] @ file://{}\n",
                sdk.display()
            ),
        ),
        (
            PathBuf::from(".gitignore"),
            "*.wasm\n__pycache__/\n.venv/\n".to_string(),
        ),
    ];
    let build = format!("python -m kiln_sdk build {snake} -o {snake}.wasm");
    let test = format!("{name}.test.yaml, in the sandbox");
    let steps = [
        (format!("cd {}", dir.display()), ""),
        (
            "python3 -m venv .venv && . .venv/bin/activate".to_string(),
            "",
        ),
        (
            "pip install -r requirements.txt".to_string(),
            "the SDK and componentize-py",
        ),
        ("pytest".to_string(), "unit tests, natively"),
        (build, "the component"),
        ("kiln test".to_string(), test.as_str()),
    ];
    // The comments in one column, whatever the name's length.
    let width = steps
        .iter()
        .map(|(command, _)| command.len())
        .max()
        .unwrap_or(0)
        + 3;
    let mut next_steps = format!(
        "created {kind} \"{name}\" in {} (Python)\n\nnext:\n",
        dir.display()
    );
    for (command, comment) in &steps {
        if comment.is_empty() {
            next_steps.push_str(&format!("  {command}\n"));
        } else {
            next_steps.push_str(&format!("  {command:width$}# {comment}\n"));
        }
    }
    Project { files, next_steps }
}

fn trait_source(name: &str, snake: &str) -> String {
    format!(
        r#""""`{name}`: a Kiln trait. It adds an annotation to the workload's pods."""

from dataclasses import dataclass

from kiln_sdk import Patch, TraitContext, TraitOutput, trait


@dataclass
class Params:
    """Parameters of `{name}` (docstrings become `kiln definitions show` text)."""

    note: str = "hello"
    """The annotation's value."""


@trait(
    name="{name}",
    version="0.1.0",
    description="Adds an example.com/note annotation to the workload's pods.",
    applies_to=["deployments.apps", "statefulsets.apps"],
)
def {snake}(params: Params, ctx: TraitContext) -> TraitOutput:
    """Patches the pod template with the annotation."""
    annotations = {{"example.com/note": params.note}}
    return TraitOutput().with_patch(
        Patch.merge({{"spec": {{"template": {{"metadata": {{"annotations": annotations}}}}}}}})
    )


from kiln_sdk.guest import WitWorld  # noqa: E402,F401  the component's exports
"#
    )
}

fn trait_unit_test(snake: &str) -> String {
    format!(
        r#"from kiln_sdk import TraitContext
from kiln_sdk.testing import render_trait

from {snake} import {snake}


def test_annotates_the_pods():
    ctx = TraitContext.for_test({{"kind": "Deployment"}})
    out = render_trait({snake}, {{"note": "hi"}}, ctx)
    patch = out.patch_value()
    assert patch["spec"]["template"]["metadata"]["annotations"]["example.com/note"] == "hi"
"#
    )
}

fn workload_source(name: &str, snake: &str) -> String {
    format!(
        r#""""`{name}`: a Kiln component type. It renders a Deployment of one container."""

from dataclasses import dataclass

from kiln_sdk import Context, WorkloadOutput, workload


@dataclass
class Params:
    """Parameters of `{name}` (docstrings become `kiln definitions show` text)."""

    image: str
    """The container image."""

    replicas: int = 1
    """How many pods."""


@workload(
    name="{name}",
    version="0.1.0",
    description="A Deployment of one container.",
    workload_type="deployments.apps",
)
def {snake}(params: Params, ctx: Context) -> WorkloadOutput:
    """Renders the Deployment."""
    labels = {{"app.oam.dev/component": ctx.component_name}}
    return WorkloadOutput(
        {{
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": {{
                "replicas": params.replicas,
                "selector": {{"matchLabels": labels}},
                "template": {{
                    "metadata": {{"labels": labels}},
                    "spec": {{"containers": [{{"name": ctx.component_name, "image": params.image}}]}},
                }},
            }},
        }}
    )


from kiln_sdk.guest import WitWorld  # noqa: E402,F401  the component's exports
"#
    )
}

fn workload_unit_test(snake: &str) -> String {
    format!(
        r#"from kiln_sdk import Context
from kiln_sdk.testing import render_workload

from {snake} import {snake}


def test_renders_a_deployment():
    out = render_workload({snake}, {{"image": "nginx:1.27"}}, Context.for_test("api"))
    assert out.output["spec"]["replicas"] == 1
    assert out.output["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
"#
    )
}

fn policy_source(name: &str, snake: &str) -> String {
    format!(
        r#""""`{name}`: a Kiln guardrail policy. It denies pods that use the host's network."""

from dataclasses import dataclass

from kiln_sdk import PolicyInput, PolicyOutput, policy


@dataclass
class Params:
    """Parameters of `{name}`, set in the platform configuration."""


@policy(name="{name}", version="0.1.0", description="Pods may not use the host's network.")
def {snake}(params: Params, policy_input: PolicyInput) -> PolicyOutput:
    """Denies every pod spec with `hostNetwork: true`."""
    out = PolicyOutput()
    for obj in policy_input.objects:
        found = obj.pod_spec()
        if found is not None and found[1].get("hostNetwork") is True:
            path, _ = found
            out.deny(obj, "pods may not use the host's network", field=f"{{path}}.hostNetwork")
    return out


from kiln_sdk.guest import WitWorld  # noqa: E402,F401  the component's exports
"#
    )
}

fn policy_unit_test(snake: &str) -> String {
    format!(
        r#"from kiln_sdk.testing import check_policy

from {snake} import {snake}


def test_denies_host_network():
    pod = {{
        "kind": "Pod",
        "metadata": {{"name": "p", "namespace": "default"}},
        "spec": {{"hostNetwork": True}},
    }}
    out = check_policy({snake}, {{}}, [pod])
    assert [(v.object, v.field) for v in out.violations] == [("Pod/default/p", "spec.hostNetwork")]
"#
    )
}
