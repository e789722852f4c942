"""CONDSTORE and QRESYNC (RFC 7162): MODSEQ, UNCHANGEDSINCE, CHANGEDSINCE, VANISHED."""

from __future__ import annotations

import re

from tests.protocols.imap.conftest import ImapServer
from tests.protocols.imap.test_session import Raw

MESSAGE = b"From: bob@example.org\r\nSubject: hi\r\n\r\nbody\r\n"


def _setup(server: ImapServer, n: int = 3) -> None:
    client = server.client()
    for _ in range(n):
        client.append("INBOX", None, None, MESSAGE)
    client.logout()


def _number(lines: list[bytes], pattern: bytes) -> int:
    for line in lines:
        m = re.search(pattern, line)
        if m:
            return int(m.group(1))
    raise AssertionError(f"{pattern!r} not in {lines!r}")


def test_condstore_select_fetch_store(imap_server: ImapServer) -> None:
    _setup(imap_server)
    raw = Raw(imap_server)
    raw.login()
    raw.send(b"a SELECT INBOX (CONDSTORE)\r\n")
    lines = raw.until(b"a")
    highest = _number(lines, rb"HIGHESTMODSEQ (\d+)")
    raw.send(b"b FETCH 1:* (MODSEQ)\r\n")
    lines = raw.until(b"b")
    modseqs = [int(m) for m in re.findall(rb"MODSEQ \((\d+)\)", b"".join(lines))]
    assert len(modseqs) == 3 and max(modseqs) == highest
    raw.send(b"c STORE 1 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)\r\n" % highest)
    lines = raw.until(b"c")
    assert lines[-1].startswith(b"c OK")
    new = _number(lines, rb"\* 1 FETCH \(FLAGS \(\\Seen\) MODSEQ \((\d+)\)\)")
    assert new > highest
    # Message 1 changed after `highest`: a store conditional on it is refused.
    raw.send(b"d STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)\r\n" % highest)
    lines = raw.until(b"d")
    assert lines[-1].startswith(b"d OK [MODIFIED 1]")
    raw.send(b"e FETCH 1:* (FLAGS) (CHANGEDSINCE %d)\r\n" % highest)
    lines = raw.until(b"e")
    fetched = sorted(int(n) for n in re.findall(rb"\* (\d+) FETCH", b"".join(lines)))
    assert fetched == [1, 2]
    raw.send(b"f SEARCH MODSEQ %d\r\n" % (highest + 1))
    lines = raw.until(b"f")
    assert re.search(rb"\* SEARCH 1 2 \(MODSEQ \d+\)", b"".join(lines))
    raw.send(b"g STATUS INBOX (HIGHESTMODSEQ)\r\n")
    assert _number(raw.until(b"g"), rb"HIGHESTMODSEQ (\d+)") > new
    raw.close()


def test_qresync_resync_after_changes_elsewhere(imap_server: ImapServer) -> None:
    _setup(imap_server, 4)
    raw = Raw(imap_server)
    raw.login()
    raw.send(b"a ENABLE QRESYNC\r\nb SELECT INBOX\r\n")
    assert b"ENABLED QRESYNC" in b"".join(raw.until(b"a"))
    lines = raw.until(b"b")
    validity = _number(lines, rb"UIDVALIDITY (\d+)")
    highest = _number(lines, rb"HIGHESTMODSEQ (\d+)")
    raw.send(b"c UNSELECT\r\n")
    raw.until(b"c")
    other = imap_server.client()
    other.select("INBOX")
    other.store("2", "+FLAGS", "(\\Deleted)")
    other.expunge()
    other.store("1", "+FLAGS", "(\\Flagged)")
    other.logout()
    raw.send(b"d SELECT INBOX (QRESYNC (%d %d 1:4))\r\n" % (validity, highest))
    lines = raw.until(b"d")
    text = b"".join(lines)
    assert b"* VANISHED (EARLIER) 2\r\n" in text
    assert re.search(rb"\* 1 FETCH \(UID 1 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)", text)
    assert b"* 3 EXISTS" in text
    raw.send(b"e UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)\r\n" % highest)
    text = b"".join(raw.until(b"e"))
    assert b"* VANISHED (EARLIER) 2\r\n" in text
    assert b"UID 1 " in text
    # An expunge in this session is reported as VANISHED once QRESYNC is on.
    raw.send(b"f STORE 3 +FLAGS.SILENT (\\Deleted)\r\ng EXPUNGE\r\n")
    raw.until(b"f")
    text = b"".join(raw.until(b"g"))
    assert b"* VANISHED 4\r\n" in text
    raw.send(b"h CLOSE\r\n")
    assert raw.until(b"h")[-1].startswith(b"h OK [CLOSED]")
    raw.close()


def test_qresync_with_stale_uidvalidity_is_a_plain_select(imap_server: ImapServer) -> None:
    _setup(imap_server, 2)
    raw = Raw(imap_server)
    raw.login()
    raw.send(b"a ENABLE QRESYNC\r\nb SELECT INBOX (QRESYNC (999999 1))\r\n")
    raw.until(b"a")
    text = b"".join(raw.until(b"b"))
    assert b"VANISHED" not in text and b"* 2 EXISTS" in text
    raw.close()


def test_resync_after_the_tombstones_were_pruned(imap_server: ImapServer) -> None:
    """Past store.tombstone_days the expunges are no longer recorded; the answers stay right (RFC 7162 §3.2.5.1)."""
    _setup(imap_server, 6)
    raw = Raw(imap_server)
    raw.login()
    raw.send(b"a ENABLE QRESYNC\r\nb SELECT INBOX\r\n")
    lines = raw.until(b"a") + raw.until(b"b")
    validity = _number(lines, rb"UIDVALIDITY (\d+)")
    highest = _number(lines, rb"HIGHESTMODSEQ (\d+)")
    # Another session expunges 2 and 5; this one stays selected and sees it as usual.
    other = imap_server.client()
    other.select("INBOX")
    other.store("2,5", "+FLAGS.SILENT", "(\\Deleted)")
    other.expunge()
    # Everything is older than 0 seconds: every tombstone goes.
    assert imap_server.run(imap_server.core.store.prune_tombstones(-10)) >= 2
    # A third session expunges 3 after the pruning: its tombstone is kept.
    other.store("2", "+FLAGS.SILENT", "(\\Deleted)")  # sequence 2 is UID 3 now
    other.expunge()
    other.logout()
    raw.send(b"c NOOP\r\n")
    text = b"".join(raw.until(b"c"))
    # The pruned expunges (2, 5) are found by comparing UIDs, the recorded one (3) as usual.
    assert b"* VANISHED 2:3,5\r\n" in text, text
    raw.send(b"d LOGOUT\r\n")
    raw.close()
    # A client that was away since `highest` gets the UIDs it knew that are gone,
    # computed from the UIDs left (its known-uids, or everything below UIDNEXT).
    raw = Raw(imap_server)
    raw.login()
    raw.send(b"a ENABLE QRESYNC\r\n")
    raw.until(b"a")
    raw.send(b"b SELECT INBOX (QRESYNC (%d %d 1:6))\r\n" % (validity, highest))
    text = b"".join(raw.until(b"b"))
    assert b"* VANISHED (EARLIER) 2:3,5\r\n" in text, text
    raw.send(b"c UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)\r\n" % highest)
    text = b"".join(raw.until(b"c"))
    assert b"* VANISHED (EARLIER) 2:3,5\r\n" in text, text
    raw.send(b"d UID FETCH 4:4294967295 (FLAGS) (CHANGEDSINCE %d VANISHED)\r\n" % highest)
    text = b"".join(raw.until(b"d"))
    assert b"* VANISHED (EARLIER) 5,7:4294967295\r\n" in text, text
    # A modseq after the pruning still gets exact answers from the tombstones.
    raw.send(b"e STATUS INBOX (HIGHESTMODSEQ)\r\n")
    now = _number(raw.until(b"e"), rb"HIGHESTMODSEQ (\d+)")
    raw.send(b"f UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)\r\n" % now)
    text = b"".join(raw.until(b"f"))
    assert b"VANISHED" not in text
    raw.close()
