"""The MIME structure parser: raw bytes -> a tree of :class:`BodyPart`.

Theory of operation
-------------------
``parse_part`` handles one entity: it finds the end of the header block,
reads the Content-* fields, and then, depending on the media type,

* **multipart/\\***: ``split_multipart`` finds the delimiter lines of *this*
  part's boundary inside *this* part's body only, and each span becomes a
  child.  Splitting top-down is what makes "a line matching an ancestor's
  boundary also ends the child" (RFC 2046 §5.1.2) hold: the ancestor has
  already cut the child's range before the child looks inside it.
* **message/rfc822**, **message/global** (identity transfer encoding only):
  the body is parsed as a complete message, giving one child and an
  envelope.  Base64/QP-encoded messages stay leaves: decoding them would
  break the byte-offset model.
* anything else is a leaf.

Line counts are computed bottom-up (a container adds its children's counts
to the count of its own delimiter lines) so that every byte is counted once,
however deep the nesting.

Limits (DoS defence): containers deeper than :data:`MAX_DEPTH` and any
container met once :data:`MAX_PARTS` parts exist become
application/octet-stream leaves, like Dovecot's "truncated" parts; once the
budget is used up the last child of a multipart absorbs the rest of its
parent's body.  Recursion is bounded by ``MAX_DEPTH`` (about one frame per
level).  Each level searches its own range for its boundary, so the cost is
O(depth x size) C-level scanning at worst (a hostile 1000-level message of
5 MB takes well under a second); lines that merely start like a delimiter
are skipped by a compiled regex once they become numerous, so they never
cost a Python loop iteration each.

Broken multiparts (no boundary parameter, or no delimiter line in the
body) become text/plain leaves: the content is then shown to the user as
text rather than hidden as an opaque attachment.

IMAP view (``Parser(raw, imap=True)``): what IMAP shows differs in these
places, where Kastell answers as Dovecot does:

* a Content-Type that Dovecot reads otherwise than RFC 2045's default for an
  invalid value (``multipart/mixed garbage``, ``text`` in a digest, a
  comment inside the type) gives the part Dovecot's structure;
* a root or encapsulated message with neither MIME-Version nor Content-Type
  is not MIME: its other Content-* fields are ignored;

* a broken multipart stays a multipart without children (BODYSTRUCTURE then
  shows one empty text/plain part, ``BODY[1]`` is empty);
* a message/rfc822 or message/global part is parsed as a message whatever
  its transfer encoding (the encoded text is then mostly header);
* a member of a multipart that is a message whose header has no empty line
  after it also owns the line break before the next delimiter (its size and
  line count include it; its message's header does not).

The model proper keeps the broken multiparts and encoded messages as
described above, because the other
consumers (text extraction, JMAP, webmail) want them so; a parse records in
``imap_differs`` whether the IMAP view of the message differs, so that IMAP
parses it again in this mode (see ``message.parse_imap_view``).
"""

from __future__ import annotations

import re
from dataclasses import replace

from .charsets import header_str
from .envelope import build_envelope
from .headers import find_body_start, scan_fields, unfold
from .model import BodyPart, Envelope, Params
from .params import (
    imap_content_type,
    imap_disposition,
    imap_disposition_params,
    imap_encoding,
    imap_params,
    parse_content_type,
    parse_disposition,
    parse_encoding,
    parse_language,
)

__all__ = ["MAX_DEPTH", "MAX_PARTS", "Parser", "split_multipart"]

#: Deepest nesting level (root = 0) whose containers are still expanded.
MAX_DEPTH = 100
#: Maximum number of BodyPart objects per message.
MAX_PARTS = 10_000
#: Near-miss delimiter candidates tolerated before switching to a regex.
_MAX_MISSES = 32

_IDENTITY = frozenset({"7bit", "8bit", "binary"})
_MESSAGE_SUBTYPES = frozenset({"rfc822", "global"})
_TEXT_DEFAULT: tuple[str, str, Params] = ("text", "plain", (("charset", "us-ascii"),))
_DIGEST_DEFAULT: tuple[str, str, Params] = ("message", "rfc822", ())
_OCTET: tuple[str, str, Params] = ("application", "octet-stream", ())
_PADDING = b" \t\r"
# Every Content-Disposition field of a header block (Dovecot reads them until
# one has parameters).
_DISPOSITION_FIELDS = re.compile(rb"^content-disposition[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)", re.M | re.I)


def _delimiter_regex(boundary: bytes) -> re.Pattern[bytes]:
    # Only real delimiter lines: "\n--boundary" then "--" or padding + EOL.
    return re.compile(rb"\n--" + re.escape(boundary) + rb"(?=--|[ \t\r]*(?:\n|\Z))")


def split_multipart(raw: bytes, start: int, end: int, boundary: bytes, budget: int) -> list[tuple[int, int]]:
    """Spans ``(part_start, part_end)`` of the body parts of a multipart
    body ``raw[start:end]`` (RFC 2046 §5.1.1).

    A delimiter is ``--boundary`` at the start of a line, followed by
    optional transport padding and a line break (or the end of the body);
    ``--boundary--`` closes.  Preamble and epilogue are not parts.  The line
    break before a delimiter belongs to the delimiter.  Without a closing
    delimiter the last part runs to ``end``.  At most ``budget`` spans are
    returned; the last one then runs to ``end``.  Returns ``[]`` when there
    is no delimiter line at all.
    """
    delim = b"--" + boundary
    dlen = len(delim)
    spans: list[tuple[int, int]] = []
    cur = -1  # start of the part being collected, -1 while in the preamble
    pos = start
    misses = 0
    pattern: re.Pattern[bytes] | None = None
    while True:
        if cur >= 0 and len(spans) >= budget - 1:
            break  # part budget used up: fold the rest into this part
        if pattern is None:
            i = raw.find(delim, pos, end)
        else:
            m = pattern.search(raw, pos - 1, end)  # pos > start here, so pos - 1 >= start
            i = -1 if m is None else m.start() + 1
        if i < 0:
            break
        j = i + dlen
        closing = raw.startswith(b"--", j) and j + 2 <= end
        k = j
        if not closing:
            while k < end and raw[k] in _PADDING:
                k += 1
        if (i > start and raw[i - 1] != 0x0A) or (not closing and k < end and raw[k] != 0x0A):
            # Not a delimiter line: mid-line, or a longer line ("--boundaryX").
            pos = i + 1
            misses += 1
            if misses > _MAX_MISSES and pattern is None:
                pattern = _delimiter_regex(boundary)
            continue
        if cur >= 0:
            pe = i
            if pe > cur and raw[pe - 1] == 0x0A:
                pe -= 1
                if pe > cur and raw[pe - 1] == 0x0D:
                    pe -= 1
            spans.append((cur, pe))
        if closing:
            return spans
        cur = k + 1 if k < end else end
        pos = cur
    if cur >= 0:
        spans.append((cur, end))
    return spans


class Parser:
    """One parse of one message; holds the raw bytes and the part budget.

    ``imap``: build the IMAP view (module docstring).  ``imap_differs`` is
    True after the parse when that view would differ from this parse.
    """

    __slots__ = ("raw", "parts", "imap", "imap_differs")

    def __init__(self, raw: bytes, imap: bool = False) -> None:
        self.raw = raw
        self.parts = 1  # the root
        self.imap = imap
        self.imap_differs = False

    def parse_part(
        self, start: int, end: int, depth: int, in_digest: bool, mime_child: bool = False
    ) -> tuple[BodyPart, dict[bytes, bytes], int]:
        """Parse the entity ``raw[start:end]`` (``mime_child``: a part of a
        multipart, MIME whatever its header says).

        Returns the part, its header fields (first occurrences, raw values,
        for envelope building) and the number of LF bytes in its body.  The
        caller has already counted this part in ``self.parts``.
        """
        raw = self.raw
        body_start = find_body_start(raw, start, end)
        fields = scan_fields(raw, start, body_start)
        # Not MIME (Dovecot: neither MIME-Version nor Content-Type, and not a
        # part of a multipart): IMAP ignores the other Content-* fields.
        if (
            not mime_child
            and b"mime-version" not in fields
            and b"content-type" not in fields
            and any(name.startswith(b"content-") for name in fields)
        ):
            self.imap_differs = True
            if self.imap:
                fields = {k: v for k, v in fields.items() if not k.startswith(b"content-")}

        ctype = None
        # Type and subtype as IMAP sends them (the case written; what an
        # invalid value leaves), and the structure Dovecot gives the part.
        written: tuple[str, str] | None = None
        value = fields.get(b"content-type")
        if value is not None:
            ctype = parse_content_type(value)
            wtype, wsub, valid = imap_content_type(value)
            written = (wtype, wsub)
            imap_kind = _kind(wtype.lower(), wsub.lower()) if valid else _LEAF
        else:
            imap_kind = _MESSAGE if in_digest else _LEAF
        if ctype is None:
            ctype = _DIGEST_DEFAULT if in_digest else _TEXT_DEFAULT
        main, sub, params = ctype
        kind = _kind(main, sub)
        if value is not None and kind != imap_kind:
            # An invalid Content-Type (RFC 2045: the default type) that Dovecot
            # reads otherwise, or the other way round: IMAP follows Dovecot.
            self.imap_differs = True
            if self.imap:
                kind = imap_kind
                main, sub = wtype.lower(), wsub.lower()
                params = tuple((k.lower(), v) for k, v in imap_params(value))
        wire = None if value is None else _differing(imap_params(value), params)

        value = fields.get(b"content-transfer-encoding")
        encoding = parse_encoding(value) if value is not None else "7bit"
        imap_enc = imap_encoding(value) if value is not None else "7bit"

        children: tuple[BodyPart, ...] = ()
        envelope: Envelope | None = None
        newlines = -1
        if kind is _MULTIPART:
            if depth >= MAX_DEPTH or self.parts >= MAX_PARTS:
                main, sub, params = _OCTET
                wire = written = None
            else:
                children, newlines = self._multipart(params, body_start, end, depth, sub == "digest")
                if not children:
                    self.imap_differs = True
                    if not self.imap:
                        main, sub, params = _TEXT_DEFAULT
                        wire = written = None
        elif kind is _MESSAGE and (encoding in _IDENTITY or self.imap):
            if depth >= MAX_DEPTH or self.parts >= MAX_PARTS:
                main, sub, params = _OCTET
                wire = written = None
            else:
                self.parts += 1
                child, child_fields, child_newlines = self.parse_part(body_start, end, depth + 1, False)
                children = (child,)
                envelope = build_envelope(child_fields)
                newlines = raw.count(b"\n", body_start, child.body_start) + child_newlines
        elif kind is _MESSAGE:
            self.imap_differs = True  # encoded: IMAP parses it all the same
        if newlines < 0:
            newlines = raw.count(b"\n", body_start, end)
        lines = newlines  # as Dovecot and Cyrus count: line ends (a last line without one is not counted)

        disposition: str | None = None
        disposition_params: Params = ()
        disposition_wire: Params | None = None
        imap_disp: str | None = None
        value = fields.get(b"content-disposition")
        if value is not None:
            parsed = parse_disposition(value)
            if parsed is not None:
                disposition, disposition_params = parsed
            imap_disp = imap_disposition(value)
            imap_dparams = imap_disposition_params(value) if imap_disp is not None else ()
            if not imap_dparams:
                # Dovecot reads further Content-Disposition fields until one
                # has parameters; each readable one replaces the type.
                for later in _DISPOSITION_FIELDS.findall(raw, start, body_start)[1:]:
                    later_disp = imap_disposition(later)
                    if later_disp is not None:
                        imap_disp, imap_dparams = later_disp, imap_disposition_params(later)
                        if imap_dparams:
                            break
            disposition_wire = _differing(imap_dparams, disposition_params)

        names = (*(written or (main, sub)), imap_enc, imap_disp)

        value = fields.get(b"content-language")
        language = parse_language(value) if value is not None else ()

        part = BodyPart(
            start,
            body_start,
            end,
            main,
            sub,
            params,
            _text(fields.get(b"content-id")),
            _text(fields.get(b"content-description")),
            encoding,
            disposition,
            disposition_params,
            language,
            _text(fields.get(b"content-location")),
            _text(fields.get(b"content-md5")),
            lines,
            children,
            envelope,
            wire,
            disposition_wire,
            None if names == (main, sub, encoding, disposition) else names,  # type: ignore[arg-type]
        )
        return part, fields, newlines

    def _multipart(
        self, params: Params, body_start: int, end: int, depth: int, digest: bool
    ) -> tuple[tuple[BodyPart, ...], int]:
        """The children of a multipart body and the LF count of the body
        (children's counts plus preamble, delimiters and epilogue)."""
        boundary = None
        for key, val in params:
            if key == "boundary":
                boundary = val
                break
        if not boundary:
            return (), -1
        raw = self.raw
        budget = MAX_PARTS - self.parts
        spans = split_multipart(raw, body_start, end, boundary.encode("utf-8"), budget)
        if not spans and not boundary.isascii():
            # 8-bit boundaries are illegal but exist; the header may have
            # been latin-1, not UTF-8.
            try:
                spans = split_multipart(raw, body_start, end, boundary.encode("latin-1"), budget)
            except UnicodeEncodeError:
                pass
        if not spans:
            return (), -1
        self.parts += len(spans)  # reserve them before the children recurse
        kids = []
        newlines = 0
        gap_start = body_start
        for s, e in spans:
            kid, _fields, kid_newlines = self.parse_part(s, e, depth + 1, digest, True)
            if kid.is_message and e < end and _unterminated(raw, kid.children[0].header_start, e):
                # Dovecot: a message whose header runs to the next delimiter
                # takes the line break before it (see the module docstring).
                self.imap_differs = True
                if self.imap:
                    eol = 2 if raw.startswith(b"\r\n", e) else 1
                    kid = replace(kid, body_end=e + eol, lines=kid.lines + 1)
            kids.append(kid)
            newlines += raw.count(b"\n", gap_start, kid.body_start) + kid_newlines
            gap_start = e
        newlines += raw.count(b"\n", gap_start, end)
        return tuple(kids), newlines


def _unterminated(raw: bytes, start: int, end: int) -> bool:
    """True when the header block ``raw[start:end]`` has no empty line after it."""
    if find_body_start(raw, start, end) < end or start == end:
        return start == end
    return not (
        raw.endswith((b"\n\n", b"\n\r\n"), start, end) or end - start <= 2 and raw[start:end] in (b"\n", b"\r\n")
    )


# What a part is made of: parts (multipart/*), a message (message/rfc822 and,
# by RFC 9051, message/global) or its own bytes.
_MULTIPART, _MESSAGE, _LEAF = "multipart", "message", "leaf"


def _kind(main: str, sub: str) -> str:
    if main == "multipart":
        return _MULTIPART
    if main == "message" and sub in _MESSAGE_SUBTYPES:
        return _MESSAGE
    return _LEAF


def _differing(wire: Params, params: Params) -> Params | None:
    """``wire`` when the renderer needs it (see ``BodyPart.imap_params``)."""
    if wire == params and all(k.isascii() and v.isascii() for k, v in wire):
        return None
    return wire


def _text(value: bytes | None) -> str | None:
    return None if value is None else header_str(unfold(value))
