"""Sans-I/O POP3 command reader: bytes in, command lines out.

Nothing here touches a network. :class:`LineReader` buffers what the peer sent
and hands out one line at a time; :func:`parse_command` splits a line into a
:class:`Command`. Limits are explicit because the peer controls the input:

* RFC 2449 §4: a command line is at most 255 octets including CRLF. A longer
  line is reported once as :data:`TOO_LONG` and its bytes are dropped up to the
  next LF, so a flood costs no memory and the session continues.
* A SASL response line (AUTH continuation, RFC 5034 §4) may be longer than a
  command; the reader's limit can be raised for the next line only
  (:meth:`LineReader.next_line` ``limit``).

Line ends: CRLF, and bare LF for lenient clients (the CR is stripped). The
line is returned without its end.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

MAX_COMMAND_LINE = 255  # octets, CRLF included (RFC 2449 §4)
MAX_SASL_LINE = 8192  # base64 of PLAIN with a long password, with room to spare


class Signal(enum.Enum):
    NEED_DATA = "need-data"
    TOO_LONG = "too-long"


NEED_DATA = Signal.NEED_DATA
TOO_LONG = Signal.TOO_LONG


@dataclass(frozen=True, slots=True)
class Command:
    """A command line: the keyword upper-cased (RFC 1939 §3: case-insensitive), the rest as sent."""

    verb: str
    args: tuple[str, ...]
    rest: str  # everything after the keyword and one space: PASS may contain spaces (RFC 1939 §7)


class LineReader:
    """Buffers bytes and yields lines; see the module docstring for the limits."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._discarding = False  # inside an overlong line, dropping bytes up to its LF

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def clear(self) -> int:
        """Drop everything buffered (after STLS: RFC 2595 §4, no plaintext carried into TLS);
        the number of bytes dropped."""
        dropped = len(self._buffer)
        self._buffer.clear()
        self._discarding = False
        return dropped

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def next_line(self, limit: int = MAX_COMMAND_LINE) -> bytes | Signal:
        """The next line without its line end, ``NEED_DATA``, or ``TOO_LONG`` (once per overlong line)."""
        while True:
            end = self._buffer.find(b"\n")
            if self._discarding:
                if end < 0:
                    self._buffer.clear()
                    return NEED_DATA
                del self._buffer[: end + 1]
                self._discarding = False
                continue
            if end < 0:
                if len(self._buffer) >= limit:
                    # Already too long without its end: report now, drop the rest as it comes.
                    self._buffer.clear()
                    self._discarding = True
                    return TOO_LONG
                return NEED_DATA
            if end + 1 > limit:
                del self._buffer[: end + 1]
                return TOO_LONG
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            return line[:-1] if line.endswith(b"\r") else line


def parse_command(line: bytes) -> Command | None:
    """Split a command line; None for an empty line or one with no keyword.

    Bytes that are not UTF-8 are replaced rather than refused: a keyword is
    ASCII anyway, and a user name or password that does not decode cannot
    match an account, so the session answers -ERR instead of failing.
    """
    text = line.decode("utf-8", "replace")
    if not text or text[0] == " ":
        return None
    verb, _, rest = text.partition(" ")
    if not verb or len(verb) > 4 or not verb.isascii() or not verb.isalpha():
        # RFC 1939 §3: keywords are 3 or 4 characters; anything else is not a command.
        return Command("", (), rest) if verb else None
    return Command(verb.upper(), tuple(rest.split()), rest)


def parse_number(text: str) -> int | None:
    """A message number or count (RFC 1939: decimal, no sign); None when it is not one."""
    if not text or len(text) > 10 or not text.isascii() or not text.isdigit():
        return None
    return int(text)
