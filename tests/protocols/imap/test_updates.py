"""STORE, COPY, MOVE, EXPUNGE, IDLE and two sessions seeing each other's changes."""

from __future__ import annotations

import imaplib
import threading
import time

import imapclient
import pytest

from kastell.store.model import NewItem
from tests.protocols.imap.conftest import ALICE, PASSWORD, ImapServer

MESSAGE = b"From: bob@example.org\r\nSubject: hi\r\n\r\nbody\r\n"


def _fill(client: imaplib.IMAP4, n: int, folder: str = "INBOX") -> None:
    for i in range(n):
        client.append(folder, None, None, MESSAGE.replace(b"hi", b"hi %d" % i))


def test_store_flags_and_keywords(alice: imaplib.IMAP4) -> None:
    _fill(alice, 3)
    alice.select("INBOX")
    typ, data = alice.store("1:2", "+FLAGS", "(\\Flagged $Label1)")
    assert data == [b"1 (FLAGS (\\Flagged $Label1))", b"2 (FLAGS (\\Flagged $Label1))"]
    typ, data = alice.store("1", "-FLAGS.SILENT", "($Label1)")
    assert data == [None]
    typ, data = alice.store("3", "FLAGS", "(\\Seen \\Answered)")
    assert data == [b"3 (FLAGS (\\Seen \\Answered))"]
    typ, data = alice.fetch("1:3", "(FLAGS)")
    assert data == [b"1 (FLAGS (\\Flagged))", b"2 (FLAGS (\\Flagged $Label1))", b"3 (FLAGS (\\Seen \\Answered))"]
    typ, data = alice.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
    assert data == [b"2 (UID 2 FLAGS (\\Flagged \\Deleted $Label1))"]


def test_copy_and_move_with_copyuid(alice: imaplib.IMAP4) -> None:
    _fill(alice, 4)
    alice.select("INBOX")
    typ, data = alice.copy("1:2", "Archive")
    assert typ == "OK" and data[0].startswith(b"[COPYUID ")
    assert data[0].split()[2:4] == [b"1:2", b"1:2]"]
    typ, data = alice.uid("MOVE", "3:4", "Trash")
    assert typ == "OK"
    copyuid = alice.untagged_responses.pop("OK")
    assert any(b"COPYUID" in line and b" 3:4 1:2]" in line for line in copyuid)
    expunged = alice.untagged_responses.pop("EXPUNGE")
    assert expunged == [b"4", b"3"]
    assert alice.select("INBOX")[1] == [b"2"]
    assert b"MESSAGES 2" in alice.status("Trash", "(MESSAGES)")[1][0]
    typ, data = alice.copy("1", "Nowhere")
    assert typ == "NO" and b"TRYCREATE" in data[0]


def test_expunge_and_uid_expunge(alice: imaplib.IMAP4) -> None:
    _fill(alice, 5)
    alice.select("INBOX")
    alice.store("2,4,5", "+FLAGS", "(\\Deleted)")
    typ, data = alice.uid("EXPUNGE", "1:4")
    assert typ == "OK" and alice.untagged_responses.pop("EXPUNGE") == [b"4", b"2"]
    typ, data = alice.expunge()
    assert data == [b"3"]
    typ, data = alice.fetch("1:*", "(UID)")
    assert data == [b"1 (UID 1)", b"2 (UID 3)"]


def test_close_expunges_silently(alice: imaplib.IMAP4) -> None:
    _fill(alice, 2)
    alice.select("INBOX")
    alice.store("1", "+FLAGS", "(\\Deleted)")
    assert alice.close()[0] == "OK"
    assert b"MESSAGES 1" in alice.status("INBOX", "(MESSAGES)")[1][0]


def test_second_session_sees_expunge_and_flags(imap_server: ImapServer) -> None:
    one, two = imap_server.client(), imap_server.client()
    _fill(one, 3)
    one.select("INBOX")
    two.select("INBOX")
    two.untagged_responses.clear()
    one.store("2", "+FLAGS", "(\\Deleted \\Seen)")
    one.expunge()
    # FETCH may not report the expunge (RFC 9051 §7.5.1); numbers stay stable meanwhile.
    typ, data = two.fetch("3", "(UID)")
    assert data == [b"3 (UID 3)"]
    assert "EXPUNGE" not in two.untagged_responses
    two.noop()
    assert two.untagged_responses.pop("EXPUNGE") == [b"2"]
    typ, data = two.fetch("1:*", "(UID)")
    assert data == [b"1 (UID 1)", b"2 (UID 3)"]
    one.store("1", "+FLAGS", "(\\Flagged)")
    two.noop()
    assert two.untagged_responses.pop("FETCH") == [b"1 (UID 1 FLAGS (\\Flagged))"]
    one.append("INBOX", None, None, MESSAGE)
    two.noop()
    assert two.untagged_responses.pop("EXISTS") == [b"3"]
    one.logout()
    two.logout()


def test_idle_wakes_on_append_from_another_session(imap_server: ImapServer) -> None:
    watcher = imapclient.IMAPClient(imap_server.host, imap_server.port, ssl=False)
    watcher.login(ALICE, PASSWORD)
    watcher.select_folder("INBOX")
    watcher.idle()
    other = imap_server.client()

    def later() -> None:
        time.sleep(0.3)
        other.append("INBOX", None, None, MESSAGE)

    thread = threading.Thread(target=later)
    started = time.monotonic()
    thread.start()
    responses = watcher.idle_check(timeout=10)
    thread.join()
    assert (1, b"EXISTS") in responses
    assert time.monotonic() - started < 5
    watcher.idle_done()
    other.logout()
    watcher.logout()


def test_idle_wakes_on_store_insert_and_expunge(imap_server: ImapServer) -> None:
    watcher = imapclient.IMAPClient(imap_server.host, imap_server.port, ssl=False)
    watcher.login(ALICE, PASSWORD)
    watcher.select_folder("INBOX")
    watcher.idle()

    async def deliver() -> None:
        account = await imap_server.app.directory.get_account(ALICE)
        mailbox = await imap_server.app.store.open(account.org_id, account.id)
        inbox = await mailbox.folder_by_role("inbox")
        await mailbox.append(inbox.id, NewItem(source=MESSAGE))

    imap_server.run(deliver())
    assert (1, b"EXISTS") in watcher.idle_check(timeout=10)
    watcher.idle_done()
    other = imap_server.client()
    other.select("INBOX")
    other.store("1", "+FLAGS", "(\\Deleted)")
    watcher.idle()
    other.expunge()
    seen: list[tuple[object, ...]] = []
    deadline = time.monotonic() + 10
    while (1, b"EXPUNGE") not in seen and time.monotonic() < deadline:
        seen += watcher.idle_check(timeout=1)  # the flag change may arrive first
    assert (1, b"EXPUNGE") in seen
    watcher.idle_done()
    watcher.logout()
    other.logout()


def test_thunderbird_style_session(imap_server: ImapServer) -> None:
    """LIST, SELECT with CONDSTORE, headers, flag change, move to Trash — as a desktop client does."""
    setup = imap_server.client()
    _fill(setup, 5)
    setup.logout()
    client = imapclient.IMAPClient(imap_server.host, imap_server.port, ssl=False)
    client.login(ALICE, PASSWORD)
    client.enable("CONDSTORE")
    folders = client.list_folders()
    trash = next(name for flags, _, name in folders if b"\\Trash" in flags)
    info = client.select_folder("INBOX")
    assert info[b"EXISTS"] == 5 and b"HIGHESTMODSEQ" in info
    headers = client.fetch(
        client.search("ALL"),
        ["UID", "RFC822.SIZE", "FLAGS", "BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID)]"],
    )
    assert len(headers) == 5
    client.add_flags([1], [imapclient.SEEN])
    client.move([2], trash)
    assert sorted(client.search("ALL")) == [1, 3, 4, 5]
    changed = client.fetch(client.search("ALL"), ["FLAGS"], modifiers=[f"CHANGEDSINCE {info[b'HIGHESTMODSEQ']}"])
    assert list(changed) == [1]
    client.logout()


def test_recent_for_rev1_clients(imap_server: ImapServer) -> None:
    one, two = imap_server.client(), imap_server.client()
    one.select("INBOX")  # the first SELECT sets where "recent" starts
    _fill(two, 2)
    one.noop()
    typ, data = one.fetch("1:*", "(FLAGS)")
    assert data == [b"1 (FLAGS (\\Recent))", b"2 (FLAGS (\\Recent))"]
    assert one.search(None, "RECENT")[1] == [b"1 2"]
    one.store("1", "+FLAGS", "(\\Seen)")
    assert one.search(None, "NEW")[1] == [b"2"]
    assert one.search(None, "OLD")[1] == [b""]
    typ, data = two.select("INBOX")
    assert two.untagged_responses.get("RECENT") == [b"0"]  # claimed by the first session
    one.close()
    two.close()  # a session with the folder selected would claim the new message itself
    _fill(two, 1)
    assert b"RECENT 1" in two.status("INBOX", "(RECENT)")[1][0]
    three = imap_server.client()
    three.select("INBOX")
    assert three.untagged_responses.get("RECENT") == [b"1"]
    for client in (one, two, three):
        client.logout()


def test_keywords_per_message_are_bounded(alice: imaplib.IMAP4) -> None:
    from kastell.store.flags import MAX_KEYWORDS

    alice.select("INBOX")
    many = "(" + " ".join(f"k{i}" for i in range(MAX_KEYWORDS + 1)) + ")"
    with pytest.raises(imaplib.IMAP4.error):
        alice.append("INBOX", many, None, b"Subject: k\r\n\r\nbody\r\n")
    assert alice.append("INBOX", "(a b)", None, b"Subject: k\r\n\r\nbody\r\n")[0] == "OK"
    alice.select("INBOX")
    half = "(" + " ".join(f"h{i}" for i in range(MAX_KEYWORDS - 10)) + ")"
    assert alice.store("1", "+FLAGS", half)[0] == "OK"
    with pytest.raises(imaplib.IMAP4.error):  # the 128 + a few would be too many on the message
        alice.store("1", "+FLAGS", "(" + " ".join(f"x{i}" for i in range(20)) + ")")
    status, data = alice.fetch("1", "(FLAGS)")
    assert status == "OK" and b"x0" not in data[0] and b"h0" in data[0]
