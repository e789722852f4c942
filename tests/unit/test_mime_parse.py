"""Targeted parser tests: header blocks, boundaries, limits, parameters,
encoded words, addresses and dates."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from kastell.formats.mime import Address, BodyPart, iter_parts, parse_message
from kastell.formats.mime.addresses import parse_address_list
from kastell.formats.mime.encoded_words import decode_words
from kastell.formats.mime.envelope import parse_date
from kastell.formats.mime.headers import find_body_start
from kastell.formats.mime.message import parse_message_strict
from kastell.formats.mime.params import parse_content_type, parse_encoding
from kastell.formats.mime.structure import MAX_DEPTH, MAX_PARTS, split_multipart

# --- header blocks ---------------------------------------------------------


@pytest.mark.parametrize(
    "raw,expected",
    [
        (b"A: b\r\n\r\nbody", 8),
        (b"A: b\n\nbody", 6),
        (b"A: b\r\n\nbody", 7),  # CRLF then bare LF: a mixed blank line
        (b"A: b\n\r\nbody", 7),
        (b"\r\nbody", 2),  # no header fields at all
        (b"\nbody", 1),
        (b"A: b\r\nC: d", 10),  # no blank line: all header
        (b"", 0),
        (b"A: b\r\n \r\nC: d\r\n\r\nx", 17),  # a whitespace-only line is a fold, not the end
    ],
)
def test_find_body_start(raw: bytes, expected: int) -> None:
    assert find_body_start(raw, 0, len(raw)) == expected


def test_folding_and_first_occurrence() -> None:
    m = parse_message(b"Subject: first\r\n\tpart\r\nSubject: second\r\nFrom: a@b\r\n\r\n")
    assert m.envelope.subject == b"first\tpart"
    assert m.subject == "first\tpart"


def test_mbox_from_line_and_garbage_are_skipped() -> None:
    raw = b"From a@b Sat Jan  3 01:05:34 1996\nSubject: s\n: no name\nX\n\nbody"
    m = parse_message(raw)
    assert m.subject == "s"
    assert m.root.body_start == len(raw) - 4
    assert m.preview == "body"


def test_whitespace_before_colon() -> None:
    assert parse_message(b"Subject : spaced\r\n\r\n").subject == "spaced"


# --- content types and parameters ----------------------------------------------


def test_content_type_parsing() -> None:
    assert parse_content_type(b'Text/HTML; Charset="UTF-8"; format=flowed') == (
        "text",
        "html",
        (("charset", "UTF-8"), ("format", "flowed")),
    )
    assert parse_content_type(b"text") is None  # invalid -> default applies
    assert parse_content_type(b"/plain") is None
    assert parse_content_type(b'multipart/mixed;\r\n boundary="a b"; junk; x="unterminated') == (
        "multipart",
        "mixed",
        (("boundary", "a b"), ("x", "unterminated")),
    )
    assert parse_content_type(b'application/x; name="a\\"b\\\\c"')[2] == (("name", 'a"b\\c'),)  # type: ignore[index]


def test_rfc2231_sections_out_of_order_and_mixed() -> None:
    ct = parse_content_type(b"application/x; title*1=\" world\"; title*0*=us-ascii'en'hello%21; title=ignored")
    assert ct is not None and ct[2] == (("title", "hello! world"),)
    ct = parse_content_type(b"application/x; name*=''%E2%82%AC")  # no charset: UTF-8 assumed
    assert ct is not None and ct[2] == (("name", "\u20ac"),)
    ct = parse_content_type(b"application/x; name*=bogus-charset''%FF")
    assert ct is not None and ct[2] == (("name", "\ufffd"),)


def test_default_content_type() -> None:
    m = parse_message(b"Subject: x\r\n\r\nhello")
    assert (m.root.type, m.root.subtype, m.root.params) == ("text", "plain", (("charset", "us-ascii"),))
    m = parse_message(b"Content-Type: garbage\r\n\r\nhello")
    assert (m.root.type, m.root.subtype) == ("text", "plain")


@pytest.mark.parametrize(
    "value,expected",
    [(b"Base64", "base64"), (b" QUOTED-PRINTABLE (comment)", "quoted-printable"), (b"?invalid", "7bit"), (b"", "7bit")],
)
def test_transfer_encoding(value: bytes, expected: str) -> None:
    assert parse_encoding(value) == expected


# --- multipart splitting ---------------------------------------------------------


def test_split_multipart_rules() -> None:
    body = b"pre\r\n--b\r\nA\r\n--bX\r\nstill A\r\n--b  \t\r\nB\r\n--b--\r\nepilogue\r\n--b\r\nC"
    spans = split_multipart(body, 0, len(body), b"b", 100)
    assert [body[s:e] for s, e in spans] == [b"A\r\n--bX\r\nstill A", b"B"]


def test_split_multipart_empty_parts_and_truncation() -> None:
    body = b"--b\r\n--b\r\n\r\n--b\r\nlast"
    assert [body[s:e] for s, e in split_multipart(body, 0, len(body), b"b", 100)] == [b"", b"", b"last"]
    assert split_multipart(b"no delimiter here", 0, 17, b"b", 100) == []
    body = b"--b\r\none\r\n--b\r\ntwo\r\n--b\r\nthree\r\n--b--"
    # budget 2: the second part absorbs everything after it
    assert [body[s:e] for s, e in split_multipart(body, 0, len(body), b"b", 2)] == [
        b"one",
        b"two\r\n--b\r\nthree\r\n--b--",
    ]


def test_boundary_prefix_of_child_boundary() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n"
        b"Content-Type: multipart/alternative; boundary=ab\r\n\r\n--ab\r\n\r\nx\r\n--ab\r\n\r\ny\r\n--ab--\r\n"
        b"--a\r\n\r\nz\r\n--a--\r\n"
    )
    m = parse_message_strict(raw)
    alt, z = m.root.children
    assert [raw[c.body_start : c.body_end] for c in alt.children] == [b"x", b"y"]
    assert raw[z.body_start : z.body_end] == b"z"


def test_multipart_without_delimiters_is_text_plain() -> None:
    m = parse_message(b"Content-Type: multipart/mixed; boundary=zz\r\n\r\njust text\r\n")
    assert (m.root.type, m.root.subtype, m.root.children) == ("text", "plain", ())
    assert m.preview == "just text"


def _nested_multipart(depth: int) -> bytes:
    head = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth))
    tail = b"".join(b"\r\n--b%d--" % i for i in reversed(range(depth)))
    return head + b"Content-Type: text/plain\r\n\r\ndeepest" + tail + b"\r\n"


def _depth(part: BodyPart) -> int:
    depth = 0
    while part.children:
        part = part.children[0]
        depth += 1
    return depth


def test_thousand_level_multipart_nesting() -> None:
    raw = _nested_multipart(1000)
    start = time.perf_counter()
    m = parse_message_strict(raw)  # no RecursionError
    elapsed = time.perf_counter() - start
    assert _depth(m.root) == MAX_DEPTH
    leaf = m.root
    while leaf.children:
        leaf = leaf.children[0]
    assert (leaf.type, leaf.subtype) == ("application", "octet-stream")
    assert elapsed < 5  # generous: guards against quadratic blow-ups, not a benchmark


def test_thousand_level_message_rfc822_nesting() -> None:
    raw = (
        b"Subject: level 0\r\nContent-Type: message/rfc822\r\n\r\n"
        + b"".join(b"Subject: level %d\r\nContent-Type: message/rfc822\r\n\r\n" % i for i in range(1, 1000))
        + b"Subject: bottom\r\n\r\ntext"
    )
    m = parse_message_strict(raw)
    assert _depth(m.root) == MAX_DEPTH
    assert m.root.envelope is not None and m.root.envelope.subject == b"level 1"


def test_part_count_is_capped() -> None:
    n = MAX_PARTS + 500
    raw = (
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n"
        + b"".join(b"--x\r\n\r\n%d\r\n" % i for i in range(n))
        + b"--x--\r\n"
    )
    m = parse_message_strict(raw)
    parts = list(iter_parts(m.root))
    assert len(parts) == MAX_PARTS
    last = m.root.children[-1]
    assert last.body_end == len(raw)  # the rest is folded into the last part
    assert raw[last.body_start : last.body_start + 4] == b"9998"


def test_part_budget_shared_with_nested_multiparts() -> None:
    inner = b"Content-Type: multipart/mixed; boundary=i\r\n\r\n" + b"--i\r\n\r\nx\r\n" * (MAX_PARTS + 10) + b"--i--"
    raw = b"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n" + inner + b"\r\n--o\r\n\r\nsecond\r\n--o--\r\n"
    m = parse_message_strict(raw)
    assert len(list(iter_parts(m.root))) <= MAX_PARTS
    assert m.root.children[1].body_end - m.root.children[1].body_start == 6


def test_encoded_message_rfc822_is_not_parsed() -> None:
    raw = b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQp5"
    m = parse_message(raw)
    assert m.root.children == () and m.root.envelope is None


def test_message_global_is_parsed() -> None:
    raw = b"Content-Type: message/global\r\n\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nFrom: a@b\r\n\r\nbody"
    m = parse_message(raw)
    assert m.root.is_message and m.root.envelope is not None
    assert m.root.envelope.from_ == (Address(None, "a", "b", None),)


# --- RFC 2047 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        ("=?utf-8?q?caf=C3=A9?=", "caf\u00e9"),
        ("=?UTF-8?B?Y2Fmw6k=?= au lait", "caf\u00e9 au lait"),
        ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),  # whitespace between words dropped
        ("=?utf-8?q?a?=\r\n =?utf-8?q?b?=", "ab"),
        ("x =?utf-8?q?a?= y", "x a y"),
        ("=?utf-8?b?w6k?=", "\u00e9"),  # missing padding
        ("=?utf-8?b?ww==?= =?utf-8?b?qQ==?=", "\u00e9"),  # one character split across words
        ("=?iso-8859-1?q?=E9?= =?utf-8?q?=C3=A9?=", "\u00e9\u00e9"),
        ("=?x-unknown?q?=C3=A9?=", "\u00e9"),
        ("=?utf-8*en?q?hi?=", "hi"),  # RFC 2231 language suffix
        ("=?utf-8?x?broken?=", "=?utf-8?x?broken?="),
        ("=?utf-8?q?unterminated", "=?utf-8?q?unterminated"),
        ("=?base64?q?x?=", "x"),  # non-text codec names are refused
        ("=?undefined?q?x?=", "x"),
    ],
)
def test_decode_words(value: str, expected: str) -> None:
    assert decode_words(value) == expected


# --- addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        (b"a@b", [(None, "a", "b")]),
        (b"John Doe <JD@Example.COM>", [("John Doe", "JD", "Example.COM")]),
        (b'"Doe, John" <j@x>, k@y', [("Doe, John", "j", "x"), (None, "k", "y")]),
        (b"j@x (John Doe)", [("John Doe", "j", "x")]),
        (b"(comment) <j@x>", [("comment", "j", "x")]),
        (b"John <j@x", [("John", "j", "x")]),  # missing ">"
        (b"j@x <j@x>", [("j@x", "j", "x")]),
        (b"=?utf-8?q?Doe,_J=C3=B6rg?= <j@x>", [("Doe, J\u00f6rg", "j", "x")]),
        (b"root", [(None, "root", "")]),
        (b"<@a,@b:j@x>", [(None, "j", "x")]),
        (b"j.doe@[192.0.2.1]", [(None, "j.doe", "[192.0.2.1]")]),
        (b'"j doe"@x', [(None, '"j doe"', "x")]),
        (b"a@b@c, d@e", [(None, "a", "b"), (None, "d", "e")]),
        (b"<>", [(None, "", "")]),
        (b"", []),
        (b" , ,", []),
    ],
)
def test_addresses(value: bytes, expected: list[tuple[str | None, str, str]]) -> None:
    assert [(a.name, a.mailbox, a.host) for a in parse_address_list(value)] == expected


def test_group_syntax() -> None:
    addrs = parse_address_list(b"undisclosed-recipients:;")
    assert addrs == (
        Address("undisclosed-recipients", "undisclosed-recipients", None, b"undisclosed-recipients"),
        Address(None, None, None, None),
    )
    addrs = parse_address_list(b"Friends: a@b, C <c@d>")  # unterminated group is closed
    assert [a.addr for a in addrs] == ["", "a@b", "c@d", ""]
    assert addrs[-1] == Address(None, None, None, None)


def test_from_addr_skips_group_markers_and_lowercases() -> None:
    m = parse_message(b"From: List: Some One <Some.One@Example.ORG>;\r\nTo: A <A@B.c>, x:;\r\n\r\n")
    assert m.from_addr == "some.one@example.org" and m.from_name == "Some One"
    assert m.to_addrs == ("a@b.c",)


# --- dates and message ids ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        (b"Tue, 14 May 2024 09:12:40 +0200", datetime(2024, 5, 14, 9, 12, 40, tzinfo=timezone(timedelta(hours=2)))),
        (b"14 May 2024 09:12 -0000", datetime(2024, 5, 14, 9, 12, tzinfo=UTC)),
        (b"Tue, 14 May 2024 09:12:40 GMT", datetime(2024, 5, 14, 9, 12, 40, tzinfo=UTC)),
        (b"Tue, 14 May 24 09:12:40 EST", datetime(2024, 5, 14, 9, 12, 40, tzinfo=timezone(timedelta(hours=-5)))),
        (b"Tue, 14 May 2024 09:12:40", datetime(2024, 5, 14, 9, 12, 40, tzinfo=UTC)),
        (b"Tue, 31 Feb 2024 09:12:40 +0000", None),
        (b"not a date", None),
        (b"Tue, 14 May 2024 09:12:40 +9999", None),
        (b"", None),
        (None, None),
    ],
)
def test_parse_date(value: bytes | None, expected: datetime | None) -> None:
    assert parse_date(value) == expected
    if expected is not None:
        assert parse_date(value).tzinfo is not None  # type: ignore[union-attr]


def test_message_ids() -> None:
    m = parse_message(
        b"Message-ID:  <abc@x>  \r\nIn-Reply-To: <p@x> (comment) <q@x>\r\nReferences: <1@x>\r\n\t<2@x> <3@x>\r\n\r\n"
    )
    assert m.message_id == "abc@x"
    assert m.in_reply_to == ("p@x", "q@x")
    assert m.references == ("1@x", "2@x", "3@x")
    assert parse_message(b"Message-ID: bare-id\r\n\r\n").message_id == "bare-id"
    assert parse_message(b"Message-ID:\r\n\r\n").message_id is None


# --- has_attachments -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "part_headers,expected",
    [
        (b"Content-Type: application/pdf; name=a.pdf", True),
        (b"Content-Type: image/png\r\nContent-Disposition: inline; filename=a.png", True),
        (b"Content-Type: text/plain\r\nContent-Disposition: attachment", True),
        (b"Content-Type: text/plain; name=notes.txt", False),  # text with a name but inline
        (b"Content-Type: image/png", False),  # no filename, not marked attachment
    ],
)
def test_has_attachments(part_headers: bytes, expected: bool) -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\nhi\r\n--q\r\n"
        + part_headers
        + b"\r\n\r\nx\r\n--q--\r\n"
    )
    assert parse_message(raw).has_attachments is expected


def test_parse_message_accepts_bytearray_and_memoryview() -> None:
    raw = b"Subject: s\r\n\r\nbody"
    assert parse_message(bytearray(raw)) == parse_message(raw)  # type: ignore[arg-type]
    assert parse_message(memoryview(raw)) == parse_message(raw)  # type: ignore[arg-type]


def test_guard_turns_bugs_into_flat_messages(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from kastell.formats.mime import message as message_module

    def boom(raw: bytes) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(message_module, "parse_message_strict", boom)
    m = message_module.parse_message(b"Subject: x\r\n\r\nbody\n")
    assert (m.root.type, m.root.body_start, m.root.body_end) == ("text", 0, 19)
    assert "simulated bug" in caplog.text
