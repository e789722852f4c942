"""IMAP ``BODY[section]`` (RFC 9051 §6.4.5) served from the cached tree.

Part numbering: a non-multipart message has exactly one part, "1", whose
body is the message body; the parts of a multipart are 1..n; the number
after a message/rfc822 part addresses the *encapsulated* message's parts
(or "1" for its body when it is not multipart); "1" after any other
non-multipart member of a multipart is that part again (Dovecot's answer;
``1.1`` of a single-part message addresses nothing).  A multipart without children (only in the IMAP view, see
structure.py) has no parts: ``BODY[1]`` of it is empty.  HEADER / TEXT /
HEADER.FIELDS after a part number
apply to the encapsulated message of a message/rfc822 part (RFC 9051
§6.4.5); after any other part they address nothing and the answer is
empty, as in Dovecot.
"""

from __future__ import annotations

import re

from .headers import iter_field_spans
from .model import BodyPart, ParsedMessage

__all__ = ["resolve_part", "section"]

_PART = re.compile(r"([1-9][0-9]{0,8}(?:\.[1-9][0-9]{0,8})*)(\.|$)")
_FIELDS = re.compile(r"HEADER\.FIELDS(\.NOT)?\s*\((.*)\)\s*", re.I | re.S)
_NAME = re.compile(r'"((?:[^"\\]|\\.)*)"|([^\s"()]+)')


def _message_part(message_root: BodyPart, number: int) -> BodyPart | None:
    if message_root.type == "multipart":  # a multipart without children (IMAP view) has no parts
        kids = message_root.children
        return kids[number - 1] if number <= len(kids) else None
    return message_root if number == 1 else None


def resolve_part(root: BodyPart, numbers: list[int]) -> BodyPart | None:
    """The part addressed by ``numbers`` (e.g. [1, 2] for "1.2"), or None."""
    part = _message_part(root, numbers[0])
    in_multipart = root.type == "multipart"
    for number in numbers[1:]:
        if part is None:
            return None
        if part.type == "multipart":
            kids = part.children
            part = kids[number - 1] if number <= len(kids) else None
            in_multipart = True
        elif part.is_message:
            part = _message_part(part.children[0], number)
            in_multipart = part is not None and part.type == "multipart"
        elif number != 1 or not in_multipart:
            return None
    return part


def _header_fields(raw: bytes, part: BodyPart, names: set[bytes], negate: bool) -> bytes:
    out = []
    for name, start, end in iter_field_spans(raw, part.header_start, part.body_start):
        if (name in names) != negate:
            out.append(raw[start:end])
            if raw[end - 1] != 0x0A:
                out.append(b"\r\n")
    out.append(b"\r\n")
    return b"".join(out)


def section(raw: bytes, msg: ParsedMessage, spec: str) -> bytes | None:
    """The bytes of ``BODY[spec]``; None when the part number does not exist.

    ``spec`` is the text between the brackets, e.g. ``""``, ``"TEXT"``,
    ``"1.2.MIME"``, ``"3.HEADER.FIELDS (SUBJECT FROM)"`` (case-insensitive).
    HEADER returns the header block including its blank line (so that
    HEADER + TEXT is the whole message); HEADER.FIELDS[.NOT] returns the
    matching fields' original bytes in message order plus a final CRLF.
    Partial ranges (``<origin.octets>``) are the caller's job.
    Raises ValueError when ``spec`` is not valid section syntax.
    """
    rest = spec.strip()
    target = msg.root
    numbered = False
    m = _PART.match(rest)
    if m is not None:
        numbers = [int(n) for n in m.group(1).split(".")]
        rest = rest[m.end() :]
        if m.group(2) == "." and not rest:
            raise ValueError(f"invalid section spec {spec!r}")
        found = resolve_part(msg.root, numbers)
        if found is None:
            return None
        target = found
        numbered = True
    keyword = rest.upper()
    if not rest:
        if not numbered:
            return raw
        return raw[target.body_start : target.body_end]
    if keyword == "MIME":
        if not numbered:
            raise ValueError(f"MIME needs a part number: {spec!r}")
        return raw[target.header_start : target.body_start]
    if numbered and not target.is_message:
        if keyword in ("HEADER", "TEXT") or _FIELDS.fullmatch(rest) is not None:
            return b""  # RFC 9051 §6.4.5: only a message/rfc822 part has a header and text of its own
        raise ValueError(f"invalid section spec {spec!r}")
    message = target.children[0] if numbered else target
    if keyword == "HEADER":
        return raw[message.header_start : message.body_start]
    if keyword == "TEXT":
        return raw[message.body_start : message.body_end]
    fm = _FIELDS.fullmatch(rest)
    if fm is None:
        raise ValueError(f"invalid section spec {spec!r}")
    names = {
        (quoted if quoted else bare).lower().encode("utf-8", "replace") for quoted, bare in _NAME.findall(fm.group(2))
    }
    return _header_fields(raw, message, names, fm.group(1) is not None)
