"""What a Sieve run produces and what it needs from its caller.

Actions are frozen dataclasses (RFC 5228 §4, extensions); flags are tuples
of IMAP flag strings, or None when no flag is set.  :class:`Environment` is
the narrow async interface to the rest of Kastell (script storage, the
duplicate-tracking store, the mailbox list); the interpreter does no other
I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "Action",
    "Discard",
    "Envelope",
    "Environment",
    "FileInto",
    "Keep",
    "Redirect",
    "Reject",
    "Result",
    "Vacation",
]


@dataclass(frozen=True)
class Envelope:
    """The SMTP/LMTP envelope of the delivery being filtered."""

    sender: str  # MAIL FROM, "" for the null sender
    recipient: str  # the RCPT TO address as given (may carry +detail)
    auth: str | None = None  # authenticated submitter, if any


class Environment(Protocol):
    """Implemented by the caller; every method is async."""

    async def include(self, location: str, name: str) -> str | None:
        """Script text of ``name`` from ``location`` ("personal" or
        "global"), or None when there is no such script."""
        ...

    async def duplicate_seen(self, key: str) -> bool:
        """True when this tracking key was recorded and has not expired."""
        ...

    async def mailbox_exists(self, name: str) -> bool: ...


@dataclass(frozen=True)
class Keep:
    """Store into INBOX; ``implicit`` when it is the implicit keep."""

    flags: tuple[str, ...] | None = None
    implicit: bool = False


@dataclass(frozen=True)
class FileInto:
    mailbox: str
    flags: tuple[str, ...] | None = None
    copy: bool = False
    create: bool = False


@dataclass(frozen=True)
class Redirect:
    address: str
    copy: bool = False


@dataclass(frozen=True)
class Reject:
    """``extended`` is True for ereject (RFC 5429 §2.1: refuse at the SMTP
    level when possible)."""

    reason: str
    extended: bool = False


@dataclass(frozen=True)
class Discard:
    pass


@dataclass(frozen=True)
class Vacation:
    """An auto-reply (RFC 5230).  ``suppressed`` is None when a reply may be
    sent, else why not (RFC 5230 §4.5, RFC 3834); the caller still has to
    check the response tracking for (``handle``, ``reply_to``) over
    ``seconds``."""

    reply_to: str
    handle: str
    seconds: int
    reason: str
    subject: str | None
    from_address: str | None
    addresses: tuple[str, ...]
    mime: bool
    suppressed: str | None


Action = Keep | FileInto | Redirect | Reject | Discard | Vacation


@dataclass
class Result:
    actions: list[Action] = field(default_factory=list)
    #: (tracking key, seconds) to record after successful delivery (RFC 7352 §3)
    duplicate_marks: list[tuple[str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
