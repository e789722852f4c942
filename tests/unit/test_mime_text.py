"""Body decoding, charsets, HTML stripping, preview and full-text extract."""

from __future__ import annotations

import pytest

from kastell.formats.mime import decode_body, extract_text, parse_message, part_text
from kastell.formats.mime.charsets import decode_charset, header_str, normalize_charset
from kastell.formats.mime.text import html_to_text
from kastell.formats.mime.transfer import b64decode, qpdecode


@pytest.mark.parametrize(
    "data,expected",
    [
        (b"aGVsbG8=", b"hello"),
        (b"aGVs\r\nbG8=\r\n", b"hello"),
        (b"aGVsbG8", b"hello"),  # missing padding
        (b"aGV*sb!G8=", b"hello"),  # junk characters
        (b"aGVsbG8=\r\nIHdvcmxk", b"hello world"),  # two concatenated streams
        (b"a", b""),
        (b"", b""),
        (b"====", b""),
    ],
)
def test_b64decode(data: bytes, expected: bytes) -> None:
    assert b64decode(data) == expected


def test_qpdecode() -> None:
    assert qpdecode(b"caf=C3=A9 soft=\r\nbreak =ZZ bad") == b"caf\xc3\xa9 softbreak =ZZ bad"
    assert qpdecode(b"a_b=3F", header=True) == b"a b?"


@pytest.mark.parametrize(
    "label,codec",
    [
        ("UTF8", "utf-8"),
        ("latin1", "cp1252"),
        ("ISO-8859-1", "cp1252"),
        ("win-1252", "cp1252"),
        ("windows-1250", "cp1250"),
        ('"utf-8"', "utf-8"),
        ("ks_c_5601-1987", "cp949"),
        ("gb2312", "gb18030"),
        ("x-sjis", "cp932"),
        ("iso-2022-jp", "iso2022_jp"),
        ("us-ascii", "ascii"),
        ("x-klingon", None),
        ("base64", None),
        ("", None),
    ],
)
def test_normalize_charset(label: str, codec: str | None) -> None:
    assert normalize_charset(label) == codec


def test_decode_charset_fallbacks() -> None:
    assert decode_charset(b"caf\xc3\xa9", "us-ascii") == "caf\u00e9"  # mislabelled UTF-8
    assert decode_charset(b"caf\xe9", "us-ascii") == "caf\u00e9"  # then windows-1252
    assert decode_charset(b"\x93q\x94", "iso-8859-1") == "\u201cq\u201d"  # the WHATWG mapping
    assert decode_charset(b"\xff", "utf-8") == "\ufffd"
    assert decode_charset(b"+AOk-", "utf-7") == "\u00e9"  # ASCII bytes, non-ASCII codec
    assert decode_charset(b"x", None) == "x"
    assert header_str(b"\xc3\xa9") == "\u00e9" and header_str(b"\xe9") == "\u00e9"


def test_part_text_html_meta_charset() -> None:
    raw = b'Content-Type: text/html\r\n\r\n<meta charset="windows-1251"><p>\xcf\xf0\xe8\xe2\xe5\xf2</p>'
    m = parse_message(raw)
    assert "\u041f\u0440\u0438\u0432\u0435\u0442" in part_text(raw, m.root)
    assert m.preview == "\u041f\u0440\u0438\u0432\u0435\u0442"


def test_decode_body_unknown_encoding_is_identity() -> None:
    raw = b"Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x\r\n"
    assert decode_body(raw, parse_message(raw).root) == b"begin 644 x\r\n"


def test_html_to_text() -> None:
    markup = (
        "<html><head><title>T</title><style>p{}</style></head><body>"
        "<!-- hidden --><script>alert('<p>no</p>')</script><p>One&nbsp;&amp; two</p>"
        "<div>th<b>re</b>e</div>a < b<br>end <unclosed"
    )
    text = html_to_text(markup)
    assert " ".join(text.split()) == "One & two three a < b end"  # NBSP counts as whitespace
    assert html_to_text("<head><meta x></head no close <body>visible").strip() == "visible"


def test_html_to_text_is_linear_on_hostile_input() -> None:
    import time

    for markup in ("<a" * 50_000, "<script>" + "<" * 100_000, "<!--" * 50_000, "<p" + " x" * 100_000):
        start = time.perf_counter()
        html_to_text(markup)
        assert time.perf_counter() - start < 2


def test_preview_is_bounded_and_skips_attachments() -> None:
    body = ("word " * 2000).encode()
    raw = (
        b"Content-Type: multipart/mixed; boundary=p\r\n\r\n--p\r\n"
        b"Content-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nATTACHMENT\r\n"
        b"--p\r\nContent-Type: text/plain\r\n\r\n" + body + b"\r\n--p--\r\n"
    )
    m = parse_message(raw)
    assert m.preview.startswith("word word") and len(m.preview) <= 256
    assert "ATTACHMENT" not in m.preview


def test_preview_needs_more_than_the_first_prefix() -> None:
    raw = b"Content-Type: text/plain\r\n\r\n" + b"\r\n" * 5000 + b"late text"
    assert parse_message(raw).preview == "late text"


def test_preview_from_base64_prefix_cut_on_line_boundary() -> None:
    import base64

    text = "\u00e9t\u00e9 " * 3000
    encoded = base64.encodebytes(text.encode()).replace(b"\n", b"\r\n")
    raw = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + encoded
    preview = parse_message(raw).preview
    assert preview == " ".join(text.split())[:256].rstrip()
    assert "\ufffd" not in preview


def test_extract_text_contents_and_limit() -> None:
    raw = (
        b"From: =?utf-8?q?J=C3=B6rg?= <j@x.de>\r\nTo: Ann <ann@y.org>\r\nCc: c@z.net\r\n"
        b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
        b"Content-Type: multipart/mixed; boundary=e\r\n\r\n--e\r\n"
        b"Content-Type: multipart/alternative; boundary=f\r\n\r\n--f\r\n\r\nplain version\r\n--f\r\n"
        b"Content-Type: text/html\r\n\r\n<p>html version</p>\r\n--f--\r\n"
        b"--e\r\nContent-Type: text/html\r\n\r\n<p>standalone &amp; html</p><script>x()</script>\r\n"
        b"--e\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--e--\r\n"
    )
    m = parse_message(raw)
    text = extract_text(raw, m)
    for needle in (
        "Gr\u00fc\u00dfe",
        "J\u00f6rg",
        "j@x.de",
        "Ann",
        "ann@y.org",
        "c@z.net",
        "plain version",
        "standalone & html",
    ):
        assert needle in text
    assert "html version" not in text  # alternative to a text/plain: not indexed twice
    assert "x()" not in text and "PNG" not in text
    assert len(extract_text(raw, m, limit=10)) == 10


def test_extract_text_large_body_respects_limit_cheaply() -> None:
    raw = b"Content-Type: text/plain\r\n\r\n" + b"x" * 5_000_000
    m = parse_message(raw)
    assert len(extract_text(raw, m, limit=1000)) == 1000
