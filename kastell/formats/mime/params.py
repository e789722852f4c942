"""Content-* header values: media types, parameters (RFC 2045 §5.1,
RFC 2183, RFC 2231), transfer encodings and languages.

Parsing is lenient (garbage between parameters is skipped, unterminated
quotes run to the end) and results are cached by the raw header bytes:
most leaf parts in a mail store repeat a handful of Content-Type values.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote_to_bytes

from .charsets import decode_charset, header_str
from .headers import unfold
from .model import Params

__all__ = [
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
