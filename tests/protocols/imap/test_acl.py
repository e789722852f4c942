"""ACL (RFC 4314) on shared folders with real clients: rights letters, Other Users namespace,
IDLE across mailboxes, copies between mailboxes, tenancy, and ``kastell user share``."""

from __future__ import annotations

import imaplib
import threading
import time
from pathlib import Path

import imapclient
import pytest

from kastell.store import acl
from kastell.store.errors import NoSuchFolder
from tests.process.harness import kastell
from tests.protocols.imap.conftest import ALICE, BOB, PASSWORD, ImapServer, start_server, stop_server

MESSAGE = b"From: carol@example.org\r\nSubject: plans\r\n\r\nthe plans\r\n"
SHARED = '"Other Users/alice@example.org/Projects"'
EVE = "eve@other.test"
imaplib.Commands.setdefault("LISTRIGHTS", ("AUTH", "SELECTED"))  # imaplib knows the rest of RFC 4314


def _q(name: str) -> str:
    return '"' + name + '"'


def _code(data: list[bytes | None]) -> bytes:
    first = data[0]
    assert isinstance(first, bytes)
    return first


@pytest.fixture
def shared(imap_server: ImapServer) -> imaplib.IMAP4:
    """Alice's "Projects" with two messages; alice's session is returned (logged in)."""
    alice = imap_server.client(ALICE)
    assert alice.create("Projects")[0] == "OK"
    for n in range(2):
        alice.append("Projects", None, None, MESSAGE.replace(b"plans", b"plans %d" % n))
    return alice


def _eve(imap_server: ImapServer) -> imaplib.IMAP4:
    async def add() -> None:
        await imap_server.app.directory.add_domain("other.test", org="other")
        await imap_server.app.directory.add_user(EVE, PASSWORD)

    imap_server.run(add())
    return imap_server.client(EVE)


def test_capabilities_and_namespace(imap_server: ImapServer) -> None:
    bob = imap_server.client(BOB)
    caps = bob.capabilities
    assert "ACL" in caps and "RIGHTS=TEXK" in caps
    assert bob.namespace()[1][0] == b'(("" "/")) (("Other Users/" "/")) NIL'
    bob.logout()


def test_share_lr_then_lrs(imap_server: ImapServer, shared: imaplib.IMAP4) -> None:
    alice = shared
    bob = imap_server.client(BOB)
    # Not shared yet: the name does not exist for bob, and LIST shows nothing.
    typ, data = bob.select(SHARED)
    assert typ == "NO" and b"[NONEXISTENT]" in _code(data)
    assert bob.list('""', '"Other Users/*"')[1] == [None]

    assert alice.setacl("Projects", BOB, "lr")[0] == "OK"
    typ, data = bob.list('""', "*")
    assert b'(\\Noselect \\HasChildren) "/" "Other Users"' in data
    assert b'(\\Noselect \\HasChildren) "/" "Other Users/alice@example.org"' in data
    assert b'(\\HasNoChildren) "/" "Other Users/alice@example.org/Projects"' in data
    assert not any(b"Other Users/alice@example.org/INBOX" in line for line in data if line)
    assert bob.list('""', "%")[1][-1] == b'(\\Noselect \\HasChildren) "/" "Other Users"'
    assert bob.myrights(SHARED)[1] == [b'"Other Users/alice@example.org/Projects" lr']
    assert b"MESSAGES 2" in _code(bob.status(SHARED, "(MESSAGES UNSEEN)")[1])

    # RFC 4314 §5.2: no right to change anything, so SELECT says READ-ONLY.
    typ, data = bob._simple_command("SELECT", SHARED)
    assert typ == "OK" and _code(data).startswith(b"[READ-ONLY]")
    assert bob.untagged_responses.pop("EXISTS") == [b"2"]
    assert bob.untagged_responses.pop("PERMANENTFLAGS") == [b"()"]
    bob.untagged_responses.pop("READ-ONLY", None)
    bob.state, bob.is_readonly = "SELECTED", True
    typ, data = bob.fetch("1", "(BODY[])")
    assert typ == "OK"
    body = data[0]
    assert isinstance(body, tuple) and body[1] == MESSAGE.replace(b"plans", b"plans 0")
    # Without "s" the fetch left \Seen alone; STORE is refused.
    typ, data = bob.store("1", "+FLAGS", "(\\Seen)")
    assert typ == "NO" and b"[NOPERM]" in _code(data)
    alice.select("Projects")
    assert alice.fetch("1", "(FLAGS)")[1] == [b"1 (FLAGS ())"]
    # Bob may not read or change the ACL (no "a").
    typ, data = bob.getacl(SHARED)
    assert typ == "NO" and b"[NOPERM]" in _code(data)
    typ, data = bob.setacl(SHARED, BOB, "lrswipkxtea")
    assert typ == "NO" and b"[NOPERM]" in _code(data)

    # lrs: read-write for \Seen only.
    assert alice.setacl("Projects", BOB, "+s")[0] == "OK"
    typ, data = bob.select(SHARED)
    assert typ == "OK"
    assert bob.untagged_responses.pop("PERMANENTFLAGS") == [b"(\\Seen)"]
    assert bob.myrights(SHARED)[1] == [b'"Other Users/alice@example.org/Projects" lrs']
    typ, data = bob.store("1", "+FLAGS", "(\\Seen)")
    assert typ == "OK" and data == [b"1 (FLAGS (\\Seen))"]
    typ, data = bob.store("2", "+FLAGS", "(\\Deleted)")
    assert typ == "NO" and b"[NOPERM]" in _code(data)
    # A mixed request keeps what is allowed (RFC 4314 §4: STORE SHOULD NOT fail then).
    typ, data = bob.store("2", "+FLAGS", "(\\Seen \\Flagged)")
    assert typ == "OK" and data == [b"2 (FLAGS (\\Seen))"]
    typ, data = bob.expunge()
    assert typ == "NO" and b"[NOPERM]" in _code(data)
    alice.noop()  # the updates bob's changes caused, not what this test reads
    alice.untagged_responses.pop("FETCH", None)
    assert alice.fetch("1:2", "(FLAGS)")[1] == [b"1 (FLAGS (\\Seen))", b"2 (FLAGS (\\Seen))"]

    # The owner's view of the ACL, and what may be granted.
    typ, data = alice.getacl("Projects")
    assert data == [b'"Projects" alice@example.org lrswipkxteacd bob@example.org lrs']
    typ, data = alice._simple_command("LISTRIGHTS", "Projects", BOB)
    assert typ == "OK"
    assert alice.untagged_responses.pop("LISTRIGHTS") == [b'"Projects" bob@example.org "" l r s w i p k x t e a c d']
    alice._simple_command("LISTRIGHTS", "Projects", ALICE)
    assert alice.untagged_responses.pop("LISTRIGHTS") == [b'"Projects" alice@example.org lrswipkxteacd']
    assert alice.myrights("Projects")[1] == [b'"Projects" lrswipkxteacd']
    with pytest.raises(imaplib.IMAP4.error, match="unknown right"):
        alice.setacl("Projects", BOB, "lrQ")  # RFC 4314 §3.1: BAD, never ignored
    typ, data = alice.setacl("Projects", "nobody@example.org", "lr")
    assert typ == "NO"

    # Revoked: gone from bob's view at once.
    assert alice.deleteacl("Projects", BOB)[0] == "OK"
    assert alice.getacl("Projects")[1] == [b'"Projects" alice@example.org lrswipkxteacd']
    typ, data = bob.status(SHARED, "(MESSAGES)")
    assert typ == "NO" and b"[NONEXISTENT]" in _code(data)
    bob.logout()
    alice.logout()


def test_idle_on_a_shared_folder_sees_the_owners_append(imap_server: ImapServer, shared: imaplib.IMAP4) -> None:
    alice = shared
    assert alice.setacl("Projects", BOB, "lrs")[0] == "OK"
    watcher = imapclient.IMAPClient(imap_server.host, imap_server.port, ssl=False)
    watcher.login(BOB, PASSWORD)
    assert watcher.select_folder("Other Users/alice@example.org/Projects")[b"EXISTS"] == 2
    watcher.idle()

    def later() -> None:
        time.sleep(0.3)
        alice.append("Projects", None, None, MESSAGE)

    thread = threading.Thread(target=later)
    started = time.monotonic()
    thread.start()
    responses = watcher.idle_check(timeout=10)
    thread.join()
    assert (3, b"EXISTS") in responses
    assert time.monotonic() - started < 5
    watcher.idle_done()
    # And an expunge by the owner reaches the shared session as well.
    alice.select("Projects")
    alice.store("1", "+FLAGS", "(\\Deleted)")
    alice.expunge()
    assert (1, b"EXPUNGE") in watcher.noop()[1]
    assert watcher.search("ALL") == [2, 3]  # UIDs
    watcher.logout()
    alice.logout()


def test_copy_move_and_append_across_mailboxes(imap_server: ImapServer, shared: imaplib.IMAP4) -> None:
    alice = shared
    assert alice.setacl("Projects", BOB, "lrsi")[0] == "OK"
    bob = imap_server.client(BOB)
    bob.select(SHARED)
    typ, data = bob.copy("1:2", "INBOX")
    assert typ == "OK" and _code(data).startswith(b"[COPYUID ")
    assert b"MESSAGES 2" in _code(bob.status("INBOX", "(MESSAGES)")[1])
    typ, data = bob.uid("MOVE", "1", "INBOX")
    assert typ == "NO" and b"[NOPERM]" in _code(data)
    # Into the shared folder: "i" lets bob append; flags only as his rights allow (s, not w).
    typ, data = bob.append(SHARED, "(\\Seen \\Flagged)", None, MESSAGE)
    assert typ == "OK" and b"APPENDUID" in _code(data)
    alice.select("Projects")
    assert alice.fetch("3", "(FLAGS)")[1] == [b"3 (FLAGS (\\Seen))"]
    bob.select("INBOX")
    typ, data = bob.copy("1", SHARED)
    assert typ == "OK" and _code(data).startswith(b"[COPYUID ")
    assert b"MESSAGES 4" in _code(alice.status("Projects", "(MESSAGES)")[1])
    # Without "i" nothing goes in.
    assert alice.setacl("Projects", BOB, "lr")[0] == "OK"
    typ, data = bob.append(SHARED, None, None, MESSAGE)
    assert typ == "NO" and b"[NOPERM]" in _code(data)
    typ, data = bob.copy("1", SHARED)
    assert typ == "NO" and b"[NOPERM]" in _code(data)
    # Full rights: MOVE out of the shared folder removes it there.
    assert alice.setacl("Projects", BOB, "lrswite")[0] == "OK"
    bob.select(SHARED)
    typ, data = bob.uid("MOVE", "1", "INBOX")
    assert typ == "OK"
    assert b"MESSAGES 3" in _code(alice.status("Projects", "(MESSAGES)")[1])
    bob.logout()
    alice.logout()


def test_create_delete_and_subscribe_in_a_shared_mailbox(imap_server: ImapServer, shared: imaplib.IMAP4) -> None:
    alice = shared
    bob = imap_server.client(BOB)
    assert alice.setacl("Projects", BOB, "lr")[0] == "OK"
    typ, data = bob.create('"Other Users/alice@example.org/Projects/Q3"')
    assert typ == "NO" and b"[NOPERM]" in _code(data)
    assert alice.setacl("Projects", BOB, "lrkx")[0] == "OK"
    assert bob.create('"Other Users/alice@example.org/Projects/Q3"')[0] == "OK"
    # The new folder inherits the ACL of its parent (RFC 4314 §4).
    assert alice.getacl("Projects/Q3")[1] == [b'"Projects/Q3" alice@example.org lrswipkxteacd bob@example.org lrkxc']
    typ, data = bob.create('"Other Users/alice@example.org"')
    assert typ == "NO"
    typ, data = bob.create('"Other Users/x"')
    assert typ == "NO"
    assert bob.subscribe(SHARED)[0] == "OK"
    assert bob.lsub('""', '"Other Users/*"')[1] == [b'(\\HasChildren) "/" "Other Users/alice@example.org/Projects"']
    # Bob's subscription is his own: alice's flag is untouched.
    assert alice.unsubscribe("Projects")[0] == "OK"
    assert bob.lsub('""', '"Other Users/*"')[1] == [b'(\\HasChildren) "/" "Other Users/alice@example.org/Projects"']
    assert bob.unsubscribe(SHARED)[0] == "OK"
    assert bob.lsub('""', '"Other Users/*"')[1] == [None]
    assert bob.delete('"Other Users/alice@example.org/Projects/Q3"')[0] == "OK"
    assert alice.list('""', '"Projects*"')[1] == [b'(\\HasNoChildren) "/" "Projects"']
    # Own names under the Other Users prefix are refused.
    typ, data = alice.create('"Other Users"')
    assert typ == "NO" and b"[CANNOT]" in _code(data)
    bob.logout()
    alice.logout()


def test_another_organisation_never_sees_a_shared_folder(imap_server: ImapServer, shared: imaplib.IMAP4) -> None:
    alice = shared
    eve = _eve(imap_server)
    typ, data = alice.setacl("Projects", EVE, "lr")
    assert typ == "NO" and b"[NONEXISTENT]" in _code(data)
    assert alice.setacl("Projects", "anyone", "lr")[0] == "OK"
    # "anyone" is anyone of alice's organisation: bob sees it, eve does not.
    bob = imap_server.client(BOB)
    assert bob.myrights(SHARED)[1] == [b'"Other Users/alice@example.org/Projects" lr']
    assert not any(b"Other Users" in line for line in eve.list('""', "*")[1] if line)
    for command in (eve.select, eve.myrights, eve.getacl):
        typ, data = command(SHARED)
        assert typ == "NO" and b"[NONEXISTENT]" in _code(data)
    typ, data = eve.status(SHARED, "(MESSAGES)")
    assert typ == "NO"
    typ, data = eve.append(SHARED, None, None, MESSAGE)
    assert typ == "NO"
    typ, data = eve.create('"Other Users/alice@example.org/Projects/x"')
    assert typ == "NO"

    # The store says the same, whatever an account asks for.
    async def check() -> None:
        store = imap_server.app.store
        directory = imap_server.app.directory
        owner = await directory.get_account(ALICE)
        intruder = await directory.get_account(EVE)
        mailbox = await store.open(owner.org_id, owner.id)
        folder = await mailbox.folder_by_path("Projects")
        assert await acl.shared_with(store, intruder.org_id, intruder.id) == []
        assert await acl.shared_with(store, owner.org_id, intruder.id) == []  # eve is not of this org
        assert await acl.rights_of(mailbox, folder.id, intruder.id) == ""
        with pytest.raises(acl.InvalidGrantee):
            await acl.set_rights(mailbox, folder.id, intruder.id, "lr")
        # A handle of eve's own mailbox cannot reach alice's folder.
        evebox = await store.open(intruder.org_id, intruder.id)
        assert await acl.grants(evebox, folder.id) == []
        with pytest.raises(NoSuchFolder):
            await acl.set_rights(evebox, folder.id, None, "lr")
        reader = await directory.get_account(BOB)
        [seen] = await acl.shared_with(store, reader.org_id, reader.id)
        assert (seen.owner_address, seen.folder.path, seen.rights) == (ALICE, "Projects", "lr")

    imap_server.run(check())
    eve.logout()
    bob.logout()
    alice.logout()


def test_rights_strings() -> None:
    assert acl.normalise_rights("rlcd") == "lrkxte"
    assert acl.normalise_rights("") == ""
    with pytest.raises(acl.InvalidRights):
        acl.normalise_rights("lrQ")
    assert acl.union("lr", "sr", "a") == "lrsa"


def test_share_a_shared_mailbox_from_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "data"

    def ok(*args: str, stdin: str | None = None) -> str:
        done = kastell(data, *args, stdin=stdin)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    ok("domain", "add", "example.test")
    ok("user", "add", "team@example.test", "--kind", "shared")
    ok("user", "add", "ann@example.test", "--password-stdin", stdin=PASSWORD + "\n")
    assert "shared with nobody" in ok("user", "share", "team@example.test")
    out = ok("user", "share", "team@example.test", "--to", "ann@example.test", "--rights", "lrswipkxte")
    assert "INBOX\tann@example.test\tlrswipkxte" in out and "Sent\tann@example.test\tlrswipkxte" in out
    done = kastell(data, "user", "share", "team@example.test", "--to", "ann@example.test", "--rights", "lrZ")
    assert done.returncode != 0 and "Traceback" not in done.stderr

    imap, thread = start_server(data)
    try:
        client = imaplib.IMAP4(imap.host, imap.port, timeout=30)
        client.login("ann@example.test", PASSWORD)
        names = client.list('""', '"Other Users/*"')[1]
        assert b'(\\HasNoChildren) "/" "Other Users/team@example.test/INBOX"' in names
        assert client.select('"Other Users/team@example.test/INBOX"')[0] == "OK"
        assert client.myrights('"Other Users/team@example.test/INBOX"')[1] == [
            b'"Other Users/team@example.test/INBOX" lrswipkxtecd'
        ]
        client.logout()
    finally:
        stop_server(imap, thread)
    out = ok("user", "share", "team@example.test", "--to", "ann@example.test", "--revoke")
    assert "shared with nobody" in out
