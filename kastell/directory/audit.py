"""The audit log and the API tokens of administrators.

Audit: ``AuditLog(db).record(actor, action, target, ...)`` writes one row of
``audit_log`` for an administrative change, whoever made it (CLI, API,
console). ``detail`` is a small JSON object of what changed; callers pass no
secrets, and ``record`` drops any key that looks like one as a second line of
defence. Entries are read back newest first, filtered by organisation, actor,
action (exact, or a prefix ending in ``.``) and time.

Tokens: ``Tokens(db)`` issues bearer tokens for scripts. The secret is
returned once by ``create`` and only its sha256 is stored: a stolen database
does not yield working tokens, and sha256 (not argon2) is right because the
secret is 256 random bits, not a guessable password, and it is checked on
every API request.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, insert, select

from kastell.db import schema as s
from kastell.db.engine import Database
from kastell.directory.base import new_id, now
from kastell.directory.errors import InvalidValue, NoSuchAdmin, NotFound
from kastell.directory.records import Admin, admin_from_row

TOKEN_PREFIX = "kst_"  # lets secret scanners and people recognise a Kastell token
_SECRET_WORDS = ("password", "secret", "token", "hash")


class NoSuchToken(NotFound):
    """No API token of this id (for this administrator)."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: int
    actor: str
    org_id: int | None
    action: str
    target: str
    detail: dict[str, Any]
    client: str


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    admin_id: int
    admin: str  # the administrator's name
    name: str
    created: int
    last_used: int | None
    expires: int | None


def _clean(detail: dict[str, Any] | None) -> str:
    if not detail:
        return ""
    kept = {k: v for k, v in detail.items() if not any(word in k.lower() for word in _SECRET_WORDS)}
    return json.dumps(kept, sort_keys=True, default=str)[:4000]


def _entry(row: Any) -> AuditEntry:
    try:
        detail = json.loads(row.detail) if row.detail else {}
    except ValueError:
        detail = {"text": row.detail}
    return AuditEntry(row.id, row.at, row.actor, row.org_id, row.action, row.target, detail, row.client)


class AuditLog:
    """Write and read ``audit_log``; see the module docstring."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self,
        actor: str,
        action: str,
        target: str = "",
        *,
        org_id: int | None = None,
        detail: dict[str, Any] | None = None,
        client: str = "",
    ) -> None:
        """One entry: ``actor`` ("admin name" or "cli:unixuser") did ``action`` ("user.create") to ``target``."""
        async with self.db.write() as conn:
            await conn.execute(
                insert(s.audit_log).values(
                    at=now(),
                    actor=actor[:320],
                    org_id=org_id,
                    action=action[:64],
                    target=target[:320],
                    detail=_clean(detail),
                    client=client[:64],
                )
            )

    async def entries(
        self,
        *,
        org_ids: frozenset[int] | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: int | None = None,
        until: int | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Entries newest first. ``org_ids`` None: every entry; a set: only those organisations'.

        ``before_id`` is the keyset cursor (the id of the last entry of the previous page).
        """
        where: list[ColumnElement[bool]] = []
        if org_ids is not None:
            where.append(s.audit_log.c.org_id.in_(sorted(org_ids)))
        if actor:
            where.append(s.audit_log.c.actor == actor)
        if action:
            if action.endswith("."):
                where.append(s.audit_log.c.action.startswith(action, autoescape=True))
            else:
                where.append(s.audit_log.c.action == action)
        if since is not None:
            where.append(s.audit_log.c.at >= since)
        if until is not None:
            where.append(s.audit_log.c.at < until)
        if before_id is not None:
            where.append(s.audit_log.c.id < before_id)
        query = select(s.audit_log).where(*where).order_by(s.audit_log.c.id.desc()).limit(limit)
        async with self.db.read() as conn:
            return [_entry(row) for row in await conn.execute(query)]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


_TOKEN_QUERY = select(
    s.api_tokens.c.id,
    s.api_tokens.c.admin_id,
    s.admins.c.name.label("admin"),
    s.api_tokens.c.name,
    s.api_tokens.c.created,
    s.api_tokens.c.last_used,
    s.api_tokens.c.expires,
).select_from(s.api_tokens.join(s.admins, s.admins.c.id == s.api_tokens.c.admin_id))


class Tokens:
    """API tokens; see the module docstring."""

    # last_used is written at most this often per token: a busy script must not
    # turn every read request into a write on the one SQLite writer.
    TOUCH_INTERVAL = 60

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, admin_name: str, name: str, expires: int | None = None) -> tuple[str, ApiToken]:
        """A new token for ``admin_name``: (the secret, shown once; the record). NoSuchAdmin, InvalidValue."""
        if not name or len(name) > 255 or any(not ch.isprintable() for ch in name):
            raise InvalidValue("the token name must be 1-255 printable characters")
        if expires is not None and expires <= now():
            raise InvalidValue("the expiry time must lie in the future")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self.db.write() as conn:
            admin_id = (await conn.execute(select(s.admins.c.id).where(s.admins.c.name == admin_name.lower()))).scalar()
            if admin_id is None:
                raise NoSuchAdmin(f"no admin {admin_name}")
            result = await conn.execute(
                insert(s.api_tokens).values(
                    admin_id=admin_id, name=name, token_hash=_hash(secret), created=now(), expires=expires
                )
            )
            row = (await conn.execute(_TOKEN_QUERY.where(s.api_tokens.c.id == new_id(result)))).one()
        return secret, ApiToken(*row)

    async def verify(self, secret: str) -> Admin | None:
        """The administrator a valid, unexpired token belongs to, else None."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        stamp = now()
        query = (
            select(s.admins, s.api_tokens.c.id.label("token_id"), s.api_tokens.c.last_used.label("token_used"))
            .select_from(s.api_tokens.join(s.admins, s.admins.c.id == s.api_tokens.c.admin_id))
            .where(s.api_tokens.c.token_hash == _hash(secret))
        )
        async with self.db.read() as conn:
            row = (
                await conn.execute(query.where((s.api_tokens.c.expires.is_(None)) | (s.api_tokens.c.expires > stamp)))
            ).first()
        if row is None:
            return None
        if row.token_used is None or stamp - row.token_used >= self.TOUCH_INTERVAL:
            async with self.db.write() as conn:
                await conn.execute(
                    s.api_tokens.update().where(s.api_tokens.c.id == row.token_id).values(last_used=stamp)
                )
        return admin_from_row(row)

    async def list(self, admin_id: int | None = None) -> list[ApiToken]:
        """Tokens (never their secrets), of one administrator or of all."""
        query = _TOKEN_QUERY.order_by(s.api_tokens.c.id)
        if admin_id is not None:
            query = query.where(s.api_tokens.c.admin_id == admin_id)
        async with self.db.read() as conn:
            return [ApiToken(*row) for row in await conn.execute(query)]

    async def get(self, token_id: int) -> ApiToken:
        async with self.db.read() as conn:
            row = (await conn.execute(_TOKEN_QUERY.where(s.api_tokens.c.id == token_id))).first()
        if row is None:
            raise NoSuchToken(f"no API token {token_id}")
        return ApiToken(*row)

    async def delete(self, token_id: int) -> None:
        async with self.db.write() as conn:
            result = await conn.execute(s.api_tokens.delete().where(s.api_tokens.c.id == token_id))
        if not result.rowcount:
            raise NoSuchToken(f"no API token {token_id}")


async def get_admin_by_name(db: Database, name: str) -> Admin:
    """One administrator by name (``Directory`` lists them but has no single lookup)."""
    async with db.read() as conn:
        row = (await conn.execute(select(s.admins).where(s.admins.c.name == name.lower()))).first()
    if row is None:
        raise NoSuchAdmin(f"no admin {name}")
    return admin_from_row(row)


async def record(
    db: Database,
    actor: str,
    action: str,
    target: str = "",
    *,
    org_id: int | None = None,
    detail: dict[str, Any] | None = None,
    client: str = "",
) -> None:
    """Shorthand of ``AuditLog(db).record(...)`` for one-off callers such as the CLI."""
    await AuditLog(db).record(actor, action, target, org_id=org_id, detail=detail, client=client)
