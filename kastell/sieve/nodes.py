"""The validated syntax tree that :func:`kastell.sieve.parse` returns.

A :class:`Node` is a command or a test after validation: tags are checked,
positional arguments have the types the command table asked for, the match
type / comparator / address part are resolved to plain attributes and
encoded-character sequences are already decoded.  Strings may still hold
``${...}`` variable references; those expand at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Arg", "Node", "Script"]

Arg = str | list[str] | int


@dataclass(slots=True, eq=False)
class Node:
    name: str
    line: int
    column: int
    tags: dict[str, Arg | bool] = field(default_factory=dict)
    args: list[Arg] = field(default_factory=list)
    tests: list[Node] = field(default_factory=list)
    block: list[Node] | None = None
    match: str = ":is"
    relation: str | None = None
    comparator: str = "i;ascii-casemap"
    address_part: str = ":all"

    def string(self, index: int) -> str:
        value = self.args[index]
        assert isinstance(value, str)
        return value

    def strings(self, index: int) -> list[str]:
        value = self.args[index]
        if isinstance(value, str):
            return [value]
        assert isinstance(value, list)
        return value

    def number(self, index: int) -> int:
        value = self.args[index]
        assert isinstance(value, int)
        return value

    def tag_string(self, name: str) -> str | None:
        value = self.tags.get(name)
        return value if isinstance(value, str) else None

    def tag_strings(self, name: str) -> list[str] | None:
        value = self.tags.get(name)
        if isinstance(value, str):
            return [value]
        return value if isinstance(value, list) else None

    def tag_number(self, name: str) -> int | None:
        value = self.tags.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class Script:
    """A parsed and validated script; build it with :func:`kastell.sieve.parse`."""

    name: str
    commands: tuple[Node, ...]
    requires: frozenset[str]
