"""Password hashing with argon2id, off the event loop.

Hashing costs tens of milliseconds of CPU and memory on purpose; every call
runs in ``asyncio.to_thread`` so that one login never stalls the other
connections. The stored form is the PHC string (``$argon2id$v=19$m=…``), which
carries its own parameters: raising them later only makes ``needs_rehash``
true, and the authenticator rehashes on the next successful login.

Clients log in again and again with the same password (a mail client opens
several IMAP connections, phones reconnect on every network change), and each
login would cost a full argon2 verification. A successful verification is
therefore remembered for ``cache_seconds`` (like Dovecot's auth cache): what is
kept is a keyed BLAKE2b digest of the stored hash and the password, under a key
made at start and never written anywhere, so the cache holds nothing a password
can be recovered from. A changed password has a new stored hash and misses the
cache; failures are never cached, so a wrong password always costs the full
verification (and the timing of failures stays uniform).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import time
from collections import OrderedDict

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

from kastell.directory.errors import InvalidValue

# Longer passwords buy nothing and make every attempt cost more to hash.
MAX_PASSWORD = 1024


def check_password(password: str) -> None:
    """Refuse passwords that cannot be used: empty, too long, or with a NUL byte."""
    if not password:
        raise InvalidValue("the password must not be empty")
    if len(password) > MAX_PASSWORD:
        raise InvalidValue(f"the password is longer than {MAX_PASSWORD} characters")
    if "\x00" in password:
        raise InvalidValue("the password must not contain a NUL character")


class Passwords:
    """argon2id hashing; the keyword arguments are those of ``argon2.PasswordHasher``.

    The defaults (argon2-cffi's RFC 9106 low-memory profile) are for production;
    tests pass ``time_cost=1, memory_cost=8 * 1024`` to be fast.
    """

    def __init__(
        self,
        *,
        time_cost: int | None = None,
        memory_cost: int | None = None,
        parallelism: int | None = None,
        cache_seconds: float = 600,
        cache_size: int = 10_000,
    ) -> None:
        base = RFC_9106_LOW_MEMORY
        params = dataclasses.replace(
            base,
            time_cost=base.time_cost if time_cost is None else time_cost,
            memory_cost=base.memory_cost if memory_cost is None else memory_cost,
            parallelism=base.parallelism if parallelism is None else parallelism,
        )
        self._hasher = PasswordHasher.from_parameters(params)
        self._dummy: str | None = None
        self._dummy_lock = asyncio.Lock()
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self._cache_key = os.urandom(32)
        self._verified: OrderedDict[bytes, float] = OrderedDict()  # digest -> expiry (monotonic)

    async def hash(self, password: str) -> str:
        """The PHC string for ``password`` (which ``check_password`` should have accepted)."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when ``password`` matches. A malformed stored hash counts as a mismatch.

        A match found within the last ``cache_seconds`` is answered without argon2.
        """
        digest = self._digest(password_hash, password)
        now = time.monotonic()
        expiry = self._verified.get(digest)
        if expiry is not None:
            if expiry > now:
                return True
            del self._verified[digest]
        ok = await asyncio.to_thread(self._verify_sync, password_hash, password)
        if ok and self.cache_seconds > 0 and self.cache_size > 0:
            self._verified[digest] = now + self.cache_seconds
            self._verified.move_to_end(digest)
            while len(self._verified) > self.cache_size:
                self._verified.popitem(last=False)
        return ok

    def _digest(self, password_hash: str, password: str) -> bytes:
        data = password_hash.encode("utf-8", "surrogatepass") + b"\0" + password.encode("utf-8", "surrogatepass")
        return hashlib.blake2b(data, key=self._cache_key, digest_size=32).digest()

    def _verify_sync(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True

    async def verify_dummy(self, password: str) -> None:
        """Spend the time of one real verification against a hash nobody can match.

        Called for unknown users and accounts without a password, so that the
        answer takes as long as a wrong password would (no user enumeration by
        timing). The dummy hash uses the current parameters and is made once.
        """
        if self._dummy is None:
            async with self._dummy_lock:
                if self._dummy is None:
                    self._dummy = await self.hash("kastell-dummy-password-never-matches")
        await self.verify(self._dummy, password)
