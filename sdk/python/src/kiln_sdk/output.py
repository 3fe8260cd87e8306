"""What a definition returns."""

from __future__ import annotations

from typing import Any, List, Optional, Tuple


class Patch:
    """A patch to the workload or to an earlier auxiliary object. Kiln applies it.

    :meth:`merge` is Kiln's strategic merge, which follows KubeVela's patch semantics: maps
    merge deeply (two different scalars are an error naming both); lists of objects merge by
    key (``containers``, ``env``, ``volumes``, ``ports`` by ``containerPort``... by default,
    others when the patch says ``"$patchKey/<field>": "<key>"``);
    ``"$patchStrategy/<field>": "retainKeys"`` replaces that field's value and ``"replace"``
    a list whole.
    """

    __slots__ = ("strategy", "value")

    MERGE = "merge"
    JSON_MERGE_PATCH = "json-merge-patch"
    JSON_PATCH = "json-patch"

    def __init__(self, strategy: str, value: Any) -> None:
        self.strategy = strategy
        #: The patch document.
        self.value = value

    @classmethod
    def merge(cls, patch: Any) -> "Patch":
        """Kiln's strategic merge patch."""
        return cls(cls.MERGE, patch)

    @classmethod
    def json_merge_patch(cls, patch: Any) -> "Patch":
        """An RFC 7396 JSON merge patch: ``None`` deletes a key."""
        return cls(cls.JSON_MERGE_PATCH, patch)

    @classmethod
    def json_patch(cls, operations: List[Any]) -> "Patch":
        """An RFC 6902 JSON patch: a list of operations."""
        return cls(cls.JSON_PATCH, operations)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Patch) and (self.strategy, self.value) == (
            other.strategy,
            other.value,
        )

    def __repr__(self) -> str:
        return f"Patch.{self.strategy.replace('-', '_')}({self.value!r})"


Warning_ = Tuple[Optional[str], str]


class WorkloadOutput:
    """What a component type renders: the workload object and its auxiliary objects."""

    def __init__(self, output: Any) -> None:
        #: The workload object (KubeVela's ``output``).
        self.output = output
        #: Auxiliary objects by name, in order (KubeVela's ``outputs``).
        self.outputs: List[Tuple[str, Any]] = []
        self.warnings: List[Warning_] = []

    def with_output(self, name: str, obj: Any) -> "WorkloadOutput":
        """Adds an auxiliary object named ``name``."""
        self.outputs.append((name, obj))
        return self

    def warn(self, message: str, field: Optional[str] = None) -> "WorkloadOutput":
        """Adds a warning shown to the user; the render still succeeds."""
        self.warnings.append((field, message))
        return self


class TraitOutput:
    """What a trait renders: a patch to the workload, auxiliary objects, and patches to
    earlier auxiliary objects. Every method returns the output, so calls chain."""

    def __init__(self) -> None:
        #: Auxiliary objects by name, in order (KubeVela's ``outputs``).
        self.outputs: List[Tuple[str, Any]] = []
        #: The patch to the workload (KubeVela's ``patch``).
        self.patch: Optional[Patch] = None
        #: Patches to auxiliary objects rendered earlier (KubeVela's ``patchOutputs``).
        self.patch_outputs: List[Tuple[str, Patch]] = []
        self.warnings: List[Warning_] = []

    def with_patch(self, patch: Patch) -> "TraitOutput":
        """Sets the patch to the workload."""
        self.patch = patch
        return self

    def with_output(self, name: str, obj: Any) -> "TraitOutput":
        """Adds an auxiliary object named ``name``."""
        self.outputs.append((name, obj))
        return self

    def patch_output(self, name: str, patch: Patch) -> "TraitOutput":
        """Patches the auxiliary object named ``name``, rendered earlier."""
        self.patch_outputs.append((name, patch))
        return self

    def warn(self, message: str, field: Optional[str] = None) -> "TraitOutput":
        """Adds a warning shown to the user; the render still succeeds."""
        self.warnings.append((field, message))
        return self

    def patch_value(self) -> Any:
        """The workload patch document, if any (handy in tests)."""
        return None if self.patch is None else self.patch.value

    def output(self, name: str) -> Any:
        """The auxiliary object named ``name``, if any (handy in tests)."""
        return next((obj for n, obj in self.outputs if n == name), None)
