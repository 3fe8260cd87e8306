"""The decorators that make a function a definition: :func:`trait`, :func:`workload` and
:func:`policy`.

A decorator records the definition (its name, kind, facts and parameter schema) and
returns the function unchanged, so that unit tests call it directly. The parameter type is
the function's first parameter's annotation; its schema is derived when the decorator
runs, which in a component is at build time (componentize-py initialises the module before
it snapshots it), so no render pays for it.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, TypeVar

from .parameters import schema_of

F = TypeVar("F", bound=Callable[..., Any])

WORKLOAD = "workload"
TRAIT = "trait"
POLICY = "policy"


@dataclass(frozen=True)
class Definition:
    """A definition as a decorator recorded it: what its component's ``describe`` says,
    and the function its ``render`` calls."""

    name: str
    kind: str
    version: str
    description: str
    applies_to: Sequence[str]
    conflicts_with: Sequence[str]
    workload_type: Optional[str]
    function: Callable[..., Any]
    #: The type of the function's first parameter.
    parameters: Any
    #: Its JSON Schema.
    schema: Dict[str, Any]


_DEFINITIONS: List[Definition] = []


def trait(
    *,
    name: str,
    version: str,
    description: Optional[str] = None,
    applies_to: Sequence[str] = (),
    conflicts_with: Sequence[str] = (),
) -> Callable[[F], F]:
    """Makes ``fn(params, ctx: TraitContext) -> TraitOutput`` a trait.

    ``applies_to`` (default: every workload) and ``conflicts_with`` (default: none) are
    enforced by Kiln. ``description`` defaults to the function's docstring's first line.
    """
    return _record(TRAIT, name, version, description, applies_to, conflicts_with, None)


def workload(
    *,
    name: str,
    version: str,
    workload_type: str,
    description: Optional[str] = None,
) -> Callable[[F], F]:
    """Makes ``fn(params, ctx: Context) -> WorkloadOutput`` a component type.

    ``workload_type`` is the ``<resource>.<group>`` of the object it renders (e.g.
    ``deployments.apps``), which traits' ``applies_to`` lists match against.
    """
    return _record(WORKLOAD, name, version, description, (), (), workload_type)


def policy(*, name: str, version: str, description: Optional[str] = None) -> Callable[[F], F]:
    """Makes ``fn(params, policy_input: PolicyInput) -> PolicyOutput`` a guardrail policy.
    The platform configures its parameters; it sees every object an application renders."""
    return _record(POLICY, name, version, description, (), (), None)


def _record(
    kind: str,
    name: str,
    version: str,
    description: Optional[str],
    applies_to: Sequence[str],
    conflicts_with: Sequence[str],
    workload_type: Optional[str],
) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        params = parameter_type(function)
        text = description or _first_line(function.__doc__)
        if not text:
            raise TypeError(
                f"{kind} {name!r} needs a description: pass description= or give "
                f"{function.__name__} a docstring"
            )
        _DEFINITIONS.append(
            Definition(
                name=name,
                kind=kind,
                version=version,
                description=text,
                applies_to=tuple(applies_to),
                conflicts_with=tuple(conflicts_with),
                workload_type=workload_type,
                function=function,
                parameters=params,
                schema=schema_of(params),
            )
        )
        return function

    return decorate


def parameter_type(function: Callable[..., Any]) -> Any:
    """The annotation of ``function``'s first parameter: the type its properties parse to."""
    positional = [
        p
        for p in inspect.signature(function).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(positional) != 2:
        raise TypeError(
            f"{function.__name__} must take two arguments: the parameters and the context"
        )
    hints = typing.get_type_hints(function, include_extras=True)
    if positional[0].name not in hints:
        raise TypeError(
            f"annotate {function.__name__}'s first argument with its parameter type "
            "(a dataclass or TypedDict)"
        )
    return hints[positional[0].name]


def _first_line(doc: Optional[str]) -> str:
    return inspect.cleandoc(doc).split("\n\n")[0].replace("\n", " ") if doc else ""


def the_definition() -> Definition:
    """The one definition this program's module declared."""
    if len(_DEFINITIONS) != 1:
        names = ", ".join(d.name for d in _DEFINITIONS) or "none"
        raise RuntimeError(
            "a Kiln component holds exactly one definition; this module declares "
            f"{len(_DEFINITIONS)} ({names})"
        )
    return _DEFINITIONS[0]
