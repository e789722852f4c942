"""The database cache format: exact round trip, versioning, corruption."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kastell.formats.mime import dumps, loads, parse_message
from kastell.formats.mime.serial import FORMAT_VERSION

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "mime"


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.name)
def test_round_trip(path: Path) -> None:
    msg = parse_message(path.read_bytes())
    data = dumps(msg)
    assert isinstance(data, bytes)
    again = loads(data)
    assert again == msg
    assert dumps(again) == data
    assert again.date == msg.date and (again.date is None or again.date.utcoffset() == msg.date.utcoffset())  # type: ignore[union-attr]


def test_round_trip_preserves_exotic_strings() -> None:
    # UTF-7 can decode to lone surrogates; raw bytes include 8-bit and NUL.
    raw = b'Subject: =?utf-7?q?+2D3-?= \xff\x00\r\nFrom: "\xe9" <a@b>\r\n\r\n'
    msg = parse_message(raw)
    assert loads(dumps(msg)) == msg


def test_compact() -> None:
    msg = parse_message((CORPUS / "04-related-nested.eml").read_bytes())
    assert len(dumps(msg)) < 1500
    assert json.loads(dumps(msg))[0] == FORMAT_VERSION


@pytest.mark.parametrize("data", [b"", b"[]", b"[999]", b"{}", b"[1, 2]", b"\xff", b'[1,0,[],[],"","","",[],[],null]'])
def test_loads_rejects_foreign_data(data: bytes) -> None:
    with pytest.raises(ValueError):
        loads(data)


def test_imap_names_are_cached_only_when_they_differ() -> None:
    raw = (
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: TEXT/Plain\r\nContent-Transfer-Encoding: BASE64\r\n\r\naGk=\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nlower\r\n--b--\r\n"
    )
    msg = parse_message(raw)
    upper, lower = msg.root.children
    assert (upper.type, upper.subtype, upper.encoding) == ("text", "plain", "base64")  # the model stays lower-case
    assert upper.imap_names == ("TEXT", "Plain", "BASE64", None) and lower.imap_names is None
    assert loads(dumps(msg)) == msg
    data = json.loads(dumps(msg))
    assert len(data[2][15][0]) == 20 and len(data[2][15][1]) == 17
    # Entries cached before the field existed (17 or 19 elements) load with None.
    data[2][15][0] = data[2][15][0][:17]
    assert loads(json.dumps(data).encode()).root.children[0].imap_names is None
