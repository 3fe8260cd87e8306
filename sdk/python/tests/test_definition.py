"""The decorators and the native test helpers."""

from dataclasses import dataclass
from typing import List

import pytest
from kiln_sdk import (
    Context,
    Error,
    Patch,
    PolicyInput,
    PolicyOutput,
    TraitContext,
    TraitOutput,
    WorkloadOutput,
    container_label,
    definition,
    policy,
    trait,
    workload,
)
from kiln_sdk.testing import check_policy, denials, render_trait, render_workload


@pytest.fixture(autouse=True)
def no_definitions_left_over():
    definition._DEFINITIONS.clear()
    yield
    definition._DEFINITIONS.clear()


@dataclass
class Replicas:
    replicas: int = 1


def test_a_trait_records_its_facts_and_stays_a_plain_function():
    @trait(name="scaler", version="1.2.0", applies_to=["deployments.apps"])
    def scaler(params: Replicas, ctx: TraitContext) -> TraitOutput:
        """Manually scale K8s pod for your workload.

        More text that is not the description."""
        return TraitOutput().with_patch(Patch.merge({"spec": {"replicas": params.replicas}}))

    d = definition.the_definition()
    assert (d.name, d.kind, d.version) == ("scaler", "trait", "1.2.0")
    assert d.description == "Manually scale K8s pod for your workload."
    assert d.applies_to == ("deployments.apps",)
    assert d.schema["properties"]["replicas"] == {"type": "integer", "default": 1}
    out = scaler(Replicas(3), TraitContext.for_test({}))
    assert out.patch_value() == {"spec": {"replicas": 3}}
    assert render_trait(scaler, {"replicas": 2}, TraitContext.for_test()).patch == Patch.merge(
        {"spec": {"replicas": 2}}
    )


def test_a_definition_needs_typed_parameters_and_a_description():
    with pytest.raises(TypeError, match="two arguments"):

        @trait(name="t", version="1.0.0", description="d")
        def one(params: Replicas) -> TraitOutput:
            return TraitOutput()

    with pytest.raises(TypeError, match="annotate f's first argument"):

        @trait(name="t", version="1.0.0", description="d")
        def f(params, ctx):
            return TraitOutput()

    with pytest.raises(TypeError, match="needs a description"):

        @trait(name="t", version="1.0.0")
        def g(params: Replicas, ctx: TraitContext) -> TraitOutput:
            return TraitOutput()


def test_a_component_holds_exactly_one_definition():
    with pytest.raises(RuntimeError, match="declares 0"):
        definition.the_definition()

    for name in ["a", "b"]:

        @trait(name=name, version="1.0.0", description="d")
        def t(params: Replicas, ctx: TraitContext) -> TraitOutput:
            return TraitOutput()

    with pytest.raises(RuntimeError, match=r"declares 2 \(a, b\)"):
        definition.the_definition()


@dataclass
class Image:
    image: str


def test_a_workload_renders_from_properties():
    @workload(name="web", version="1.0.0", workload_type="deployments.apps")
    def web(params: Image, ctx: Context) -> WorkloadOutput:
        """A web service."""
        return WorkloadOutput({"kind": "Deployment", "name": ctx.component_name}).warn(
            "latest is not pinned", field="image"
        )

    out = render_workload(web, {"image": "nginx"}, Context.for_test("api"))
    assert out.output == {"kind": "Deployment", "name": "api"}
    assert out.warnings == [("image", "latest is not pinned")]
    with pytest.raises(Error, match='image: missing field "image"'):
        render_workload(web, {}, Context.for_test())
    with pytest.raises(Error, match='unknown field "img"'):
        render_workload(web, {"image": "a", "img": "b"}, Context.for_test())


@dataclass
class Registries:
    allowed: List[str]


def test_a_policy_denies_by_object_and_field():
    @policy(name="registries", version="1.0.0")
    def registries(params: Registries, objects: PolicyInput) -> PolicyOutput:
        """Images come from allowed registries."""
        out = PolicyOutput()
        for obj in objects.objects:
            for path, container in obj.containers():
                if not container["image"].startswith(tuple(params.allowed)):
                    out.deny(
                        obj, f"{container_label(path, container)}: not allowed", f"{path}.image"
                    )
        return out

    deployment = {
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "prod"},
        "spec": {
            "template": {
                "spec": {
                    "initContainers": [{"name": "setup", "image": "ghcr.io/ok"}],
                    "containers": [{"name": "api", "image": "docker.io/bad"}],
                }
            }
        },
    }
    out = check_policy(
        registries,
        {"allowed": ["ghcr.io/"]},
        [deployment, {"kind": "Service", "metadata": {"name": "s"}}],
    )
    assert denials(out) == [
        (
            "Deployment/prod/api",
            "spec.template.spec.containers[0].image",
            'container "api": not allowed',
        )
    ]


def test_a_trait_context_reads_through_to_its_context_and_parses_lazily():
    ctx = TraitContext.for_test({"spec": {"template": {"spec": {}}}})
    assert ctx.component_name == "component"
    assert ctx.supports("policy/v1", (1, 21))
    assert ctx.workload.has("/spec/template/spec")
    assert not ctx.workload.has("/spec/jobTemplate")
    assert ctx.output("nothing") is None
    with pytest.raises(AttributeError):
        _ = ctx.no_such_field
