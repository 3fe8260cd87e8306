"""The glue between the ``kiln:definition`` WIT world and the module's one definition.

A definition's module ends with ``from kiln_sdk.guest import WitWorld``: componentize-py
calls that class's ``describe`` and ``render``. The bindings (``wit_world``) exist only in
the component, so they are imported when a method runs; importing this module natively,
as ``pytest`` does, costs nothing.

Every exception a definition raises becomes an error of the render, never a trap: an
:class:`~kiln_sdk.Error` with its fields as written, any other exception as one message
with its type, text and the line of the definition's code it came from.
"""

from __future__ import annotations

import json
import os
import traceback
from typing import Any, List, Optional

from .context import ClusterVersion, Context, LazyJson, TraitContext
from .definition import POLICY, TRAIT, WORKLOAD, Definition, the_definition
from .errors import Error
from .guardrail import PolicyInput, PolicyObject, PolicyOutput
from .output import Patch, TraitOutput, WorkloadOutput
from .parameters import parse


def json_text(value: Any) -> str:
    """``value`` as compact JSON, keys in the order the definition wrote them (Kiln keeps
    that order). What JSON cannot hold (NaN, a set, an object) is an :class:`Error`."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise Error(f"the definition returned output that is not JSON: {e}") from None


def context_of(c: Any) -> Context:
    """The SDK's :class:`Context` of a WIT ``context`` record."""
    v = c.cluster_version
    return Context(
        app_name=c.app_name,
        namespace=c.namespace,
        component_name=c.component_name,
        component_type=c.component_type,
        app_revision=c.app_revision,
        cluster_version=ClusterVersion(v.major, v.minor, v.git_version),
        api_versions=list(c.api_versions),
        app_labels=dict(c.app_labels),
        app_annotations=dict(c.app_annotations),
    )


def call(definition: Definition, parameters: Any, request: Any) -> Any:
    """Runs ``definition`` on parsed ``parameters`` and a WIT render request; returns the
    function's output."""
    params = parse(definition.parameters, parameters)
    context = context_of(request.context)
    if definition.kind == TRAIT:
        workload = LazyJson(request.workload) if request.workload is not None else LazyJson.of(None)
        outputs = [(o.name, LazyJson(o.object)) for o in request.outputs]
        return definition.function(params, TraitContext(context, workload, outputs))
    if definition.kind == WORKLOAD:
        return definition.function(params, context)
    objects = [PolicyObject(o.name, json.loads(o.object)) for o in request.outputs]
    return definition.function(params, PolicyInput(context, objects))


_SDK = os.path.dirname(os.path.abspath(__file__))
_STDLIB = os.path.dirname(os.path.abspath(os.__file__))


def _where(error: BaseException) -> str:
    """`` (app.py, line 12)``: the innermost frame of the definition's own code (not the
    SDK's, not the standard library's), if any."""
    frames = [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if not os.path.abspath(f.filename).startswith((_SDK, _STDLIB))
    ]
    if not frames:
        return ""
    frame = frames[-1]
    return f" ({frame.filename.rsplit('/', 1)[-1]}, line {frame.lineno})"


class WitWorld:
    """The ``kiln:definition`` world's exports, for componentize-py."""

    def describe(self) -> Any:
        from wit_world.imports import types as wit

        d = the_definition()
        kinds = {WORKLOAD: wit.Kind.WORKLOAD, TRAIT: wit.Kind.TRAIT, POLICY: wit.Kind.POLICY}
        return wit.Metadata(
            name=d.name,
            kind=kinds[d.kind],
            version=d.version,
            description=d.description,
            parameter_schema=json_text(d.schema),
            applies_to=list(d.applies_to),
            conflicts_with=list(d.conflicts_with),
            workload_type=d.workload_type,
        )

    def render(self, request: Any) -> Any:
        from componentize_py_types import Err
        from wit_world.imports import types as wit

        def diagnostic(field: Optional[str], message: str, error: bool = True) -> Any:
            severity = wit.Severity.ERROR if error else wit.Severity.WARNING
            return wit.Diagnostic(severity=severity, message=message, field=field, object=None)

        d = the_definition()
        try:
            out = call(d, json.loads(request.parameters), request)
            return _response(wit, d, out, diagnostic)
        except Error as e:
            raise Err([diagnostic(field, message) for field, message in e.messages()]) from None
        except Exception as e:  # a bug in the definition: say what and where, never trap
            message = f"{type(e).__name__}: {e}{_where(e)}"
            raise Err([diagnostic(None, message)]) from None


def _patch(wit: Any, patch: Patch) -> Any:
    if not isinstance(patch, Patch):
        raise TypeError(f"expected a kiln_sdk.Patch, got {type(patch).__name__}")
    variants = {
        Patch.MERGE: wit.Patch_Merge,
        Patch.JSON_MERGE_PATCH: wit.Patch_JsonMergePatch,
        Patch.JSON_PATCH: wit.Patch_JsonPatch,
    }
    return variants[patch.strategy](json_text(patch.value))


def _named(wit: Any, objects: List[Any]) -> List[Any]:
    return [wit.NamedObject(name=name, object=json_text(obj)) for name, obj in objects]


def _response(wit: Any, d: Definition, out: Any, diagnostic: Any) -> Any:
    expected = {TRAIT: TraitOutput, WORKLOAD: WorkloadOutput, POLICY: PolicyOutput}[d.kind]
    if not isinstance(out, expected):
        raise TypeError(
            f"{d.function.__name__} returned {type(out).__name__}, not a {expected.__name__}"
        )
    if isinstance(out, PolicyOutput):
        return wit.RenderResponse(
            output=None,
            outputs=[],
            patch=None,
            patch_outputs=[wit.OutputPatch(name=n, patch=_patch(wit, p)) for n, p in out.mutations],
            diagnostics=[
                wit.Diagnostic(
                    severity=wit.Severity.ERROR if v.deny else wit.Severity.WARNING,
                    message=v.message,
                    field=v.field,
                    object=v.object,
                )
                for v in out.violations
            ],
        )
    warnings = [diagnostic(field, message, error=False) for field, message in out.warnings]
    if isinstance(out, WorkloadOutput):
        return wit.RenderResponse(
            output=json_text(out.output),
            outputs=_named(wit, out.outputs),
            patch=None,
            patch_outputs=[],
            diagnostics=warnings,
        )
    return wit.RenderResponse(
        output=None,
        outputs=_named(wit, out.outputs),
        patch=None if out.patch is None else _patch(wit, out.patch),
        patch_outputs=[wit.OutputPatch(name=n, patch=_patch(wit, p)) for n, p in out.patch_outputs],
        diagnostics=warnings,
    )
