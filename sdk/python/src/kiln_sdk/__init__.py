"""Write Kiln definitions (component types, traits and guardrail policies) as plain Python
functions, and ship them as WebAssembly components built with componentize-py.

A definition is a function over typed parameters. The SDK derives the parameters' JSON
Schema from a ``dataclass`` (or ``TypedDict``), parses the user's properties into it with
errors that name the field, and hides the WIT interface (``kiln:definition@0.1.0``) behind
one decorator: :func:`trait`, :func:`workload` or :func:`policy`. Kiln, the host, owns
every policy: merging patches, labels, names, namespaces, ordering and output.

A trait in a dozen lines::

    from dataclasses import dataclass
    from kiln_sdk import Patch, TraitContext, TraitOutput, trait

    @dataclass
    class Params:
        replicas: int = 1
        "Specify the number of workload"

    @trait(name="scaler", version="1.0.0", applies_to=["deployments.apps"])
    def scaler(params: Params, ctx: TraitContext) -> TraitOutput:
        "Manually scale K8s pod for your workload."
        return TraitOutput().with_patch(Patch.merge({"spec": {"replicas": params.replicas}}))

    from kiln_sdk.guest import WitWorld  # the component's exports

Test it natively with ``pytest`` (see :mod:`kiln_sdk.testing`); build it with
``python -m kiln_sdk build app -o app.wasm``.
"""

from .context import ClusterVersion, Context, LazyJson, TraitContext
from .definition import policy, trait, workload
from .errors import Error
from .guardrail import PolicyInput, PolicyObject, PolicyOutput, Violation, container_label
from .output import Patch, TraitOutput, WorkloadOutput
from .parameters import parameter, schema_of

__version__ = "0.1.0"

__all__ = [
    "ClusterVersion",
    "Context",
    "Error",
    "LazyJson",
    "Patch",
    "PolicyInput",
    "PolicyObject",
    "PolicyOutput",
    "TraitContext",
    "TraitOutput",
    "Violation",
    "WorkloadOutput",
    "container_label",
    "parameter",
    "policy",
    "schema_of",
    "trait",
    "workload",
]
