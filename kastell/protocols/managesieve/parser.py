"""Commands of RFC 5804 §4 from a byte stream.

A command is an atom followed by arguments — atoms, numbers, quoted strings
(``\\\\`` and ``\\"`` escapes) and literals (``{N+}`` CRLF N octets, and the
synchronising ``{N}`` some clients send; ManageSieve has no continuation
requests, so both are read at once) — ended by CRLF. ``CommandReader.next``
returns a :class:`Command`, NEED_DATA, or a :class:`Malformed` whose bytes up to
the end of the line have been skipped so the session can go on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class _Need:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = _Need()
MAX_LINE = 8192  # bytes of a command outside its literals


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # upper case
    args: tuple[str | int, ...]  # strings decoded as UTF-8 (or with surrogateescape); numbers as int


@dataclass(frozen=True, slots=True)
class Malformed:
    reason: str
    fatal: bool = False  # the stream cannot be resynchronised (a literal over the limit)


_ATOM = re.compile(rb"[A-Za-z0-9_\-.+]+")
_LITERAL = re.compile(rb"\{(\d{1,10})(\+?)\}\r\n")
_TRAILING_LITERAL = re.compile(rb"\{(\d{1,10})\+?\}\r?\n")


class CommandReader:
    def __init__(self, max_literal: int) -> None:
        self.buffer = bytearray()
        self.max_literal = max_literal

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def clear(self) -> None:
        self.buffer.clear()

    def next(self, *, response: bool = False) -> Command | Malformed | _Need:
        """The next command; with ``response`` a line that is just a string (a SASL
        response, RFC 5804 §2.1) comes back as the command "" with that argument."""
        buf = self.buffer
        pos = 0
        args: list[str | int] = []
        name: str | None = None
        outside = 0  # bytes of the command that were not literal content
        while True:
            # skip spaces between tokens
            while pos < len(buf) and buf[pos] == 0x20:
                pos += 1
                outside += 1
            if outside > MAX_LINE:
                return self._skip_line("command line too long")
            if pos >= len(buf):
                return NEED_DATA
            ch = buf[pos]
            if ch == 0x0D or ch == 0x0A:
                if ch == 0x0D:
                    if pos + 1 >= len(buf):
                        return NEED_DATA
                    if buf[pos + 1] != 0x0A:
                        return self._skip_line("bare CR")
                    end = pos + 2
                else:
                    end = pos + 1  # a bare LF ends the line too (lenient, like most servers)
                del buf[:end]
                if name is None:
                    return Malformed("empty command")
                return Command(name, tuple(args))
            if ch == 0x22:  # quoted string
                value, after = _quoted(buf, pos)
                if after is None:
                    if b"\n" in buf[pos:]:
                        return self._skip_line(value or "unterminated quoted string")
                    return NEED_DATA if len(buf) - pos <= MAX_LINE else self._skip_line("command line too long")
                outside += after - pos
                pos = after
                if name is None:
                    if not response:
                        return self._skip_line("a command starts with its name")
                    name = ""
                args.append(value)
                continue
            if ch == 0x7B:  # literal
                match = _LITERAL.match(buf, pos)
                if match is None:
                    if b"\n" in buf[pos : pos + 16] or len(buf) - pos > 16:
                        return self._skip_line("malformed literal")
                    return NEED_DATA
                size = int(match.group(1))
                if size > self.max_literal:
                    return Malformed(f"literal of {size} bytes is too large", fatal=True)
                start = match.end()
                if len(buf) < start + size:
                    return NEED_DATA
                if name is None:
                    if not response:
                        return self._skip_line("a command starts with its name")
                    name = ""
                args.append(bytes(buf[start : start + size]).decode("utf-8", "surrogateescape"))
                outside += match.end() - pos
                pos = start + size
                continue
            match = _ATOM.match(buf, pos)
            if match is None:
                return self._skip_line("unexpected character")
            token = match.group().decode("ascii")
            outside += len(token)
            pos = match.end()
            if name is None:
                name = token.upper()
            elif token.isdigit():
                args.append(int(token))
            else:
                args.append(token)

    def _skip_line(self, reason: str) -> Malformed | _Need:
        """Drop the rest of the command: up to the end of its line, and through any literal that
        line announces (``{N+}`` at its end), so the literal's bytes are not read as commands."""
        pos = 0
        while True:
            end = self.buffer.find(b"\n", pos)
            if end < 0:
                if len(self.buffer) > MAX_LINE and pos == 0:
                    self.buffer.clear()
                    return Malformed(reason)
                return NEED_DATA
            announced = _TRAILING_LITERAL.search(self.buffer, pos, end + 1)
            if announced is None:
                del self.buffer[: end + 1]
                return Malformed(reason)
            size = int(announced.group(1))
            if size > self.max_literal:
                return Malformed(f"literal of {size} bytes is too large", fatal=True)
            if len(self.buffer) < end + 1 + size:
                return NEED_DATA
            pos = end + 1 + size


def _quoted(buf: bytearray, pos: int) -> tuple[str, int | None]:
    """The string starting at the quote at ``pos`` and the index after it; (reason, None) if bad or incomplete."""
    out = bytearray()
    i = pos + 1
    while i < len(buf):
        ch = buf[i]
        if ch == 0x5C:  # backslash
            if i + 1 >= len(buf):
                return "", None
            nxt = buf[i + 1]
            if nxt not in (0x5C, 0x22):
                return "invalid escape in quoted string", None
            out.append(nxt)
            i += 2
            continue
        if ch == 0x22:
            return out.decode("utf-8", "surrogateescape"), i + 1
        if ch in (0x0D, 0x0A):
            return "line break in quoted string", None
        out.append(ch)
        i += 1
    return "", None


def quoted(text: str) -> bytes:
    """A quoted string for a response, or a literal when it has line breaks or is long."""
    data = text.encode("utf-8", "surrogateescape")
    if b"\r" in data or b"\n" in data or len(data) > 1024:
        return b"{%d}\r\n" % len(data) + data
    return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def literal(data: bytes) -> bytes:
    return b"{%d}\r\n" % len(data) + data
