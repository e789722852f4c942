"""HTTP Basic for DAV (RFC 7617): the directory's authenticator, plus a short credential cache.

DAV clients send the password with every request (a vdirsyncer run is hundreds of
requests). Argon2 costs ~50 ms by design, so a verified (address, password) pair is
remembered for ``TTL`` seconds, keyed by a salted SHA-256 of both: the cache never
holds a password, and a wrong password still takes the full, throttled path.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import time

from kastell.app import Kastell
from kastell.directory.errors import AuthFailed, AuthThrottled, DirectoryError
from kastell.directory.records import Account
from kastell.protocols.dav.errors import DavError

TTL = 60.0
_MAX_ENTRIES = 10000
_SALT = os.urandom(16)
REALM = 'Basic realm="Kastell", charset="UTF-8"'


class Unauthorized(DavError):
    def __init__(self, message: str = "authentication required") -> None:
        super().__init__(401, None, message)


class CredentialCache:
    def __init__(self) -> None:
        self._entries: dict[bytes, tuple[Account, float]] = {}

    def _key(self, address: str, password: str) -> bytes:
        return hashlib.sha256(_SALT + address.lower().encode() + b"\0" + password.encode()).digest()

    def get(self, address: str, password: str) -> Account | None:
        key = self._key(address, password)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] < time.monotonic():
            del self._entries[key]
            return None
        return entry[0]

    def put(self, address: str, password: str, account: Account) -> None:
        if len(self._entries) >= _MAX_ENTRIES:
            self._entries.clear()  # crude but bounded; a cold cache only costs a hash
        self._entries[self._key(address, password)] = (account, time.monotonic() + TTL)


def parse_basic(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


async def authenticate(kastell: Kastell, cache: CredentialCache, header: str | None, client_ip: str | None) -> Account:
    """The account for the Authorization header; Unauthorized (401) for anything else.

    Throttled clients get the same 401 as a wrong password (after the failure delay),
    so a guesser cannot tell a block from a miss.
    """
    credentials = parse_basic(header)
    if credentials is None:
        raise Unauthorized()
    address, password = credentials
    cached = cache.get(address, password)
    if cached is not None:
        return cached
    try:
        account = await kastell.auth.authenticate(address, password, client_ip=client_ip, protocol="dav")
    except (AuthFailed, AuthThrottled) as exc:
        await kastell.auth.delay_failure()
        raise Unauthorized("authentication failed") from exc
    except DirectoryError as exc:  # an invalid address is just a failed login to the client
        await kastell.auth.delay_failure()
        raise Unauthorized("authentication failed") from exc
    cache.put(address, password, account)
    return account
