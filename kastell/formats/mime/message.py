"""``parse_message``: the single entry point run at ingest.

It builds the :class:`BodyPart` tree (``structure``), the envelope
(``envelope``) and the derived fields mailbox listings need, in one pass
over the bytes.  The contract is "never raise": every component is written
to be total, and a last-resort guard turns an unexpected bug into a flat
text/plain structure plus a logged error, so one odd message can never
stop an import.  Tests exercise the unguarded ``parse_message_strict``.
"""

from __future__ import annotations

import logging

from .charsets import header_str
from .encoded_words import decode_words
from .envelope import build_envelope, first_msgid, msgid_list, parse_date
from .headers import unfold
from .lineends import to_crlf
from .model import Address, BodyPart, Envelope, ParsedMessage
from .structure import Parser
from .text import iter_parts, make_preview

__all__ = ["filename", "imap_view", "parse_imap_view", "parse_message", "parse_message_strict"]

_log = logging.getLogger(__name__)


def filename(part: BodyPart) -> str | None:
    """The part's file name: Content-Disposition ``filename`` (RFC 2183),
    else Content-Type ``name``; RFC 2047 words decoded (a widespread
    non-standard habit of Outlook and others)."""
    value = part.disposition_param("filename")
    if value is None:
        value = part.param("name")
    if value is None:
        return None
    return decode_words(value)


def _has_attachments(root: BodyPart) -> bool:
    for part in iter_parts(root):
        if part.disposition == "attachment":
            return True
        if (
            not part.children
            and part.type not in ("text", "multipart")
            and (part.disposition_param("filename") is not None or part.param("name") is not None)
        ):
            return True
    return False


def _unfolded(value: bytes | None) -> bytes | None:
    return None if value is None else unfold(value)


def _addrs(addrs: tuple[Address, ...]) -> tuple[str, ...]:
    return tuple(a.addr.lower() for a in addrs if a.addr)


def parse_message_strict(raw: bytes, imap: bool = False) -> ParsedMessage:
    """:func:`parse_message` (``imap``: :func:`parse_imap_view`) without the
    last-resort guard (for tests)."""
    if not isinstance(raw, bytes):
        raw = bytes(raw)
    size = len(raw)
    parser = Parser(raw, imap)
    root, fields, _ = parser.parse_part(0, size, 0, False)
    env = build_envelope(fields)
    first = next((a for a in env.from_ if a.addr), None)
    return ParsedMessage(
        size=size,
        root=root,
        envelope=env,
        subject=decode_words(header_str(env.subject)) if env.subject else "",
        from_addr=first.addr.lower() if first else "",
        from_name=(first.name or "") if first else "",
        to_addrs=_addrs(env.to),
        cc_addrs=_addrs(env.cc),
        date=parse_date(env.date),
        message_id=first_msgid(env.message_id),
        in_reply_to=msgid_list(env.in_reply_to),
        references=msgid_list(_unfolded(fields.get(b"references"))),
        has_attachments=_has_attachments(root),
        preview="" if imap else make_preview(raw, root),
        imap_differs=parser.imap_differs,
    )


def _fallback(raw: bytes) -> ParsedMessage:
    size = len(raw)
    root = BodyPart(
        0, 0, size, "text", "plain", (("charset", "us-ascii"),), None, None, "7bit",
        None, (), (), None, None, raw.count(b"\n"), (), None,
    )  # fmt: skip
    env = Envelope(None, None, (), (), (), (), (), (), None, None)
    return ParsedMessage(size, root, env, "", "", "", (), (), None, None, (), (), False, "")


def parse_imap_view(raw: bytes) -> ParsedMessage:
    """The message as IMAP shows it, for BODY, BODYSTRUCTURE and sections of a
    message whose parse says ``imap_differs`` (see structure.py, "IMAP
    view"); ``raw`` is the message as IMAP sends it (line ends CRLF).  The
    preview is left empty.  Never raises."""
    if not isinstance(raw, bytes):
        raw = bytes(raw)
    try:
        return parse_message_strict(raw, imap=True)
    except Exception:  # last resort, see module docstring
        _log.exception("MIME parser failed on a %d-byte message; showing it flat", len(raw))
        return _fallback(raw)


def imap_view(raw: bytes, parsed: ParsedMessage) -> tuple[bytes, ParsedMessage]:
    """The bytes IMAP sends for the message ``raw`` (bare LFs made CRLF) and
    their parse as IMAP shows them, given ``parsed``, the stored parse of
    ``raw``: that parse itself when nothing differs (the usual case)."""
    crlf = to_crlf(raw)
    if crlf is raw and not parsed.imap_differs:
        return raw, parsed
    return crlf, parse_imap_view(crlf)


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse an RFC 5322 message once, for caching (see module docstring).

    Accepts any bytes (bare LF, NUL, 8-bit headers, truncation, garbage)
    and never raises.  Offsets refer to ``raw`` exactly as given.
    """
    if not isinstance(raw, bytes):
        raw = bytes(raw)  # bytearray/memoryview; a str is a caller bug (TypeError)
    try:
        return parse_message_strict(raw)
    except Exception:  # last resort, see module docstring
        _log.exception("MIME parser failed on a %d-byte message; storing it flat", len(raw))
        return _fallback(raw)
