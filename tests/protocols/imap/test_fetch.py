"""APPEND then FETCH, byte-exact, with imaplib and imapclient."""

from __future__ import annotations

import base64
import imaplib
from datetime import datetime, timedelta, timezone

import imapclient

from tests.protocols.imap.conftest import ALICE, PASSWORD, ImapServer

PLAIN = (
    b"From: Bob Example <bob@example.org>\r\n"
    b"To: alice@example.org\r\n"
    b"Cc: Carol <carol@example.net>\r\n"
    b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
    b"Date: Tue, 3 Oct 2023 10:00:00 +0200\r\n"
    b"Message-ID: <plain@example.org>\r\n"
    b"\r\n"
    b"Hello Alice,\r\nthis is the body.\r\n"
)
PART1 = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe aus Berlin"
INNER_A = b"Content-Type: text/plain\r\n\r\ninner plain"
INNER_B = b"Content-Type: text/html\r\n\r\n<p>inner html</p>"
PDF = b"%PDF-1.4 fake\x00\x01\x02 binary"
PART3 = (
    b'Content-Type: application/pdf; name="r.pdf"\r\nContent-Disposition: attachment; filename="r.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(PDF).replace(b"\n", b"\r\n").rstrip()
)
MULTIPART = (
    b"From: bob@example.org\r\nTo: alice@example.org\r\nSubject: multi\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
    b"preamble\r\n--outer\r\n" + PART1 + b"\r\n--outer\r\n"
    b'Content-Type: multipart/alternative; boundary="inner"\r\n\r\n'
    b"--inner\r\n" + INNER_A + b"\r\n--inner\r\n" + INNER_B + b"\r\n--inner--\r\n"
    b"\r\n--outer\r\n" + PART3 + b"\r\n--outer--\r\nepilogue\r\n"
)


def _fetch(client: imaplib.IMAP4, spec: str, message: str = "1") -> bytes:
    typ, data = client.fetch(message, spec)
    assert typ == "OK", data
    item = data[0]
    assert isinstance(item, tuple), data
    return item[1]


def test_body_sections_byte_exact(alice: imaplib.IMAP4) -> None:
    alice.append("INBOX", None, None, PLAIN)
    alice.append("INBOX", None, None, MULTIPART)
    alice.select("INBOX")
    assert _fetch(alice, "(BODY.PEEK[])") == PLAIN
    assert _fetch(alice, "(RFC822)") == PLAIN
    header, _, text = PLAIN.partition(b"\r\n\r\n")
    assert _fetch(alice, "(BODY.PEEK[HEADER])", "1") == header + b"\r\n\r\n"
    assert _fetch(alice, "(BODY.PEEK[TEXT])", "1") == text
    assert _fetch(alice, "(RFC822.HEADER)", "1") == header + b"\r\n\r\n"
    assert _fetch(alice, "(BODY.PEEK[HEADER.FIELDS (Subject To)])") == (
        b"To: alice@example.org\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\r\n"
    )
    assert b"Subject" not in _fetch(alice, "(BODY.PEEK[HEADER.FIELDS.NOT (Subject)])")
    assert _fetch(alice, "(BODY.PEEK[]<7.3>)") == PLAIN[7:10]
    assert _fetch(alice, "(BODY.PEEK[])", "2") == MULTIPART
    assert _fetch(alice, "(BODY.PEEK[1])", "2") == PART1.partition(b"\r\n\r\n")[2]
    assert _fetch(alice, "(BODY.PEEK[1.MIME])", "2") == PART1.partition(b"\r\n\r\n")[0] + b"\r\n\r\n"
    assert _fetch(alice, "(BODY.PEEK[2.1])", "2") == b"inner plain"
    assert _fetch(alice, "(BODY.PEEK[2.2])", "2") == b"<p>inner html</p>"
    assert _fetch(alice, "(BINARY.PEEK[3])", "2") == PDF
    assert _fetch(alice, "(BINARY.PEEK[1])", "2") == "Grüße aus Berlin".encode()
    typ, data = alice.fetch("2", "(BINARY.SIZE[3])")
    assert b"BINARY.SIZE[3] %d" % len(PDF) in data[0]


def test_metadata_items(alice: imaplib.IMAP4) -> None:
    when = datetime(2021, 5, 4, 3, 2, 1, tzinfo=timezone(timedelta(hours=-7)))
    alice.append("INBOX", "(\\Flagged $Important)", imaplib.Time2Internaldate(when), PLAIN)
    alice.select("INBOX")
    typ, data = alice.fetch("1", "(UID FLAGS INTERNALDATE RFC822.SIZE)")
    line = data[0]
    assert b"UID 1" in line and b"FLAGS (\\Flagged $Important)" in line
    assert b'INTERNALDATE " 4-May-2021 03:02:01 -0700"' in line
    assert b"RFC822.SIZE %d" % len(PLAIN) in line
    typ, data = alice.fetch("1", "ALL")
    assert b"ENVELOPE (" in data[0] and b"INTERNALDATE" in data[0]
    typ, data = alice.fetch("1", "FULL")
    assert b"BODY (" in data[0]


def test_envelope_and_bodystructure_with_imapclient(imap_server: ImapServer) -> None:
    client = imapclient.IMAPClient(imap_server.host, imap_server.port, ssl=False)
    client.login(ALICE, PASSWORD)
    client.append("INBOX", PLAIN)
    client.append("INBOX", MULTIPART)
    client.select_folder("INBOX")
    result = client.fetch([1, 2], ["ENVELOPE", "BODYSTRUCTURE", "RFC822.SIZE"])
    env = result[1][b"ENVELOPE"]
    assert env.subject == b"=?utf-8?q?Gr=C3=BC=C3=9Fe?="
    assert env.from_[0].mailbox == b"bob" and env.from_[0].name == b"Bob Example"
    assert env.cc[0].host == b"example.net"
    assert env.message_id == b"<plain@example.org>"
    body = result[2][b"BODYSTRUCTURE"]
    assert body.is_multipart
    parts, subtype = body[0], body[1]
    assert subtype == b"mixed" and len(parts) == 3
    assert parts[1][1] == b"alternative"
    assert parts[2][0] == b"application" and parts[2][1] == b"pdf"
    client.logout()


def test_fetch_sets_seen_unless_peek_or_examine(alice: imaplib.IMAP4) -> None:
    alice.append("INBOX", None, None, PLAIN)
    alice.append("INBOX", None, None, PLAIN)
    alice.select("INBOX", readonly=True)
    alice.fetch("1", "(BODY[])")
    alice.select("INBOX")
    typ, data = alice.fetch("1", "(FLAGS)")
    assert b"\\Seen" not in data[0]
    alice.fetch("1", "(BODY.PEEK[])")
    typ, data = alice.fetch("1", "(FLAGS)")
    assert b"\\Seen" not in data[0]
    typ, data = alice.fetch("2", "(BODY[TEXT])")
    assert b"FLAGS (\\Seen)" in data[-1] if isinstance(data[-1], bytes) else b"\\Seen" in data[0][0]
    typ, data = alice.fetch("2", "(FLAGS)")
    assert b"\\Seen" in data[0]


def test_uid_fetch_includes_uid_and_ignores_unknown(alice: imaplib.IMAP4) -> None:
    for _ in range(3):
        alice.append("INBOX", None, None, PLAIN)
    alice.select("INBOX")
    typ, data = alice.uid("FETCH", "2:*", "(FLAGS)")
    assert [d for d in data if d] == [b"2 (UID 2 FLAGS ())", b"3 (UID 3 FLAGS ())"]
    typ, data = alice.uid("FETCH", "100:200", "(FLAGS)")
    assert typ == "OK" and data == [None]


def test_bad_fetch_attributes(alice: imaplib.IMAP4) -> None:
    alice.append("INBOX", None, None, PLAIN)
    alice.select("INBOX")
    for spec in ("(NOPE)", "(BODY[1.0])", "(BODY[MIME])", "(BINARY[TEXT])"):
        try:
            typ, _ = alice.fetch("1", spec)
        except imaplib.IMAP4.error:
            continue
        raise AssertionError(f"{spec} accepted")
    assert alice.noop()[0] == "OK"


def test_pipelined_appends_are_answered_in_order(imap_server: ImapServer) -> None:
    from tests.protocols.imap.test_session import Raw

    raw = Raw(imap_server)
    raw.login()
    batch = b"".join(
        [
            b"p1 APPEND INBOX {%d+}\r\n%s\r\n" % (len(PLAIN), PLAIN),
            b"p2 APPEND Nowhere {%d+}\r\n%s\r\n" % (len(PLAIN), PLAIN),
            b"p3 APPEND INBOX (\\Seen) {%d+}\r\n%s\r\n" % (len(MULTIPART), MULTIPART),
            b"p4 APPEND Archive {3+}\r\nabc\r\n",
            b"p5 NOOP\r\n",
        ]
    )
    raw.send(batch)
    lines = raw.until(b"p5")
    tagged = [line for line in lines if not line.startswith(b"*")]
    assert [line.split(b" ")[0:2] for line in tagged] == [
        [b"p1", b"OK"],
        [b"p2", b"NO"],
        [b"p3", b"OK"],
        [b"p4", b"OK"],
        [b"p5", b"OK"],
    ]
    assert tagged[0].startswith(b"p1 OK [APPENDUID 1 1]") and tagged[2].startswith(b"p3 OK [APPENDUID 1 2]")
    assert b"TRYCREATE" in tagged[1]
    raw.send(b"s SELECT INBOX\r\nf FETCH 2 (FLAGS BODY.PEEK[])\r\n")
    raw.until(b"s")
    assert MULTIPART in b"".join(raw.until(b"f"))
    raw.close()


def test_star_in_an_empty_mailbox(alice: imaplib.IMAP4) -> None:
    alice.select("INBOX")
    assert alice.fetch("1:*", "(FLAGS)")[0] == "OK"
    assert alice.search(None, "1:*") == ("OK", [b""])
    assert alice.uid("FETCH", "1:*", "(FLAGS)")[0] == "OK"


def test_append_to_the_selected_mailbox_announces_exists(alice: imaplib.IMAP4) -> None:
    alice.select("INBOX")
    alice.untagged_responses.clear()
    alice.append("INBOX", None, None, PLAIN)
    assert alice.untagged_responses.get("EXISTS") == [b"1"]
    alice.copy("1", "INBOX")
    assert alice.untagged_responses.get("EXISTS") == [b"1", b"2"]


def test_multiappend(imap_server: ImapServer) -> None:
    """RFC 3502: several messages in one APPEND, each with its own flags and date; all or none."""
    from tests.protocols.imap.test_session import Raw

    raw = Raw(imap_server)
    raw.login()
    one = b"Subject: multi one\r\n\r\nfirst\r\n"
    two = b"Subject: multi two\r\n\r\nsecond\r\n"
    raw.send(
        b'a APPEND INBOX (\\Seen) "01-Jan-2024 10:00:00 +0100" {%d+}\r\n%s {%d+}\r\n%s'
        b' (\\Flagged) {%d+}\r\n%s\r\n' % (len(one), one, len(two), two, len(one), one)
    )
    reply = raw.until(b"a")[-1]
    assert reply.startswith(b"a OK [APPENDUID "), reply
    uids = reply.split(b"]")[0].split()[-1]
    assert uids.count(b":") == 1  # three consecutive UIDs as one range
    raw.send(b"b SELECT INBOX\r\nc FETCH 1:* (FLAGS INTERNALDATE BODY.PEEK[])\r\n")
    raw.until(b"b")
    text = b"".join(raw.until(b"c"))
    assert text.count(b" FETCH (") == 3 and b'" 1-Jan-2024 10:00:00 +0100"' in text
    assert text.index(b"\\Seen") < text.index(b"multi one") < text.index(b"multi two") < text.index(b"\\Flagged")
    # A valid first message and a broken second one: the command is refused whole, nothing stored.
    raw.send(b"d APPEND INBOX {5+}\r\nhello {6+}\r\nsecond DATE\r\n")
    assert raw.until(b"d")[-1].startswith(b"d BAD")
    raw.send(b"e STATUS INBOX (MESSAGES)\r\n")
    assert b"MESSAGES 3" in b"".join(raw.until(b"e"))
    raw.close()
