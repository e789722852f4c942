"""The cached MIME model: frozen value types produced by :func:`parse_message`.

All offsets are byte offsets into the raw message exactly as stored (line
endings are never normalised), so that ``raw[part.body_start:part.body_end]``
is the part body that IMAP ``BODY[section]`` (RFC 9051 §6.4.5) returns.
Header values kept for IMAP ENVELOPE are raw bytes (unfolded, undecoded),
because RFC 9051 §7.5.2 sends them as they appear in the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Address", "BodyPart", "Envelope", "ParsedMessage", "Params"]

#: MIME parameters: ``(name, value)`` pairs, names lower-cased, values decoded.
Params = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Address:
    """One entry of an address list, shaped like an IMAP ENVELOPE address.

    RFC 9051 §7.5.2 group syntax: a *group start* marker has ``host is None``
    and the group's display phrase in ``mailbox`` (``raw_name`` holds its raw
    bytes, ``name`` its decoded form); a *group end* marker has ``mailbox is
    None`` and ``host is None``.  An ordinary address always has a non-None
    ``host`` (``""`` when the address had no domain).
    """

    name: str | None
    mailbox: str | None
    host: str | None
    raw_name: bytes | None

    @property
    def addr(self) -> str:
        """``"mailbox@host"``, ``"mailbox"`` if there is no domain, ``""`` for
        group markers and empty addresses."""
        if self.host is None or not self.mailbox:
            return ""
        if not self.host:
            return self.mailbox
        return f"{self.mailbox}@{self.host}"

    @property
    def is_group_marker(self) -> bool:
        """True for the start/end markers of RFC 5322 group syntax."""
        return self.host is None


@dataclass(frozen=True, slots=True)
class Envelope:
    """The inputs of IMAP ENVELOPE (RFC 9051 §7.5.2).

    Header values are raw bytes, unfolded and stripped, ``None`` when the
    header is absent (``b""`` when present but empty).  Address lists are
    ``()`` when absent or empty.  The IMAP rule "sender and reply-to default
    to from" is applied by :func:`imap_envelope`, not here, so the parsed
    values stay faithful to the message.
    """

    date: bytes | None
    subject: bytes | None
    from_: tuple[Address, ...]
    sender: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]
    in_reply_to: bytes | None
    message_id: bytes | None


@dataclass(frozen=True, slots=True)
class BodyPart:
    """One MIME entity (RFC 2045/2046) located by byte offsets.

    Invariants: ``header_start <= body_start <= body_end``; for a child of a
    multipart, ``body_end`` stops before the line break that precedes the next
    boundary line (RFC 2046 §5.1.1: that CRLF belongs to the delimiter).
    ``children`` holds the parts of a multipart, or exactly one part (the
    encapsulated message's root) for a parsed message/rfc822 or
    message/global; ``envelope`` is set only in the latter case.
    """

    header_start: int
    body_start: int
    body_end: int
    type: str
    subtype: str
    params: Params
    id: str | None
    description: str | None
    encoding: str
    disposition: str | None
    disposition_params: Params
    language: tuple[str, ...]
    location: str | None
    md5: str | None
    lines: int
    children: tuple[BodyPart, ...]
    envelope: Envelope | None
    # The parameters as IMAP BODYSTRUCTURE sends them (undecoded, names as
    # written; ``params.imap_params``), only when that differs from ``params``
    # or is not ASCII: None means "send ``params``".  Structures cached before
    # these fields existed load with None.
    imap_params: Params | None = None
    imap_disposition_params: Params | None = None
    # (type, subtype, transfer encoding, disposition type) as IMAP sends them
    # (Dovecot: the case written; what an invalid Content-Type leaves, e.g.
    # ``("text", "")``; ``"7bit"`` for a missing or unusable encoding; a
    # disposition ``""`` or another header's), only when that differs from
    # ``(type, subtype, encoding, disposition)``: None means "send those".
    # Structures cached before this field existed load with None.
    imap_names: tuple[str, str, str, str | None] | None = None

    def param(self, name: str) -> str | None:
        """The Content-Type parameter ``name`` (lower-case), or None."""
        for key, value in self.params:
            if key == name:
                return value
        return None

    def disposition_param(self, name: str) -> str | None:
        """The Content-Disposition parameter ``name`` (lower-case), or None."""
        for key, value in self.disposition_params:
            if key == name:
                return value
        return None

    @property
    def is_multipart(self) -> bool:
        """True when the part has MIME children (a parsed multipart/*)."""
        return self.type == "multipart" and bool(self.children)

    @property
    def is_message(self) -> bool:
        """True for a parsed message/rfc822 or message/global part."""
        return self.envelope is not None and len(self.children) == 1


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """A message parsed once at ingest, cached with :func:`dumps`.

    ``size`` is ``len(raw)``; ``root.header_start == 0`` and
    ``root.body_end == size``.  The derived fields (subject, addresses,
    preview, ...) are what mailbox listings, threading and search need
    without touching the raw bytes again.
    """

    size: int
    root: BodyPart
    envelope: Envelope
    subject: str
    from_addr: str
    from_name: str
    to_addrs: tuple[str, ...]
    cc_addrs: tuple[str, ...]
    date: datetime | None
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    has_attachments: bool
    preview: str
    # IMAP shows this message differently from this parse (structure.py,
    # "IMAP view"): BODY and sections come from ``parse_imap_view`` then.
    imap_differs: bool = False
