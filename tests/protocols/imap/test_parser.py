"""The sans-I/O command parser: tables of (bytes, events), every split offset, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kastell.protocols.imap.parser import (
    NEED_DATA,
    Atom,
    Command,
    ContinuationRequest,
    Event,
    ParseError,
    Parser,
)

CASES: list[tuple[bytes, list[Event]]] = [
    (b"a1 NOOP\r\n", [Command("a1", "NOOP")]),
    (b"a1 noop\n", [Command("a1", "NOOP")]),  # bare LF tolerated
    (b'a2 LOGIN "bob" "p\\"w\\\\"\r\n', [Command("a2", "LOGIN", (b"bob", b'p"w\\'))]),
    (
        b"a3 LOGIN {3}\r\nbob {2}\r\npw\r\n",
        [ContinuationRequest(3), ContinuationRequest(2), Command("a3", "LOGIN", (b"bob", b"pw"))],
    ),
    (b"a4 APPEND INBOX {5+}\r\nhello\r\n", [Command("a4", "APPEND", (Atom("INBOX"), b"hello"))]),
    (b"a5 APPEND INBOX {5-}\r\nhello\r\n", [Command("a5", "APPEND", (Atom("INBOX"), b"hello"))]),
    (
        b"a6 UID fetch 1:*,$ (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.10>)\r\n",
        [
            Command(
                "a6", "UID FETCH", (Atom("1:*,$"), [Atom("FLAGS"), Atom("BODY.PEEK[HEADER.FIELDS (From To)]<0.10>")])
            )
        ],
    ),
    (
        b"a7 SEARCH OR (FROM x) NOT SEEN\r\n",
        [Command("a7", "SEARCH", (Atom("OR"), [Atom("FROM"), Atom("x")], Atom("NOT"), Atom("SEEN")))],
    ),
    (
        b"a8 STORE 1 +FLAGS (\\Seen $Junk)\r\n",
        [Command("a8", "STORE", (Atom("1"), Atom("+FLAGS"), [Atom("\\Seen"), Atom("$Junk")]))],
    ),
    (b'a9 LIST "" *\r\n', [Command("a9", "LIST", (b"", Atom("*")))]),
    (
        b"b1 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211))\r\n",
        [
            Command(
                "b1",
                "SELECT",
                (Atom("INBOX"), [Atom("QRESYNC"), [Atom("67890007"), Atom("20050715194045000"), Atom("41,43:211")]]),
            )
        ],
    ),
    (b"b2 NOOP \r\n", [Command("b2", "NOOP")]),
    (b'b3 LOGIN "unterminated\r\n', [ParseError("b3", "unterminated quoted string")]),
    (b"b4 FETCH 1 (FLAGS\r\n", [ParseError("b4", "expected space or ) in list")]),
    (b"+ bad\r\n", [ParseError(None, "invalid tag")]),
    (b"\r\n", [ParseError(None, "missing argument")]),
    (b"c1 UID\r\n", [ParseError("c1", "UID needs a command")]),
]


def run(parser: Parser, data: bytes, chunks: list[int] | None = None) -> list[Event]:
    events: list[Event] = []
    pieces = [data] if chunks is None else [data[a:b] for a, b in zip([0, *chunks], [*chunks, len(data)], strict=True)]
    for piece in pieces:
        parser.feed(piece)
        while True:
            event = parser.next_event()
            if event is NEED_DATA:
                break
            events.append(event)
    return events


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_table(data: bytes, expected: list[Event]) -> None:
    assert run(Parser(), data) == expected


@pytest.mark.parametrize(("data", "expected"), CASES)
def test_split_at_every_offset(data: bytes, expected: list[Event]) -> None:
    for cut in range(1, len(data)):
        assert run(Parser(), data, [cut]) == expected, cut


def test_byte_at_a_time() -> None:
    data = b"".join(d for d, _ in CASES[:12])
    expected = [e for _, es in CASES[:12] for e in es]
    assert run(Parser(), data, list(range(1, len(data)))) == expected


def test_session_continues_after_errors() -> None:
    events = run(Parser(), b'x1 LOGIN "oops\r\nx2 NOOP\r\n')
    assert events == [ParseError("x1", "unterminated quoted string"), Command("x2", "NOOP")]


def test_line_limit() -> None:
    parser = Parser(max_line=100)
    events = run(parser, b"t1 NOOP " + b"a" * 500 + b"\r\nt2 NOOP\r\n")
    assert isinstance(events[0], ParseError) and events[0].text == "line too long"
    assert events[-1] == Command("t2", "NOOP")


def test_line_limit_without_newline_yet() -> None:
    parser = Parser(max_line=100)
    events = run(parser, b"t1 NOOP " + b"a" * 500, [50, 150, 300])
    assert len(events) == 1 and isinstance(events[0], ParseError)
    assert run(parser, b"aaa\r\nt2 NOOP\r\n") == [Command("t2", "NOOP")]


def test_sync_literal_over_limit_is_refused_without_reading_it() -> None:
    parser = Parser(max_literal=10)
    events = run(parser, b"t1 APPEND INBOX {11}\r\nt2 NOOP\r\n")
    assert events == [ParseError("t1", "literal too large", "TOOBIG"), Command("t2", "NOOP")]


def test_nonsync_literal_over_limit_is_skipped() -> None:
    parser = Parser(max_literal=10)
    events = run(parser, b"t1 APPEND INBOX {20+}\r\n" + b"x" * 20 + b" more\r\nt2 NOOP\r\n", [25, 30])
    assert events == [ParseError("t1", "literal too large", "TOOBIG"), Command("t2", "NOOP")]


def test_the_literals_of_one_command_share_the_limit() -> None:
    """Many literals, each under the limit, must not add up to unbounded memory."""
    parser = Parser(max_literal=10)
    events = run(parser, b"t1 SEARCH TEXT {6+}\r\naaaaaa TEXT {6+}\r\nbbbbbb\r\nt2 NOOP\r\n")
    assert events == [ParseError("t1", "literal too large", "TOOBIG"), Command("t2", "NOOP")]
    # Under the limit together: fine, and the next command starts from zero again.
    events = run(parser, b"t3 SEARCH TEXT {4+}\r\naaaa TEXT {4+}\r\nbbbb\r\nt4 SEARCH TEXT {9+}\r\nccccccccc\r\n")
    assert [type(e) for e in events] == [Command, Command]


def test_literal_minus_limit() -> None:
    events = run(Parser(), b"t1 APPEND INBOX {5000-}\r\n")
    assert events == [] or isinstance(events[0], ParseError)


def test_literal_may_hold_crlf_and_nul() -> None:
    body = b"line\r\n\x00\r\n{3}\r\n"
    events = run(Parser(), b"t1 APPEND INBOX {%d+}\r\n" % len(body) + body + b"\r\n")
    assert events == [Command("t1", "APPEND", (Atom("INBOX"), body))]


def test_raw_lines_for_authenticate_and_idle() -> None:
    parser = Parser()
    parser.feed(b"dXNlcg==\r\nDONE\r\na NOOP\r\n")
    assert parser.next_line() == b"dXNlcg=="
    assert parser.next_line() == b"DONE"
    assert parser.next_event() == Command("a", "NOOP")


def test_deep_nesting_is_refused() -> None:
    events = run(Parser(), b"t1 X " + b"(" * 100 + b")" * 100 + b"\r\n")
    assert isinstance(events[0], ParseError)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=300), max_size=5))
def test_never_raises_on_random_bytes(data: bytes, cuts: list[int]) -> None:
    parser = Parser(max_line=200, max_literal=100)
    cuts = sorted({c for c in cuts if 0 < c < len(data)})
    for event in run(parser, data, cuts):
        assert isinstance(event, Command | ContinuationRequest | ParseError)


_atoms = st.sampled_from(
    ["FETCH", "1:*", "(FLAGS", "UID)", "{3}", "{2+}", '"x"', "BODY[1.2]<0.5>", "OR", "\\Seen", "(", ")", "~{1}"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(_atoms, max_size=8), max_size=6))
def test_never_raises_on_command_like_input(lines: list[list[str]]) -> None:
    data = b"".join(b"t " + " ".join(words).encode() + b"\r\nabc\r\n" for words in lines)
    for event in run(Parser(max_literal=100), data, list(range(1, len(data), 7))):
        assert isinstance(event, Command | ContinuationRequest | ParseError)
