"""Limits and lifecycle: recipients per message, messages per hour, 421 on shutdown; aiosmtplib as client."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

import aiosmtplib
import pytest

from tests.mail.mailenv import PASSWORD, MailEnv, start_env

pytestmark = pytest.mark.anyio


async def test_recipient_and_rate_limits(tmp_path: Path) -> None:
    env = await start_env(tmp_path, "[smtp]\nmax_recipients = 2\nmax_messages_per_hour = 1\n")
    try:
        context = ssl.create_default_context(cafile=str(env.data / "tls" / "cert.pem"))
        client = aiosmtplib.SMTP(hostname="localhost", port=env.ports["submission"], tls_context=context)
        await client.connect()  # aiosmtplib upgrades with STARTTLS by itself when offered
        await client.login("alice@example.test", PASSWORD)
        await client.mail("alice@example.test")
        for rcpt in ("bob@example.test", "x@remote.example"):
            assert (await client.rcpt(rcpt)).code == 250
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await client.rcpt("y@remote.example")
        assert refused.value.code == 452 and refused.value.message.startswith("4.5.3")
        await client.data(b"From: alice@example.test\r\nSubject: one\r\n\r\nbody\r\n")
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as limited:
            await client.mail("alice@example.test")
        assert limited.value.code == 451 and limited.value.message.startswith("4.7.1")
        await client.quit()
        assert len(await env.inbox("bob@example.test")) == 1
    finally:
        await env.server.stop()


async def test_shutdown_says_421(mailenv: MailEnv) -> None:
    def connect() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", mailenv.ports["smtp"]), timeout=10)
        assert sock.recv(1024).startswith(b"220")
        return sock

    sock = await asyncio.to_thread(connect)
    try:
        await mailenv.server.stop()
        data = await asyncio.to_thread(sock.recv, 1024)
        assert data.startswith(b"421 4.3.2")
    finally:
        sock.close()


async def test_aiosmtplib_inbound(mailenv: MailEnv) -> None:
    errors, _ = await aiosmtplib.send(
        b"From: x@remote.example\r\nSubject: async\r\n\r\nhi\r\n",
        sender="x@remote.example",
        recipients=["alice@example.test"],
        hostname="127.0.0.1",
        port=mailenv.ports["smtp"],
        start_tls=False,
    )
    assert errors == {}
    assert len(await mailenv.inbox("alice@example.test")) == 1


async def test_concurrent_deliveries_group_commit(mailenv: MailEnv) -> None:
    """Parallel sessions into one INBOX share transactions; each reply still matches what was stored."""

    async def one(n: int, rcpt: str) -> bool:
        errors, _ = await aiosmtplib.send(
            f"From: x@remote.example\r\nSubject: c{n}\r\n\r\n{'y' * 900}\r\n{'y' * 900}\r\n".encode(),
            sender="x@remote.example",
            recipients=[rcpt],
            hostname="127.0.0.1",
            port=mailenv.ports["smtp"],
            start_tls=False,
        )
        return errors == {}

    results = await asyncio.gather(*(one(n, "alice@example.test") for n in range(16)))
    assert all(results)
    stored = await mailenv.inbox("alice@example.test")
    assert sorted(int(s.split(b"Subject: c", 1)[1].split(b"\r\n", 1)[0]) for s in stored) == list(range(16))
    assert await mailenv.audit("alice@example.test") == []

    # bob has room for about three: the batch falls back to one-by-one and answers each truthfully.
    await mailenv.app.directory.set_quota("bob@example.test", 7000)
    outcomes = await asyncio.gather(*(one(n, "bob@example.test") for n in range(8)), return_exceptions=True)
    accepted = [o for o in outcomes if o is True]
    refused = [o for o in outcomes if isinstance(o, aiosmtplib.SMTPResponseException) and o.code == 452]
    assert len(accepted) + len(refused) == 8 and 1 <= len(accepted) < 8
    assert len(await mailenv.inbox("bob@example.test")) == len(accepted)
    assert await mailenv.audit("bob@example.test") == []
