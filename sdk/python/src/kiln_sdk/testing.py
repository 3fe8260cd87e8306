"""Helpers for testing a definition natively with ``pytest``, through the same parameter
parsing the sandbox uses.

>>> from dataclasses import dataclass
>>> from kiln_sdk import Patch, TraitContext, TraitOutput
>>> @dataclass
... class Params:
...     replicas: int = 1
>>> def scaler(params: Params, ctx: TraitContext) -> TraitOutput:
...     return TraitOutput().with_patch(Patch.merge({"spec": {"replicas": params.replicas}}))
>>> render_trait(scaler, {"replicas": "x"}, TraitContext.for_test())
Traceback (most recent call last):
  ...
kiln_sdk.errors.Error: replicas: expected an integer, found the string "x"
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional, Tuple

from .context import Context, TraitContext
from .definition import parameter_type
from .guardrail import PolicyInput, PolicyObject, PolicyOutput
from .output import TraitOutput, WorkloadOutput
from .parameters import parse


def _parsed(function: Callable[..., Any], properties: Optional[Dict[str, Any]]) -> Any:
    # Through JSON text, as the host sends it: a test cannot pass what JSON cannot carry.
    value = json.loads(json.dumps({} if properties is None else properties))
    return parse(parameter_type(function), value)


def render_trait(
    function: Callable[..., TraitOutput],
    properties: Optional[Dict[str, Any]],
    ctx: TraitContext,
) -> TraitOutput:
    """Renders a trait from JSON properties, as Kiln would call it."""
    return function(_parsed(function, properties), ctx)


def render_workload(
    function: Callable[..., WorkloadOutput],
    properties: Optional[Dict[str, Any]],
    ctx: Context,
) -> WorkloadOutput:
    """Renders a component type from JSON properties, as Kiln would call it."""
    return function(_parsed(function, properties), ctx)


def check_policy(
    function: Callable[..., PolicyOutput],
    properties: Optional[Dict[str, Any]],
    objects: List[Any],
) -> PolicyOutput:
    """Checks objects with a policy from JSON properties, as Kiln would call it."""
    context = Context.for_test("")
    context.component_type = ""
    policy_input = PolicyInput(context, [PolicyObject.for_test(o) for o in objects])
    return function(_parsed(function, properties), policy_input)


def denials(output: PolicyOutput) -> List[Tuple[str, str, str]]:
    """``(object, field, message)`` of every denial; fails the test if the policy mutated
    anything or only warned, which a test of denials does not expect."""
    assert not output.mutations, "the policy mutated objects"
    out = []
    for v in output.violations:
        assert v.deny, f"a warning where a denial was expected: {v.message}"
        out.append((v.object, v.field or "", v.message))
    return out
