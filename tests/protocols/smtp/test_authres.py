"""SPF, DKIM and DMARC on the MX: the Authentication-Results header and the DMARC policy."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest

from kastell.mail import dkim
from tests.mail.mailenv import MailEnv, in_thread, start_env

pytestmark = pytest.mark.anyio


def message(author: str, body: str = "Hello.") -> bytes:
    return (
        f"From: <{author}>\r\nTo: alice@example.test\r\nSubject: check\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
        f"Message-ID: <x@{author.rpartition('@')[2]}>\r\n\r\n{body}\r\n"
    ).encode()


def send(env: MailEnv, sender: str, body: bytes) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", env.ports["smtp"], timeout=10) as client:
        client.ehlo("mail.sender.example")
        client.mail(sender)
        client.rcpt("alice@example.test")
        return client.data(body)


async def test_spf_pass_dkim_pass_dmarc_pass(mailenv: MailEnv) -> None:
    key = dkim.generate("good.example", "rsa-sha256", "s1")
    mailenv.resolver.add(key.dns_name(), "TXT", key.dns_text())
    mailenv.resolver.add("good.example", "TXT", "v=spf1 ip4:127.0.0.0/8 -all")
    mailenv.resolver.add("_dmarc.good.example", "TXT", "v=DMARC1; p=reject")
    body = message("news@good.example")
    signed = dkim.sign(body, [key]) + body
    assert (await in_thread(send, mailenv, "bounce@good.example", signed))[0] == 250
    [stored] = await mailenv.inbox("alice@example.test")
    head = stored.split(b"\r\n\r\n", 1)[0]
    assert b"spf=pass smtp.mailfrom=bounce@good.example" in head
    assert b"dkim=pass header.d=good.example header.s=s1" in head
    assert b"dmarc=pass" in head


async def test_forged_dkim_detected(mailenv: MailEnv) -> None:
    key = dkim.generate("good.example", "ed25519-sha256", "s2")
    mailenv.resolver.add(key.dns_name(), "TXT", key.dns_text())
    body = message("news@good.example")
    forged = dkim.sign(body, [key]) + body.replace(b"Hello.", b"Send money.")
    assert (await in_thread(send, mailenv, "bounce@good.example", forged))[0] == 250
    [stored] = await mailenv.inbox("alice@example.test")
    assert b"dkim=fail header.d=good.example" in stored


async def test_dmarc_reject_550(mailenv: MailEnv) -> None:
    mailenv.resolver.add("bank.example", "TXT", "v=spf1 ip4:192.0.2.1 -all")
    mailenv.resolver.add("_dmarc.bank.example", "TXT", "v=DMARC1; p=reject")
    code, text = await in_thread(send, mailenv, "alerts@bank.example", message("alerts@bank.example"))
    assert code == 550 and text.startswith(b"5.7.1")
    assert await mailenv.inbox("alice@example.test") == []


async def test_dmarc_quarantine_to_junk(mailenv: MailEnv) -> None:
    mailenv.resolver.add("shop.example", "TXT", "v=spf1 -all")
    mailenv.resolver.add("_dmarc.shop.example", "TXT", "v=DMARC1; p=quarantine")
    code, _ = await in_thread(send, mailenv, "x@other.example", message("deals@mail.shop.example"))
    assert code == 250  # the subdomain inherits the organisational domain's policy (sp falls back to p)
    assert await mailenv.inbox("alice@example.test") == []
    [junk] = await mailenv.inbox("alice@example.test", "junk")
    assert b"dmarc=fail (p=quarantine dis=quarantine)" in junk


async def test_dns_temperror_is_not_a_rejection(mailenv: MailEnv) -> None:
    mailenv.resolver.add("flaky.example", "FAIL", "")
    mailenv.resolver.add("_dmarc.flaky.example", "FAIL", "")
    code, _ = await in_thread(send, mailenv, "a@flaky.example", message("a@flaky.example"))
    assert code == 250
    [stored] = await mailenv.inbox("alice@example.test")
    assert b"spf=temperror" in stored and b"dmarc=temperror" in stored


async def test_checks_off(tmp_path: Path) -> None:
    env = await start_env(tmp_path, "[smtp]\nverify_senders = false\n")
    try:
        assert (await in_thread(send, env, "a@b.example", message("a@b.example")))[0] == 250
        [stored] = await env.inbox("alice@example.test")
        assert b"Authentication-Results: mx.kastell.test; none\r\n" in stored
    finally:
        await env.server.stop()


async def test_forged_authentication_results_defused(mailenv: MailEnv) -> None:
    planted = b"Authentication-Results: mx.kastell.test; dkim=pass header.d=bank.example\r\n" + message("a@b.example")
    assert (await in_thread(send, mailenv, "a@b.example", planted))[0] == 250
    [stored] = await mailenv.inbox("alice@example.test")
    assert b"\r\nX-Forged-Authentication-Results: mx.kastell.test; dkim=pass" in stored
    assert stored.count(b"\nAuthentication-Results: mx.kastell.test;") == 1  # only ours
