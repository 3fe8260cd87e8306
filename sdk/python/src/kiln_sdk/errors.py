"""Errors a definition reports to the user."""

from __future__ import annotations

from typing import Iterator, Optional, Tuple


class Error(Exception):
    """A render failure: one or more messages, each optionally naming the parameter at fault
    (a dotted path such as ``ports[0].port``). Kiln shows them with the component, trait and
    file line.

    >>> str(Error.field("maxUnavailable", "set one bound, not both"))
    'maxUnavailable: set one bound, not both'
    >>> str(Error("no image").and_(Error.field("port", "out of range")))
    'no image; port: out of range'
    """

    def __init__(self, message: str, *, field: Optional[str] = None) -> None:
        super().__init__(message)
        self.entries: list[Tuple[Optional[str], str]] = [(field, message)]

    @classmethod
    def field(cls, field: str, message: str) -> "Error":
        """An error about one parameter, named by its dotted path."""
        return cls(message, field=field)

    def and_(self, other: "Error") -> "Error":
        """Adds another error's messages (KubeVela's ``errs`` list reports them all)."""
        self.entries.extend(other.entries)
        return self

    def messages(self) -> Iterator[Tuple[Optional[str], str]]:
        """The messages, with the parameter path of each when it has one."""
        return iter(self.entries)

    def __str__(self) -> str:
        return "; ".join(f"{f}: {m}" if f else m for f, m in self.entries)
