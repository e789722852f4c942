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
