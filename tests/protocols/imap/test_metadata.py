"""METADATA (RFC 5464) with a real client: server and mailbox entries, private vs shared,
DEPTH and MAXSIZE, limits, rights on a shared mailbox, tenancy."""

from __future__ import annotations

import imaplib

import pytest

from tests.protocols.imap.conftest import ALICE, BOB, PASSWORD, ImapServer

for _name in ("GETMETADATA", "SETMETADATA"):
    imaplib.Commands.setdefault(_name, ("AUTH", "SELECTED"))


def _run(client: imaplib.IMAP4, *args: str) -> tuple[str, list[bytes], list[bytes]]:
    """(status, tagged text, untagged METADATA data) of one command."""
    client.untagged_responses.pop("METADATA", None)
    typ, data = client._simple_command(*args)
    found = client.untagged_responses.pop("METADATA", [])
    return typ, [d for d in data if isinstance(d, bytes)], [d for d in found if isinstance(d, bytes)]


def test_capability(imap_server: ImapServer) -> None:
    client = imap_server.client()
    assert {"METADATA", "METADATA-SERVER"} <= set(client.capabilities)
    client.logout()


def test_server_entries_shared_and_private(imap_server: ImapServer) -> None:
    alice = imap_server.client(ALICE)
    bob = imap_server.client(BOB)
    typ, _, found = _run(alice, "GETMETADATA", '""', "/shared/comment")
    assert typ == "OK" and found == [b'"" (/shared/comment NIL)']
    assert _run(alice, "SETMETADATA", '""', '(/shared/comment "Maintenance on Sunday")')[0] == "OK"
    assert _run(alice, "SETMETADATA", '""', '(/private/comment "my notes")')[0] == "OK"
    # Shared: the whole organisation sees it; private: only alice.
    typ, _, found = _run(bob, "GETMETADATA", '""', "(/shared/comment /private/comment)")
    assert found == [b'"" (/shared/comment "Maintenance on Sunday" /private/comment NIL)']
    typ, _, found = _run(alice, "GETMETADATA", '""', "(/Shared/Comment /private/comment)")
    assert found == [b'"" (/shared/comment "Maintenance on Sunday" /private/comment "my notes")']
    # NIL removes.
    assert _run(alice, "SETMETADATA", '""', "(/private/comment NIL)")[0] == "OK"
    assert _run(alice, "GETMETADATA", '""', "/private/comment")[2] == [b'"" (/private/comment NIL)']
    typ, data, _ = _run(alice, "SETMETADATA", '""', '(/shared/admin "mailto:x@example.org")')
    assert typ == "NO" and b"[NOPERM]" in data[0]
    typ, data, _ = _run(alice, "SETMETADATA", '""', '(/shared/whatever "x")')
    assert typ == "NO"
    alice.logout()
    bob.logout()


def test_mailbox_entries_depth_and_maxsize(imap_server: ImapServer) -> None:
    alice = imap_server.client(ALICE)
    assert _run(alice, "SETMETADATA", "INBOX", '(/shared/comment "Everything lands here")')[0] == "OK"
    typ, _, found = _run(
        alice,
        "SETMETADATA",
        "INBOX",
        '(/private/vendor/kastell/colour "blue" /private/vendor/kastell/deep/er "x" /private/comment "mine")',
    )
    assert typ == "OK"
    _, _, found = _run(alice, "GETMETADATA", "INBOX", "/shared/comment")
    assert found == [b'"INBOX" (/shared/comment "Everything lands here")']
    _, _, found = _run(alice, "GETMETADATA", "(DEPTH 1)", "INBOX", "/private/vendor/kastell")
    assert found == [b'"INBOX" (/private/vendor/kastell/colour "blue")']
    _, _, found = _run(alice, "GETMETADATA", "(DEPTH infinity)", "INBOX", "/private/vendor")
    assert found == [b'"INBOX" (/private/vendor/kastell/colour "blue" /private/vendor/kastell/deep/er "x")']
    typ, data, found = _run(alice, "GETMETADATA", "(MAXSIZE 5)", "INBOX", "(/shared/comment /private/comment)")
    assert typ == "OK" and data[0].startswith(b"[METADATA LONGENTRIES 21]")
    assert found[0] == b'"INBOX" (/private/comment "mine")'  # (imaplib files the code under METADATA too)
    # Binary values: in as a LITERAL+ literal, out as a literal, byte-exact.
    value = b"\x01\xffbinary"
    raw = _raw(alice, b"SETMETADATA INBOX (/private/vendor/kastell/raw {%d+}\r\n" % len(value) + value + b")")
    assert raw[-1].startswith(b"t1 OK")
    raw = _raw(alice, b"GETMETADATA INBOX /private/vendor/kastell/raw")
    assert raw[0] == b'* METADATA "INBOX" (/private/vendor/kastell/raw {8}\r\n' + value + b")\r\n"
    alice.logout()


def _raw(client: imaplib.IMAP4, command: bytes) -> list[bytes]:
    """Send ``t1 <command>`` as is; the response lines (a literal is joined to its line)."""
    client.send(b"t1 " + command + b"\r\n")
    lines: list[bytes] = []
    while True:
        line = client.readline()
        while line.endswith(b"}\r\n"):
            size = int(line[line.rindex(b"{") + 1 : -3])
            line += client.read(size) + client.readline()
        lines.append(line)
        if line.startswith(b"t1 "):
            return lines


def test_limits(imap_server: ImapServer) -> None:
    alice = imap_server.client(ALICE)
    big = b"x" * (64 * 1024 + 1)
    raw = _raw(alice, b"SETMETADATA INBOX (/private/comment {%d+}\r\n" % len(big) + big + b")")
    assert raw[-1].startswith(b"t1 NO [METADATA MAXSIZE 65536]")
    pairs = " ".join(f'/private/vendor/k/e{i} "v"' for i in range(101))
    typ, data, _ = _run(alice, "SETMETADATA", "INBOX", f"({pairs})")
    assert typ == "NO" and data[0].startswith(b"[METADATA TOOMANY]")
    assert _run(alice, "GETMETADATA", "INBOX", "/private/vendor/k/e0")[2] == [b'"INBOX" (/private/vendor/k/e0 NIL)']
    with pytest.raises(imaplib.IMAP4.error):
        alice._simple_command("GETMETADATA", "INBOX", "/private/a*b")
    alice.logout()


def test_shared_mailbox_rights_and_other_organisation(imap_server: ImapServer) -> None:
    alice = imap_server.client(ALICE)
    alice.create("Projects")
    assert _run(alice, "SETMETADATA", "Projects", '(/shared/comment "Q3 plans")')[0] == "OK"
    bob = imap_server.client(BOB)
    name = '"Other Users/alice@example.org/Projects"'
    typ, data, _ = _run(bob, "GETMETADATA", name, "/shared/comment")
    assert typ == "NO" and b"[NONEXISTENT]" in data[0]
    alice.setacl("Projects", BOB, "lr")
    _, _, found = _run(bob, "GETMETADATA", name, "/shared/comment")
    assert found == [b'"Other Users/alice@example.org/Projects" (/shared/comment "Q3 plans")']
    # Private entries of a shared mailbox are bob's own; shared ones need "w".
    assert _run(bob, "SETMETADATA", name, '(/private/comment "read later")')[0] == "OK"
    typ, data, _ = _run(bob, "SETMETADATA", name, '(/shared/comment "mine now")')
    assert typ == "NO" and b"[NOPERM]" in data[0]
    _, _, found = _run(alice, "GETMETADATA", "Projects", "(/shared/comment /private/comment)")
    assert found == [b'"Projects" (/shared/comment "Q3 plans" /private/comment NIL)']
    alice.setacl("Projects", BOB, "lrw")
    assert _run(bob, "SETMETADATA", name, '(/shared/comment "Q4 plans")')[0] == "OK"
    assert _run(alice, "GETMETADATA", "Projects", "/shared/comment")[2] == [b'"Projects" (/shared/comment "Q4 plans")']

    # Another organisation sees neither the mailbox nor the server entries.
    async def add() -> None:
        await imap_server.app.directory.add_domain("other.test", org="other")
        await imap_server.app.directory.add_user("eve@other.test", PASSWORD)

    imap_server.run(add())
    assert _run(alice, "SETMETADATA", '""', '(/shared/comment "example.org only")')[0] == "OK"
    eve = imap_server.client("eve@other.test")
    assert _run(eve, "GETMETADATA", '""', "/shared/comment")[2] == [b'"" (/shared/comment NIL)']
    typ, data, _ = _run(eve, "GETMETADATA", name, "/shared/comment")
    assert typ == "NO" and b"[NONEXISTENT]" in data[0]
    eve.logout()
    bob.logout()
    alice.logout()
