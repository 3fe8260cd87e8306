"""The unit tests of ../src/lib.rs, natively with pytest."""

import pytest
from kiln_sdk import Error, TraitContext
from kiln_sdk.testing import render_trait
from pod_disruption_budget import Params, pod_disruption_budget


def ctx() -> TraitContext:
    return TraitContext.for_test({"apiVersion": "apps/v1", "kind": "Deployment"})


def test_defaults_to_one_available_pod():
    pdb = pod_disruption_budget(Params(), ctx()).output("podDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"]["app.oam.dev/component"] == "component"


def test_takes_a_percentage():
    out = render_trait(pod_disruption_budget, {"maxUnavailable": "25%"}, ctx())
    assert out.output("podDisruptionBudget")["spec"]["maxUnavailable"] == "25%"


def test_refuses_both_bounds():
    with pytest.raises(Error) as refused:
        render_trait(pod_disruption_budget, {"minAvailable": 1, "maxUnavailable": 1}, ctx())
    assert str(refused.value) == "maxUnavailable: set minAvailable or maxUnavailable, not both"


def test_uses_policy_v1beta1_before_kubernetes_1_21():
    context = ctx()
    context.cluster_version.minor = 20
    pdb = pod_disruption_budget(Params(), context).output("podDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1beta1"
