"""BODY[section] (RFC 9051 §6.4.5) served from the parsed structure."""

from __future__ import annotations

from pathlib import Path

import pytest

from kastell.formats.mime import header_value, parse_message, section

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "mime"


def _load(name: str) -> tuple[bytes, object]:
    raw = (CORPUS / name).read_bytes()
    return raw, parse_message(raw)


def test_single_part_message() -> None:
    raw = (CORPUS / "01-plain.eml").read_bytes()
    m = parse_message(raw)
    header, text = section(raw, m, "HEADER"), section(raw, m, "TEXT")
    assert header is not None and text is not None
    assert header + text == raw == section(raw, m, "")
    assert header.endswith(b"Content-Transfer-Encoding: 7bit\r\n\r\n")
    assert text.startswith(b"Hi Bob,")
    assert section(raw, m, "1") == text  # part 1 of a non-multipart message is its body
    assert section(raw, m, "1.MIME") == header
    assert section(raw, m, "2") is None
    assert section(raw, m, "1.1") is None


def test_multipart_parts_and_mime_headers() -> None:
    raw = (CORPUS / "02-alternative.eml").read_bytes()
    m = parse_message(raw)
    assert section(raw, m, "1") == (b"Sounds good =E2=80=93 let=E2=80=99s ship the beta on June 3rd.\r\n\r\nCarol")
    assert section(raw, m, "2.MIME") == (
        b'Content-Type: text/html; charset="UTF-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    )
    two = section(raw, m, "2")
    assert two is not None and two.startswith(b'<div dir=3D"ltr">') and two.endswith(b"</div></div>\r\n")
    assert section(raw, m, "3") is None
    text = section(raw, m, "TEXT")
    assert text is not None and text.startswith(b"--000000000000a1b2c3d4e5f60718\r\n")
    assert text.endswith(b"--000000000000a1b2c3d4e5f60718--\r\n")


def test_nested_part_numbers() -> None:
    raw = (CORPUS / "04-related-nested.eml").read_bytes()
    m = parse_message(raw)
    assert section(raw, m, "1.1.1") == b"Spring update: see the logo above."
    assert section(raw, m, "1.1.2").startswith(b"<html><body>")  # type: ignore[union-attr]
    assert section(raw, m, "1.2.MIME") == (
        b'Content-Type: image/png; name="logo.png"\r\nContent-Transfer-Encoding: base64\r\n'
        b'Content-ID: <logo@example.com>\r\nContent-Disposition: inline; filename="logo.png"\r\n\r\n'
    )
    assert section(raw, m, "2") == b"month,visitors\r\nmarch,1200\r\napril,1350\r\n"
    assert section(raw, m, "1.3") is None
    # "1" after a leaf member of a multipart is that part again (Dovecot's answer); any other number is nothing
    assert section(raw, m, "1.1.1.1") == section(raw, m, "1.1.1") == b"Spring update: see the logo above."
    assert section(raw, m, "1.1.1.2") is None
    # HEADER/TEXT/HEADER.FIELDS of a part that is not message/rfc822 address nothing (RFC 9051 6.4.5)
    assert section(raw, m, "2.HEADER") == section(raw, m, "2.TEXT") == section(raw, m, "2.HEADER.FIELDS (TO)") == b""


def test_forwarded_message_header_text_and_fields() -> None:
    raw = (CORPUS / "05-forwarded-rfc822.eml").read_bytes()
    m = parse_message(raw)
    inner_header = section(raw, m, "2.HEADER")
    inner_text = section(raw, m, "2.TEXT")
    assert inner_header is not None and inner_text is not None
    assert inner_header.startswith(b"From: Heidi <heidi@example.com>\r\n")
    assert inner_header.endswith(b'boundary="orig-alt"\r\n\r\n')
    assert inner_header + inner_text == section(raw, m, "2")
    assert section(raw, m, "2.MIME") == b"Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n"
    assert section(raw, m, "2.1") == b"Q1 revenue is up 12%."
    assert section(raw, m, "2.2") == b"<p>Q1 revenue is up <b>12%</b>.</p>"
    assert section(raw, m, "2.2.MIME") == b"Content-Type: text/html; charset=utf-8\r\n\r\n"
    assert section(raw, m, "2.3") is None
    assert section(raw, m, "2.HEADER.FIELDS (SUBJECT FROM)") == (
        b"From: Heidi <heidi@example.com>\r\nSubject: Quarterly numbers\r\n\r\n"
    )
    assert section(raw, m, "2.header.fields (subject)") == b"Subject: Quarterly numbers\r\n\r\n"


def test_digest_encapsulated_single_part() -> None:
    raw = (CORPUS / "06-digest.eml").read_bytes()
    m = parse_message(raw)
    assert section(raw, m, "2.1.HEADER") == (
        b"From: Ivan <ivan@example.com>\r\nSubject: First topic\r\nDate: Tue, 21 May 2024 08:00:00 +0000\r\n\r\n"
    )
    assert section(raw, m, "2.1.1") == b"First message body.\r\n"  # non-multipart inner: "1" is its body
    assert section(raw, m, "2.1.1") == section(raw, m, "2.1.TEXT")
    assert section(raw, m, "2.1.2") is None
    assert section(raw, m, "2.2.1") == b"Second message body, Gr=FC=DFe.\r\n"


def test_header_fields_keep_folding_and_order() -> None:
    raw = (CORPUS / "02-alternative.eml").read_bytes()
    m = parse_message(raw)
    assert section(raw, m, 'HEADER.FIELDS (References "Subject")') == (
        b"Subject: Re: Project timeline\r\n"
        b"References: <20240514100000.GA1000@example.com>\r\n <20240515120000.GA1234@example.com>\r\n\r\n"
    )
    assert section(raw, m, "HEADER.FIELDS (X-NOT-THERE)") == b"\r\n"


def test_header_fields_not() -> None:
    raw = b"From: a@b\r\nSubject: s\r\nX-Spam: yes\r\n folded\r\nTo: c@d\r\n\r\nbody"
    m = parse_message(raw)
    assert section(raw, m, "HEADER.FIELDS.NOT (X-SPAM subject)") == b"From: a@b\r\nTo: c@d\r\n\r\n"
    assert section(raw, m, "HEADER.FIELDS.NOT (X-SPAM)") == b"From: a@b\r\nSubject: s\r\nTo: c@d\r\n\r\n"


def test_header_fields_on_bare_lf_and_unterminated_header() -> None:
    raw = (CORPUS / "15-bare-lf.eml").read_bytes()
    m = parse_message(raw)
    assert section(raw, m, "HEADER.FIELDS (TO)") == b"To: lf@example.net\n\r\n"  # original bytes + CRLF
    assert section(raw, m, "HEADER") + section(raw, m, "TEXT") == raw  # type: ignore[operator]
    raw = b"Subject: only"
    m = parse_message(raw)
    assert section(raw, m, "HEADER.FIELDS (SUBJECT)") == b"Subject: only\r\n\r\n"
    assert section(raw, m, "HEADER") == raw and section(raw, m, "TEXT") == b""


def test_multipart_children_tile_the_body() -> None:
    """Each child's MIME header + body, plus the delimiters between them,
    reproduce the parent's body: nothing is lost or duplicated."""
    raw = (CORPUS / "03-mixed-pdf.eml").read_bytes()
    m = parse_message(raw)
    pieces = [section(raw, m, spec) for spec in ("1.MIME", "1", "2.MIME", "2")]
    assert all(p is not None for p in pieces)
    one_mime, one, two_mime, two = (p or b"" for p in pieces)
    delimiter = b"--" + b"----=_Part_12345_67890.1715853600000"
    assert section(raw, m, "TEXT") == b"".join(
        [
            b"This is a multi-part message in MIME format.\r\n\r\n",
            delimiter + b"\r\n" + one_mime + one,
            b"\r\n" + delimiter + b"\r\n" + two_mime + two,
            b"\r\n" + delimiter + b"--\r\n",
        ]
    )


@pytest.mark.parametrize("spec", ["FOO", "0", "1.", "1..2", "MIME", "1.HEADER.FIELDS", "01"])
def test_invalid_specs_raise(spec: str) -> None:
    raw = (CORPUS / "01-plain.eml").read_bytes()
    with pytest.raises(ValueError):
        section(raw, parse_message(raw), spec)


def test_header_value() -> None:
    raw = (CORPUS / "02-alternative.eml").read_bytes()
    m = parse_message(raw)
    assert header_value(raw, m.root, "references") == (
        b"<20240514100000.GA1000@example.com> <20240515120000.GA1234@example.com>"
    )
    assert header_value(raw, m.root, "X-Missing") is None
    assert header_value(raw, m.root.children[1], "Content-Type") == b'text/html; charset="UTF-8"'
    raw = (CORPUS / "05-forwarded-rfc822.eml").read_bytes()
    m = parse_message(raw)
    fwd = m.root.children[1]
    assert header_value(raw, fwd, "subject") is None  # its own MIME header
    assert header_value(raw, fwd.children[0], "subject") == b"Quarterly numbers"
