"""The ManageSieve command reader: what clients send, and anything at all."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kastell.protocols.managesieve.parser import NEED_DATA, Command, CommandReader, Malformed, quoted


def read_all(data: bytes, *, chunk: int = 7, max_literal: int = 1000) -> list[Command | Malformed]:
    reader = CommandReader(max_literal)
    out: list[Command | Malformed] = []
    for start in range(0, len(data), chunk):
        reader.feed(data[start : start + chunk])
        while True:
            item = reader.next()
            if item is NEED_DATA:
                break
            assert isinstance(item, Command | Malformed)
            out.append(item)
            if isinstance(item, Malformed) and item.fatal:
                return out
    return out


def test_commands_strings_and_literals() -> None:
    data = (
        b'PUTSCRIPT "my \\"rules\\"" {11+}\r\nkeep;\r\nstop\r\n'
        b"havespace foo 1024\r\n"
        b'AUTHENTICATE "PLAIN" {4}\r\nAGFi\r\n'
        b"LOGOUT\n"
    )
    assert read_all(data) == [
        Command("PUTSCRIPT", ('my "rules"', "keep;\r\nstop")),
        Command("HAVESPACE", ("foo", 1024)),
        Command("AUTHENTICATE", ("PLAIN", "AGFi")),
        Command("LOGOUT", ()),
    ]


def test_bad_input_is_skipped_to_the_end_of_the_line() -> None:
    # a literal announced at the end of a bad line is skipped with it, never read as commands
    data = b'"no name"\r\nGETSCRIPT "a\\x"\r\nNOOP\r\n\x00\x01\r\nX * {9+}\r\nLOGOUT\r\n\r\nCAPABILITY\r\n'
    out = read_all(data)
    assert [type(o).__name__ for o in out][:3] == ["Malformed", "Malformed", "Command"]
    assert out[2] == Command("NOOP", ())
    assert Command("LOGOUT", ()) not in out
    assert out[-1] == Command("CAPABILITY", ())


def test_oversized_literal_is_fatal() -> None:
    out = read_all(b'PUTSCRIPT "x" {999999+}\r\n' + b"a" * 100, max_literal=1000)
    assert isinstance(out[-1], Malformed) and out[-1].fatal


def test_long_line_without_end_does_not_grow_forever() -> None:
    reader = CommandReader(1000)
    for _ in range(50):
        reader.feed(b"A" * 1000)
        while (item := reader.next()) is not NEED_DATA:
            assert isinstance(item, Malformed)
    assert len(reader.buffer) < 20000


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=1, max_value=50))
def test_any_bytes_any_chunking(data: bytes, chunk: int) -> None:
    read_all(data, chunk=chunk)  # never raises, never loops


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_quoted_round_trip(text: str) -> None:
    encoded = quoted(text)
    [command] = read_all(b"X " + encoded + b"\r\n", max_literal=10000)
    assert command == Command("X", (text,)) or text.isdigit() and command == Command("X", (int(text),))
