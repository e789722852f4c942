"""Sieve exceptions, split by who is at fault.

``SieveSyntaxError`` is the script author's fault and is found by
:func:`kastell.sieve.parse` (ManageSieve PUTSCRIPT/CHECKSCRIPT report it);
``SieveRuntimeError`` happens while a valid script runs against one message
and never escapes :func:`kastell.sieve.evaluate` - it becomes an entry of
``Result.errors`` and the implicit keep (RFC 5228 §2.10.6).
"""

from __future__ import annotations

__all__ = ["SieveError", "SieveRuntimeError", "SieveSyntaxError"]


class SieveError(Exception):
    """Base class of every Sieve error."""


class SieveSyntaxError(SieveError):
    """The script does not parse or does not validate; ``line``/``column``
    are 1-based and point at the offending token."""

    def __init__(self, line: int, column: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.column = column
        self.reason = reason


class SieveRuntimeError(SieveError):
    """A valid script failed on this message (too many redirects, a missing
    include, an action conflict ...)."""
