"""LDAP sources as stored: validation, the sealed bind password, reading and writing ``ldap_sources``.

The bind password of the service account is sealed with AES-256-GCM under
the installation key ``DATA/ldap.key`` (``kastell.keys.load_key``), with the
organisation's id as associated data, so a value copied to another
organisation's row does not open. It is unsealed only to bind; ``Source``
records say whether one is set and never carry it. A stolen database alone
yields no directory credentials; a stolen data directory does (back the key up
with the database).
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from kastell.db import schema as s
from kastell.db.engine import Database
from kastell.directory.base import now
from kastell.directory.errors import InvalidValue, NotFound
from kastell.directory.ldap.client import Connect, LdapError, Mapping
from kastell.directory.records import Organisation

KEY_FILE = "ldap.key"
MAX_INTERVAL = 30 * 86400
MIN_INTERVAL = 60
_ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,63}|[0-9]+(?:\.[0-9]+)+")


class NoLdapSource(NotFound):
    """The organisation has no LDAP source."""


class InvalidSetting(InvalidValue):
    """A setting of a source is invalid; ``field`` names it (the API reports it)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """What an operator sets for an organisation's source (the password travels separately)."""

    url: str
    base_dn: str
    bind_dn: str = ""
    starttls: bool = False
    ca_cert: str | None = None
    user_filter: str = "(objectClass=inetOrgPerson)"
    mail_attr: str = "mail"
    name_attr: str = "cn"
    id_attr: str = "entryUUID"
    group_base: str | None = None
    group_filter: str | None = "(objectClass=groupOfNames)"  # None: groups are not synced
    member_attr: str = "member"
    sync_interval: int = 0  # seconds; 0 = only when asked
    enabled: bool = True

    def mapping(self) -> Mapping:
        return Mapping(self.base_dn, self.user_filter, self.mail_attr, self.name_attr, self.id_attr,
                       self.group_base, self.group_filter, self.member_attr)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Source:
    """A stored source; never the password, only whether one is set."""

    id: int
    org_id: int
    org: str
    settings: SourceSettings
    has_password: bool
    last_sync: int | None
    last_error: str | None
    created: int
    updated: int
    _sealed: str = field(default="", repr=False, compare=False)


_SETTING_NAMES = tuple(SourceSettings.__dataclass_fields__)


def _printable(name: str, value: str, limit: int = 1024, *, empty: bool = False) -> str:
    if not isinstance(value, str) or len(value) > limit or any(not ch.isprintable() for ch in value):
        raise InvalidSetting(name, f"at most {limit} printable characters")
    if not empty and not value.strip():
        raise InvalidSetting(name, "must not be empty")
    return value.strip()


def _dn(name: str, value: str, *, empty: bool = False) -> str:
    value = _printable(name, value, empty=empty)
    if value and "=" not in value:
        raise InvalidSetting(name, f"not a DN: {value[:80]!r} (like dc=example,dc=org)")
    return value


def check_filter(name: str, value: str) -> str:
    """An LDAP filter (RFC 4515) in parentheses with balanced nesting; the server checks the rest."""
    value = _printable(name, value)
    depth = 0
    for ch in value:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                break
    if depth != 0 or not (value.startswith("(") and value.endswith(")")):
        raise InvalidSetting(name, f"not an LDAP filter: {value[:80]!r} (like (objectClass=inetOrgPerson))")
    return value


def _attribute(name: str, value: str) -> str:
    if not isinstance(value, str) or not _ATTRIBUTE.fullmatch(value):
        raise InvalidSetting(name, f"not an attribute name: {str(value)[:80]!r}")
    return value


def check_url(value: str) -> str:
    value = _printable("url", value)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InvalidSetting("url", f"not a URL: {value[:80]!r}") from None
    if parts.scheme not in ("ldap", "ldaps") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise InvalidSetting("url", f"{value[:80]!r}: ldap://host[:port] or ldaps://host[:port]")
    if port == 0 or parts.username or parts.password:
        raise InvalidSetting("url", f"{value[:80]!r}: ldap://host[:port] or ldaps://host[:port]")
    return value.rstrip("/")


def validate(settings: SourceSettings) -> SourceSettings:
    """The settings cleaned up, or InvalidSetting naming the first bad field."""
    url = check_url(settings.url)
    if settings.starttls and url.startswith("ldaps:"):
        raise InvalidSetting("starttls", "StartTLS is for ldap:// URLs; ldaps:// is TLS from the start")
    ca_cert = settings.ca_cert or None
    if ca_cert is not None and (len(ca_cert) > 65536 or "-----BEGIN CERTIFICATE-----" not in ca_cert):
        raise InvalidSetting("ca_cert", "a PEM certificate (-----BEGIN CERTIFICATE-----)")
    interval = settings.sync_interval
    if (
        isinstance(interval, bool)
        or not isinstance(interval, int)
        or not (interval == 0 or MIN_INTERVAL <= interval <= MAX_INTERVAL)
    ):
        raise InvalidSetting("sync_interval", f"0 (manual) or {MIN_INTERVAL}..{MAX_INTERVAL} seconds")
    return SourceSettings(
        url=url,
        base_dn=_dn("base_dn", settings.base_dn),
        bind_dn=_dn("bind_dn", settings.bind_dn, empty=True),
        starttls=bool(settings.starttls),
        ca_cert=ca_cert,
        user_filter=check_filter("user_filter", settings.user_filter),
        mail_attr=_attribute("mail_attr", settings.mail_attr),
        name_attr=_attribute("name_attr", settings.name_attr),
        id_attr=_attribute("id_attr", settings.id_attr),
        group_base=(_dn("group_base", settings.group_base, empty=True) or None) if settings.group_base else None,
        group_filter=check_filter("group_filter", settings.group_filter) if settings.group_filter else None,
        member_attr=_attribute("member_attr", settings.member_attr),
        sync_interval=interval,
        enabled=bool(settings.enabled),
    )


# ------------------------------------------------------------------ the sealed password


def _aead(data_dir: Path) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # lazily: most servers never need it

    from kastell.keys import load_key

    return AESGCM(load_key(data_dir, KEY_FILE))


def seal(data_dir: Path, org_id: int, password: str) -> str:
    """``password`` encrypted for organisation ``org_id``: base64 of nonce + ciphertext ("" for "")."""
    if not password:
        return ""
    nonce = os.urandom(12)
    sealed = _aead(data_dir).encrypt(nonce, password.encode("utf-8"), b"kastell-ldap:%d" % org_id)
    return base64.b64encode(nonce + sealed).decode("ascii")


def unseal(data_dir: Path, org_id: int, value: str) -> str:
    """The clear password of ``seal``; LdapError when the key does not open it (key file replaced)."""
    if not value:
        return ""
    from cryptography.exceptions import InvalidTag

    try:
        raw = base64.b64decode(value)
        return str(_aead(data_dir).decrypt(raw[:12], raw[12:], b"kastell-ldap:%d" % org_id).decode("utf-8"))
    except (InvalidTag, ValueError):
        raise LdapError(f"the stored bind password does not open with {KEY_FILE}; set it again") from None


# ------------------------------------------------------------------ the table


def _source(row: Any, org: str) -> Source:
    m = row._mapping
    values = {name: m[name] for name in _SETTING_NAMES}
    settings = SourceSettings(**{**values, "starttls": bool(m["starttls"]), "enabled": bool(m["enabled"])})
    return Source(m["id"], m["org_id"], org, settings, bool(m["bind_password"]), m["last_sync"], m["last_error"],
                  m["created"], m["updated"], m["bind_password"])  # fmt: skip


class SourceStore:
    """``ldap_sources`` of one installation; ``data_dir`` holds the key that seals bind passwords."""

    def __init__(self, db: Database, data_dir: Path) -> None:
        self.db = db
        self.data_dir = data_dir

    async def find(self, org: Organisation) -> Source | None:
        async with self.db.read() as conn:
            return await self._find(conn, org)

    async def get(self, org: Organisation) -> Source:
        found = await self.find(org)
        if found is None:
            raise NoLdapSource(f"organisation {org.name} has no LDAP source")
        return found

    async def put(self, org: Organisation, settings: SourceSettings, password: str | None) -> Source:
        """Create or replace the source of ``org``; ``password`` None keeps the stored one, "" removes it."""
        settings = validate(settings)
        if password is not None and (len(password) > 1024 or "\x00" in password):
            raise InvalidSetting("bind_password", "at most 1024 characters")
        values: dict[str, Any] = asdict(settings)
        if password is not None:
            values["bind_password"] = seal(self.data_dir, org.id, password)
        stamp = now()
        async with self.db.write() as conn:
            existing = await self._find(conn, org)
            if existing is None:
                values.setdefault("bind_password", "")
                await conn.execute(insert(s.ldap_sources).values(org_id=org.id, created=stamp, updated=stamp, **values))
            else:
                await conn.execute(
                    s.ldap_sources.update().where(s.ldap_sources.c.id == existing.id).values(updated=stamp, **values)
                )
            found = await self._find(conn, org)
        assert found is not None
        return found

    async def delete(self, org: Organisation) -> Source:
        """Remove the source; its accounts and groups stay, unlinked (they log in with a local password again)."""
        async with self.db.write() as conn:
            found = await self._find(conn, org)
            if found is None:
                raise NoLdapSource(f"organisation {org.name} has no LDAP source")
            await conn.execute(s.ldap_accounts.delete().where(s.ldap_accounts.c.source_id == found.id))
            await conn.execute(s.ldap_groups.delete().where(s.ldap_groups.c.source_id == found.id))
            await conn.execute(s.ldap_sources.delete().where(s.ldap_sources.c.id == found.id))
        return found

    def connect_of(self, source: Source) -> Connect:
        """How to bind as the source's service account (the password unsealed)."""
        st = source.settings
        return Connect(
            st.url, st.starttls, st.ca_cert, st.bind_dn, unseal(self.data_dir, source.org_id, source._sealed)
        )

    async def record(self, source: Source, error: str | None) -> None:
        """Note a finished sync: its time, and its error (None: it worked)."""
        async with self.db.write() as conn:
            await conn.execute(
                s.ldap_sources.update()
                .where(s.ldap_sources.c.id == source.id)
                .values(last_sync=now(), last_error=None if error is None else error[:2000])
            )

    async def due(self, at: int) -> list[int]:
        """The organisations whose enabled, scheduled source should sync by ``at``."""
        t = s.ldap_sources.c
        query = select(t.org_id, t.last_sync, t.sync_interval).where(t.enabled == True, t.sync_interval > 0)  # noqa: E712
        async with self.db.read() as conn:
            rows = list(await conn.execute(query.order_by(t.org_id)))
        return [row.org_id for row in rows if row.last_sync is None or row.last_sync + row.sync_interval <= at]

    async def _find(self, conn: AsyncConnection, org: Organisation) -> Source | None:
        row = (await conn.execute(select(s.ldap_sources).where(s.ldap_sources.c.org_id == org.id))).first()
        return None if row is None else _source(row, org.name)
