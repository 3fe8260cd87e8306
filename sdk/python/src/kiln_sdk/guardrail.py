"""What a guardrail policy sees and returns.

A policy runs once per application, after every component is rendered, on the final object
set. It returns violations (deny or warn, each naming the object and field) and optional
mutations, which Kiln applies before the next policy runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

from .context import Context
from .output import Patch

# Where a pod template's `spec` is, by kind.
_POD_SPEC_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


@dataclass
class PolicyObject:
    """One rendered object and its identity."""

    #: ``<kind>/<namespace>/<name>`` (``<kind>/<name>`` when cluster-scoped).
    id: str
    #: The object as it will be applied.
    object: Any

    @classmethod
    def for_test(cls, obj: Any) -> "PolicyObject":
        """A policy object for unit tests, with the identity Kiln would give it."""
        meta = obj.get("metadata") or {}
        kind, name = obj.get("kind", ""), meta.get("name", "")
        ns = meta.get("namespace")
        return cls(f"{kind}/{ns}/{name}" if ns is not None else f"{kind}/{name}", obj)

    @property
    def kind(self) -> str:
        """The object's ``kind``."""
        kind = self.object.get("kind") if isinstance(self.object, dict) else None
        return kind if isinstance(kind, str) else ""

    @property
    def name(self) -> str:
        """The object's ``metadata.name``."""
        meta = self.object.get("metadata") if isinstance(self.object, dict) else None
        name = meta.get("name") if isinstance(meta, dict) else None
        return name if isinstance(name, str) else ""

    def pod_spec(self) -> Optional[Tuple[str, Any]]:
        """The pod spec of a Pod or of a workload's pod template, with its dotted path."""
        path = _POD_SPEC_PATHS.get(self.kind)
        if path is None:
            return None
        value = self.object
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return ".".join(path), value

    def containers(self) -> List[Tuple[str, Any]]:
        """Every container of the pod spec (init containers first), each with its dotted
        path (``spec.template.spec.containers[0]``). Empty without a pod spec."""
        found = self.pod_spec()
        if found is None or not isinstance(found[1], dict):
            return []
        path, spec = found
        out = []
        for list_name in ("initContainers", "containers"):
            items = spec.get(list_name)
            if isinstance(items, list):
                out.extend((f"{path}.{list_name}[{i}]", c) for i, c in enumerate(items))
        return out


def container_label(path: str, container: Any) -> str:
    """How a message names the container at ``path``: ``container "api"``,
    ``init container "setup"``, or ``unnamed container``."""
    role = "init container" if ".initContainers[" in path else "container"
    name = container.get("name") if isinstance(container, dict) else None
    return f'{role} "{name}"' if isinstance(name, str) else f"unnamed {role}"


@dataclass
class PolicyInput:
    """The final object set of an application, and where it renders."""

    #: The application's context (the component fields are empty).
    context: Context
    #: Every object the application renders, in output order.
    objects: List[PolicyObject]


@dataclass
class Violation:
    """One finding of a policy."""

    #: True: the platform denies the application; False: a warning.
    deny: bool
    #: The object's identity.
    object: str
    #: Dotted path of the field at fault, when there is one.
    field: Optional[str]
    message: str


@dataclass
class PolicyOutput:
    """What a policy returns: violations and mutations."""

    violations: List[Violation] = field(default_factory=list)
    #: Patches by object identity.
    mutations: List[Tuple[str, Patch]] = field(default_factory=list)

    def deny(self, obj: PolicyObject, message: str, field: Optional[str] = None) -> "PolicyOutput":
        """Denies the application because of ``obj`` (and ``field``, a dotted path)."""
        self.violations.append(Violation(True, obj.id, field, message))
        return self

    def warn(self, obj: PolicyObject, message: str, field: Optional[str] = None) -> "PolicyOutput":
        """Warns about ``obj`` without failing the render."""
        self.violations.append(Violation(False, obj.id, field, message))
        return self

    def mutate(self, obj: PolicyObject, patch: Patch) -> "PolicyOutput":
        """Patches ``obj``. Kiln refuses a mutation that changes its kind, name or
        namespace."""
        self.mutations.append((obj.id, patch))
        return self
