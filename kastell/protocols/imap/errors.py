"""Errors of the IMAP layer, split by who is at fault (see STYLE.md).

Handlers raise :class:`No` or :class:`Bad`; the session turns them into the
tagged response (RFC 9051 §7.1).  Store errors are translated by the handler
that knows what they mean (``raise No(...) from exc``); anything else is a
Kastell bug, logged, and answered with a generic ``NO``.
"""

from __future__ import annotations


class ImapError(Exception):
    """A tagged failure: ``status`` is NO or BAD, ``code`` an optional response code."""

    status = "NO"

    def __init__(self, text: str, code: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


class No(ImapError):
    """The command was understood but failed (RFC 9051 §7.1.2)."""

    status = "NO"


class Bad(ImapError):
    """The command was not understood or not valid here (RFC 9051 §7.1.3)."""

    status = "BAD"
