"""Sans-I/O IMAP command parser (RFC 9051 §2.2, §4, §9; literals RFC 7888).

Theory of operation
-------------------
``feed(data)`` only buffers bytes.  ``next_event()`` returns one of:

* :class:`Command` — a complete command (all its lines and literals);
* :data:`NEED_DATA` — nothing complete yet, feed more bytes;
* :class:`ContinuationRequest` — the client announced a synchronising literal
  ``{n}``: the glue must send ``+ Ready`` before the client sends the bytes;
* :class:`ParseError` — a malformed or oversized command, answered ``BAD``
  (or ``NO [TOOBIG]``); the parser has resynchronised on the next line, so
  the session continues.

A command is gathered as a list of *segments*: the text of each line (without
its CRLF) and the literal payloads between them, in order.  Only when the
last line (one that does not end in a literal announcement) arrives is the
whole command tokenised, so a command split at any byte offset parses the
same.  Memory is bounded: a line may not exceed ``max_line`` bytes and the
literals of one command may not exceed ``max_literal`` bytes together (the
session lowers it before authentication, RFC 9051 §11.8 / RFC 7888 §4: a DoS
defence; one command with many literals must not add up to more).

Tokens: an :class:`Atom` (a ``str`` subclass) for atoms, NIL, numbers,
sequence sets and FETCH attributes such as ``BODY.PEEK[HEADER.FIELDS (A B)]<0.10>``
(the text inside ``[...]`` is kept verbatim, spaces and parentheses included);
``bytes`` for quoted strings and literals; ``list`` for parenthesised lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, TypeAlias

__all__ = [
    "NEED_DATA",
    "Atom",
    "Command",
    "ContinuationRequest",
    "Event",
    "Literal",
    "ParseError",
    "Parser",
    "Token",
]


class Atom(str):
    """An IMAP atom (RFC 9051 §4.1), kept as sent; compare with ``.upper()``."""

    __slots__ = ()


class Literal(bytes):
    """The bytes of a literal (RFC 9051 §4.3). A ``bytes`` like a quoted string, so
    every argument that takes a string takes it; APPEND tells a message from a
    quoted date-time by it (MULTIAPPEND, RFC 3502)."""

    __slots__ = ()


Token: TypeAlias = Atom | bytes | list["Token"]


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()


@dataclass(frozen=True, slots=True)
class Command:
    """``tag`` and upper-cased ``name`` (``"UID FETCH"`` for the UID forms) and the arguments."""

    tag: str
    name: str
    args: tuple[Token, ...] = ()


@dataclass(frozen=True, slots=True)
class ContinuationRequest:
    """A synchronising literal of ``size`` bytes was announced; send ``+`` to get it."""

    size: int


@dataclass(frozen=True, slots=True)
class ParseError:
    """``tag`` is None when even the tag could not be read (answer ``* BAD``).

    ``code`` is a response code such as ``TOOBIG`` (RFC 9051 §7.1) when one applies."""

    tag: str | None
    text: str
    code: str | None = None


Event: TypeAlias = Command | ContinuationRequest | ParseError | _NeedData

_LITERAL_END = re.compile(rb"(~?)\{(\d{1,20})([+-]?)\}\Z")
# RFC 9051 §9 tag: ASTRING-CHAR minus "+"; we also refuse the list wildcards.
_TAG = re.compile(r"[^\x00-\x20\x7f(){%*\"\\+]+\Z")
_ATOM_STOP = frozenset(b' ()\r\n"{')
# RFC 7888 §4: a LITERAL- server accepts non-synchronising literals up to 4096 bytes.
LITERAL_MINUS_MAX = 4096
MAX_DEPTH = 32  # nested lists; deeper is a DoS attempt, not a client


class _Fail(Exception):
    pass


@dataclass(slots=True)
class _Pending:
    segments: list[bytes | bytearray] = field(default_factory=list)  # line, literal, line, ...
    tag: str | None = None
    literal_bytes: int = 0  # announced so far: all literals of one command share max_literal


class Parser:
    """Incremental IMAP command parser; see the module docstring."""

    def __init__(self, *, max_line: int = 64 * 1024, max_literal: int = 64 * 1024 * 1024) -> None:
        self.max_line = max_line
        self.max_literal = max_literal
        self._buf = bytearray()
        self._pending = _Pending()
        self._literal_left = 0  # bytes of the current literal still to read
        self._literal: bytearray | None = None
        self._skip = 0  # bytes of a refused non-synchronising literal to throw away
        self._discard_line = False  # resynchronising: drop bytes up to the next LF
        self._error: ParseError | None = None  # reported once the bad command is skipped
        self._scan = 0

    # ------------------------------------------------------------------ input

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def take_buffer(self) -> bytes:
        """Remove and return the unparsed bytes (COMPRESS: they must be inflated first)."""
        data = bytes(self._buf)
        self.clear()
        return data

    def clear(self) -> None:
        """Forget buffered input (after STARTTLS: RFC 9051 §6.2.1, no plaintext injection)."""
        self._buf.clear()
        self._scan = 0

    def next_line(self) -> bytes | _NeedData:
        """One raw line without CRLF (AUTHENTICATE responses, IDLE's DONE)."""
        end = self._buf.find(b"\n")
        if end < 0:
            if len(self._buf) > self.max_line:
                self._buf.clear()
                return b""
            return NEED_DATA
        line = bytes(self._buf[:end])
        del self._buf[: end + 1]
        self._scan = 0
        return line[:-1] if line.endswith(b"\r") else line

    # ------------------------------------------------------------------ events

    def next_event(self) -> Event:
        while True:
            if self._skip:
                n = min(self._skip, len(self._buf))
                del self._buf[:n]
                self._skip -= n
                if self._skip:
                    return NEED_DATA
                self._discard_line = True
            if self._discard_line:
                end = self._buf.find(b"\n")
                if end < 0:
                    self._buf.clear()
                    return NEED_DATA
                del self._buf[: end + 1]
                self._discard_line = False
                self._scan = 0
                if self._error is not None:
                    error, self._error = self._error, None
                    return error
                continue
            if self._literal is not None:
                n = min(self._literal_left, len(self._buf))
                self._literal += self._buf[:n]
                del self._buf[:n]
                self._literal_left -= n
                if self._literal_left:
                    return NEED_DATA
                self._pending.segments.append(self._literal)
                self._literal = None
                continue
            end = self._buf.find(b"\n", self._scan)
            if end < 0:
                self._scan = len(self._buf)
                if len(self._buf) > self.max_line:
                    return self._fail("line too long", discard=True)
                return NEED_DATA
            if end > self.max_line:
                del self._buf[: end + 1]
                self._scan = 0
                return self._fail("line too long")
            line = bytes(self._buf[:end])
            del self._buf[: end + 1]
            self._scan = 0
            if line.endswith(b"\r"):
                line = line[:-1]
            segments = self._pending.segments
            if not segments:
                self._pending.tag = _peek_tag(line)
            segments.append(line)
            if sum(len(s) for s in segments[::2]) > self.max_line:
                return self._fail("command too long")
            m = _LITERAL_END.search(line)
            if m is None:
                return self._complete()
            size = int(m.group(2))
            sync = m.group(3) == b""
            total = self._pending.literal_bytes + size
            if total > self.max_literal or (m.group(3) == b"-" and size > LITERAL_MINUS_MAX):
                if sync:
                    # The client waits for "+" and will not send the bytes (RFC 9051 §7.5).
                    return self._fail("literal too large", code="TOOBIG")
                self._skip = size
                self._error = self._error_for("literal too large", "TOOBIG")
                self._pending = _Pending()
                continue
            self._pending.literal_bytes = total
            self._literal = bytearray()
            self._literal_left = size
            if sync:
                return ContinuationRequest(size)

    def _error_for(self, text: str, code: str | None = None) -> ParseError:
        return ParseError(self._pending.tag, text, code)

    def _fail(self, text: str, *, discard: bool = False, code: str | None = None) -> ParseError:
        error = self._error_for(text, code)
        self._pending = _Pending()
        if discard:
            # Oversized line: the rest of it is garbage; report once it is skipped.
            self._discard_line = True
            self._buf.clear()
            self._scan = 0
        return error

    def _complete(self) -> Event:
        pending, self._pending = self._pending, _Pending()
        try:
            return _parse_command(pending.segments)
        except _Fail as exc:
            return ParseError(pending.tag, str(exc))


def _peek_tag(line: bytes) -> str | None:
    tag = line.split(b" ", 1)[0].decode("latin-1")
    return tag if _TAG.match(tag) else None


# ---------------------------------------------------------------------- tokeniser


class _Reader:
    """Walks the segments: text of lines, with literal payloads between them."""

    def __init__(self, segments: list[bytes | bytearray]) -> None:
        self.segments = segments
        self.index = 0
        self.text = bytes(segments[0])
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text) and self.index >= len(self.segments) - 1

    def peek(self) -> int | None:
        return self.text[self.pos] if self.pos < len(self.text) else None

    def space(self) -> bool:
        if self.peek() == 0x20:
            self.pos += 1
            return True
        return False

    def token(self, depth: int = 0) -> Token:
        ch = self.peek()
        if ch is None:
            raise _Fail("missing argument")
        if ch == 0x28:  # "("
            if depth >= MAX_DEPTH:
                raise _Fail("lists nested too deeply")
            self.pos += 1
            items: list[Token] = []
            while True:
                if self.peek() == 0x29:
                    self.pos += 1
                    return items
                # "((a)(b))" without spaces is response syntax (body-type-mpart); tolerated.
                if items and not self.space() and self.peek() != 0x28:
                    raise _Fail("expected space or ) in list")
                if self.peek() == 0x29:  # tolerate "( a )" from sloppy clients
                    continue
                items.append(self.token(depth + 1))
        if ch == 0x22:  # quoted string
            return self._quoted()
        if ch in (0x7B, 0x7E):  # "{" literal, "~{" literal8
            m = _LITERAL_END.match(self.text, self.pos)
            if m is None:
                raise _Fail("invalid literal")
            self.index += 1
            if self.index >= len(self.segments):
                raise _Fail("missing literal")
            value = Literal(self.segments[self.index])
            self.index += 1
            self.text = bytes(self.segments[self.index])
            self.pos = 0
            return value
        return self._atom()

    def _quoted(self) -> bytes:
        out = bytearray()
        i = self.pos + 1
        text = self.text
        while i < len(text):
            c = text[i]
            if c == 0x22:
                self.pos = i + 1
                return bytes(out)
            if c == 0x5C:
                i += 1
                if i >= len(text) or text[i] not in (0x22, 0x5C):
                    raise _Fail("invalid escape in quoted string")
                c = text[i]
            elif c == 0:
                raise _Fail("NUL in quoted string")
            out.append(c)
            i += 1
        raise _Fail("unterminated quoted string")

    def _atom(self) -> Atom:
        text = self.text
        start = i = self.pos
        while i < len(text):
            c = text[i]
            if c == 0x5B:  # "[": a section spec runs to the matching "]" (RFC 9051 §6.4.5)
                depth = 0
                while i < len(text):
                    if text[i] == 0x5B:
                        depth += 1
                    elif text[i] == 0x5D:
                        depth -= 1
                        if depth == 0:
                            break
                    i += 1
                if i >= len(text):
                    raise _Fail("unterminated [")
                i += 1
                continue
            if c in _ATOM_STOP or c < 0x20 or c == 0x7F:
                break
            i += 1
        if i == start:
            raise _Fail(f"unexpected character {chr(text[i])!r}")
        self.pos = i
        return Atom(text[start:i].decode("utf-8", "replace"))


def _parse_command(segments: list[bytes | bytearray]) -> Command:
    reader = _Reader(segments)
    tag = reader.token()
    if not isinstance(tag, Atom) or not _TAG.match(tag):
        raise _Fail("invalid tag")
    if not reader.space():
        raise _Fail("missing command")
    name = reader.token()
    if not isinstance(name, Atom) or not name.isalpha() and name.upper() != "X-" and not name.isalnum():
        raise _Fail("invalid command name")
    command = name.upper()
    args: list[Token] = []
    while not reader.at_end():
        if not reader.space():
            raise _Fail("expected space between arguments")
        if reader.at_end():  # trailing space: tolerated (several clients send it)
            break
        args.append(reader.token())
    if command == "UID":
        if not args or not isinstance(args[0], Atom):
            raise _Fail("UID needs a command")
        command = "UID " + str(args.pop(0)).upper()
    return Command(tag, command, tuple(args))
