"""SEARCH keys, ESEARCH, SORT and THREAD against a small known mailbox."""

from __future__ import annotations

import imaplib
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.protocols.imap.conftest import ImapServer, start_server, stop_server


def _msg(subject: str, frm: str, to: str, date: str, body: str, extra: str = "") -> bytes:
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n{extra}\r\n{body}\r\n").encode()


MESSAGES = [
    # (message, flags, internal date)
    (
        _msg(
            "Lunch plans",
            "Bob <bob@example.org>",
            "alice@example.org",
            "Mon, 1 Jan 2024 10:00:00 +0000",
            "Shall we meet at noon?",
            "Message-ID: <a@x>\r\nBcc: secret@example.org\r\n",
        ),
        "(\\Seen)",
        "01-Jan-2024 10:00:00 +0000",
    ),
    (
        _msg(
            "Re: Lunch plans",
            "Alice <alice@example.org>",
            "bob@example.org",
            "Tue, 2 Jan 2024 10:00:00 +0000",
            "Yes, noon works." + " padding" * 200,
            "Message-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\nReferences: <a@x>\r\nX-Priority: 1\r\n",
        ),
        "(\\Seen \\Answered)",
        "02-Jan-2024 10:00:00 +0000",
    ),
    (
        _msg(
            "Invoice 42",
            "Billing <billing@shop.example>",
            "alice@example.org",
            "Wed, 3 Jan 2024 10:00:00 +0000",
            "Please pay the invoice.",
            "Message-ID: <c@x>\r\nCc: carol@example.net\r\n",
        ),
        "(\\Flagged $Bill)",
        "03-Jan-2024 10:00:00 +0000",
    ),
    (
        _msg(
            "Re: Re: Lunch plans",
            "Bob <bob@example.org>",
            "alice@example.org",
            "Thu, 4 Jan 2024 10:00:00 +0000",
            "See you there.",
            "Message-ID: <d@x>\r\nReferences: <a@x> <b@x>\r\n",
        ),
        "(\\Deleted)",
        "04-Jan-2024 10:00:00 +0000",
    ),
    (
        _msg(
            "Fwd: Invoice 42",
            "Alice <alice@example.org>",
            "dave@example.com",
            "Fri, 5 Jan 2024 10:00:00 +0000",
            "FYI \u00fcber alles",
            "Message-ID: <e@x>\r\nContent-Type: text/plain; charset=utf-8\r\n",
        ),
        "(\\Draft)",
        "05-Jan-2024 10:00:00 +0000",
    ),
]


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    server, thread = start_server(tmp_path_factory.mktemp("search") / "data")
    yield server
    stop_server(server, thread)


@pytest.fixture
def box(shared_server: ImapServer) -> Iterator[imaplib.IMAP4]:
    """A fresh folder holding MESSAGES, selected (one server for the module: starting one costs ~1 s)."""
    client = shared_server.client()
    folder = f"t{next(_COUNTER)}"
    client.create(folder)
    for message, flags, when in MESSAGES:
        client.append(folder, flags, f'"{when}"', message)
    client.select(folder)
    yield client
    client.logout()


_COUNTER = itertools.count()


CASES = [
    ("ALL", "1 2 3 4 5"),
    ("ANSWERED", "2"),
    ("UNANSWERED", "1 3 4 5"),
    ("DELETED", "4"),
    ("UNDELETED", "1 2 3 5"),
    ("DRAFT", "5"),
    ("UNDRAFT", "1 2 3 4"),
    ("FLAGGED", "3"),
    ("UNFLAGGED", "1 2 4 5"),
    ("SEEN", "1 2"),
    ("UNSEEN", "3 4 5"),
    ("KEYWORD $Bill", "3"),
    ("UNKEYWORD $Bill", "1 2 4 5"),
    ("NEW", ""),
    ("OLD", "1 2 3 4 5"),
    ("RECENT", ""),
    ("FROM bob", "1 4"),
    ("FROM Billing", "3"),
    ("TO dave", "5"),
    ("CC carol", "3"),
    ("BCC secret", "1"),
    ("SUBJECT lunch", "1 2 4"),
    ("SUBJECT invoice", "3 5"),
    ("HEADER X-Priority 1", "2"),
    ('HEADER Message-ID ""', "1 2 3 4 5"),
    ("BODY noon", "1 2"),
    ("TEXT invoice", "3 5"),
    ("TEXT billing@shop", "3"),
    ("BODY nowhere", ""),
    ("LARGER 1000", "2"),
    ("SMALLER 1000", "1 3 4 5"),
    ("BEFORE 3-Jan-2024", "1 2"),
    ("ON 3-Jan-2024", "3"),
    ("SINCE 4-Jan-2024", "4 5"),
    ("SENTBEFORE 2-Jan-2024", "1"),
    ("SENTON 2-Jan-2024", "2"),
    ("SENTSINCE 5-Jan-2024", "5"),
    ("UID 2:3", "2 3"),
    ("2,4:*", "2 4 5"),
    ("NOT SEEN", "3 4 5"),
    ("OR FLAGGED DRAFT", "3 5"),
    ("OR FROM billing BODY noon", "1 2 3"),
    ("NOT OR DELETED SEEN", "3 5"),
    ("(SEEN ANSWERED)", "2"),
    ("SEEN NOT (BODY noon)", ""),
    ("NOT BODY noon UNDELETED", "3 5"),
    ("CHARSET UTF-8 BODY \u00fcber", "5"),
    ("MODSEQ 1", "1 2 3 4 5"),
]


@pytest.mark.parametrize(("criteria", "expected"), CASES)
def test_search_key(box: imaplib.IMAP4, criteria: str, expected: str) -> None:
    if "\u00fc" in criteria:
        box.literal = "über".encode()  # type: ignore[assignment]
        typ, data = box.search("UTF-8", "BODY")
    else:
        typ, data = box.search(None, criteria)
    assert typ == "OK", data
    assert data[0].split(b" (MODSEQ")[0].decode() == expected


def test_uid_search_and_charsets(box: imaplib.IMAP4) -> None:
    box.store("1", "+FLAGS", "(\\Deleted)")
    box.expunge()
    typ, data = box.uid("SEARCH", "ALL")
    assert data == [b"2 3 5"]  # 1 and 4 (\\Deleted from the start) are gone
    typ, data = box.search(None, "CHARSET", "KOI8-R", "ALL")
    assert typ == "NO" and b"BADCHARSET" in data[0]
    try:
        box.search(None, "FROB")
    except imaplib.IMAP4.error as exc:
        assert "Unknown search key" in str(exc)
    else:
        raise AssertionError("FROB accepted")


def test_esearch_return_options_and_save(box: imaplib.IMAP4) -> None:
    typ, data = box._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT ALL)", "UNDELETED")  # type: ignore[attr-defined]
    assert typ == "OK"
    esearch = box.untagged_responses.pop("ESEARCH")[0]
    assert b"MIN 1 MAX 5 ALL 1:3,5 COUNT 4" in esearch
    typ, data = box._simple_command("UID", "SEARCH", "RETURN", "(SAVE)", "FLAGGED")  # type: ignore[attr-defined]
    assert "ESEARCH" not in box.untagged_responses
    typ, data = box.uid("FETCH", "$", "(FLAGS)")
    assert data == [b"3 (UID 3 FLAGS (\\Flagged $Bill))"]
    typ, data = box.search(None, "$")
    assert data == [b"3"]


def test_sort(box: imaplib.IMAP4) -> None:
    assert box.sort("(SUBJECT)", "UTF-8", "ALL")[1] == [b"3 5 1 2 4"]
    assert box.sort("(REVERSE ARRIVAL)", "UTF-8", "ALL")[1] == [b"5 4 3 2 1"]
    assert box.sort("(SIZE)", "UTF-8", "ALL")[1][0].split()[-1] == b"2"
    assert box.sort("(FROM DATE)", "UTF-8", "ALL")[1] == [b"2 5 3 1 4"]
    assert box.sort("(DATE)", "UTF-8", "SEEN")[1] == [b"1 2"]
    assert box.uid("SORT", "(REVERSE DATE)", "UTF-8", "ALL")[1] == [b"5 4 3 2 1"]


def test_thread(box: imaplib.IMAP4) -> None:
    typ, data = box.thread("REFERENCES", "UTF-8", "ALL")
    assert data == [b"(1 2 4)(3 5)"]
    typ, data = box.thread("ORDEREDSUBJECT", "UTF-8", "ALL")
    assert data == [b"(1 (2)(4))(3 5)"]
    typ, data = box.uid("THREAD", "REFERENCES", "UTF-8", "NOT DELETED")
    assert data == [b"(1 2)(3 5)"]


def test_dates_use_the_arrival_zone() -> None:
    from kastell.protocols.imap.responses import internal_date, parse_date_time

    seconds, zone = parse_date_time("01-Jan-2024 23:30:00 -0500")
    assert datetime.fromtimestamp(seconds, UTC).day == 2
    assert internal_date(seconds, zone) == b'" 1-Jan-2024 23:30:00 -0500"'


def test_sizes_are_the_sizes_imap_sends(shared_server: ImapServer) -> None:
    """A bare-LF message is sent with CRLF; LARGER/SMALLER and SORT SIZE use that size, as RFC822.SIZE does."""
    client = shared_server.client()
    folder = f"t{next(_COUNTER)}"
    client.create(folder)
    stored = b"Subject: lf\n\n" + b"x\n" * 20  # 53 bytes stored, 75 sent
    crlf = b"Subject: crlf\r\n\r\n" + b"y" * 41 + b"\r\n"  # 60 bytes either way
    client.append(folder, None, None, stored)
    client.append(folder, None, None, crlf)
    client.select(folder)
    assert client.fetch("1", "(RFC822.SIZE)")[1] == [b"1 (RFC822.SIZE 75)"]
    assert client.search(None, "LARGER 62")[1] == [b"1"]
    assert client.search(None, "SMALLER 62")[1] == [b"2"]
    assert client.sort("(SIZE)", "UTF-8", "ALL")[1] == [b"2 1"]
    client.logout()


def test_hostile_search_programs_get_bad(shared_server: ImapServer) -> None:
    """Nesting and key counts are bounded: BAD, not a stack overflow or a database error."""
    from tests.protocols.imap.test_session import Raw

    raw = Raw(shared_server)
    raw.login()
    raw.send(b"a SELECT INBOX\r\n")
    raw.until(b"a")
    for tag, program, answer in (
        (b"b", b"OR " * 5000 + b"ALL " * 5001, b"b BAD Search keys nested too deeply"),
        (b"c", b"NOT " * 10000 + b"ALL", b"c BAD Search keys nested too deeply"),
        (b"d", b"ALL " * 501, b"d BAD Too many search keys"),
        (b"e", b"OR SUBJECT x " * 199 + b"FROM y", b"e OK"),
        (b"f", b"SUBJECT x " * 250 + b"BODY hello " * 250, b"f OK"),
    ):
        raw.send(tag + b" SEARCH " + program + b"\r\n")
        assert raw.until(tag)[-1].startswith(answer), tag
    raw.send(b"g SORT (DATE) UTF-8 " + b"NOT " * 10000 + b"ALL\r\n")
    assert raw.until(b"g")[-1].startswith(b"g BAD")
    raw.send(b"h NOOP\r\n")
    assert raw.until(b"h")[-1].startswith(b"h OK")
    raw.close()
