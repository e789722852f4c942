"""Serialising IMAP responses (RFC 9051 §7) and the values inside them.

Everything here returns bytes; nothing writes to a socket.  Strings go out
quoted when they are plain 7-bit text and as literals otherwise (§4.3), which
is also what ``kastell.formats.mime.imapfmt`` does for ENVELOPE/BODYSTRUCTURE.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, timezone

from kastell.formats.mime.imapfmt import imap_string
from kastell.imports import utf7
from kastell.store.flags import flag_names

__all__ = [
    "astring",
    "compress_set",
    "flag_list",
    "internal_date",
    "mailbox_name",
    "ok",
    "quoted",
    "tagged",
    "untagged",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def quoted(value: str | bytes) -> bytes:
    """A string as quoted text, or a literal when it cannot be quoted."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    return imap_string(data)


def astring(value: str) -> bytes:
    return quoted(value)


def tagged(tag: str, status: str, text: str, code: str | None = None) -> bytes:
    code_part = f"[{code}] " if code else ""
    return f"{tag} {status} {code_part}{text}\r\n".encode("utf-8", "replace")


def untagged(text: str | bytes) -> bytes:
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return b"* " + data + b"\r\n"


def ok(code: str, text: str = "") -> bytes:
    return untagged(f"OK [{code}] {text}".rstrip())


# Every combination of the five system flags, rendered once: FETCH FLAGS of a
# 250,000-message folder must not build enum values per message.
_SYSTEM = [" ".join(flag_names(bits)) for bits in range(32)]
_EMPTY = tuple[str, ...]()


def flag_list(flags: int, keywords: Iterable[str] = _EMPTY, recent: bool = False) -> bytes:
    system = _SYSTEM[flags & 31]
    if not keywords and not recent:
        return b"(" + system.encode() + b")"
    names = [system] if system else []
    if recent:
        names.append("\\Recent")
    names.extend(keywords)
    return ("(" + " ".join(names) + ")").encode("utf-8", "replace")


def internal_date(seconds: int, tz_minutes: int) -> bytes:
    """date-time (RFC 9051 §9): ``"17-Jul-1996 02:44:25 -0700"`` in the zone the message arrived in."""
    zone = timezone(timedelta(minutes=tz_minutes))
    moment = datetime.fromtimestamp(seconds, zone)
    sign = "-" if tz_minutes < 0 else "+"
    offset = abs(tz_minutes)
    return (
        f'"{moment.day:2d}-{_MONTHS[moment.month - 1]}-{moment.year:04d} '
        f'{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} {sign}{offset // 60:02d}{offset % 60:02d}"'
    ).encode("ascii")


def parse_date_time(text: str) -> tuple[int, int]:
    """APPEND date-time ``"dd-Mon-yyyy hh:mm:ss +zzzz"`` → (epoch seconds, zone minutes); ValueError."""
    text = text.strip()
    date_part, clock, zone = text.split(" ")
    day, month, year = date_part.split("-")
    mon = [m.lower() for m in _MONTHS].index(month.lower()) + 1
    hh, mm, ss = (int(x) for x in clock.split(":"))
    if len(zone) != 5 or zone[0] not in "+-":
        raise ValueError("bad zone")
    minutes = int(zone[1:3]) * 60 + int(zone[3:5])
    if zone[0] == "-":
        minutes = -minutes
    moment = datetime(int(year), mon, int(day), hh, mm, ss, tzinfo=timezone(timedelta(minutes=minutes)))
    return int(moment.timestamp()), minutes


def parse_search_date(text: str) -> int:
    """SEARCH date ``d-Mon-yyyy`` → the epoch second of its midnight in UTC; ValueError."""
    day, month, year = text.strip('"').split("-")
    mon = [m.lower() for m in _MONTHS].index(month.lower()) + 1
    return int(datetime(int(year), mon, int(day), tzinfo=UTC).timestamp())


def mailbox_name(path: str, utf8: bool) -> bytes:
    """A store path as an IMAP mailbox name: UTF-8 once enabled, modified UTF-7 otherwise (RFC 9051 §5.1.3)."""
    return quoted(path if utf8 else utf7.encode(path))


def compress_set(numbers: Sequence[int]) -> str:
    """Sorted numbers → ``"1:3,7,9:10"``; an empty sequence gives ``""``."""
    if not numbers:
        return ""
    parts: list[str] = []
    ordered = sorted(numbers)
    start = prev = ordered[0]
    for n in ordered[1:]:
        if n == prev + 1:
            prev = n
            continue
        if n == prev:
            continue
        parts.append(str(start) if start == prev else f"{start}:{prev}")
        start = prev = n
    parts.append(str(start) if start == prev else f"{start}:{prev}")
    return ",".join(parts)


def now_epoch() -> int:
    return int(time.time())
