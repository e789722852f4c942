"""aioimaplib (an asyncio IMAP client) against the real server: a whole session, IDLE woken by another client."""

from __future__ import annotations

import asyncio
import imaplib

import aioimaplib

from tests.protocols.imap.conftest import ALICE, PASSWORD, ImapServer

MESSAGE = (
    b"From: Bob <bob@example.org>\r\nTo: alice@example.org\r\nSubject: aio first\r\n"
    b"Message-ID: <aio-1@example.org>\r\nDate: Mon, 03 Jun 2024 08:00:00 +0000\r\n\r\n"
    b"Hello from an asyncio client.\r\n"
)


def _untagged(response: aioimaplib.Response, needle: bytes) -> list[bytes]:
    return [line for line in response.lines if isinstance(line, (bytes, bytearray)) and needle in line]


def _append_from_another_client(server: ImapServer, folder: str) -> None:
    other = server.client()
    try:
        status, _ = other.append(folder, None, None, b"Subject: aio second\r\n\r\nwake up\r\n")
        assert status == "OK"
    finally:
        other.logout()


def test_aioimaplib_session(imap_server: ImapServer) -> None:
    async def main() -> None:
        client = aioimaplib.IMAP4(host=imap_server.host, port=imap_server.port, timeout=30)
        await client.wait_hello_from_server()
        assert (await client.login(ALICE, PASSWORD)).result == "OK"
        assert client.has_capability("IDLE") and client.has_capability("MOVE")
        assert (await client.create("Aio")).result == "OK"
        assert (await client.append(MESSAGE, mailbox="Aio", flags="(\\Seen)")).result == "OK"

        selected = await client.select("Aio")
        assert selected.result == "OK"
        assert _untagged(selected, b"1 EXISTS")

        fetched = await client.uid("fetch", "1:*", "(FLAGS BODY.PEEK[])")
        assert fetched.result == "OK"
        assert bytes(fetched.lines[1]) == MESSAGE  # the literal, byte for byte
        assert b"\\Seen" in bytes(fetched.lines[0])

        found = await client.search("TEXT", "asyncio")
        assert found.result == "OK" and found.lines[0].split() == [b"1"]

        # IDLE, woken by an APPEND of another client (the store's change notice, not polling).
        idle = await client.idle_start(timeout=20)
        await asyncio.to_thread(_append_from_another_client, imap_server, "Aio")
        pushed = await client.wait_server_push(timeout=10)
        assert any(b"2 EXISTS" in bytes(line) for line in pushed), pushed
        client.idle_done()
        assert (await asyncio.wait_for(idle, 10)).result == "OK"

        stored = await client.store("2", "+FLAGS", "(\\Flagged)")
        assert stored.result == "OK" and _untagged(stored, b"\\Flagged")
        moved = await client.move("2", "INBOX")
        assert moved.result == "OK" and _untagged(moved, b"2 EXPUNGE")
        status = await client.status("Aio", "(MESSAGES UNSEEN)")
        assert status.result == "OK" and b"MESSAGES 1" in bytes(status.lines[0])
        assert (await client.logout()).result == "OK"

    asyncio.run(main())
    # What the asyncio client did is what a plain client sees.
    check = imaplib.IMAP4(imap_server.host, imap_server.port)
    check.login(ALICE, PASSWORD)
    check.select("INBOX", readonly=True)
    _, data = check.search(None, "SUBJECT", '"aio second"', "FLAGGED")
    assert data[0].split() != []
    check.logout()
