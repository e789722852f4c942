"""The sans-I/O parts: line reader, command parser, multi-line encoder, TOP. Hypothesis for the hostile cases."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kastell.protocols.pop3.encode import MultilineEncoder, encode, top
from kastell.protocols.pop3.parser import (
    MAX_COMMAND_LINE,
    NEED_DATA,
    TOO_LONG,
    Command,
    LineReader,
    parse_command,
    parse_number,
)


def lines_of(reader: LineReader) -> list[object]:
    out: list[object] = []
    while (line := reader.next_line()) is not NEED_DATA:
        out.append(line)
    return out


def test_reader_lines_and_limits() -> None:
    reader = LineReader()
    reader.feed(b"USER a\r\nPASS b c\nST")
    assert lines_of(reader) == [b"USER a", b"PASS b c"]
    reader.feed(b"AT\r\n")
    assert lines_of(reader) == [b"STAT"]
    # 255 octets including CRLF is allowed, 256 is not (RFC 2449 §4).
    reader.feed(b"x" * (MAX_COMMAND_LINE - 2) + b"\r\n" + b"y" * (MAX_COMMAND_LINE - 1) + b"\r\nNOOP\r\n")
    assert lines_of(reader) == [b"x" * (MAX_COMMAND_LINE - 2), TOO_LONG, b"NOOP"]
    # An endless line is reported once and costs no memory (the server reads lines after every feed).
    seen = []
    for _ in range(100):
        reader.feed(b"z" * 10_000)
        seen += lines_of(reader)
        assert reader.buffered < MAX_COMMAND_LINE
    assert seen == [TOO_LONG]
    reader.feed(b"zzz\r\nQUIT\r\n")
    assert lines_of(reader) == [b"QUIT"]
    reader.feed(b"left over")
    assert reader.clear() == 9 and lines_of(reader) == []


def test_parse_command() -> None:
    assert parse_command(b"retr 1") == Command("RETR", ("1",), "1")
    assert parse_command(b"PASS my secret  pass") == Command("PASS", ("my", "secret", "pass"), "my secret  pass")
    assert parse_command(b"") is None
    assert parse_command(b" STAT") is None
    assert parse_command(b"STATISTICS").verb == ""  # type: ignore[union-attr]
    assert parse_command(b"\xff\xfe") == Command("", (), "")
    assert parse_number("12") == 12
    for bad in ("", "-1", "+1", "1.0", "٣", "9" * 11, "0x1"):
        assert parse_number(bad) is None


@given(st.lists(st.binary(max_size=400), max_size=20))
@settings(max_examples=300, deadline=None)
def test_reader_and_parser_never_crash(chunks: list[bytes]) -> None:
    reader = LineReader()
    for chunk in chunks:
        reader.feed(chunk)
        while (line := reader.next_line()) is not NEED_DATA:
            assert line is TOO_LONG or (isinstance(line, bytes) and len(line) < MAX_COMMAND_LINE)
            if isinstance(line, bytes):
                command = parse_command(line)
                assert command is None or command.verb == command.verb.upper()
        assert reader.buffered <= MAX_COMMAND_LINE + 400


def test_encoder() -> None:
    assert encode(b"") == b".\r\n"
    assert encode(b"a\r\n") == b"a\r\n.\r\n"
    assert encode(b"a") == b"a\r\n.\r\n"
    assert encode(b".a\n.\n..\r\nb.c\n") == b"..a\r\n..\r\n...\r\nb.c\r\n.\r\n"
    assert encode(b"a\r\r\n") == b"a\r\r\n.\r\n"


@given(st.lists(st.sampled_from([b"a", b".", b"\r", b"\n"]), max_size=60).map(b"".join), st.data())
@settings(max_examples=300, deadline=None)
def test_encoder_any_split_gives_the_same_bytes(source: bytes, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(source)), max_size=6)))
    encoder = MultilineEncoder()
    out, start = b"", 0
    for cut in [*cuts, len(source)]:
        out += encoder.feed(source[start:cut])
        start = cut
    out += encoder.finish()
    assert out == encode(source)
    # Every line ends in CRLF, the last line is ".", and un-stuffing gives the CRLF-normalised source.
    assert out.endswith(b".\r\n") and b"\n" not in out.replace(b"\r\n", b"")
    body = out[: -len(b".\r\n")]
    lines = body.split(b"\r\n")[:-1] if body else []
    unstuffed = b"\r\n".join(line[1:] if line.startswith(b".") else line for line in lines)
    normalised = source.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    assert unstuffed + (b"\r\n" if lines else b"") == (
        normalised if normalised.endswith(b"\r\n") or not normalised else normalised + b"\r\n"
    )


def test_top() -> None:
    source = b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n"
    assert top(source, 0) == b"A: 1\r\nB: 2\r\n\r\n"
    assert top(source, 2) == b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n"
    assert top(source, 99) == source
    assert top(b"A: 1\n\nbody\nmore\n", 1) == b"A: 1\n\nbody\n"
    assert top(b"no blank line", 5) == b"no blank line"
