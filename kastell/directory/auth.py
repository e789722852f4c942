"""Password authentication for every protocol, with throttling and uniform failures.

Theory of operation. ``Authenticator.authenticate`` is the one way a protocol
checks an address and password. It answers either with the ``Account`` or with
``AuthFailed("authentication failed")`` — the same message for an unknown user,
a wrong password, a suspended or disabled account and a protocol the account
may not use, so a client learns nothing but "no". The cause is in
``AuthFailed.reason`` for the server's log.

Timing tells nothing either: an unknown user (or an account without a
password) is verified against a dummy argon2 hash of the current parameters,
so every answer costs one database lookup and one argon2 verification. Status
and permissions are checked only after the password, for the same reason.

Brute force is throttled per account and per client address
(``throttle.SlidingWindow``; an IPv6 client counts by its /64, which is what
one subscriber usually gets). Once a key is over its limit, ``AuthThrottled``
is raised before the password is looked at, so guesses made while throttled
are worthless. Attempts refused by the throttle are not counted again, so the
block ends ``window`` seconds after the failures that caused it. A success
resets the account's counter (not the address's: one good password must not
launder an address that is guessing at other accounts).

Protocols may ``await delay_failure()`` before answering a failure, which
slows down a single connection's guessing and costs the server nothing.

Accounts that came from an organisation's LDAP directory (``kastell.directory.ldap``)
are checked by a bind to that directory as the account's DN with the given
password, instead of against a local hash; everything around it (throttling,
status, permissions, the uniform failure) is the same. An empty password never
reaches the directory (a bind without one is "unauthenticated" and may succeed,
RFC 4513 §5.1.2), and an unreachable directory is a failure ("ldap-unavailable").
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging

from kastell.directory import ldap
from kastell.directory.addresses import normalise_address
from kastell.directory.errors import AuthFailed, AuthThrottled, InvalidAddress
from kastell.directory.passwords import MAX_PASSWORD
from kastell.directory.permissions import Permission
from kastell.directory.records import Account, Admin
from kastell.directory.service import Directory
from kastell.directory.throttle import SlidingWindow, Throttle

log = logging.getLogger("kastell.auth")

_MAX_KEY = 320  # keys come from the network; bound what is kept in memory


class Authenticator:
    """Checks credentials for the protocols; see the module docstring.

    ``account_failures``/``ip_failures`` failures within ``window`` seconds
    block further attempts for that account/client address. ``failure_delay``
    is what ``delay_failure`` sleeps (0 in tests). Other throttle backends may
    be passed as ``account_throttle``/``ip_throttle``.
    """

    def __init__(
        self,
        directory: Directory,
        *,
        account_failures: int = 10,
        ip_failures: int = 30,
        window: float = 900,
        failure_delay: float = 1.0,
        account_throttle: Throttle | None = None,
        ip_throttle: Throttle | None = None,
    ) -> None:
        self.directory = directory
        self.failure_delay = failure_delay
        self.account_throttle = account_throttle or SlidingWindow(account_failures, window)
        self.ip_throttle = ip_throttle or SlidingWindow(ip_failures, window)

    async def authenticate(self, address: str, password: str, *, client_ip: str | None, protocol: str) -> Account:
        """The active account at ``address`` if ``password`` is right and ``protocol`` allowed.

        ``address`` is the account's primary address (not an alias);
        ``client_ip`` None (an internal caller) skips the per-address throttle.
        Raises AuthFailed (``reason`` for the log) or AuthThrottled (with
        ``retry_after``), and InvalidValue for an unknown ``protocol`` name,
        which is a bug in the caller, not a failed login.
        """
        needed = Permission.for_protocol(protocol)
        account_key = "account:" + _account_key(address)
        ip_key = None if client_ip is None else "ip:" + _ip_key(client_ip)
        self._check_throttles(account_key, ip_key)
        try:
            account = await self._verify(address, password, needed)
        except AuthFailed as exc:
            self._failed(account_key, ip_key)
            log.info(
                "authentication failed: user=%r ip=%s protocol=%s reason=%s",
                address[:_MAX_KEY],
                client_ip,
                protocol,
                exc.reason,
            )
            raise
        self.account_throttle.reset(account_key)
        return account

    async def authenticate_admin(self, name: str, password: str, *, client_ip: str | None) -> Admin:
        """An administrator's login, throttled like an account's; AuthFailed, AuthThrottled."""
        account_key = "admin:" + name.lower()[:_MAX_KEY]
        ip_key = None if client_ip is None else "ip:" + _ip_key(client_ip)
        self._check_throttles(account_key, ip_key)
        try:
            admin = await self.directory.verify_admin(name, password[: MAX_PASSWORD + 1])
        except AuthFailed as exc:
            self._failed(account_key, ip_key)
            log.info("admin authentication failed: name=%r ip=%s reason=%s", name[:_MAX_KEY], client_ip, exc.reason)
            raise
        self.account_throttle.reset(account_key)
        return admin

    async def delay_failure(self) -> None:
        """Sleep ``failure_delay`` seconds; protocols await this before reporting a failure."""
        if self.failure_delay > 0:
            await asyncio.sleep(self.failure_delay)

    def _check_throttles(self, account_key: str, ip_key: str | None) -> None:
        wait = self.account_throttle.blocked(account_key)
        if wait is not None:
            raise AuthThrottled("throttled-account", wait)
        if ip_key is not None:
            wait = self.ip_throttle.blocked(ip_key)
            if wait is not None:
                raise AuthThrottled("throttled-ip", wait)

    def _failed(self, account_key: str, ip_key: str | None) -> None:
        self.account_throttle.hit(account_key)
        if ip_key is not None:
            self.ip_throttle.hit(ip_key)

    async def _verify(self, address: str, password: str, needed: Permission) -> Account:
        passwords = self.directory.passwords
        # No stored password is longer (set_password refuses it); hash only a bounded prefix.
        too_long = len(password) > MAX_PASSWORD
        password = password[: MAX_PASSWORD + 1]
        record = await self.directory.login_record(address)
        account, password_hash = record if record is not None else (None, None)
        from_ldap = None if account is None else await self._ldap_verdict(account, password)
        if from_ldap is not None:
            if not from_ldap or too_long:
                raise AuthFailed("bad-password")
        elif account is None or password_hash is None:
            await passwords.verify_dummy(password)
            raise AuthFailed("unknown-user" if account is None else "no-password")
        elif not await passwords.verify(password_hash, password) or too_long:
            raise AuthFailed("bad-password")
        assert account is not None  # every branch above without an account raised
        if account.status != "active":
            raise AuthFailed(account.status)
        if not account.permissions & needed:
            raise AuthFailed("not-permitted")
        if from_ldap is None and password_hash is not None and passwords.needs_rehash(password_hash):
            await self._rehash(account, password_hash, password)
        return account

    async def _ldap_verdict(self, account: Account, password: str) -> bool | None:
        """None for a local account; for an LDAP one, whether its directory accepts the password."""
        try:
            return await ldap.verify_password(self.directory.db, account.id, password)
        except ldap.LdapError as exc:
            log.warning("LDAP login of %s: %s", account.address, exc)
            raise AuthFailed("ldap-unavailable") from None

    async def _rehash(self, account: Account, old_hash: str, password: str) -> None:
        try:
            new_hash = await self.directory.passwords.hash(password)
            await self.directory.replace_hash(account.id, old_hash, new_hash)
        except Exception:  # the login succeeded; an upgrade of the hash can wait for the next one
            log.warning("could not rehash the password of %s", account.address, exc_info=True)


def _account_key(address: str) -> str:
    try:
        return normalise_address(address)
    except InvalidAddress:
        return address.lower()[:_MAX_KEY]


def _ip_key(client_ip: str) -> str:
    """The client address as counted: IPv4 as is, IPv6 by its /64, IPv4-mapped as IPv4."""
    try:
        ip = ipaddress.ip_address(client_ip.split("%", 1)[0])
    except ValueError:
        return client_ip[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
