"""What a definition knows about where it renders."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple


@dataclass
class ClusterVersion:
    """The Kubernetes version the output is rendered for (KubeVela's
    ``context.clusterVersion``)."""

    major: int
    minor: int
    #: E.g. ``v1.31.0``.
    git_version: str

    def at_least(self, major: int, minor: int) -> bool:
        """True when the cluster is at least ``major.minor``."""
        return (self.major, self.minor) >= (major, minor)


@dataclass
class Context:
    """The render context of a component (KubeVela's ``context``)."""

    #: The application's name (``context.appName``).
    app_name: str
    #: The namespace objects land in (``context.namespace``).
    namespace: str
    #: The component's name (``context.name``).
    component_name: str
    #: The component's type, e.g. ``webservice`` (``context.componentType``).
    component_type: str
    #: The application revision, e.g. ``shop-v1`` (``context.appRevision``).
    app_revision: str
    cluster_version: ClusterVersion
    #: The API group/versions the cluster serves; empty when unknown. Prefer
    #: :meth:`supports` to reading it.
    api_versions: List[str] = field(default_factory=list)
    #: The Application's labels (``context.appLabels``).
    app_labels: Dict[str, str] = field(default_factory=dict)
    #: The Application's annotations (``context.appAnnotations``).
    app_annotations: Dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_test(cls, component: str = "component") -> "Context":
        """A context for unit tests: app ``app``, component ``component`` of type
        ``webservice``, namespace ``default``, Kubernetes 1.31 (as the Rust SDK's)."""
        return cls(
            app_name="app",
            namespace="default",
            component_name=component,
            component_type="webservice",
            app_revision="app-v1",
            cluster_version=ClusterVersion(1, 31, "v1.31.0"),
        )

    def supports(self, api_version: str, since: Tuple[int, int]) -> bool:
        """True when the cluster serves ``api_version`` (e.g. ``networking.k8s.io/v1``): by
        the list of served APIs when the host knows it, else by the cluster version being at
        least ``since`` (the release that introduced it).

        >>> ctx = Context.for_test()
        >>> ctx.supports("autoscaling/v2", (1, 23))
        True
        >>> ctx.api_versions = ["autoscaling/v1"]
        >>> ctx.supports("autoscaling/v2", (1, 23))
        False
        """
        if not self.api_versions:
            return self.cluster_version.at_least(*since)
        return api_version in self.api_versions


_UNPARSED = object()


class LazyJson:
    """A JSON value the host sent as text, parsed the first time it is read.

    A trait is sent the workload and every output rendered before it, but most traits only
    patch and never read them. Read it as the parsed value: ``ctx.workload["spec"]``,
    ``ctx.workload.get("kind")``, or ``ctx.workload.value`` for the whole.

    >>> w = LazyJson('{"kind": "Deployment", "spec": {"template": {}}}')
    >>> w["kind"], w.has("/spec/template"), w.has("/spec/selector")
    ('Deployment', True, False)
    """

    __slots__ = ("_text", "_value")

    def __init__(self, text: str) -> None:
        self._text = text
        self._value: Any = _UNPARSED

    @classmethod
    def of(cls, value: Any) -> "LazyJson":
        """An already parsed value (for tests)."""
        lazy = cls("")
        lazy._value = value
        return lazy

    @property
    def value(self) -> Any:
        """The parsed value; ``None`` if the text is not JSON (Kiln always sends JSON)."""
        if self._value is _UNPARSED:
            try:
                self._value = json.loads(self._text)
            except ValueError:
                self._value = None
        return self._value

    def __getitem__(self, key: Any) -> Any:
        return self.value[key]

    def get(self, key: str, default: Any = None) -> Any:
        """``value.get(key, default)`` when the value is an object, else ``default``."""
        value = self.value
        return value.get(key, default) if isinstance(value, dict) else default

    def has(self, pointer: str) -> bool:
        """True when a non-null value is at ``pointer`` (RFC 6901, e.g. ``/spec/template``)."""
        node = self.value
        if pointer == "":
            return node is not None
        if not pointer.startswith("/"):
            return False
        for token in pointer[1:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return False
        return node is not None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyJson):
            return self.value == other.value
        return self.value == other

    def __repr__(self) -> str:
        return f"LazyJson({self.value!r})"


class TraitContext:
    """What a trait sees: the component's :class:`Context` (its attributes read through,
    as ``ctx.component_name``), the workload as patched by the traits before it
    (``context.output``) and the auxiliary objects so far (``context.outputs``)."""

    def __init__(
        self,
        context: Context,
        workload: LazyJson,
        outputs: Optional[List[Tuple[str, LazyJson]]] = None,
    ) -> None:
        self.context = context
        #: The workload object rendered so far.
        self.workload = workload
        #: Auxiliary objects rendered so far, by name, in order.
        self.outputs: List[Tuple[str, LazyJson]] = outputs or []

    @classmethod
    def for_test(cls, workload: Any = None) -> "TraitContext":
        """A trait context for unit tests around ``workload`` (see
        :meth:`Context.for_test`; the component is named ``component``)."""
        return cls(Context.for_test("component"), LazyJson.of(workload))

    def output(self, name: str) -> Optional[Any]:
        """The auxiliary object named ``name``, if one was rendered."""
        for n, value in self.outputs:
            if n == name:
                return value.value
        return None

    def __getattr__(self, name: str) -> Any:
        # Only called for names TraitContext lacks: the Context's fields and methods.
        if name == "context":
            raise AttributeError(name)
        return getattr(self.context, name)

    def __repr__(self) -> str:
        return f"TraitContext({self.context!r}, workload={self.workload!r})"
