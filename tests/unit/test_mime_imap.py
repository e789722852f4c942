"""IMAP ENVELOPE / BODY / BODYSTRUCTURE serialisation (RFC 9051 §7.5.2).

The first tests replay Dovecot's own vectors (src/lib-imap/
test-imap-bodystructure.c and test-imap-envelope.c, the latter copied from
imaptest) so our output is byte-compatible with what clients already see
from Dovecot."""

from __future__ import annotations

from pathlib import Path

import pytest

from kastell.formats.mime import (
    Address,
    Envelope,
    dumps,
    imap_bodystructure,
    imap_envelope,
    loads,
    parse_imap_view,
    parse_message,
    to_crlf,
)
from kastell.formats.mime.imapfmt import imap_string

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "mime"

# Dovecot's testmsg_bodystructure / testmsg_body, wrapped in the outer
# parentheses that Dovecot's FETCH code adds around them.
DOVECOT_BODYSTRUCTURE = (
    b'(("text" "x-myown" ("charset" "us-ascii" "foo" "quoted\\"string") "<foo@example.com>" "hellodescription" '
    b'"7bit" 7 1 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("inline" ("foo" "bar")) ("en" "fi" "se") "http://example.com/test.txt")'
    b'("message" "rfc822" NIL NIL NIL "7bit" 412 ("Sun, 12 Aug 2012 12:34:56 +0300" "submsg" ((NIL NIL "sub" "domain.org")) '
    b'((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub-to1" "domain.org")(NIL NIL "sub-to2" "domain.org")) '
    b'NIL NIL NIL NIL) (("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 20 1 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") '
    b'NIL NIL "7bit" 21 1 NIL NIL NIL NIL) "alternative" ("boundary" "sub1") NIL NIL NIL) 21 NIL NIL NIL NIL) '
    b'"mixed" ("boundary" "foo bar") NIL NIL NIL)'
)
DOVECOT_BODY = (
    b'(("text" "x-myown" ("charset" "us-ascii" "foo" "quoted\\"string") "<foo@example.com>" "hellodescription" "7bit" 7 1)'
    b'("message" "rfc822" NIL NIL NIL "7bit" 412 ("Sun, 12 Aug 2012 12:34:56 +0300" "submsg" ((NIL NIL "sub" "domain.org")) '
    b'((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub-to1" "domain.org")(NIL NIL "sub-to2" "domain.org")) '
    b'NIL NIL NIL NIL) (("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 20 1)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 1) '
    b'"alternative") 21) "mixed")'
)


def test_dovecot_bodystructure_vector() -> None:
    raw = (CORPUS / "31-dovecot-bodystructure.eml").read_bytes()
    assert b"\r" not in raw  # Dovecot's sizes are CRLF sizes of this LF message
    msg = parse_message(raw)
    assert msg.imap_differs is False  # structurally; the bare LFs are the store's business
    view = parse_imap_view(to_crlf(raw))
    assert imap_bodystructure(view.root) == DOVECOT_BODYSTRUCTURE
    assert imap_bodystructure(view.root, False) == DOVECOT_BODY


def test_sizes_are_those_of_the_bytes_parsed() -> None:
    raw = (CORPUS / "31-dovecot-bodystructure.eml").read_bytes()
    out = imap_bodystructure(parse_message(raw).root)
    assert b'"7bit" 6 1 "Q2hl' in out and b'"7bit" 391 (' in out
    crlf = raw.replace(b"\n", b"\r\n")
    assert to_crlf(raw) == crlf and to_crlf(crlf) is crlf
    assert imap_bodystructure(parse_message(crlf).root) == DOVECOT_BODYSTRUCTURE


DOVECOT_ENVELOPES = [
    (
        b"Message-ID: <msg@id>\nIn-Reply-To: <reply@to.id>\nDate: Thu, 15 Feb 2007 01:02:03 +0200\n"
        b"Subject: subject header\nFrom: From Real <fromuser@fromdomain.org>\nTo: To Real <touser@todomain.org>\n"
        b"Cc: Cc Real <ccuser@ccdomain.org>\nBcc: Bcc Real <bccuser@bccdomain.org>\n"
        b"Sender: Sender Real <senderuser@senderdomain.org>\nReply-To: ReplyTo Real <replytouser@replytodomain.org>\n\nbody\n",
        b'"Thu, 15 Feb 2007 01:02:03 +0200" "subject header" (("From Real" NIL "fromuser" "fromdomain.org")) '
        b'(("Sender Real" NIL "senderuser" "senderdomain.org")) (("ReplyTo Real" NIL "replytouser" "replytodomain.org")) '
        b'(("To Real" NIL "touser" "todomain.org")) (("Cc Real" NIL "ccuser" "ccdomain.org")) '
        b'(("Bcc Real" NIL "bccuser" "bccdomain.org")) "<reply@to.id>" "<msg@id>"',
    ),
    (
        b"Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: user@domain\n\nbody\n",
        b'"Thu, 15 Feb 2007 01:02:03 +0200" NIL ((NIL NIL "user" "domain")) ((NIL NIL "user" "domain")) '
        b'((NIL NIL "user" "domain")) NIL NIL NIL NIL NIL',
    ),
    (
        b"Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: user@domain (Real Name)\n"
        b"To: group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;\nCc: group:;, group2: (foo) ;\n\nbody\n",
        b'"Thu, 15 Feb 2007 01:02:03 +0200" NIL (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) '
        b'(("Real Name" NIL "user" "domain")) ((NIL NIL "group" NIL)(NIL NIL "g1" "d1.org")(NIL NIL "g2" "d2.org")'
        b'(NIL NIL NIL NIL)(NIL NIL "group2" NIL)(NIL NIL "g3" "d3.org")(NIL NIL NIL NIL)) '
        b'((NIL NIL "group" NIL)(NIL NIL NIL NIL)(NIL NIL "group2" NIL)(NIL NIL NIL NIL)) NIL NIL NIL',
    ),
    (
        b"Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: user@domain (Real Name)\nSender: \nReply-To: \n\nbody\n",
        b'"Thu, 15 Feb 2007 01:02:03 +0200" NIL (("Real Name" NIL "user" "domain")) (("Real Name" NIL "user" "domain")) '
        b'(("Real Name" NIL "user" "domain")) NIL NIL NIL NIL NIL',
    ),
]


@pytest.mark.parametrize("message,expected", DOVECOT_ENVELOPES)
def test_dovecot_envelope_vectors(message: bytes, expected: bytes) -> None:
    assert imap_envelope(parse_message(message).envelope) == b"(" + expected + b")"


def test_source_route_is_dropped() -> None:
    # Dovecot sends the obsolete route as addr-adl ("@route"); we send NIL
    # (the model has no adl field).  Mailbox and host are still right.
    env = parse_message(b"From: <@route:user@domain>\n\n").envelope
    assert imap_envelope(env).split(b" ((", 1)[1].startswith(b'NIL NIL "user" "domain"))')


def test_imap_string_forms() -> None:
    assert imap_string(None) == b"NIL"
    assert imap_string(b"") == b'""'
    assert imap_string(b'a "b" \\c') == b'"a \\"b\\" \\\\c"'
    assert imap_string(b"tab\there") == b'"tab\there"'
    assert imap_string(b"line\r\nbreak") == b"{11}\r\nline\r\nbreak"
    assert imap_string(b"\xc3\xa9") == b"{2}\r\n\xc3\xa9"
    assert imap_string(b"nul\x00x") == b"{7}\r\nnul\xef\xbf\xbdx"  # U+FFFD for NUL, as Dovecot


def test_group_markers_and_empty_lists() -> None:
    env = Envelope(
        date=None,
        subject=b"",
        from_=(),
        sender=(),
        reply_to=(),
        to=(Address("Team", "Team", None, b"Team"), Address(None, None, None, None)),
        cc=(Address(None, "root", "", None),),
        bcc=(),
        in_reply_to=None,
        message_id=None,
    )
    assert imap_envelope(env) == (
        b'(NIL "" NIL NIL NIL ((NIL NIL "Team" NIL)(NIL NIL NIL NIL)) ((NIL NIL "root" "")) NIL NIL NIL)'
    )


def test_params_are_sent_undecoded_as_dovecot_does() -> None:
    raw = (
        b"Content-Type: application/octet-stream; Name*=utf-8''%E2%82%AC.txt\r\n"
        b'Content-Disposition: attachment; filename="\xc3\xa9t\xe9.txt"\r\n\r\nx'
    )
    part = parse_message(raw).root
    assert part.param("name") == "\u20ac.txt"  # the model keeps the decoded value
    bs = imap_bodystructure(part)
    assert b'("Name*" "utf-8\'\'%E2%82%AC.txt")' in bs
    # 8-bit bytes go out as they are (even when not UTF-8), in a literal
    assert b'("attachment" ("filename" {8}\r\n\xc3\xa9t\xe9.txt))' in bs
    assert loads(dumps(parse_message(raw))).root == part


@pytest.mark.parametrize(
    ("params", "wire"),
    [
        # plain first in header order, then RFC 2231 sorted by key (bytes) and section
        (b'; b*1="y"; A=1; b*0="x"', b'("A" "1" "b" "xy")'),
        # an extended section makes the whole key extended: % of plain sections escaped
        (b'; n*0="a%"; n*1*=%41', b'("n*" "\'\'a%25%41")'),
        (b"; n*0*=utf-8''%41; n*1=\"b%\"", b'("n*" "utf-8\'\'%41b%25")'),
        # a gap in the section numbers: sent section by section, raw
        (b"; n*0=a; n*2*=c", b'("n*0" "a" "n*2*" "c")'),
        # grouped ignoring case after a byte-order sort
        (b"; x*0=a; X*1=b; Y*0=c", b'("X*1" "b" "Y" "c" "x" "a")'),
        # a bare key* takes the section number of the RFC 2231 parameter before it
        (b"; a*1=x; b*=y", b'("a*1" "x" "b*1*" "y")'),
        # Dovecot's lenient syntax: comments, junk after a value, a missing "="
        (b'; a = x ; b=(c) y; c="q" junk; d=e f; g', b'("a" "x" "b" "y" "c" "q" "d" "e")'),
        (b'; a="unterminated', b"NIL"),
    ],
)
def test_rfc2231_wire_form(params: bytes, wire: bytes) -> None:
    raw = b"Content-Type: application/x" + params + b"\r\n\r\nx"
    assert imap_bodystructure(parse_message(raw).root, False).split(b'"x" ', 1)[1].startswith(wire + b" ")


def test_charset_default_is_added_unless_a_charset_param_exists() -> None:
    def params(ct: bytes) -> bytes:
        return imap_bodystructure(parse_message(b"Content-Type: " + ct + b"\r\n\r\nx").root, False)

    assert b'("CHARSET" "UTF-8")' in params(b"text/plain; CHARSET=UTF-8")
    assert b'("charset*" "utf-8\'\'" "charset" "us-ascii")' in params(b"text/plain; charset*=utf-8''")


def test_text_without_charset_gets_default_and_other_types_nil() -> None:
    bs = imap_bodystructure(parse_message(b"Content-Type: text/html\r\n\r\n<p>").root)
    # a body of one line without a line end counts 0 lines, as Dovecot counts (line ends)
    assert bs == b'("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 3 0 NIL NIL NIL NIL)'
    bs = imap_bodystructure(parse_message(b"Content-Type: image/gif\r\n\r\nGIF").root)
    assert bs == b'("image" "gif" NIL NIL NIL "7bit" 3 NIL NIL NIL NIL)'


def test_literals_in_bodystructure() -> None:
    raw = b"Content-Type: text/plain\r\nContent-Description: caf\xc3\xa9\r\n\r\nx"
    bs = imap_bodystructure(parse_message(raw).root)
    assert b"{5}\r\ncaf\xc3\xa9" in bs


def test_depth_limited_parts_are_octet_stream() -> None:
    depth = 150
    raw = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(depth))
    raw += b"Content-Type: text/plain\r\n\r\nleaf\r\n"
    bs = imap_bodystructure(parse_message(raw).root)
    assert b'("application" "octet-stream" NIL NIL NIL "7bit" ' in bs
    assert bs.count(b"(") == bs.count(b")")
