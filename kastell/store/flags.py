"""System flags as bits; keywords as a space-delimited column.

IMAP system flags (RFC 9051 §2.3.2) are kept as an integer bit set so that
``UNSEEN`` or ``DELETED`` filters are plain comparisons. Keywords (``$Forwarded``,
``$Junk``, user labels) are atoms, which never contain spaces, so they are stored
as ``" kw1 kw2 "`` and matched with ``LIKE '% kw %'`` on any database.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Flag(enum.IntFlag):
    SEEN = 1
    ANSWERED = 2
    FLAGGED = 4
    DELETED = 8
    DRAFT = 16


FLAG_NAMES: dict[Flag, str] = {
    Flag.SEEN: "\\Seen",
    Flag.ANSWERED: "\\Answered",
    Flag.FLAGGED: "\\Flagged",
    Flag.DELETED: "\\Deleted",
    Flag.DRAFT: "\\Draft",
}
_BY_NAME = {name.lower(): flag for flag, name in FLAG_NAMES.items()}

MAX_KEYWORD = 255
# Keywords one message may carry. Clients use a handful (Thunderbird's tags, $Junk,
# $Forwarded...); without a bound, STOREs of thousands would bloat every row and
# every FETCH FLAGS of it.
MAX_KEYWORDS = 128


def flag_from_name(name: str) -> Flag | None:
    """``"\\seen"`` → Flag.SEEN; None for a keyword or an unknown system flag."""
    return _BY_NAME.get(name.lower())


def flag_names(flags: int) -> list[str]:
    return [name for flag, name in FLAG_NAMES.items() if flags & flag]


def encode_keywords(keywords: Iterable[str]) -> str:
    """Deduplicated (case-insensitively, first spelling kept) and sorted, in the column form."""
    seen: dict[str, str] = {}
    for keyword in keywords:
        if not keyword or len(keyword) > MAX_KEYWORD or any(c.isspace() or ord(c) < 0x20 for c in keyword):
            raise ValueError(f"invalid keyword: {keyword!r}")
        seen.setdefault(keyword.lower(), keyword)
    if len(seen) > MAX_KEYWORDS:
        raise ValueError(f"more than {MAX_KEYWORDS} keywords on one message")
    if not seen:
        return ""
    return " " + " ".join(sorted(seen.values(), key=str.lower)) + " "


def decode_keywords(column: str) -> tuple[str, ...]:
    return tuple(column.split())


def split_flags(names: Iterable[str]) -> tuple[int, tuple[str, ...]]:
    """Names as a client sends them → (system flag bits, keywords). ``\\Recent`` is ignored."""
    bits = 0
    keywords: list[str] = []
    for name in names:
        flag = flag_from_name(name)
        if flag is not None:
            bits |= flag
        elif name.startswith("\\"):
            continue  # \Recent and unknown system flags are not stored
        else:
            keywords.append(name)
    return bits, tuple(keywords)
