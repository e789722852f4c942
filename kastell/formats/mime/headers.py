"""Header blocks (RFC 5322 §2.2, §3.2.2) located by byte offsets.

Theory of operation: a header block starts at a part's first byte and ends
after the first empty line, which may be CRLF CRLF, LF LF or a mix.  We never
copy or normalise the message: every function takes the raw bytes plus
offsets.  Lines without a colon are skipped (mbox "From " lines, garbage);
lines starting with SP/HTAB continue the previous field (folding).
"""

from __future__ import annotations

import re

from .model import BodyPart

__all__ = [
    "find_body_start",
    "header_value",
    "iter_field_spans",
    "scan_fields",
    "unfold",
]

# field-name = 1*ftext (RFC 5322 §3.6.8: printable US-ASCII except ":"), with
# obsolete whitespace before the colon (§4.5.8).  The value runs over folded
# continuation lines.  Every "\n" inside the captured value is a fold.
_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)", re.M)
# Same, but matching the whole field including its final line break, for
# BODY[HEADER.FIELDS] which must return the original bytes.
_FIELD_LINES = re.compile(rb"^([!-9;-~]+)[ \t]*:[^\n]*(?:\n[ \t][^\n]*)*\n?", re.M)
_FOLD = re.compile(rb"\r?\n")


def find_body_start(raw: bytes, start: int, end: int) -> int:
    """Offset just past the empty line ending the header block in
    ``raw[start:end]``; ``end`` when there is no empty line (then everything
    is header and the body is empty)."""
    if start >= end:
        return end
    first = raw[start]
    if first == 0x0A:  # no header fields at all, bare-LF blank line
        return start + 1
    if first == 0x0D and start + 1 < end and raw[start + 1] == 0x0A:
        return start + 2
    nl = raw.find(b"\n", start, end)
    if nl < 0:
        return end
    # Search first for the style the block uses, then for the other style
    # only up to the hit: an unbounded search for the absent style would scan
    # the whole remaining message for every part (quadratic on big mail).
    if nl > start and raw[nl - 1] == 0x0D:
        crlf = raw.find(b"\n\r\n", start, end)
        lf = raw.find(b"\n\n", start, crlf + 2 if crlf >= 0 else end)
    else:
        lf = raw.find(b"\n\n", start, end)
        crlf = raw.find(b"\n\r\n", start, lf + 3 if lf >= 0 else end)
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf + 2
    if crlf >= 0:
        return crlf + 3
    return end


def scan_fields(raw: bytes, start: int, body_start: int) -> dict[bytes, bytes]:
    """First occurrence of every field in the header block.

    Returns lower-cased name -> raw value (still folded, see :func:`unfold`).
    """
    fields: dict[bytes, bytes] = {}
    for name, value in _FIELD.findall(raw, start, body_start):
        key = name.lower()
        if key not in fields:
            fields[key] = value
    return fields


def unfold(value: bytes) -> bytes:
    """Unfold (RFC 5322 §2.2.3: drop the CRLF before WSP, keep the WSP) and
    strip surrounding whitespace."""
    if b"\n" in value:
        value = _FOLD.sub(b"", value)
    return value.strip(b" \t\r")


def iter_field_spans(raw: bytes, start: int, body_start: int) -> list[tuple[bytes, int, int]]:
    """``(lower-cased name, start, end)`` of every field, in message order;
    ``raw[start:end]`` is the field's original bytes including folding and
    its final line break (if any)."""
    return [(m.group(1).lower(), m.start(), m.end()) for m in _FIELD_LINES.finditer(raw, start, body_start)]


def header_value(raw: bytes, part: BodyPart, name: str) -> bytes | None:
    """First occurrence of header field ``name`` (case-insensitive) in
    ``part``'s header block, unfolded and stripped; None when absent.

    For a message/rfc822 part this is the part's own MIME header; pass
    ``part.children[0]`` for the encapsulated message's header.
    """
    key = name.strip().lower().encode("utf-8", "replace")
    for field, start, end in iter_field_spans(raw, part.header_start, part.body_start):
        if field == key:
            line = raw[start:end]
            return unfold(line[line.index(b":") + 1 :])
    return None
