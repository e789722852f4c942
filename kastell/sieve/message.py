"""The message as the tests see it: header fields (RFC 2047-decoded for
``header``, raw for ``address``), body text for ``body`` (RFC 5173).

Built from the exact bytes with :mod:`kastell.formats.mime`, which never
raises on broken input; the header block is located without a full parse,
the MIME tree is parsed only when a ``body`` test needs it.
"""

from __future__ import annotations

from kastell.formats.mime import BodyPart, ParsedMessage, decode_body, iter_parts, parse_message, part_text
from kastell.formats.mime.charsets import header_str
from kastell.formats.mime.encoded_words import decode_words
from kastell.formats.mime.headers import find_body_start, iter_field_spans, unfold
from kastell.formats.mime.text import html_to_text

__all__ = ["MessageView"]


class MessageView:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.body_start = find_body_start(raw, 0, len(raw))
        self._fields: dict[str, list[bytes]] | None = None
        self._parsed: ParsedMessage | None = None

    @property
    def size(self) -> int:
        return len(self.raw)

    def _all_fields(self) -> dict[str, list[bytes]]:
        if self._fields is None:
            fields: dict[str, list[bytes]] = {}
            for name, start, end in iter_field_spans(self.raw, 0, self.body_start):
                line = self.raw[start:end]
                value = unfold(line[line.index(b":") + 1 :])
                fields.setdefault(header_str(name), []).append(value)
            self._fields = fields
        return self._fields

    def raw_headers(self, name: str) -> list[bytes]:
        """Unfolded raw values of every ``name`` field, in order."""
        return self._all_fields().get(name.strip().lower(), [])

    def headers(self, name: str) -> list[str]:
        """Decoded values (RFC 2047 encoded words, RFC 6532 UTF-8)."""
        return [decode_words(header_str(v)) for v in self.raw_headers(name)]

    def has_header(self, name: str) -> bool:
        return bool(self.raw_headers(name))

    @property
    def parsed(self) -> ParsedMessage:
        if self._parsed is None:
            self._parsed = parse_message(self.raw)
        return self._parsed

    def body_raw(self) -> str:
        return header_str(self.raw[self.body_start :])

    def body_content(self, types: list[str] | None) -> list[str]:
        """The strings a ``body`` test searches (RFC 5173 §5).

        ``types`` is the :content list ("" matches every type, "text" every
        text/* type, §5.2): a matching leaf part gives its decoded text; a
        matching multipart gives its prologue and its epilogue, as two
        strings; a matching message/rfc822 gives the nested message's header
        (§5.3).  The search descends into every multipart and message part
        whatever their type.  ``None`` means :text (text/* parts, HTML
        reduced to text)."""
        out = []
        wanted = None if types is None else [t.lower().strip() for t in types]
        for part in iter_parts(self.parsed.root):
            if wanted is None:
                if part.children or part.type != "text":
                    continue
                text = part_text(self.raw, part)
                out.append(html_to_text(text) if part.subtype == "html" else text)
                continue
            if not any(t == "" or t == part.type or t == f"{part.type}/{part.subtype}" for t in wanted):
                continue
            if part.type == "multipart" and part.children:
                out.extend(self._prologue_epilogue(part))
            elif part.type == "message" and part.subtype in ("rfc822", "global"):  # global: RFC 6532 §3.5
                out.append(self._nested_header(part))
            elif not part.children:
                out.append(part_text(self.raw, part))
        return out

    def _prologue_epilogue(self, part: BodyPart) -> list[str]:
        """The text before the first and after the closing delimiter line
        (RFC 2046 §5.1.1 preamble and epilogue; the line break before a
        delimiter belongs to the delimiter)."""
        raw = self.raw
        boundary = (part.param("boundary") or "").encode("utf-8", "replace")
        delim = b"--" + boundary
        first, last = part.children[0], part.children[-1]
        cut = raw.rfind(delim, part.body_start, first.header_start)
        if cut < 0:
            cut = part.body_start
        if cut > part.body_start and raw[cut - 1] == 0x0A:
            cut -= 1
            if cut > part.body_start and raw[cut - 1] == 0x0D:
                cut -= 1
        prologue = raw[part.body_start : cut]
        epilogue = b""
        close = raw.find(delim + b"--", last.body_end, part.body_end)
        if close >= 0:
            eol = raw.find(b"\n", close, part.body_end)
            if eol >= 0:
                epilogue = raw[eol + 1 : part.body_end]
        return [header_str(prologue), header_str(epilogue)]

    def _nested_header(self, part: BodyPart) -> str:
        """The header block of an encapsulated message, raw, without the
        empty line that ends it; a transfer-encoded message/rfc822 (which
        the MIME parser does not open) is decoded first."""
        if part.children:
            data, start, end = self.raw, part.children[0].header_start, part.children[0].body_start
        else:
            data = decode_body(self.raw, part)
            start, end = 0, find_body_start(data, 0, len(data))
        header = data[start:end]
        for eoh in (b"\r\n\r\n", b"\n\n"):
            if header.endswith(eoh):
                header = header[: -len(eoh) // 2]
                break
        return header_str(header)
