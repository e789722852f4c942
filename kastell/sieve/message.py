"""The message as the tests see it: header fields (RFC 2047-decoded for
``header``, raw for ``address``), body text for ``body`` (RFC 5173).

Built from the exact bytes with :mod:`kastell.formats.mime`, which never
raises on broken input; the header block is located without a full parse,
the MIME tree is parsed only when a ``body`` test needs it.
"""

from __future__ import annotations

from kastell.formats.mime import ParsedMessage, iter_parts, parse_message, part_text
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
        """Decoded text of the leaf parts whose type matches one of
        ``types`` (RFC 5173 §5.2: "" matches all, "text" matches text/*);
        ``None`` means :text (text/* parts, HTML reduced to text)."""
        out = []
        for part in iter_parts(self.parsed.root):
            if part.children:  # multipart or encapsulated message: look inside
                continue
            if types is None:
                if part.type != "text":
                    continue
                text = part_text(self.raw, part)
                out.append(html_to_text(text) if part.subtype == "html" else text)
                continue
            for t in types:
                t = t.lower().strip()
                if t == "" or t == part.type or t == f"{part.type}/{part.subtype}":
                    out.append(part_text(self.raw, part))
                    break
        return out
