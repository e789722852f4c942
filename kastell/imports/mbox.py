"""Reading mbox files (mboxrd quoting) one message at a time, never the whole file.

A message starts at a line beginning with ``From `` after an empty line (or
at the start of the file); ``>From `` lines lose one ``>``. ``Status`` /
``X-Status`` headers (mutt, Thunderbird's ``X-Mozilla-Status``) give flags; the
``From `` line's date gives the internal date.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from kastell.store.flags import Flag

_QUOTED_FROM = re.compile(rb"^>+From ")
_MOZILLA = {0x0001: Flag.SEEN, 0x0002: Flag.ANSWERED, 0x0004: Flag.FLAGGED, 0x0008: Flag.DELETED}
MAX_MESSAGE = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class MboxMessage:
    source: bytes
    flags: int
    internal_date: int | None
    offset: int  # where the message ended in the file (for progress)


def _from_line_date(line: bytes) -> int | None:
    # "From sender@example.com Sat Jan  3 01:05:34 1996"
    parts = line.decode("latin-1").split(None, 2)
    if len(parts) < 3:
        return None
    try:
        return int(time.mktime(time.strptime(" ".join(parts[2].split()[:5]), "%a %b %d %H:%M:%S %Y")))
    except (ValueError, OverflowError):
        return None


def _flags(headers: bytes) -> int:
    flags = 0
    for line in headers.split(b"\n"):
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"status":
            if b"R" in value:
                flags |= Flag.SEEN
        elif key == b"x-status":
            for letter, flag in ((b"A", Flag.ANSWERED), (b"F", Flag.FLAGGED), (b"D", Flag.DELETED), (b"T", Flag.DRAFT)):
                if letter in value:
                    flags |= flag
        elif key == b"x-mozilla-status":
            try:
                bits = int(value.strip(), 16)
            except ValueError:
                continue
            for bit, flag in _MOZILLA.items():
                if bits & bit:
                    flags |= flag
    return flags


def messages(handle: BinaryIO) -> Iterator[MboxMessage]:
    lines: list[bytes] = []
    size = 0
    date: int | None = None
    offset = 0
    previous_blank = True

    def finish() -> MboxMessage | None:
        if not lines:
            return None
        # The empty line before the next "From " belongs to the mbox format, not the message.
        if lines[-1] in (b"\n", b"\r\n"):
            lines.pop()
        source = b"".join(lines)
        header_end = source.find(b"\n\n")
        headers = source if header_end < 0 else source[:header_end]
        return MboxMessage(source, _flags(headers), date, offset)

    started = False
    for line in handle:
        offset += len(line)
        if line.startswith(b"From ") and previous_blank:
            message = finish()
            if message is not None:
                yield message
            lines, size, started = [], 0, True
            date = _from_line_date(line)
            previous_blank = False
            continue
        previous_blank = line in (b"\n", b"\r\n")
        if not started:
            continue  # garbage before the first From line
        if _QUOTED_FROM.match(line):
            line = line[1:]
        size += len(line)
        if size <= MAX_MESSAGE:
            lines.append(line)
    message = finish()
    if message is not None:
        yield message


def header_date(source: bytes) -> int | None:
    """Fallback internal date from the Date: header."""
    end = source.find(b"\n\n")
    for line in (source if end < 0 else source[:end]).split(b"\n"):
        if line[:5].lower() == b"date:":
            try:
                parsed = email.utils.parsedate_to_datetime(line[5:].decode("latin-1").strip())
                return int(parsed.timestamp())
            except (TypeError, ValueError, IndexError):
                return None
    return None
