"""Sieve scripts of users and domains: storage, limits, the active script.

A user has any number of named scripts (up to ``sieve.max_scripts``), of which at
most one is active (RFC 5804 §1.7). Every write validates the script first: a
script that does not parse is never stored, so delivery never meets one. Domain
scripts (``account_id`` NULL) run before or after every user's of that domain, or
are reachable only through ``include :global``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from kastell.db import schema as s

if TYPE_CHECKING:
    from kastell.app import Kastell
    from kastell.db.engine import Database

_S = s.sieve_scripts.c

# RFC 5804 §1.6: any Unicode except controls; we also refuse "/" (names are never paths).
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/]|[\u0080-\u009f\u2028\u2029]")


class ScriptError(Exception):
    """A refused script operation; ``code`` is the RFC 5804 response code, if one fits."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class ScriptInfo:
    name: str
    active: bool
    size: int
    updated: int


def check_name(name: str) -> str:
    if not name or len(name) > 255 or _BAD_NAME.search(name):
        raise ScriptError("invalid script name")
    return name


def check_syntax(content: str) -> None:
    """Raise ScriptError with the line and reason when ``content`` is not a valid script."""
    from kastell import sieve  # the interpreter is loaded when a script is first checked

    try:
        sieve.parse(content)
    except sieve.SieveSyntaxError as exc:
        raise ScriptError(str(exc)) from None


class ScriptStore:
    """One account's scripts (every statement scoped by organisation and account)."""

    def __init__(self, db: Database, org_id: int, account_id: int, *, max_scripts: int, max_size: int) -> None:
        self._db = db
        self.org_id = org_id
        self.account_id = account_id
        self.max_scripts = max_scripts
        self.max_size = max_size

    def _mine(self) -> ColumnElement[bool]:
        return and_(_S.org_id == self.org_id, _S.account_id == self.account_id)

    async def list(self) -> list[ScriptInfo]:
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(_S.name, _S.active, func.length(_S.content).label("size"), _S.updated)
                .where(self._mine())
                .order_by(_S.name)
            )
            return [ScriptInfo(r.name, bool(r.active), int(r.size), int(r.updated)) for r in rows]

    async def get(self, name: str) -> str | None:
        async with self._db.read() as conn:
            return await conn.scalar(select(_S.content).where(self._mine(), _S.name == name))

    async def active(self) -> tuple[str, str] | None:
        """(name, content) of the active script, if any."""
        async with self._db.read() as conn:
            row = (await conn.execute(select(_S.name, _S.content).where(self._mine(), _S.active))).first()
        return (row.name, row.content) if row else None

    def have_space(self, name: str, size: int, existing: Sequence[ScriptInfo]) -> None:
        """RFC 5804 HAVESPACE: raise ScriptError(QUOTA/...) when the script would not fit."""
        if size > self.max_size:
            raise ScriptError(f"script is larger than {self.max_size} bytes", "QUOTA/MAXSIZE")
        if name not in {i.name for i in existing} and len(existing) >= self.max_scripts:
            raise ScriptError(f"no more than {self.max_scripts} scripts", "QUOTA/MAXSCRIPTS")

    async def put(self, name: str, content: str) -> None:
        """Create or replace ``name`` (its active state is kept); validates first."""
        check_name(name)
        self.have_space(name, len(content.encode("utf-8")), await self.list())
        check_syntax(content)
        now = int(time.time())
        async with self._db.write() as conn:
            done = await conn.execute(
                update(s.sieve_scripts).where(self._mine(), _S.name == name).values(content=content, updated=now)
            )
            if not done.rowcount:
                count = await conn.scalar(select(func.count()).select_from(s.sieve_scripts).where(self._mine()))
                if (count or 0) >= self.max_scripts:
                    raise ScriptError(f"no more than {self.max_scripts} scripts", "QUOTA/MAXSCRIPTS")
                await conn.execute(
                    insert(s.sieve_scripts).values(
                        org_id=self.org_id, account_id=self.account_id, name=name, content=content, updated=now
                    )
                )

    async def activate(self, name: str | None) -> None:
        """Make ``name`` the active script; None (or "") deactivates all (RFC 5804 §2.8)."""
        now = int(time.time())
        async with self._db.write() as conn:
            if name:
                found = await conn.scalar(select(_S.id).where(self._mine(), _S.name == name))
                if found is None:
                    raise ScriptError("there is no script by that name", "NONEXISTENT")
            await conn.execute(update(s.sieve_scripts).where(self._mine(), _S.active).values(active=False))
            if name:
                await conn.execute(
                    update(s.sieve_scripts).where(self._mine(), _S.name == name).values(active=True, updated=now)
                )

    async def delete(self, name: str) -> None:
        async with self._db.write() as conn:
            row = (await conn.execute(select(_S.id, _S.active).where(self._mine(), _S.name == name))).first()
            if row is None:
                raise ScriptError("there is no script by that name", "NONEXISTENT")
            if row.active:
                raise ScriptError("the active script cannot be deleted", "ACTIVE")
            await conn.execute(delete(s.sieve_scripts).where(self._mine(), _S.id == row.id))

    async def rename(self, old: str, new: str) -> None:
        check_name(new)
        try:
            async with self._db.write() as conn:
                exists = await conn.scalar(select(_S.id).where(self._mine(), _S.name == new))
                if exists is not None:
                    raise ScriptError("a script by that name exists already", "ALREADYEXISTS")
                done = await conn.execute(
                    update(s.sieve_scripts)
                    .where(self._mine(), _S.name == old)
                    .values(name=new, updated=int(time.time()))
                )
                if not done.rowcount:
                    raise ScriptError("there is no script by that name", "NONEXISTENT")
        except IntegrityError:
            raise ScriptError("a script by that name exists already", "ALREADYEXISTS") from None


class DomainScripts:
    """Global scripts of a domain (administrators): ``phase`` before/after or "" (include only)."""

    def __init__(self, db: Database, org_id: int, domain_id: int) -> None:
        self._db = db
        self.org_id = org_id
        self.domain_id = domain_id

    def _mine(self) -> ColumnElement[bool]:
        return and_(_S.org_id == self.org_id, _S.domain_id == self.domain_id)

    async def put(self, name: str, content: str, phase: str = "") -> None:
        check_name(name)
        if phase not in ("", "before", "after"):
            raise ScriptError("phase is one of before, after or empty")
        check_syntax(content)
        now = int(time.time())
        async with self._db.write() as conn:
            done = await conn.execute(
                update(s.sieve_scripts)
                .where(self._mine(), _S.name == name)
                .values(content=content, phase=phase, updated=now)
            )
            if not done.rowcount:
                await conn.execute(
                    insert(s.sieve_scripts).values(
                        org_id=self.org_id,
                        domain_id=self.domain_id,
                        name=name,
                        content=content,
                        phase=phase,
                        updated=now,
                    )  # fmt: skip
                )

    async def delete(self, name: str) -> bool:
        async with self._db.write() as conn:
            done = await conn.execute(delete(s.sieve_scripts).where(self._mine(), _S.name == name))
            return bool(done.rowcount)

    async def list(self) -> list[tuple[str, str, str]]:
        """(name, phase, content) in name order."""
        async with self._db.read() as conn:
            rows = await conn.execute(select(_S.name, _S.phase, _S.content).where(self._mine()).order_by(_S.name))
            return [(r.name, r.phase, r.content) for r in rows]


def for_account(app: Kastell, org_id: int, account_id: int) -> ScriptStore:
    """The script store of an account with the configured limits."""
    config = app.settings.config.sieve
    return ScriptStore(app.db, org_id, account_id, max_scripts=config.max_scripts, max_size=config.max_script_size)
