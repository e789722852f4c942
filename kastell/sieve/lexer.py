"""The Sieve tokenizer (RFC 5228 §8.1 lexical tokens).

Theory of operation: :func:`tokenize` walks the script once with a handful of
anchored regexes and returns a flat list of :class:`Token`; the parser in
``grammar`` never looks at characters.  White space and both comment styles
are dropped.  Every token remembers its 1-based line and column so that
errors point at it.  Quoted strings are unescaped here (``\\\\`` and ``\\"``;
any other backslash is dropped, RFC 5228 §2.4.2), multi-line ``text:``
strings are dot-unstuffed (§2.4.2, §8.1).  Encoded-character and variable
expansion happen later because they depend on ``require``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import SieveSyntaxError

__all__ = ["MAX_NUMBER", "Token", "tokenize"]

#: Numbers are unsigned 64-bit in Pigeonhole; larger values are refused.
MAX_NUMBER = 2**63 - 1

_QUANTIFIER = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}

_WS = re.compile(r"[ \t\r\n]+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"([0-9]+)([KMGkmg]?)")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
_UNESCAPE = re.compile(r"\\(.)", re.S)
_TEXT_START = re.compile(r"text:[ \t]*(?:#[^\n]*)?\r?\n", re.I)
_LINE = re.compile(r"[^\n]*\n")
_BAD_CHARS = re.compile(r"[\x00\ud800-\udfff]")

_PUNCT = frozenset("[](){},;")


@dataclass(frozen=True, slots=True)
class Token:
    """``kind`` is one of ``identifier``, ``tag``, ``number``, ``string`` or
    the punctuation character itself; ``value`` is the decoded text (the tag
    name with its colon, lower-cased identifiers/tags) or the number."""

    kind: str
    value: str | int
    line: int
    column: int


class _Cursor:
    """Line/column bookkeeping for offsets into the script."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._line_starts = [0]
        for m in re.finditer("\n", text):
            self._line_starts.append(m.end())

    def where(self, pos: int) -> tuple[int, int]:
        lo, hi = 0, len(self._line_starts) - 1
        while lo < hi:  # binary search: last line start <= pos
            mid = (lo + hi + 1) // 2
            if self._line_starts[mid] <= pos:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, pos - self._line_starts[lo] + 1


def _fail(cur: _Cursor, pos: int, reason: str) -> SieveSyntaxError:
    line, col = cur.where(pos)
    return SieveSyntaxError(line, col, reason)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raises :class:`SieveSyntaxError`."""
    cur = _Cursor(text)
    bad = _BAD_CHARS.search(text)
    if bad is not None:
        raise _fail(cur, bad.start(), "invalid character in script")
    tokens: list[Token] = []
    pos, end = 0, len(text)
    while pos < end:
        ch = text[pos]
        if ch in " \t\r\n":
            m = _WS.match(text, pos)
            assert m is not None
            pos = m.end()
        elif ch == "#":
            nl = text.find("\n", pos)
            pos = end if nl < 0 else nl + 1
        elif text.startswith("/*", pos):
            close = text.find("*/", pos + 2)
            if close < 0:
                raise _fail(cur, pos, "unterminated bracket comment")
            pos = close + 2
        elif ch in _PUNCT:
            line, col = cur.where(pos)
            tokens.append(Token(ch, ch, line, col))
            pos += 1
        elif ch == '"':
            m = _QUOTED.match(text, pos)
            if m is None:
                raise _fail(cur, pos, "unterminated quoted string")
            line, col = cur.where(pos)
            tokens.append(Token("string", _UNESCAPE.sub(r"\1", m.group(1)), line, col))
            pos = m.end()
        elif ch == ":":
            m = _IDENT.match(text, pos + 1)
            if m is None:
                raise _fail(cur, pos, "expected a tag name after ':'")
            line, col = cur.where(pos)
            tokens.append(Token("tag", ":" + m.group(0).lower(), line, col))
            pos = m.end()
        elif ch.isdigit() and ch.isascii():
            m = _NUMBER.match(text, pos)
            assert m is not None
            line, col = cur.where(pos)
            value = int(m.group(1)) * _QUANTIFIER.get(m.group(2).lower(), 1)
            if value > MAX_NUMBER:
                raise _fail(cur, pos, "number too large")
            after = m.end()
            if after < end and (text[after].isalnum() or text[after] == "_"):
                raise _fail(cur, after, "invalid number")
            tokens.append(Token("number", value, line, col))
            pos = after
        elif ch.isascii() and (ch.isalpha() or ch == "_"):
            if text[pos : pos + 5].lower() == "text:":
                pos = _multiline(text, pos, cur, tokens)
                continue
            m = _IDENT.match(text, pos)
            assert m is not None
            line, col = cur.where(pos)
            tokens.append(Token("identifier", m.group(0).lower(), line, col))
            pos = m.end()
        else:
            raise _fail(cur, pos, f"unexpected character {ch!r}")
    return tokens


def _multiline(text: str, pos: int, cur: _Cursor, tokens: list[Token]) -> int:
    """``text:`` ... CRLF "." CRLF; returns the offset after the end line."""
    m = _TEXT_START.match(text, pos)
    if m is None:
        raise _fail(cur, pos + 5, "expected end of line after 'text:'")
    m_end = m.end()
    line, col = cur.where(pos)
    out: list[str] = []
    p = m_end
    while True:
        lm = _LINE.match(text, p)
        if lm is None:  # last line without a newline
            rest = text[p:]
            if rest.rstrip("\r") == ".":
                return len(text)
            raise _fail(cur, pos, "unterminated multi-line string")
        raw = lm.group(0)
        body = raw[:-1].rstrip("\r") if raw.endswith("\r\n") else raw[:-1]
        if body == ".":
            tokens.append(Token("string", "".join(out), line, col))
            return lm.end()
        if raw.startswith("."):
            raw = raw[1:]  # dot-stuffing: ".." -> "."
        out.append(raw)
        p = lm.end()
