"""The Sieve grammar (RFC 5228 §8.2): tokens -> an untyped syntax tree.

    commands  = *command
    command   = identifier arguments (";" / block)
    block     = "{" commands "}"
    arguments = *argument [test / test-list]
    argument  = string-list / number / tag
    test      = identifier arguments
    test-list = "(" test *("," test) ")"

This module knows nothing about which commands exist; ``validate`` checks
the tree against the command table.  Nesting is bounded (:data:`MAX_DEPTH`)
so that hostile scripts get a syntax error, never a RecursionError.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import SieveSyntaxError
from .lexer import Token

__all__ = ["MAX_DEPTH", "RawArg", "RawCommand", "RawTest", "parse_tokens"]

#: Blocks and tests nested deeper than this are refused.
MAX_DEPTH = 64


@dataclass(slots=True)
class RawArg:
    """A tag (``kind="tag"``, ``value`` the lower-cased name with colon), a
    number, or a string list (``is_list`` False for a lone string)."""

    kind: str
    value: str | int | list[str]
    line: int
    column: int
    is_list: bool = False


@dataclass(slots=True)
class RawTest:
    name: str
    line: int
    column: int
    args: list[RawArg] = field(default_factory=list)
    tests: list[RawTest] = field(default_factory=list)
    test_list: bool = False  # tests were given in parentheses


@dataclass(slots=True)
class RawCommand:
    name: str
    line: int
    column: int
    args: list[RawArg] = field(default_factory=list)
    tests: list[RawTest] = field(default_factory=list)
    test_list: bool = False
    block: list[RawCommand] | None = None
    end_line: int = 0  # line of the ";" or "}" (for "missing semicolon" hints)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.toks = tokens
        self.pos = 0

    def peek(self) -> Token | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def error(self, tok: Token | None, reason: str) -> SieveSyntaxError:
        if tok is None:
            last = self.toks[-1] if self.toks else None
            line = last.line if last else 1
            col = last.column if last else 1
            return SieveSyntaxError(line, col, reason.replace("{found}", "end of script"))
        found = {
            "identifier": f"identifier '{tok.value}'",
            "tag": f"tag '{tok.value}'",
            "number": "number",
            "string": "string",
        }.get(tok.kind, f"'{tok.value}'")
        return SieveSyntaxError(tok.line, tok.column, reason.replace("{found}", found))

    def commands(self, depth: int, closing: bool) -> list[RawCommand]:
        out: list[RawCommand] = []
        while True:
            tok = self.peek()
            if tok is None:
                if closing:
                    raise self.error(None, "missing '}' at {found}")
                return out
            if tok.kind == "}":
                if closing:
                    return out
                raise self.error(tok, "unexpected '}'")
            if tok.kind != "identifier":
                raise self.error(tok, "expected a command but found {found}")
            out.append(self.command(depth))

    def command(self, depth: int) -> RawCommand:
        tok = self.toks[self.pos]
        self.pos += 1
        cmd = RawCommand(str(tok.value), tok.line, tok.column)
        self.arguments(cmd, depth)
        nxt = self.peek()
        if nxt is None:
            raise self.error(None, f"missing ';' after command '{cmd.name}' at {{found}}")
        if nxt.kind == ";":
            self.pos += 1
            cmd.end_line = nxt.line
            return cmd
        if nxt.kind == "{":
            if depth + 1 > MAX_DEPTH:
                raise self.error(nxt, "blocks nested too deeply")
            self.pos += 1
            cmd.block = self.commands(depth + 1, True)
            close = self.toks[self.pos]
            cmd.end_line = close.line
            self.pos += 1
            return cmd
        raise self.error(nxt, f"expected ';' or '{{' after command '{cmd.name}' but found {{found}}")

    def arguments(self, node: RawCommand | RawTest, depth: int) -> None:
        while True:
            tok = self.peek()
            if tok is None:
                return
            if tok.kind == "tag":
                node.args.append(RawArg("tag", tok.value, tok.line, tok.column))
                self.pos += 1
            elif tok.kind == "number":
                node.args.append(RawArg("number", tok.value, tok.line, tok.column))
                self.pos += 1
            elif tok.kind == "string":
                node.args.append(RawArg("strings", [str(tok.value)], tok.line, tok.column))
                self.pos += 1
            elif tok.kind == "[":
                node.args.append(self.string_list())
            else:
                break
        tok = self.peek()
        if tok is None:
            return
        if tok.kind == "identifier":
            node.tests.append(self.test(depth + 1))
        elif tok.kind == "(":
            if depth + 1 > MAX_DEPTH:
                raise self.error(tok, "tests nested too deeply")
            self.pos += 1
            node.test_list = True
            while True:
                t = self.peek()
                if t is None or t.kind != "identifier":
                    raise self.error(t, "expected a test but found {found}")
                node.tests.append(self.test(depth + 1))
                t = self.peek()
                if t is not None and t.kind == ",":
                    self.pos += 1
                    continue
                if t is not None and t.kind == ")":
                    self.pos += 1
                    break
                raise self.error(t, "expected ',' or ')' in test list but found {found}")

    def test(self, depth: int) -> RawTest:
        tok = self.toks[self.pos]
        if depth > MAX_DEPTH:
            raise self.error(tok, "tests nested too deeply")
        self.pos += 1
        node = RawTest(str(tok.value), tok.line, tok.column)
        self.arguments(node, depth)
        return node

    def string_list(self) -> RawArg:
        open_tok = self.toks[self.pos]
        self.pos += 1
        values: list[str] = []
        while True:
            tok = self.peek()
            if tok is None or tok.kind != "string":
                raise self.error(tok, "expected a string in string list but found {found}")
            values.append(str(tok.value))
            self.pos += 1
            tok = self.peek()
            if tok is not None and tok.kind == ",":
                self.pos += 1
                continue
            if tok is not None and tok.kind == "]":
                self.pos += 1
                return RawArg("strings", values, open_tok.line, open_tok.column, is_list=True)
            raise self.error(tok, "expected ',' or ']' in string list but found {found}")


def parse_tokens(tokens: list[Token]) -> list[RawCommand]:
    """Build the syntax tree; raises :class:`SieveSyntaxError`."""
    return _Parser(tokens).commands(0, False)
