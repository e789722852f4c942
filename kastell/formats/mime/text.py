"""Text out of parts: transfer + charset decoding, HTML to text, the
full-text-index extract and the preview snippet.

Everything here is tolerant (never raises) and bounded: previews look at a
growing prefix of the part, extracts stop at a character budget, and the
HTML regexes are written so that each match attempt stops at the next "<",
keeping them linear on hostile input.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from .charsets import decode_charset, header_str
from .encoded_words import decode_words
from .model import Address, BodyPart, Envelope, ParsedMessage
from .transfer import transfer_decode

__all__ = [
    "decode_body",
    "extract_text",
    "html_to_text",
    "iter_parts",
    "make_preview",
    "part_text",
]

PREVIEW_CHARS = 256

# Invisible content: comments, <head>, scripts, styles, titles.  Found with
# an opening regex, then skipped with a search for the closing tag: a lazy
# ".*?" would test every character in Python's regex engine (slow on
# megabytes of CSS), a literal-prefix search runs at memchr-like speed.
_OPEN_INVISIBLE = re.compile(r"<!--|<(head|script|style|title)\b[^<>]*>", re.I)
_CLOSE = {
    "": re.compile(r"-->"),
    "head": re.compile(r"</head\s*>|<body\b", re.I),  # </head> is optional in HTML
    "script": re.compile(r"</script\s*>", re.I),
    "style": re.compile(r"</style\s*>", re.I),
    "title": re.compile(r"</title\s*>", re.I),
}
_BLOCK_TAG = re.compile(
    r"</?(?:br|p|div|tr|td|th|li|ul|ol|table|h[1-6]|blockquote|hr|pre|section|article)\b[^<>]*>",
    re.I,
)
_TAG = re.compile(r"</?[A-Za-z!?][^<>]*>")
_TRAILING_TAG = re.compile(r"<[A-Za-z/!?][^<>]*\Z")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I)


def iter_parts(root: BodyPart) -> Iterator[BodyPart]:
    """All parts in depth-first document order (the IMAP part-number
    order), including encapsulated messages' parts."""
    stack = [root]
    while stack:
        part = stack.pop()
        yield part
        if part.children:
            stack.extend(reversed(part.children))


def decode_body(raw: bytes, part: BodyPart) -> bytes:
    """The part body with its Content-Transfer-Encoding undone (base64,
    quoted-printable; anything else unchanged).  Never raises."""
    return transfer_decode(raw[part.body_start : part.body_end], part.encoding)


def _charset_for(part: BodyPart, data: bytes) -> str | None:
    charset = part.param("charset")
    if charset is None and part.subtype == "html":
        m = _META_CHARSET.search(data, 0, 4096)
        if m is not None:
            charset = m.group(1).decode("ascii")
    return charset


def part_text(raw: bytes, part: BodyPart) -> str:
    """The part body as text: transfer-decoded, then charset-decoded (for
    HTML without a charset parameter, a ``<meta charset>`` is honoured).
    Unknown charsets decode as UTF-8 with replacement.  Never raises."""
    data = decode_body(raw, part)
    return decode_charset(data, _charset_for(part, data))


def _prefix_text(raw: bytes, part: BodyPart, limit: int) -> tuple[str, bool]:
    """Text of the first ~``limit`` body bytes, cut at a line boundary so
    base64 quads and QP escapes stay whole.  Returns (text, complete)."""
    start, end = part.body_start, part.body_end
    if end - start <= limit:
        return part_text(raw, part), True
    cut = raw.rfind(b"\n", start, start + limit)
    stop = cut + 1 if cut > start else start + limit
    data = transfer_decode(raw[start:stop], part.encoding)
    return decode_charset(data, _charset_for(part, data)), False


def _strip_invisible(markup: str) -> str:
    out: list[str] = []
    pos = 0
    while True:
        m = _OPEN_INVISIBLE.search(markup, pos)
        if m is None:
            break
        out.append(markup[pos : m.start()])
        out.append(" ")
        tag = (m.group(1) or "").lower()
        close = _CLOSE[tag].search(markup, m.end())
        if close is None:
            return "".join(out)  # unterminated: invisible to the end, as in browsers
        # "<body" ends <head> but is itself visible markup: keep it.
        pos = close.start() if close.group().lower().startswith("<body") else close.end()
    out.append(markup[pos:])
    return "".join(out)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML document: comments, head, scripts and
    styles removed, block tags become line breaks, entities unescaped.
    Not a renderer; good enough for previews and search."""
    text = _strip_invisible(markup)
    text = _BLOCK_TAG.sub("\n", text)
    text = _TAG.sub("", text)
    text = _TRAILING_TAG.sub("", text)
    return html.unescape(text) if "&" in text else text


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _is_body_text(part: BodyPart) -> bool:
    return not part.children and part.type == "text" and part.disposition != "attachment"


def make_preview(raw: bytes, root: BodyPart) -> str:
    """Up to :data:`PREVIEW_CHARS` characters of the first text/plain part
    (else the first text/html part, tags stripped), whitespace collapsed.
    Attachments are skipped.  Reads a doubling prefix of the part, so a
    huge body costs about as much as the text actually needed."""
    chosen: BodyPart | None = None
    for part in iter_parts(root):
        if _is_body_text(part):
            if part.subtype == "plain":
                chosen = part
                break
            if part.subtype == "html" and chosen is None:
                chosen = part
    if chosen is None:
        return ""
    is_html = chosen.subtype == "html"
    limit = 8192 if is_html else 1024
    while True:
        text, complete = _prefix_text(raw, chosen, limit)
        if is_html:
            text = html_to_text(text)
        text = _collapse(text)
        if complete or len(text) > PREVIEW_CHARS:
            return text[:PREVIEW_CHARS].rstrip()
        limit *= 4


def _address_text(addrs: tuple[Address, ...]) -> list[str]:
    out = []
    for a in addrs:
        if a.is_group_marker:
            continue
        if a.name:
            out.append(a.name)
        if a.addr:
            out.append(a.addr)
    return out


def _envelope_text(env: Envelope) -> list[str]:
    out = []
    if env.subject:
        out.append(decode_words(header_str(env.subject)))
    for addrs in (env.from_, env.to, env.cc):
        out.extend(_address_text(addrs))
    return out


def _skip_html(parent: BodyPart | None) -> bool:
    """In multipart/alternative with a text/plain sibling the HTML is the
    same content again; indexing it would only double the index."""
    if parent is None or parent.subtype != "alternative":
        return False
    return any(c.type == "text" and c.subtype == "plain" and not c.children for c in parent.children)


def extract_text(raw: bytes, msg: ParsedMessage, limit: int = 1_000_000) -> str:
    """Plain text for the full-text index, at most ``limit`` characters:
    subject, From/To/Cc names and addresses, every text/plain part, and
    text/html parts (stripped) unless an alternative text/plain exists.
    Encapsulated messages contribute their subject and addresses too.
    Never raises."""
    pieces: list[str] = _envelope_text(msg.envelope)
    total = sum(len(p) + 1 for p in pieces)
    stack: list[tuple[BodyPart, BodyPart | None]] = [(msg.root, None)]
    while stack and total < limit:
        part, parent = stack.pop()
        if part.children:
            if part.envelope is not None:
                for piece in _envelope_text(part.envelope):
                    pieces.append(piece)
                    total += len(piece) + 1
            stack.extend((c, part) for c in reversed(part.children))
            continue
        if part.type != "text" or part.subtype not in ("plain", "html"):
            continue
        if part.subtype == "html":
            if _skip_html(parent):
                continue
            text = html_to_text(part_text(raw, part))
        else:
            # Never decode far more than the remaining budget needs: at
            # most ~6 raw bytes per character (base64 of 4-byte UTF-8).
            text, _ = _prefix_text(raw, part, (limit - total) * 6 + 64)
        text = text.strip()
        if text:
            pieces.append(text)
            total += len(text) + 1
    return "\n".join(pieces)[:limit]
