"""RFC 5322 §3.4 address lists into IMAP-shaped :class:`Address` tuples.

Theory of operation: the value is tokenised (atoms, quoted strings,
comments, domain literals, specials), then a small loop consumes one
address at a time.  Real mail is messy, so the grammar is the obsolete one
(§4.4) plus common breakage: missing ">" or ";", a display name that is
itself an address (``a@b <a@b>``), encoded words containing specials, a
bare word with no domain.  Group syntax yields IMAP's start/end markers
(RFC 9051 §7.5.2).  Comments are dropped, except that ``user@host (Name)``
uses the comment as display name, as Dovecot and most MUAs do.
"""

from __future__ import annotations

import re

from .charsets import header_str
from .encoded_words import decode_words
from .model import Address

__all__ = ["parse_address_list", "parse_address_list_general"]

_ATOM, _QS, _DLIT, _SPECIAL, _COMMENT = range(5)

_TOKEN = re.compile(
    rb"""
    (?P<ws>[ \t\r\n]+)
  | (?P<ew>=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)    # RFC 2047 word, may hold specials
  | (?P<atom>[^ \t\r\n()<>\[\]:;@\\,."]+)
  | (?P<qs>"(?:[^"\\]|\\.)*(?:"|\Z))
  | (?P<dl>\[(?:[^\]\\]|\\.)*(?:\]|\Z))
  | (?P<sp>[<>:;@,.])
  | (?P<cm>\()
  | (?P<other>[\s\S])
    """,
    re.X,
)
_QUOTED_PAIR = re.compile(rb"\\([\s\S])")

# Fast path for the shapes nearly all headers use -- ``a@b``, ``Name <a@b>``,
# ``"Last, First" <a@b>`` -- separated by commas.  It must produce exactly
# what the general parser produces (a property test checks that); anything
# it does not recognise falls through to the general parser.
_SIMPLE = re.compile(
    rb"""[ \t]*(?:
        (?:"((?:[^"\\\r\n]|\\[^\r\n])*)"|([^"<>()@,;:\\\[\]\r\n\f\v]*?))[ \t]*
        <([^<>()@,;:\\"\[\]\s]+)@([^<>()@,;:\\"\[\]\s]+)>
      | ([^<>()@,;:\\"\[\]\s]+)@([^<>()@,;:\\"\[\]\s]+)
    )[ \t]*(?:,|\Z)""",
    re.X,
)

#: Addresses kept per header; a header with more is a DoS, not a mail.
MAX_ADDRESSES = 10_000

# token = (kind, value, raw, preceded_by_whitespace)
_Tok = tuple[int, bytes, bytes, bool]


def _comment_end(value: bytes, pos: int) -> int:
    """Index after the comment opening at ``value[pos] == "("`` (nested)."""
    depth = 0
    n = len(value)
    i = pos
    while i < n:
        c = value[i]
        if c == 0x5C:  # backslash: quoted-pair
            i += 2
            continue
        if c == 0x28:
            depth += 1
        elif c == 0x29:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def _tokenize(value: bytes) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    n = len(value)
    ws = False
    while pos < n:
        m = _TOKEN.match(value, pos)
        if m is None:  # pragma: no cover - "other" matches any byte
            break
        kind = m.lastgroup
        text = m.group()
        end = m.end()
        if kind == "ws":
            ws = True
        elif kind == "cm":
            end = _comment_end(value, pos)
            inner = value[pos + 1 : end - 1 if value[end - 1 : end] == b")" else end]
            toks.append((_COMMENT, inner.strip(), value[pos:end], ws))
            ws = False
        elif kind == "qs":
            inner = text[1:-1] if len(text) > 1 and text.endswith(b'"') else text[1:]
            toks.append((_QS, _QUOTED_PAIR.sub(rb"\1", inner), text, ws))
            ws = False
        elif kind == "sp":
            toks.append((_SPECIAL, text, text, ws))
            ws = False
        elif kind == "dl":
            toks.append((_DLIT, text, text, ws))
            ws = False
        else:  # atom, encoded word, stray byte
            toks.append((_ATOM, text, text, ws))
            ws = False
        pos = end
    return toks


def _phrase(toks: list[_Tok]) -> bytes | None:
    """Display-name bytes: words unquoted, joined by one space where the
    source had whitespace (so ``John Q. Public`` survives)."""
    out = bytearray()
    for kind, val, _raw, ws in toks:
        if kind == _COMMENT:
            continue
        if out and ws:
            out += b" "
        out += val
    return bytes(out) if out else None


def _joined(toks: list[_Tok]) -> str:
    """Local part or domain: raw token text without whitespace or comments."""
    return header_str(b"".join(raw for kind, _v, raw, _ws in toks if kind != _COMMENT))


def _comment_name(toks: list[_Tok]) -> bytes | None:
    for kind, val, _raw, _ws in toks:
        if kind == _COMMENT and val:
            return val
    return None


def _mailbox(name_raw: bytes | None, local: str, domain: str) -> Address:
    name = decode_words(header_str(name_raw)) if name_raw is not None else None
    return Address(name, local, domain, name_raw)


def _addr_spec(toks: list[_Tok]) -> tuple[str, str]:
    """``local@domain`` tokens (angle brackets removed) -> (local, domain).
    An obsolete source route (``@a,@b:``) is skipped."""
    if toks and toks[0][0] == _SPECIAL and toks[0][1] == b"@":
        for i, tok in enumerate(toks):
            if tok[0] == _SPECIAL and tok[1] == b":":
                toks = toks[i + 1 :]
                break
    for i, tok in enumerate(toks):
        if tok[0] == _SPECIAL and tok[1] == b"@":
            return _joined(toks[:i]), _joined(toks[i + 1 :])
    return _joined(toks), ""


def _is(tok: _Tok, chars: bytes) -> bool:
    return tok[0] == _SPECIAL and tok[1] in chars


def _parse_simple(value: bytes) -> tuple[Address, ...] | None:
    out: list[Address] = []
    pos = 0
    n = len(value)
    while pos < n:
        m = _SIMPLE.match(value, pos)
        if m is None or len(out) >= MAX_ADDRESSES:
            return None
        quoted, phrase, local, domain, bare_local, bare_domain = m.groups()
        if bare_local is not None:
            out.append(Address(None, header_str(bare_local), header_str(bare_domain), None))
        else:
            if quoted is not None:
                raw = _QUOTED_PAIR.sub(rb"\1", quoted) if b"\\" in quoted else quoted
            else:
                raw = b" ".join(phrase.split())
            out.append(_mailbox(raw or None, header_str(local), header_str(domain)))
        pos = m.end()
    return tuple(out)


def parse_address_list(value: bytes) -> tuple[Address, ...]:
    """Parse an unfolded address-list header value; never raises.

    Returns ``()`` for an empty value.  See the module docstring for the
    leniency rules and the group-marker representation.
    """
    simple = _parse_simple(value)
    if simple is not None:
        return simple
    return parse_address_list_general(value)


def parse_address_list_general(value: bytes) -> tuple[Address, ...]:
    """The full tokenising parser behind :func:`parse_address_list`."""
    toks = _tokenize(value)
    n = len(toks)
    out: list[Address] = []
    in_group = False
    i = 0
    while i < n and len(out) < MAX_ADDRESSES:
        start = i
        while i < n and not _is(toks[i], b"<>:;,@"):
            i += 1
        phrase = toks[start:i]
        stop = toks[i][1] if i < n else b""
        if stop == b":" and not in_group:
            raw = _phrase(phrase) or b""
            out.append(Address(decode_words(header_str(raw)), header_str(raw), None, raw))
            in_group = True
            i += 1
            continue
        if stop == b"@":
            # addr-spec: the phrase was the local part; the domain runs to
            # the next separator.  "a@b <c@d>" makes "a@b" a display name.
            j = i + 1
            while j < n and not _is(toks[j], b"<>:;,@"):
                j += 1
            if j < n and toks[j][1] == b"<":
                phrase = toks[start:j]
                i = j
                stop = b"<"
            else:
                domain_toks = toks[i + 1 : j]
                local = _joined(phrase)
                if local or domain_toks:
                    name = _comment_name(phrase) or _comment_name(domain_toks)
                    out.append(_mailbox(name, local, _joined(domain_toks)))
                while j < n and _is(toks[j], b"@"):  # "a@b@c": skip the junk
                    j += 1
                    while j < n and not _is(toks[j], b"<>:;,@"):
                        j += 1
                i = j
                continue
        if stop == b"<":
            j = i + 1
            while j < n and not _is(toks[j], b">"):
                j += 1
            local, domain = _addr_spec([t for t in toks[i + 1 : j] if t[0] != _COMMENT])
            name = _phrase(phrase)
            out.append(_mailbox(name if name is not None else _comment_name(phrase), local, domain))
            i = j + 1
            while i < n and not _is(toks[i], b",;"):  # trailing junk
                i += 1
            continue
        # "," ";" ">" or end: a pending bare word is a domain-less mailbox
        local = _joined(phrase)
        if local:
            out.append(Address(None, local, "", None))
        if stop == b";" and in_group:
            out.append(Address(None, None, None, None))
            in_group = False
        i += 1
    if in_group:  # unterminated group: close it so IMAP clients stay in sync
        out.append(Address(None, None, None, None))
    return tuple(out)
