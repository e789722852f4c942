"""Password hashing with argon2id, off the event loop.

Hashing costs tens of milliseconds of CPU and memory on purpose; every call
runs in ``asyncio.to_thread`` so that one login never stalls the other
connections. The stored form is the PHC string (``$argon2id$v=19$m=…``), which
carries its own parameters: raising them later only makes ``needs_rehash``
true, and the authenticator rehashes on the next successful login.
"""

from __future__ import annotations

import asyncio
import dataclasses

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
        self, *, time_cost: int | None = None, memory_cost: int | None = None, parallelism: int | None = None
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

    async def hash(self, password: str) -> str:
        """The PHC string for ``password`` (which ``check_password`` should have accepted)."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when ``password`` matches. A malformed stored hash counts as a mismatch."""
        return await asyncio.to_thread(self._verify_sync, password_hash, password)

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
