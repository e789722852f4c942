"""Mailbox commands with real clients: LIST (special-use, extended, status), CREATE/DELETE/RENAME, STATUS."""

from __future__ import annotations

import imaplib
import re
import time

import imapclient
from hypothesis import given
from hypothesis import strategies as st

from kastell.protocols.imap.commands.mailboxes import _Pattern
from tests.protocols.imap.conftest import ALICE, PASSWORD, ImapServer

MESSAGE = b"From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n"


def test_list_special_use_and_children(alice: imaplib.IMAP4) -> None:
    assert alice.create("Archive/2024")[0] == "OK"
    typ, lines = alice.list()
    listing = {line.rsplit(b' "/" ', 1)[1].strip(b'"'): line for line in lines}
    assert b"\\Sent" in listing[b"Sent"]
    assert b"\\Drafts" in listing[b"Drafts"]
    assert b"\\Trash" in listing[b"Trash"]
    assert b"\\Junk" in listing[b"Junk"]
    assert b"\\HasChildren" in listing[b"Archive"] and b"\\Archive" in listing[b"Archive"]
    assert b"\\HasNoChildren" in listing[b"Archive/2024"]
    assert b"Calendar" not in listing and b"Contacts" not in listing  # not mail folders


def test_list_patterns(alice: imaplib.IMAP4) -> None:
    alice.create("Work/Projects/Kastell")
    names = lambda lines: sorted(line.rsplit(b' "/" ', 1)[1].strip(b'"') for line in lines if line)  # noqa: E731
    assert names(alice.list('""', "Work/%")[1]) == [b"Work/Projects"]
    assert names(alice.list('""', "Work/*")[1]) == [b"Work/Projects", b"Work/Projects/Kastell"]
    assert names(alice.list("Work/", "%")[1]) == [b"Work/Projects"]
    assert names(alice.list('""', "inbox")[1]) == [b"INBOX"]
    typ, data = alice.list('""', '""')
    assert data == [b'(\\Noselect) "/" ""']


def test_list_extended_and_status(alice: imaplib.IMAP4) -> None:
    alice.append("INBOX", None, None, MESSAGE)
    typ, data = alice._simple_command("LIST", "(SPECIAL-USE)", '""', "*")  # type: ignore[attr-defined]
    typ, lines = alice._untagged_response(typ, data, "LIST")  # type: ignore[attr-defined]
    assert all(b"\\HasNoChildren" in line for line in lines)
    assert sorted(line.rsplit(b" ", 1)[1] for line in lines) == [
        b'"Archive"',
        b'"Drafts"',
        b'"Junk"',
        b'"Sent"',
        b'"Trash"',
    ]
    typ, data = alice._simple_command("LIST", '""', "INBOX", "RETURN", "(SUBSCRIBED STATUS (MESSAGES UNSEEN SIZE))")  # type: ignore[attr-defined]
    assert typ == "OK"
    status = alice.untagged_responses.pop("STATUS")
    assert status == [b'"INBOX" (MESSAGES 1 UNSEEN 1 SIZE %d)' % len(MESSAGE)]


def test_status(alice: imaplib.IMAP4) -> None:
    alice.append("INBOX", "(\\Seen \\Deleted)", None, MESSAGE)
    alice.append("INBOX", None, None, MESSAGE)
    typ, data = alice.status("INBOX", "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ)")
    assert typ == "OK"
    text = data[0].decode()
    assert "MESSAGES 2" in text and "UNSEEN 1" in text and "DELETED 1" in text and "UIDNEXT 3" in text
    assert f"SIZE {2 * len(MESSAGE)}" in text
    assert alice.status("Nope", "(MESSAGES)")[0] == "NO"


def test_create_delete_rename(alice: imaplib.IMAP4) -> None:
    assert alice.create("Projects")[0] == "OK"
    typ, data = alice.create("Projects")
    assert typ == "NO" and b"ALREADYEXISTS" in data[0]
    assert alice.create("Projects/Old/")[0] == "OK"  # trailing delimiter is allowed
    assert alice.rename("Projects", "Done")[0] == "OK"
    typ, lines = alice.list('""', "Done*")
    assert len(lines) == 2
    assert alice.delete("Done")[0] == "NO"  # has children
    assert alice.delete("Done/Old")[0] == "OK"
    assert alice.delete("Done")[0] == "OK"
    assert alice.delete("INBOX")[0] == "NO"
    assert alice.select("Done")[0] == "NO"


def test_rename_inbox_moves_messages(alice: imaplib.IMAP4) -> None:
    alice.append("INBOX", None, None, MESSAGE)
    alice.append("INBOX", None, None, MESSAGE)
    assert alice.rename("INBOX", '"Old Inbox"')[0] == "OK"
    assert b"MESSAGES 0" in alice.status("INBOX", "(MESSAGES)")[1][0]
    assert b"MESSAGES 2" in alice.status('"Old Inbox"', "(MESSAGES)")[1][0]


def test_subscribe_and_lsub(alice: imaplib.IMAP4) -> None:
    alice.create("Lists")
    assert alice.unsubscribe("Lists")[0] == "OK"
    typ, lines = alice.lsub('""', "*")
    assert not any(b'"Lists"' in line for line in lines)
    alice.subscribe("Lists")
    typ, lines = alice.lsub('""', "*")
    assert any(b'"Lists"' in line for line in lines)


def test_utf7_and_utf8_names(imap_server: ImapServer) -> None:
    client = imap_server.client()
    assert client.create("Entw&APw-rfe")[0] == "OK"  # modified UTF-7 for a rev1 client
    typ, lines = client.list('""', "Entw*")
    assert lines == [b'(\\HasNoChildren) "/" "Entw&APw-rfe"']
    client.logout()
    ic = imapclient.IMAPClient(imap_server.host, imap_server.port, ssl=False)
    ic.login(ALICE, PASSWORD)
    assert "Entwürfe" in [name for _, _, name in ic.list_folders()]  # imapclient decodes mUTF-7
    ic.enable("UTF8=ACCEPT")
    ic.folder_encode = False
    typ = ic._imap._simple_command("CREATE", '"Grüße"'.encode())  # type: ignore[attr-defined]
    assert typ[0] == "OK"
    names = [name for _, _, name in ic.list_folders()]
    assert "Grüße" in [n.decode() if isinstance(n, bytes) else n for n in names]
    ic.logout()


def test_namespace_and_quota(alice: imaplib.IMAP4) -> None:
    alice.append("INBOX", None, None, MESSAGE)
    typ, data = alice.getquotaroot("INBOX")
    assert typ == "OK"
    assert data[0] == [b'"INBOX" ""']
    typ, data = alice.getquota('""')
    assert typ == "OK"


@given(
    pattern=st.text(alphabet="ab/*%", max_size=8),
    name=st.text(alphabet="ab/", max_size=10),
)
def test_list_pattern_matching_is_the_wildcard_semantics(pattern: str, name: str) -> None:
    """The linear matcher answers as the obvious (backtracking) translation does."""
    regex = "".join(".*" if c == "*" else "[^/]*" if c == "%" else re.escape(c) for c in pattern)
    assert _Pattern("", pattern).match(name) == (re.fullmatch(regex, name, re.S) is not None)


def test_list_pattern_that_backtracks_exponentially_as_a_regex(alice: imaplib.IMAP4) -> None:
    alice.create("a" * 60)
    started = time.perf_counter()
    status, data = alice.list('""', "*a" * 40 + "*b")
    assert status == "OK" and data == [None]
    assert time.perf_counter() - started < 5  # the regex translation did not finish in minutes
    status, data = alice.list('""', "*a" * 40 + "*")
    assert status == "OK" and any(b"a" * 60 in line for line in data if line)
