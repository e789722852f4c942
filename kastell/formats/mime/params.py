"""Content-* header values: media types, parameters (RFC 2045 §5.1,
RFC 2183, RFC 2231), transfer encodings and languages.

Parsing is lenient (garbage between parameters is skipped, unterminated
quotes run to the end) and results are cached by the raw header bytes:
most leaf parts in a mail store repeat a handful of Content-Type values.

Two forms of the parameters come out: the decoded ones (``parse_params``:
names lower-cased, RFC 2231 joined and charset-decoded), which JMAP, file
names and charset decoding use, and the wire form IMAP BODYSTRUCTURE sends
(``imap_params``), which follows Dovecot's lib-mail parser
(rfc822-parser.c, rfc2231-parser.c) byte for byte; see there.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote_to_bytes

from .charsets import decode_charset, header_str
from .headers import unfold
from .model import Params

__all__ = [
    "imap_content_type",
    "imap_disposition",
    "imap_disposition_params",
    "imap_encoding",
    "imap_params",
    "parse_content_type",
    "parse_disposition",
    "parse_encoding",
    "parse_language",
    "parse_params",
]

_TYPE = re.compile(r"\s*([^\s/;\"]+)\s*/\s*([^\s;\"]+)")
_DISPOSITION = re.compile(r"\s*([^\s;\"]+)")
# ";" name ["=" (quoted-string | token-ish up to the next ";")]
_PARAM = re.compile(r';\s*([^\s=;"]+)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)(?:"|$)|([^;]*)))?', re.S)
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)
# RFC 2045 token: any CHAR except SPACE, CTLs and tspecials.
_TOKEN = re.compile(r'[^\x00-\x20\x7f()<>@,;:\\"/\[\]?=]+')
_COMMENT = re.compile(r"\([^()]*\)")
_LANG = re.compile(r"[^\s,]+")

#: RFC 2231 sections of one parameter allowed; more is a DoS attempt.
MAX_SECTIONS = 256


def _unquote(value: str) -> str:
    return _QUOTED_PAIR.sub(r"\1", value) if "\\" in value else value


def _join_rfc2231(sections: list[tuple[int, bool, str]]) -> str:
    """Combine ``name*N[*]`` sections (RFC 2231 §3, §4): percent-decode the
    extended ones and decode the whole with the charset named in section 0."""
    sections.sort(key=lambda s: s[0])
    charset: str | None = None
    buf = bytearray()
    for index, (_, extended, value) in enumerate(sections):
        if extended:
            if index == 0 and value.count("'") >= 2:
                charset, _lang, value = value.split("'", 2)
            buf += unquote_to_bytes(value)
        else:
            buf += value.encode("utf-8", "surrogateescape")
    data = bytes(buf)
    return decode_charset(data, charset) if charset else header_str(data)


def parse_params(text: str) -> Params:
    """Parse ``; name=value ...`` into ``((name, value), ...)``.

    Names are lower-cased; quoted strings are unquoted; RFC 2231 extended
    and continued parameters are joined and charset-decoded (and win over a
    plain parameter of the same name).  Order of first appearance is kept.
    RFC 2047 encoded words inside values are left as they are (IMAP sends
    them raw; see :func:`kastell.formats.mime.filename`).
    """
    plain: dict[str, str] = {}
    extended: dict[str, list[tuple[int, bool, str]]] = {}
    order: list[str] = []
    for m in _PARAM.finditer(text):
        quoted, bare = m.group(2), m.group(3)
        if quoted is None and bare is None:
            continue  # "name" without "=": not a parameter
        name = m.group(1).lower()
        value = _unquote(quoted) if quoted is not None else bare.strip()
        base, star, rest = name.partition("*")
        if star and base:
            section: int | None = None
            is_ext = False
            if rest == "":
                section, is_ext = 0, True
            elif rest.isdigit() and len(rest) < 5:
                section = int(rest)
            elif rest[-1:] == "*" and rest[:-1].isdigit() and len(rest) < 6:
                section, is_ext = int(rest[:-1]), True
            if section is not None:
                parts = extended.setdefault(base, [])
                if len(parts) < MAX_SECTIONS:
                    parts.append((section, is_ext, value))
                if base not in order:
                    order.append(base)
                continue
        if name not in plain:
            plain[name] = value
            if name not in order:
                order.append(name)
    result: list[tuple[str, str]] = []
    for name in order:
        if name in extended:
            result.append((name, _join_rfc2231(extended[name])))
        else:
            result.append((name, plain[name]))
    return tuple(result)


@lru_cache(maxsize=4096)
def parse_content_type(raw_value: bytes) -> tuple[str, str, Params] | None:
    """``(type, subtype, params)`` lower-cased, or None when the value is
    syntactically invalid (RFC 2045 §5.2: then the default applies)."""
    text = header_str(unfold(raw_value))
    m = _TYPE.match(text)
    if m is None:
        return None
    main, sub = m.group(1).lower(), m.group(2).lower()
    if not (_TOKEN.fullmatch(main) and _TOKEN.fullmatch(sub)):
        return None
    return main, sub, parse_params(text[m.end() :])


@lru_cache(maxsize=1024)
def parse_disposition(raw_value: bytes) -> tuple[str, Params] | None:
    """``(disposition-type lower-cased, params)`` (RFC 2183), or None."""
    text = header_str(unfold(raw_value))
    m = _DISPOSITION.match(text)
    if m is None:
        return None
    return m.group(1).lower(), parse_params(text[m.end() :])


@lru_cache(maxsize=256)
def parse_encoding(raw_value: bytes) -> str:
    """Lower-cased Content-Transfer-Encoding mechanism (RFC 2045 §6.1);
    "7bit" when absent or not a token."""
    m = _TOKEN.match(header_str(unfold(raw_value)).strip())
    return m.group(0).lower() if m else "7bit"


def parse_language(raw_value: bytes) -> tuple[str, ...]:
    """Content-Language tags (RFC 3282), comments removed, case kept."""
    text = header_str(unfold(raw_value))
    if "(" in text:
        text = _COMMENT.sub(" ", text)
    return tuple(_LANG.findall(text))


# ---------------------------------------------------------------- IMAP wire form
#
# Dovecot sends parameters undecoded (RFC 9051 leaves them to the client):
# plain ones first, in header order, names as written; then the RFC 2231 ones
# ("key*", "key*N", "key*N*"), sorted by key (bytes) and section number and
# grouped by key ignoring case.  A group numbered 0, 1, 2 ... without a gap is
# sent as one parameter, "key*" when a section is extended (its non-extended
# sections' "%" written "%25", "''" in front when section 0 is not extended),
# else "key"; a group with a gap is sent section by section, raw.  A bare
# "key*" takes the section number of the RFC 2231 parameter before it (0 for
# the first): Dovecot keeps that number across parameters.  Values are the
# unquoted strings; 8-bit bytes are kept (the str holds them as
# surrogate escapes, see ``imapfmt``).

# Dovecot's MIME token: RFC 5322 atext minus "/", "=", "?", plus "." and 8-bit bytes.
_DC_TOKEN = frozenset(
    b"!#$%&'*+-.^_`{|}~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" + bytes(range(0x80, 0x100))
)
_LWSP = frozenset(b" \t\r\n")
_VALUE_END = frozenset(b"; \t\r\n")


def _skip_comment(d: bytes, i: int) -> tuple[int, bool]:
    level = 1
    i += 1
    n = len(d)
    while i < n:
        c = d[i]
        if c == 0x28:
            level += 1
        elif c == 0x29:
            level -= 1
            if level == 0:
                return i + 1, True
        elif c == 0x5C:
            i += 1
            if i >= n:
                return i, False
            if d[i] in b"\r\n\x00":
                i -= 1  # not a quoted-pair: the backslash stays, the line break is read next
        i += 1
    return i, False


def _skip_lwsp(d: bytes, i: int) -> tuple[int, int]:
    """Whitespace and comments; 1 when data remains, 0 at the end, -1 on an unclosed comment."""
    n = len(d)
    while i < n:
        c = d[i]
        if c in _LWSP:
            i += 1
        elif c == 0x28:
            i, ok = _skip_comment(d, i)
            if not ok:
                return i, -1
        else:
            break
    return i, 1 if i < n else 0


def _token(d: bytes, i: int) -> tuple[int, bytes, int]:
    n = len(d)
    j = i
    while j < n and d[j] in _DC_TOKEN:
        j += 1
    if j >= n:
        return j, d[i:j], 0
    k, ret = _skip_lwsp(d, j)
    return k, d[i:j], ret


def _quoted(d: bytes, i: int) -> tuple[int, bytes, int]:
    n = len(d)
    out = bytearray()
    i += 1
    start = i
    while i < n:
        c = d[i]
        if c == 0x22:
            out += d[start:i]
            k, ret = _skip_lwsp(d, i + 1)
            return k, bytes(out), ret
        if c == 0x0A:  # folding: drop the (CR)LF
            out += d[start : i - 1 if i > start and d[i - 1] == 0x0D else i]
            start = i + 1
        elif c == 0x5C:
            i += 1
            if i >= n:
                return i, b"", -1
            if d[i] in b"\r\n\x00":
                i -= 1
            else:
                out += d[start : i - 1]
                start = i
        i += 1
    return i, b"", -1  # no closing quote


def _content_param(d: bytes, i: int) -> tuple[int, bytes, bytes, int]:
    """One ``; key=value`` (Dovecot's rfc822_parse_content_param): 1, 0 at the end, -1 broken."""
    n = len(d)
    if i >= n:
        return i, b"", b"", 0
    if d[i] != 0x3B:
        return i, b"", b"", -1
    i, ret = _skip_lwsp(d, i + 1)
    if ret <= 0:
        return i, b"", b"", -1
    i, key, ret = _token(d, i)
    if ret <= 0 or d[i] != 0x3D:
        return i, b"", b"", -1
    i, ret = _skip_lwsp(d, i + 1)
    value = b""
    if ret > 0:
        if d[i] == 0x22:
            i, value, ret = _quoted(d, i)
        elif d[i] == 0x3D:  # name==?utf-8?b?...?= (broken, but common)
            j = i
            while j < n and d[j] not in _VALUE_END:
                j += 1
            value, i = d[i:j], j
        else:
            i, value, ret = _token(d, i)
    return i, key, value, -1 if ret < 0 else 1


def _rfc2231_escape(value: bytes) -> bytes:
    return value.replace(b"%", b"%25")


def _wire_params(d: bytes, i: int) -> list[tuple[bytes, bytes]]:
    plain: list[tuple[bytes, bytes]] = []
    sections: list[tuple[bytes, int, bool, bytes]] = []  # (key, index, extended, value)
    index = 0  # kept across parameters, as Dovecot does
    while True:
        i, key, value, ret = _content_param(d, i)
        if ret == 0:
            break
        if ret < 0:
            i = d.find(b";", i + 1)  # Dovecot skips a byte at a time up to the next ";"
            if i < 0:
                break
            continue
        star = key.find(b"*")
        if star < 0:
            plain.append((key, value))
            continue
        rest = key[star + 1 :]
        extended = True
        valid = True
        if rest:
            index = q = 0
            while q < len(rest) and 0x30 <= rest[q] <= 0x39:
                index = (index * 10 + rest[q] - 0x30) & 0xFFFFFFFF
                q += 1
            extended = rest[q:] == b"*"
            valid = extended or q == len(rest)
        if valid:
            sections.append((key[:star], index, extended, value))
        else:
            plain.append((key, value))
    if not sections:
        return plain
    sections.sort(key=lambda s: (s[0], s[1]))
    out = plain
    i = 0
    while i < len(sections):
        base = sections[i][0]
        j = i
        ok = True
        have_extended = False
        while j < len(sections) and sections[j][0].lower() == base.lower():
            ok = ok and sections[j][1] == j - i
            have_extended = have_extended or sections[j][2]
            j += 1
        group = sections[i:j]
        if not ok:
            out += [(b"%s*%d%s" % (k, n, b"*" if ext else b""), v) for k, n, ext, v in group]
        else:
            value = b"''" if have_extended and not group[0][2] else b""
            value += b"".join(v if ext or not have_extended else _rfc2231_escape(v) for _, _, ext, v in group)
            out.append((base + b"*" if have_extended else base, value))
        i = j
    return out


def _wire(pairs: list[tuple[bytes, bytes]]) -> Params:
    return tuple((k.decode("utf-8", "surrogateescape"), v.decode("utf-8", "surrogateescape")) for k, v in pairs)


@lru_cache(maxsize=4096)
def imap_params(raw_value: bytes) -> Params:
    """The parameters of a raw (folded) Content-Type value as IMAP sends them
    (see above); ``()`` when Dovecot would not read them (no valid
    ``type/subtype`` followed by ``;`` or the end)."""
    d = raw_value
    i, ret = _skip_lwsp(d, 0)
    if ret <= 0:
        return ()
    i, main, ret = _token(d, i)
    if ret <= 0 or not main or d[i] != 0x2F:
        return ()
    i, ret = _skip_lwsp(d, i + 1)
    if ret <= 0:
        return ()
    i, sub, ret = _token(d, i)
    if ret < 0 or not sub or (i < len(d) and d[i] != 0x3B):
        return ()
    return _wire(_wire_params(d, i))


@lru_cache(maxsize=1024)
def imap_disposition_params(raw_value: bytes) -> Params:
    """The parameters of a raw Content-Disposition value as IMAP sends them."""
    i, ret = _skip_lwsp(raw_value, 0)
    if ret < 0:
        return ()
    i, _token_value, ret = _token(raw_value, i)
    if ret < 0:
        return ()
    return _wire(_wire_params(raw_value, i))


def _as_written(token: bytes) -> str:
    return token.decode("utf-8", "surrogateescape")


@lru_cache(maxsize=1024)
def imap_content_type(raw_value: bytes) -> tuple[str, str, bool]:
    """``(type, subtype, valid)`` of a raw Content-Type value as Dovecot reads
    it (rfc822_parse_content_type), in the case written.

    Valid means ``token "/" token`` followed by ``;`` or the end (comments
    and whitespace allowed around the tokens); only then are parameters
    read.  An invalid value keeps what Dovecot kept: the type alone when the
    value ends after it (``text`` -> ``("text", "", False)``), else nothing
    (``("", "", False)``); IMAP sends those strings as they are.
    """
    d = raw_value
    i, ret = _skip_lwsp(d, 0)
    if ret <= 0:
        return "", "", False
    i, main, ret = _token(d, i)
    if ret <= 0 or not main:
        return _as_written(main), "", False
    if d[i] != 0x2F:
        return "", "", False
    i, ret = _skip_lwsp(d, i + 1)
    if ret <= 0:
        return "", "", False
    i, sub, ret = _token(d, i)
    if ret < 0 or not sub or (i < len(d) and d[i] != 0x3B):
        return "", "", False
    return _as_written(main), _as_written(sub), True


@lru_cache(maxsize=256)
def imap_encoding(raw_value: bytes) -> str:
    """Content-Transfer-Encoding as IMAP sends it (Dovecot): the one token of
    the value in the case written, "7bit" when the value is empty or holds
    anything after the token (comments aside)."""
    i, _ret = _skip_lwsp(raw_value, 0)
    _i, token, ret = _token(raw_value, i)
    return _as_written(token) if ret == 0 and token else "7bit"


@lru_cache(maxsize=1024)
def imap_disposition(raw_value: bytes) -> str | None:
    """The disposition type as IMAP sends it (Dovecot): the leading token in
    the case written, ``""`` for an empty value or one that starts with
    something else; None when Dovecot ignores the field (an unclosed
    comment after the token)."""
    i, _ret = _skip_lwsp(raw_value, 0)
    _i, token, ret = _token(raw_value, i)
    return None if ret < 0 else _as_written(token)
