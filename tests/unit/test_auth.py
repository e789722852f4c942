"""Authentication: one uniform failure, throttling per account and per address, timing."""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from kastell.db import schema as s
from kastell.directory import Authenticator, AuthFailed, AuthThrottled, InvalidValue, Passwords, Permission
from kastell.directory.service import Directory

from .directoryhelp import (  # noqa: F401 (fixtures)
    Env,
    anyio_backend_fixture,
    directory_fixture,
    env_fixture,
    migrated_template_fixture,
    open_env,
)

pytestmark = pytest.mark.anyio

GOOD = "correct horse battery staple"


async def _accounts(directory: Directory) -> None:
    await directory.add_domain("example.test")
    await directory.add_user("alice@example.test", GOOD)
    await directory.add_user("sus@example.test", GOOD)
    await directory.set_status("sus@example.test", "suspended")
    await directory.add_user("off@example.test", GOOD)
    await directory.set_status("off@example.test", "disabled")
    await directory.add_user("imaponly@example.test", GOOD, permissions=Permission.IMAP)
    await directory.add_user("shared@example.test", None, kind="shared")


def _auth(
    directory: Directory, *, account_failures: int = 10, ip_failures: int = 30, window: int = 900
) -> Authenticator:
    return Authenticator(
        directory, account_failures=account_failures, ip_failures=ip_failures, window=window, failure_delay=0
    )


async def test_success_returns_the_account(directory: Directory) -> None:
    await _accounts(directory)
    account = await _auth(directory).authenticate("Alice@Example.TEST", GOOD, client_ip="192.0.2.1", protocol="imap")
    assert account.address == "alice@example.test"
    assert (
        await _auth(directory).authenticate("imaponly@example.test", GOOD, client_ip=None, protocol="imap")
    ).permissions == Permission.IMAP


@pytest.mark.parametrize(
    ("address", "password", "protocol", "reason"),
    [
        ("alice@example.test", "wrong", "imap", "bad-password"),
        ("alice@example.test", "", "imap", "bad-password"),
        ("alice@example.test", GOOD + "x" * 2000, "imap", "bad-password"),
        ("nobody@example.test", GOOD, "imap", "unknown-user"),
        ("nobody@elsewhere.test", GOOD, "pop3", "unknown-user"),
        ("not an address", GOOD, "imap", "unknown-user"),
        ("sus@example.test", GOOD, "imap", "suspended"),
        ("off@example.test", GOOD, "smtp", "disabled"),
        ("imaponly@example.test", GOOD, "pop3", "not-permitted"),
        ("shared@example.test", "", "imap", "no-password"),
    ],
)
async def test_every_failure_looks_the_same(
    directory: Directory, address: str, password: str, protocol: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    await _accounts(directory)
    with caplog.at_level(logging.INFO, logger="kastell.auth"), pytest.raises(AuthFailed) as caught:
        await _auth(directory).authenticate(address, password, client_ip="192.0.2.1", protocol=protocol)
    assert str(caught.value) == "authentication failed" and type(caught.value) is AuthFailed
    assert caught.value.reason == reason
    assert reason in caplog.text and (not password or password not in caplog.text)


async def test_unknown_protocol_is_a_caller_bug(directory: Directory) -> None:
    await _accounts(directory)
    with pytest.raises(InvalidValue):
        await _auth(directory).authenticate("alice@example.test", GOOD, client_ip=None, protocol="gopher")


async def test_account_throttle_refuses_even_the_right_password(directory: Directory) -> None:
    await _accounts(directory)
    auth = _auth(directory, account_failures=3, ip_failures=100, window=60)
    for n in range(3):
        with pytest.raises(AuthFailed) as caught:
            await auth.authenticate("alice@example.test", f"guess{n}", client_ip=f"192.0.2.{n}", protocol="imap")
        assert not isinstance(caught.value, AuthThrottled)
    with pytest.raises(AuthThrottled) as throttled:
        await auth.authenticate("ALICE@example.test", GOOD, client_ip="198.51.100.7", protocol="imap")
    assert str(throttled.value) == "authentication failed" and isinstance(throttled.value, AuthFailed)
    assert throttled.value.reason == "throttled-account" and 0 < throttled.value.retry_after <= 60
    # Other accounts are unaffected.
    assert await auth.authenticate("imaponly@example.test", GOOD, client_ip="192.0.2.1", protocol="imap")


async def test_ip_throttle_counts_failures_across_accounts(directory: Directory) -> None:
    await _accounts(directory)
    auth = _auth(directory, account_failures=100, ip_failures=3, window=60)
    for user in ("nobody", "alice", "sus"):
        with pytest.raises(AuthFailed):
            await auth.authenticate(f"{user}@example.test", "guess", client_ip="203.0.113.9", protocol="imap")
    with pytest.raises(AuthThrottled) as throttled:
        await auth.authenticate("alice@example.test", GOOD, client_ip="203.0.113.9", protocol="imap")
    assert throttled.value.reason == "throttled-ip" and throttled.value.retry_after > 0
    with pytest.raises(AuthThrottled):  # the same address, IPv4-mapped
        await auth.authenticate("alice@example.test", GOOD, client_ip="::ffff:203.0.113.9", protocol="imap")
    assert await auth.authenticate("alice@example.test", GOOD, client_ip="203.0.113.10", protocol="imap")
    assert await auth.authenticate("alice@example.test", GOOD, client_ip=None, protocol="imap")


async def test_ipv6_clients_count_by_their_64(directory: Directory) -> None:
    await _accounts(directory)
    auth = _auth(directory, account_failures=100, ip_failures=2, window=60)
    for host in ("2001:db8:0:7::1", "2001:db8:0:7::2"):
        with pytest.raises(AuthFailed):
            await auth.authenticate("nobody@example.test", "guess", client_ip=host, protocol="imap")
    with pytest.raises(AuthThrottled):
        await auth.authenticate("alice@example.test", GOOD, client_ip="2001:db8:0:7:ffff::1", protocol="imap")
    assert await auth.authenticate("alice@example.test", GOOD, client_ip="2001:db8:0:8::1", protocol="imap")


async def test_success_resets_the_account_counter(directory: Directory) -> None:
    await _accounts(directory)
    auth = _auth(directory, account_failures=3, ip_failures=100, window=60)
    for _round in range(3):
        for _ in range(2):
            with pytest.raises(AuthFailed):
                await auth.authenticate("alice@example.test", "guess", client_ip="192.0.2.1", protocol="imap")
        await auth.authenticate("alice@example.test", GOOD, client_ip="192.0.2.1", protocol="imap")


async def test_a_throttled_attempt_does_not_check_the_password(migrated_template: Path, tmp_path: Path) -> None:
    env = open_env(migrated_template, tmp_path)
    env.directory.passwords = Passwords()  # real cost, so a skipped verification is visible
    try:
        await _accounts(env.directory)
        auth = _auth(env.directory, account_failures=1, window=60)
        started = time.perf_counter()
        with pytest.raises(AuthFailed):
            await auth.authenticate("alice@example.test", "guess", client_ip=None, protocol="imap")
        checked = time.perf_counter() - started
        started = time.perf_counter()
        with pytest.raises(AuthThrottled):
            await auth.authenticate("alice@example.test", GOOD, client_ip=None, protocol="imap")
        assert time.perf_counter() - started < checked / 2
    finally:
        await env.db.close()


async def test_delay_failure() -> None:
    assert await _timed(Authenticator(None, failure_delay=0).delay_failure()) < 0.05  # type: ignore[arg-type]
    assert await _timed(Authenticator(None, failure_delay=0.1).delay_failure()) >= 0.09  # type: ignore[arg-type]


async def _timed(awaitable: object) -> float:
    started = time.perf_counter()
    await awaitable  # type: ignore[misc]
    return time.perf_counter() - started


async def test_password_is_rehashed_after_a_successful_login(env: Env) -> None:
    await _accounts(env.directory)
    env.directory.passwords = Passwords(time_cost=2, memory_cost=8 * 1024, parallelism=1)
    await _auth(env.directory).authenticate("alice@example.test", GOOD, client_ip=None, protocol="imap")
    async with env.db.read() as conn:
        stored = (
            await conn.execute(select(s.accounts.c.password_hash).where(s.accounts.c.address == "alice@example.test"))
        ).scalar_one()
    assert "t=2" in stored
    assert await _auth(env.directory).authenticate("alice@example.test", GOOD, client_ip=None, protocol="imap")


async def test_admin_logins_are_throttled_too(directory: Directory) -> None:
    await directory.add_admin("root", GOOD)
    auth = _auth(directory, account_failures=2, ip_failures=100, window=60)
    assert (await auth.authenticate_admin("ROOT", GOOD, client_ip="192.0.2.1")).name == "root"
    for _ in range(2):
        with pytest.raises(AuthFailed):
            await auth.authenticate_admin("root", "guess", client_ip="192.0.2.1")
    with pytest.raises(AuthThrottled):
        await auth.authenticate_admin("root", GOOD, client_ip="192.0.2.1")


@pytest.mark.slow
async def test_unknown_user_costs_as_much_as_a_wrong_password(migrated_template: Path, tmp_path: Path) -> None:
    """No user enumeration by timing: both paths run one real argon2 verification.

    Medians of several runs, and only a factor of two is asserted, so a busy
    machine does not make this flaky; without the dummy verification the
    unknown-user path is a database lookup, ~100 times faster.
    """
    env = open_env(migrated_template, tmp_path)
    env.directory.passwords = Passwords()  # production parameters
    try:
        await _accounts(env.directory)
        auth = _auth(env.directory, account_failures=1000, ip_failures=1000)

        async def median(address: str) -> float:
            times = []
            for _ in range(5):
                started = time.perf_counter()
                with pytest.raises(AuthFailed):
                    await auth.authenticate(address, "wrong password", client_ip=None, protocol="imap")
                times.append(time.perf_counter() - started)
            return statistics.median(times)

        await median("nobody@example.test")  # warm-up: makes the dummy hash once
        wrong_password = await median("alice@example.test")
        unknown_user = await median("nobody@example.test")
        invalid_address = await median("no address at all")
        assert unknown_user >= wrong_password / 2 and invalid_address >= wrong_password / 2
        assert wrong_password >= unknown_user / 2
    finally:
        await env.db.close()


async def test_a_verified_password_is_remembered_and_nothing_else(migrated_template: Path, tmp_path: Path) -> None:
    """Repeated logins with the right password skip argon2; wrong ones and changed passwords never do."""
    env = open_env(migrated_template, tmp_path)
    env.directory.passwords = Passwords()  # production parameters, so a skipped verification is visible
    try:
        await _accounts(env.directory)
        auth = _auth(env.directory, account_failures=1000, ip_failures=1000)

        async def login(password: str) -> float:
            started = time.perf_counter()
            await auth.authenticate("alice@example.test", password, client_ip=None, protocol="imap")
            return time.perf_counter() - started

        first = await login(GOOD)
        again = min([await login(GOOD) for _ in range(3)])
        assert again < first / 4, (first, again)
        started = time.perf_counter()
        with pytest.raises(AuthFailed):
            await auth.authenticate("alice@example.test", GOOD + "x", client_ip=None, protocol="imap")
        assert time.perf_counter() - started > again * 4  # a wrong password is checked in full
        await env.directory.set_password("alice@example.test", "a new secret 2")
        with pytest.raises(AuthFailed):  # the old password is not remembered past a change
            await auth.authenticate("alice@example.test", GOOD, client_ip=None, protocol="imap")
        await auth.authenticate("alice@example.test", "a new secret 2", client_ip=None, protocol="imap")
    finally:
        await env.db.close()


async def test_the_cache_is_bounded_and_expires() -> None:
    passwords = Passwords(time_cost=1, memory_cost=8 * 1024, parallelism=1, cache_seconds=0.2, cache_size=2)
    hashes = [await passwords.hash(f"secret {n}") for n in range(3)]
    for n, stored in enumerate(hashes):
        assert await passwords.verify(stored, f"secret {n}")
    assert len(passwords._verified) == 2
    assert not await passwords.verify(hashes[0], "secret 1")
    await asyncio.sleep(0.25)
    assert await passwords.verify(hashes[2], "secret 2")  # expired entry replaced, still correct
    assert len(passwords._verified) == 2
    off = Passwords(time_cost=1, memory_cost=8 * 1024, parallelism=1, cache_seconds=0)
    assert await off.verify(hashes[0], "secret 0") and not off._verified
