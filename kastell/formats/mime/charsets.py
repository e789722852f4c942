"""Charset names to Python codecs, and decoding that never raises.

Mail in the wild labels its charset loosely ("utf8", "win-1252",
"ks_c_5601-1987", "x-sjis", ...).  We follow the WHATWG Encoding Standard's
habit of mapping a label to the superset that senders actually mean (latin-1
to windows-1252, gb2312 to gb18030, shift_jis to cp932), because decoding
with the strict subset turns real text into replacement characters.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

__all__ = ["decode_charset", "header_str", "normalize_charset"]

# label (lower-case, after "_" -> "-") -> Python codec name
_ALIASES: dict[str, str] = {
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso-8859-1:1987": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "ks-c-5601-1987": "cp949",
    "ks-c-5601": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gb-2312": "gb18030",
    "csgb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms-kanji": "cp932",
    "windows-31j": "cp932",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
    "x-user-defined": "cp1252",
}

# Labels meaning "7-bit ASCII": when such text carries 8-bit bytes anyway we
# try UTF-8 first (by far the most common mislabel), then windows-1252.
_ASCII_LABELS = frozenset({"us-ascii", "ascii", "ansi-x3.4-1968", "iso646-us", "us", "646"})
_ASCII = "ascii"

# Codecs that are technically "text encodings" but useless or dangerous for
# mail (e.g. 'undefined' always raises, the escape codecs interpret backslashes).
_REFUSED = frozenset({"undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode"})

_WIN = re.compile(r"(?:win|windows|cp|ms)-?(\d{3,5})")

# Bytes whose decoding reveals a non-ASCII-compatible codec (ESC for ISO-2022,
# "+" for UTF-7, "~{" for HZ): used to decide whether pure-ASCII input may take
# the fast path.
_PROBE = bytes(range(1, 128)) + b"\x1b$B0!\x1b(B ~{~}~~ +AGE-"


@lru_cache(maxsize=256)
def normalize_charset(label: str) -> str | None:
    """Map a MIME charset label to a Python codec name, None if unknown.

    Returns the marker ``"ascii"`` for US-ASCII labels (see
    :func:`decode_charset` for the 8-bit fallback).
    """
    name = label.strip().strip("\"'").strip().lower().replace("_", "-")
    if not name or len(name) > 64:
        return None
    if name in _ASCII_LABELS:
        return _ASCII
    name = _ALIASES.get(name, name)
    m = _WIN.fullmatch(name)
    if m:
        name = "cp" + m.group(1)
    for candidate in (name, name[2:] if name.startswith("x-") else None):
        if candidate is None:
            continue
        candidate = _ALIASES.get(candidate, candidate)
        try:
            info = codecs.lookup(candidate)
        except (LookupError, ValueError):
            continue
        if not getattr(info, "_is_text_encoding", True):
            continue  # base64, rot13, zlib ...: not charsets
        if info.name.replace("_", "-") in _REFUSED:
            return None
        return info.name
    return None


@lru_cache(maxsize=256)
def _ascii_compatible(codec: str) -> bool:
    try:
        return _PROBE.decode(codec) == _PROBE.decode("latin-1")
    except Exception:  # any codec failure just disables the fast path
        return False


def decode_charset(data: bytes, charset: str | None) -> str:
    """Decode ``data`` labelled ``charset``; never raises.

    Unknown or missing charsets decode as UTF-8 with replacement characters.
    A US-ASCII label (or None) on 8-bit data tries UTF-8, then windows-1252.
    """
    codec = normalize_charset(charset) if charset else _ASCII
    if codec is None:
        return data.decode("utf-8", "replace")
    if codec == _ASCII:
        if data.isascii():
            return data.decode("ascii")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", "replace")
    if data.isascii() and _ascii_compatible(codec):
        return data.decode("ascii")
    try:
        return data.decode(codec, "replace")
    except Exception:  # a codec bug must not break ingest
        return data.decode("utf-8", "replace")


def header_str(data: bytes) -> str:
    """Raw header bytes to str: ASCII, else UTF-8, else latin-1 (never raises).

    RFC 6532 allows UTF-8 in headers; anything else 8-bit is legacy and
    latin-1 keeps every byte visible (and reversible).
    """
    if data.isascii():
        return data.decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
