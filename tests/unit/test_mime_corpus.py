"""Corpus tests for kastell.formats.mime: every hand-written message in
tests/corpus/mime parses, keeps the structural invariants, round-trips
through the cache, and (where a NAME.expected file exists) produces the
golden BODYSTRUCTURE / BODY / ENVELOPE lines.

The golden values follow RFC 9051 §7.5.2 in Dovecot's layout (see
test_mime_imap.py for Dovecot's own test vector)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kastell.formats.mime import (
    BodyPart,
    ParsedMessage,
    dumps,
    extract_text,
    imap_bodystructure,
    imap_envelope,
    imap_view,
    iter_parts,
    loads,
    part_text,
    section,
)
from kastell.formats.mime.message import parse_message_strict

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "mime"
FILES = sorted(CORPUS.glob("*.eml"))
EXPECTED = sorted(CORPUS.glob("*.expected"))


def _load(name: str) -> tuple[bytes, ParsedMessage]:
    raw = (CORPUS / name).read_bytes()
    return raw, parse_message_strict(raw)


def check_invariants(raw: bytes, msg: ParsedMessage) -> None:
    """Offsets are in range and nested; usable by other tests too."""
    assert msg.size == len(raw)
    root = msg.root
    assert root.header_start == 0 and root.body_end == msg.size
    stack: list[BodyPart] = [root]
    while stack:
        part = stack.pop()
        assert 0 <= part.header_start <= part.body_start <= part.body_end <= msg.size
        body = raw[part.body_start : part.body_end]
        assert part.lines == body.count(b"\n")  # line ends, as Dovecot counts
        assert part.type == part.type.lower() and part.subtype == part.subtype.lower()
        if part.type == "multipart":
            assert part.children, "a multipart always has children (else it is a text/plain leaf)"
        prev_end = part.body_start
        for child in part.children:
            assert part.body_start <= child.header_start and child.body_end <= part.body_end
            assert child.header_start >= prev_end, "children are ordered and disjoint"
            prev_end = child.body_end
        if part.envelope is not None:
            assert len(part.children) == 1
            assert part.children[0].header_start == part.body_start
            assert part.children[0].body_end == part.body_end
        stack.extend(part.children)


def test_corpus_is_big_enough() -> None:
    assert len(FILES) >= 25
    assert len(EXPECTED) >= 5


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_message(path: Path) -> None:
    raw = path.read_bytes()
    msg = parse_message_strict(raw)
    check_invariants(raw, msg)
    assert loads(dumps(msg)) == msg
    assert imap_bodystructure(msg.root).startswith(b"(")
    assert imap_envelope(msg.envelope).startswith(b"(")
    assert section(raw, msg, "HEADER") + section(raw, msg, "TEXT") == raw  # type: ignore[operator]
    for part in iter_parts(msg.root):
        part_text(raw, part)
    assert len(extract_text(raw, msg)) <= 1_000_000


@pytest.mark.parametrize("path", EXPECTED, ids=lambda p: p.name)
def test_golden(path: Path) -> None:
    raw = path.with_suffix(".eml").read_bytes()
    _, msg = imap_view(raw, parse_message_strict(raw))  # the golden lines are what IMAP sends
    expected = dict(line.split(" ", 1) for line in path.read_text("ascii").splitlines() if line)
    assert imap_bodystructure(msg.root).decode() == expected["BODYSTRUCTURE"]
    assert imap_bodystructure(msg.root, extensible=False).decode() == expected["BODY"]
    assert imap_envelope(msg.envelope).decode() == expected["ENVELOPE"]


# --- per-message expectations -------------------------------------------------


def test_plain() -> None:
    raw, m = _load("01-plain.eml")
    assert (m.subject, m.from_addr, m.from_name) == ("Lunch on Thursday?", "alice@example.org", "Alice Example")
    assert m.to_addrs == ("bob@example.net",)
    assert m.message_id == "5e1c2a3b-0001@example.org"
    assert m.date is not None and m.date.isoformat() == "2024-05-14T09:12:40+02:00"
    assert m.preview.startswith("Hi Bob, are you free for lunch on Thursday?")
    assert m.root.params == (("charset", "UTF-8"), ("format", "flowed"))
    assert m.root.language == ("en-US",)
    assert not m.has_attachments


def test_alternative_threading_fields() -> None:
    raw, m = _load("02-alternative.eml")
    assert m.in_reply_to == ("20240515120000.GA1234@example.com",)
    assert m.references == ("20240514100000.GA1000@example.com", "20240515120000.GA1234@example.com")
    assert m.cc_addrs == ("eve@example.com",)
    assert m.envelope.cc[0].name == "Eve, Project Lead"
    assert m.preview == "Sounds good \u2013 let\u2019s ship the beta on June 3rd. Carol"
    plain, html = m.root.children
    assert part_text(raw, plain) == "Sounds good \u2013 let\u2019s ship the beta on June 3rd.\r\n\r\nCarol"
    assert "June 3rd." in part_text(raw, html)


def test_pdf_attachment() -> None:
    raw, m = _load("03-mixed-pdf.eml")
    assert m.has_attachments
    pdf = m.root.children[1]
    assert (pdf.type, pdf.subtype, pdf.disposition) == ("application", "pdf", "attachment")
    from kastell.formats.mime import decode_body

    assert decode_body(raw, pdf).startswith(b"%PDF-1.4\n")


def test_related_nested_structure() -> None:
    raw, m = _load("04-related-nested.eml")
    shape = [(p.type, p.subtype) for p in iter_parts(m.root)]
    assert shape == [
        ("multipart", "mixed"),
        ("multipart", "related"),
        ("multipart", "alternative"),
        ("text", "plain"),
        ("text", "html"),
        ("image", "png"),
        ("text", "csv"),
    ]
    assert m.root.children[0].children[1].id == "<logo@example.com>"


def test_forwarded_message() -> None:
    raw, m = _load("05-forwarded-rfc822.eml")
    fwd = m.root.children[1]
    assert fwd.is_message and fwd.envelope is not None
    assert fwd.envelope.subject == b"Quarterly numbers"
    inner = fwd.children[0]
    assert inner.header_start == fwd.body_start
    assert [c.subtype for c in inner.children] == ["plain", "html"]
    assert not m.has_attachments  # inline forward, no file name
    text = extract_text(raw, m)
    assert "Quarterly numbers" in text and "Heidi" in text and "Q1 revenue is up 12%." in text


def test_digest_defaults_to_message_rfc822() -> None:
    raw, m = _load("06-digest.eml")
    digest = m.root.children[1]
    assert digest.subtype == "digest"
    assert [(c.type, c.subtype) for c in digest.children] == [("message", "rfc822")] * 2
    first, second = digest.children
    assert first.params == () and first.envelope is not None
    assert first.envelope.subject == b"First topic"
    assert part_text(raw, second.children[0]).startswith("Second message body, Gr\u00fc\u00dfe.")


def test_thunderbird_rfc2231_and_encoded_words() -> None:
    raw, m = _load("07-thunderbird-2231.eml")
    from kastell.formats.mime import filename

    assert m.subject == "Pr\u00fcfbericht f\u00fcr M\u00e4rz"
    assert m.from_name == "Maria Gr\u00e4f"
    pdf = m.root.children[1]
    assert pdf.disposition_param("filename") == "Pr\u00fcfbericht f\u00fcr M\u00e4rz.pdf"
    # name= is an RFC 2047 word (non-standard): kept raw in params, decoded by filename()
    assert pdf.param("name") == "=?UTF-8?Q?Pr=C3=BCfbericht_f=C3=BCr_M=C3=A4rz=2Epdf?="
    assert filename(pdf) == "Pr\u00fcfbericht f\u00fcr M\u00e4rz.pdf"
    assert "anbei der Pr\u00fcfbericht" in part_text(raw, m.root.children[0])


def test_outlook_encoded_filename() -> None:
    raw, m = _load("08-outlook.eml")
    from kastell.formats.mime import filename

    xlsx = m.root.children[1]
    assert filename(xlsx) == "Bud\u017cet 2025.xlsx"
    assert xlsx.disposition_param("size") == "12"
    assert m.from_name == "Kowalski, Jan"
    assert m.preview == "Hi Anna, Attached is the draft budget. Regards, Jan"


def test_8bit_headers() -> None:
    raw, m = _load("10-8bit-headers.eml")
    assert m.subject == "Sm\u00f6rg\u00e5sbord p\u00e5 fredag"
    assert m.from_name == "Zo\u00eb \u00c5ngstr\u00f6m"
    assert m.envelope.to[0].name == "\u00d8rjan"  # latin-1 fallback for invalid UTF-8
    assert m.envelope.to[0].raw_name == b"\xd8rjan"
    env = imap_envelope(m.envelope)
    assert b"{24}\r\nSm\xc3\xb6rg\xc3\xa5sbord p\xc3\xa5 fredag " in env  # 8-bit: literal
    assert b"({5}\r\n\xd8rjan NIL " in env


def test_encoded_word_subjects() -> None:
    assert (
        _load("11-encoded-subject-utf8.eml")[1].subject
        == "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \U0001f44b\U0001f3fc plain tail"
    )
    assert (
        _load("11-encoded-subject-utf8.eml")[1].from_name
        == "\u0418\u0432\u0430\u043d \u041f\u0435\u0442\u0440\u043e\u0432"
    )
    assert _load("12-encoded-subject-latin1.eml")[1].subject == "R\u00e9union de l'\u00e9quipe \u00e0 14h"
    raw, m = _load("12-encoded-subject-latin1.eml")
    assert (
        m.preview == "La r\u00e9union est d\u00e9plac\u00e9e \u00e0 14h. Caf\u00e9 offert \u2013 merci!"
    )  # 0x96: cp1252
    raw, m = _load("13-iso-2022-jp.eml")
    assert m.subject == "\u4f1a\u8b70\u306e\u8b70\u4e8b\u9332"
    assert m.from_name == "\u5c71\u7530"
    assert (
        m.preview == "\u304a\u75b2\u308c\u69d8\u3067\u3059\u3002 \u8b70\u4e8b\u9332\u3092\u9001\u308a\u307e\u3059\u3002"
    )


def test_rfc2231_continuations() -> None:
    raw, m = _load("14-rfc2231-continuations.eml")
    att, latin = m.root.children[1:]
    assert att.param("name") == "\u20ac rates for 2024 \u2013 final.txt"
    assert att.disposition_param("filename") == "\u20ac rates for 2024 \u2013 final.txt"
    assert latin.disposition_param("filename") == "Gr\u00fc\u00dfe.txt"
    assert latin.param("charset") == "iso-8859-1"


def test_bare_lf() -> None:
    raw, m = _load("15-bare-lf.eml")
    plain, html = m.root.children
    assert raw[plain.body_start : plain.body_end] == b"line one\nline two"
    assert raw[html.header_start : html.body_start] == b"Content-Type: text/html\n\n"
    assert m.preview == "line one line two"


def test_no_body_and_no_blank_line() -> None:
    raw, m = _load("16-no-body.eml")
    assert m.root.body_start == m.root.body_end == m.size
    assert m.subject == "empty body" and m.root.lines == 0
    raw, m = _load("17-no-blank-line.eml")
    assert m.root.body_start == m.root.body_end == m.size
    assert m.subject == "no blank line"
    assert m.date is not None


def test_missing_close_boundary() -> None:
    raw, m = _load("18-missing-close-boundary.eml")
    first, last = m.root.children
    assert raw[first.body_start : first.body_end] == b"first part"
    assert last.body_end == m.size  # runs to the end of the enclosing body
    from kastell.formats.mime import decode_body

    assert decode_body(raw, last) == bytes(range(10))  # unpadded base64 still decodes


def test_missing_boundary_param_becomes_text_plain() -> None:
    raw, m = _load("19-missing-boundary-param.eml")
    assert (m.root.type, m.root.subtype, m.root.children) == ("text", "plain", ())
    assert m.preview.startswith("--whatever Content-Type: text/plain this cannot be split")
    # IMAP shows a multipart without parts, as Dovecot does
    assert m.imap_differs and loads(dumps(m)).imap_differs
    view = parse_message_strict(raw, imap=True)
    assert (view.root.type, view.root.subtype, view.root.children) == ("multipart", "mixed", ())
    assert (
        imap_bodystructure(view.root, False) == b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) "mixed")'
    )
    assert section(raw, view, "1") is None and section(raw, view, "1.MIME") is None
    assert section(raw, view, "TEXT") == section(raw, m, "TEXT")


def test_boundary_that_never_occurs_and_nested_broken_multiparts() -> None:
    raw, m = _load("35-boundary-never-occurs.eml")
    assert m.root.type == "text" and m.imap_differs
    view = parse_message_strict(raw, imap=True)
    assert imap_bodystructure(view.root).endswith(
        b' "alternative" ("boundary" "declared" "x-extra" "1") ("inline" NIL) ("en") NIL)'
    )
    raw, m = _load("36-nested-broken-multiparts.eml")
    assert [c.type for c in m.root.children] == ["text", "text", "text"]
    view = parse_message_strict(raw, imap=True)
    related, alternative, _ = view.root.children
    assert (related.type, related.children, alternative.type, alternative.children) == (
        "multipart",
        (),
        "multipart",
        (),
    )
    assert section(raw, view, "1") == b"--lost\r\nContent-Type: text/plain\r\n\r\nlost part\r\n--lost--"
    assert section(raw, view, "1.1") is None and section(raw, view, "2.1") is None


def test_parent_boundary_ends_child_multipart() -> None:
    raw, m = _load("20-boundary-in-nested.eml")
    alt, second = m.root.children
    assert alt.subtype == "alternative" and len(alt.children) == 1
    assert raw[alt.children[0].body_start : alt.children[0].body_end] == b"inner plain"
    assert part_text(raw, second).startswith("outer second")


def test_nul_bytes() -> None:
    raw, m = _load("21-nul-bytes.eml")
    assert m.subject == "has \x00 a NUL"
    assert b"\x00" not in imap_envelope(m.envelope)


def test_broken_base64() -> None:
    raw, m = _load("22-broken-base64.eml")
    text, two = m.root.children
    assert part_text(raw, text) == "Gr\u00fc\u00dfe aus M\u00fcnchen \u2013 sch\u00f6nes Wochenende!\n"
    from kastell.formats.mime import decode_body

    assert decode_body(raw, two) == b"ABB"  # two padded streams, both decoded


def test_unknown_charset() -> None:
    raw, m = _load("23-unknown-charset.eml")
    assert m.subject == "nuqneH \u00e9"
    assert part_text(raw, m.root) == "Qapla\u00e9 \ufffd\r\n"


def test_header_without_colon_is_skipped() -> None:
    raw, m = _load("24-header-without-colon.eml")
    assert m.to_addrs == ("rcpt@example.com",)
    assert m.subject == "a header line without a colon continued subject"


def test_long_headers() -> None:
    raw, m = _load("25-long-headers.eml")
    assert len(m.to_addrs) == 150 and m.to_addrs[149] == "user149@example.com"
    assert m.subject == ("word " * 400).strip()


def test_group_syntax() -> None:
    raw, m = _load("26-group-syntax.eml")
    start, end = m.envelope.to
    assert (start.mailbox, start.host, end.mailbox, end.host) == ("undisclosed-recipients", None, None, None)
    assert m.to_addrs == ()
    assert m.cc_addrs == ("alice@example.com", "bob@example.com", "carol@example.com")


def test_mixed_line_endings() -> None:
    raw, m = _load("27-mixed-line-endings.eml")
    first, second = m.root.children
    assert raw[m.root.body_start : m.root.body_start + 4] == b"body"
    assert raw[first.body_start : first.body_end] == b"first"
    assert raw[second.body_start : second.body_end] == b"second"


def test_html_only_preview_strips_head_script_style() -> None:
    raw, m = _load("28-html-only-newsletter.eml")
    assert m.subject == "\U0001f525 Summer sale"
    assert m.preview == "Summer sale Up to 50% off & free shipping \u2013 this week only."
    assert "not visible" not in extract_text(raw, m)


def test_base64_message_rfc822_is_a_leaf() -> None:
    raw, m = _load("33-base64-rfc822.eml")
    enc = m.root.children[2]
    assert (enc.type, enc.subtype, enc.children, enc.envelope) == ("message", "rfc822", (), None)
    # without its message: sent as application/octet-stream (message/rfc822 would need an envelope)
    assert b'("application" "octet-stream" NIL NIL NIL "base64" 48 NIL NIL NIL NIL)' in imap_bodystructure(m.root)
    # IMAP (Dovecot) parses the encoded text as a message: all header, which
    # also takes the line break before the closing delimiter
    assert m.imap_differs
    enc = parse_message_strict(raw, imap=True).root.children[2]
    assert (enc.body_end - enc.body_start, enc.lines) == (50, 1)
    assert imap_bodystructure(enc, False) == (
        b'("message" "rfc822" NIL NIL NIL "base64" 50 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) '
        b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) 1)'
    )


def test_encapsulated_message_without_blank_line() -> None:
    raw, m = _load("38-rfc822-without-blank-line.eml")
    first = m.root.children[0]
    assert first.is_message and raw[first.body_start : first.body_end].endswith(b"To: b@example.com")
    assert m.imap_differs
    view = parse_message_strict(raw, imap=True)
    first, _encoded, empty, with_body = view.root.children
    assert raw[first.body_start : first.body_end].endswith(b"To: b@example.com\r\n") and first.lines == 3
    assert section(raw, view, "1.HEADER") == raw[first.body_start : first.body_end - 2]
    assert (empty.body_end - empty.body_start, empty.lines) == (2, 1)
    assert raw[with_body.body_start : with_body.body_end].endswith(b"with a body")  # has its empty line


def test_empty_input() -> None:
    raw, m = _load("32-empty.eml")
    assert m.size == 0 and m.root.body_start == 0 and m.subject == "" and m.preview == ""
