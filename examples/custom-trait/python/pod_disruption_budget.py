"""`pod-disruption-budget`, in Python: the twin of ../src/lib.rs, with the same behaviour
and byte-identical output. Adds a PodDisruptionBudget keeping a component's pods available
during voluntary disruptions (node drains, upgrades).

Build: `python -m kiln_sdk build pod_disruption_budget -o pod_disruption_budget.wasm`
(see ../README.md).
"""

from dataclasses import dataclass
from typing import Optional, Union

from kiln_sdk import Error, TraitContext, TraitOutput, trait

#: A pod count or a percentage, as Kubernetes' `IntOrString`.
IntOrString = Union[int, str]


@dataclass
class Params:
    """Parameters of `pod-disruption-budget`."""

    min_available: Optional[IntOrString] = None
    """Pods that must stay available, as a number or a percentage ("50%"). Default: 1
    when neither this nor maxUnavailable is set."""

    max_unavailable: Optional[IntOrString] = None
    """Pods that may be unavailable at once, as a number or a percentage."""


@trait(
    name="pod-disruption-budget",
    version="0.1.0",
    description="Keep a minimum of the component's pods available during voluntary disruptions.",
    applies_to=["deployments.apps", "statefulsets.apps"],
)
def pod_disruption_budget(params: Params, ctx: TraitContext) -> TraitOutput:
    """Adds the PodDisruptionBudget, selecting the component's pods."""
    if params.min_available is not None and params.max_unavailable is not None:
        raise Error.field("maxUnavailable", "set minAvailable or maxUnavailable, not both")
    if params.max_unavailable is not None:
        budget = {"maxUnavailable": params.max_unavailable}
    else:
        budget = {"minAvailable": 1 if params.min_available is None else params.min_available}
    spec = {"selector": {"matchLabels": {"app.oam.dev/component": ctx.component_name}}}
    spec.update(budget)
    api_version = "policy/v1" if ctx.supports("policy/v1", (1, 21)) else "policy/v1beta1"
    return TraitOutput().with_output(
        "podDisruptionBudget",
        {
            "apiVersion": api_version,
            "kind": "PodDisruptionBudget",
            "metadata": {"name": ctx.component_name},
            "spec": spec,
        },
    )


from kiln_sdk.guest import WitWorld  # noqa: E402,F401  the component's exports
