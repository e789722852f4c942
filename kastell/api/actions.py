"""Administrative operations, scoped to one administrator and written to the audit log.

Both the REST API and the console call these, so that scope checks, the
"not found rather than forbidden" rule and audit entries live in one place.
Validation stays in the directory service: an ``Actions`` method checks who may
act on what, calls the one ``Directory`` method, and records what happened.
Every directory failure becomes an ``ApiError`` naming the request field it
concerns (``errors.field``).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from kastell.api.auth import Principal
from kastell.api.errors import ApiError, field, forbidden, not_found
from kastell.directory.addresses import normalise_address
from kastell.directory.audit import ApiToken, AuditEntry, AuditLog, NoSuchToken, Tokens
from kastell.directory.errors import (
    DirectoryError,
    InvalidAddress,
    InvalidValue,
    NoSuchAccount,
    NoSuchAdmin,
    NoSuchAlias,
    NoSuchDomain,
    NoSuchGroup,
    NoSuchOrganisation,
)
from kastell.directory.permissions import Permission
from kastell.directory.records import Account, Admin, Alias, Domain, Group, Organisation
from kastell.ops import metrics
from kastell.rules import forwarding, oof
from kastell.store import stats

if TYPE_CHECKING:
    from kastell.app import Kastell
    from kastell.mail.queue import Queue, QueuedMessage
    from kastell.ops.sessions import SessionInfo

T = TypeVar("T")


def generate_password() -> str:
    """A password shown once to the operator: 20 URL-safe characters, about 120 bits."""
    return secrets.token_urlsafe(15)


class Actions:
    """What ``principal`` may do to the directory of ``kastell``; see the module docstring."""

    def __init__(self, kastell: Kastell, principal: Principal) -> None:
        self.kastell = kastell
        self.directory = kastell.directory
        self.principal = principal
        self.audit_log = AuditLog(kastell.db)
        self.tokens = Tokens(kastell.db)

    # ------------------------------------------------------------------ helpers

    async def audit(
        self, action: str, target: str, org_id: int | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        await self.audit_log.record(
            self.principal.name, action, target, org_id=org_id, detail=detail, client=self.principal.client
        )
        metrics.AUDIT_EVENTS.labels(action).inc()

    async def _write(self, call: Callable[[], Awaitable[T]], field_name: str | None = None) -> T:
        self.principal.require_write()
        with field(field_name):
            return await call()

    # ------------------------------------------------------------------ organisations

    async def list_orgs(self) -> list[Organisation]:
        return [o for o in await self.directory.list_orgs() if self.principal.sees(o.id)]

    async def get_org(self, name: str) -> Organisation:
        with field(None):
            org = await self.directory.get_org(name)
        if not self.principal.sees(org.id):
            raise ApiError.from_directory(NoSuchOrganisation(f"no organisation {name}"))
        return org

    async def create_org(self, name: str) -> Organisation:
        self.principal.require_system()
        org = await self._write(lambda: self.directory.create_org(name), "name")
        await self.audit("org.create", name, org.id)
        return org

    # ------------------------------------------------------------------ domains

    async def list_domains(self) -> list[Domain]:
        return [d for d in await self.directory.list_domains() if self.principal.sees_domain(d.org_id, d.id)]

    async def domain_names(self) -> frozenset[str] | None:
        """The names of the domains in scope (alias domains included); None for a system admin: all."""
        if self.principal.is_system:
            return None
        return frozenset(d.name for d in await self.list_domains())

    async def get_domain(self, name: str) -> Domain:
        with field(None):
            domain = await self.directory.get_domain(name)
        if not self.principal.sees_domain(domain.org_id, domain.id):
            raise ApiError.from_directory(NoSuchDomain(f"{domain.name} is not a local domain"))
        return domain

    def _no_domain_admin(self, what: str) -> None:
        if self.principal.is_domain_admin:
            raise forbidden(f"a domain administrator cannot {what}")

    async def add_domain(self, name: str, org: str | None = None, alias_of: str | None = None) -> Domain:
        self.principal.require_write()
        self._no_domain_admin("add domains")
        if alias_of is not None:
            try:
                await self.get_domain(alias_of)
            except ApiError as exc:
                exc.field = "alias_of"
                raise
        elif not self.principal.is_system:
            # An org admin's new domain lands in its own organisation, whatever the request says.
            own = [o for o in await self.directory.list_orgs() if o.id == self.principal.admin.org_id]
            if not own:
                raise forbidden("this administrator has no organisation")
            if org is not None and org != own[0].name:
                raise forbidden("an organisation administrator adds domains to its own organisation only")
            org = own[0].name
        domain = await self._write(lambda: self.directory.add_domain(name, org=org, alias_of=alias_of), "name")
        await self.audit("domain.create", domain.name, domain.org_id, {"org": domain.org, "alias_of": alias_of})
        return domain

    async def del_domain(self, name: str) -> None:
        domain = await self.get_domain(name)
        self._no_domain_admin("delete domains")
        await self._write(lambda: self.directory.del_domain(domain.name))
        await self.audit("domain.delete", domain.name, domain.org_id)

    async def set_catchall(self, name: str, address: str | None) -> Domain:
        domain = await self.get_domain(name)
        updated = await self._write(lambda: self.directory.set_catchall(domain.name, address), "catchall")
        await self.audit("domain.catchall", domain.name, domain.org_id, {"catchall": address})
        return updated

    async def ensure_dkim(self, name: str) -> None:
        from kastell.mail.dkim import DkimKeys

        domain = await self.get_domain(name)
        self.principal.require_write()
        await DkimKeys(self.kastell.db).ensure(domain.name)
        await self.audit("domain.dkim", domain.name, domain.org_id)

    # ------------------------------------------------------------------ users

    async def list_users(self, domain: str | None = None, kind: str | None = None) -> list[Account]:
        """Every account in scope (a domain filter outside the scope is 404)."""
        if domain is not None:
            domains = [(await self.get_domain(domain)).name]
        elif self.principal.is_system:
            with field("kind"):
                return [a async for a in self.directory.iter_accounts(kind=kind)]
        else:
            domains = [d.name for d in await self.list_domains() if d.alias_of is None]
        found: list[Account] = []
        for name in domains:
            with field("kind"):
                found.extend([a async for a in self.directory.iter_accounts(name, kind)])
        found.sort(key=lambda a: a.address)
        return found

    async def get_user(self, ref: str) -> Account:
        """``ref`` is an account id or a primary address; outside the scope it does not exist."""
        missing = ApiError.from_directory(NoSuchAccount(f"no account {ref[:320]}"))
        if ref.isascii() and ref.isdigit() and len(ref) <= 18:  # "²".isdigit() is true; ids fit 63 bits
            org_ids = self.principal.org_ids
            candidates = [o.id for o in await self.directory.list_orgs()] if org_ids is None else sorted(org_ids)
            for org_id in candidates:
                try:
                    found = await self.directory.get_account_by_id(org_id, int(ref))
                except NoSuchAccount:
                    continue
                if self.principal.sees_domain(found.org_id, found.domain_id):
                    return found
            raise missing
        try:
            account = await self.directory.get_account(ref)
        except (NoSuchAccount, InvalidAddress):
            raise missing from None
        if not self.principal.sees_domain(account.org_id, account.domain_id):
            raise missing
        return account

    async def _domain_in_scope(self, address: str, field_name: str) -> Domain:
        with field(field_name):
            domain_name = normalise_address(address).rpartition("@")[2]
        try:
            return await self.get_domain(domain_name)
        except ApiError as exc:
            exc.field = field_name
            exc.status, exc.code = 422, "invalid"
            raise

    async def create_user(
        self,
        address: str,
        password: str | None,
        *,
        name: str = "",
        quota: int | None = None,
        kind: str = "user",
        language: str = "en",
        timezone: str = "UTC",
        permissions: Permission | None = None,
    ) -> Account:
        self.principal.require_write()
        await self._domain_in_scope(address, "address")
        try:
            account = await self.directory.add_user(
                address,
                password,
                name=name,
                quota=quota,
                kind=kind,
                language=language,
                timezone=timezone,
                permissions=permissions,
            )
        except (InvalidValue, InvalidAddress) as exc:
            raise ApiError.from_directory(exc, _guess_field(str(exc), "address")) from exc
        except DirectoryError as exc:
            raise ApiError.from_directory(exc, "address") from exc
        await self.audit(
            "user.create",
            account.address,
            account.org_id,
            {"kind": kind, "name": name, "quota": account.quota, "can_log_in": password is not None},
        )
        return account

    async def update_user(self, ref: str, changes: dict[str, Any]) -> Account:
        """Apply ``changes`` (keys: name, quota, status, permissions, language, timezone) in that order."""
        account = await self.get_user(ref)
        self.principal.require_write()
        address = account.address
        setters: dict[str, Callable[[Any], Awaitable[Account]]] = {
            "name": lambda v: self.directory.set_name(address, v),
            "quota": lambda v: self.directory.set_quota(address, v),
            "status": lambda v: self.directory.set_status(address, v),
            "permissions": lambda v: self.directory.set_permissions(address, v),
            "language": lambda v: self.directory.set_language(address, v),
            "timezone": lambda v: self.directory.set_timezone(address, v),
        }
        for key, setter in setters.items():
            if key in changes:
                value = changes[key]
                with field(key):
                    account = await setter(value)
        if changes:
            shown = {k: (v.format() if isinstance(v, Permission) else v) for k, v in changes.items()}
            await self.audit("user.update", address, account.org_id, shown)
        return account

    async def reset_password(self, ref: str, password: str | None) -> tuple[Account, str | None]:
        """Set ``password``, or a generated one that is returned (the only time it is shown)."""
        account = await self.get_user(ref)
        generated = generate_password() if password is None else None
        secret = password if password is not None else generated
        updated = await self._write(lambda: self.directory.set_password(account.address, secret), "password")
        await self.audit("user.password", account.address, account.org_id, {"generated": generated is not None})
        return updated, generated

    async def get_oof(self, ref: str) -> oof.OutOfOffice:
        account = await self.get_user(ref)
        return await oof.get(self.kastell.db, account.org_id, account.id)

    async def set_oof(self, ref: str, wanted: oof.OutOfOffice) -> oof.OutOfOffice:
        account = await self.get_user(ref)
        self.principal.require_write()
        try:
            stored = await oof.put(self.kastell.db, account.org_id, account.id, wanted)
        except oof.OofError as exc:
            raise ApiError(422, "invalid", str(exc), exc.field) from None
        await self.audit("user.oof", account.address, account.org_id, {"enabled": stored.enabled})
        return stored

    async def get_forwarding(self, ref: str) -> forwarding.Forwarding:
        account = await self.get_user(ref)
        return await forwarding.get(self.kastell.db, account.org_id, account.id)

    async def set_forwarding(self, ref: str, targets: list[str], keep: bool) -> forwarding.Forwarding:
        account = await self.get_user(ref)
        if any(t.strip().lower() == account.address for t in targets):
            raise ApiError(422, "invalid", "an account cannot forward to itself", "targets")
        result = await self._write(
            lambda: forwarding.put(self.kastell.db, account.org_id, account.id, targets, keep), "targets"
        )
        await self.audit(
            "user.forward", account.address, account.org_id, {"targets": list(result.targets), "keep": keep}
        )
        return result

    async def delete_user(self, ref: str) -> None:
        account = await self.get_user(ref)
        await self._write(lambda: self.directory.del_account(account.address))
        await self.audit("user.delete", account.address, account.org_id)

    # ------------------------------------------------------------------ aliases

    async def list_aliases(self, domain: str | None = None) -> list[Alias]:
        if domain is not None:
            await self.get_domain(domain)
        with field("domain"):
            aliases = await self.directory.list_aliases(domain)
        names = await self.domain_names() if self.principal.is_domain_admin else None
        return [
            a
            for a in aliases
            if self.principal.sees(a.org_id) and (names is None or a.address.rpartition("@")[2] in names)
        ]

    async def user_aliases(self, ref: str) -> list[Alias]:
        account = await self.get_user(ref)
        result: list[Alias] = []
        for domain in await self.list_domains():
            if domain.org_id == account.org_id:
                result.extend(a for a in await self.directory.list_aliases(domain.name) if a.account_id == account.id)
        return sorted(result, key=lambda a: a.address)

    async def add_alias(self, alias: str, target: str) -> Alias:
        self.principal.require_write()
        await self._domain_in_scope(alias, "address")
        account = await self.get_user(target)
        made = await self._write(lambda: self.directory.add_alias(alias, account.address), "address")
        await self.audit("alias.create", made.address, made.org_id, {"target": made.target})
        return made

    async def del_alias(self, alias: str) -> None:
        missing = ApiError.from_directory(NoSuchAlias(f"{alias[:320]} is not an alias"))
        try:
            domain = await self.get_domain(normalise_address(alias).rpartition("@")[2])
        except (ApiError, InvalidAddress):
            raise missing from None
        found = [a for a in await self.directory.list_aliases(domain.name) if a.address == normalise_address(alias)]
        if not found:
            raise missing
        await self._write(lambda: self.directory.del_alias(found[0].address))
        await self.audit("alias.delete", found[0].address, found[0].org_id, {"target": found[0].target})

    # ------------------------------------------------------------------ groups

    async def list_groups(self, domain: str | None = None) -> list[Group]:
        if domain is not None:
            await self.get_domain(domain)
        with field("domain"):
            groups = await self.directory.list_groups(domain)
        return [g for g in groups if self.principal.sees_domain(g.org_id, g.domain_id)]

    async def get_group(self, address: str) -> Group:
        missing = ApiError.from_directory(NoSuchGroup(f"no group {address[:320]}"))
        try:
            group = await self.directory.get_group(address)
        except (NoSuchGroup, InvalidAddress):
            raise missing from None
        if not self.principal.sees_domain(group.org_id, group.domain_id):
            raise missing
        return group

    async def create_group(self, address: str, name: str = "") -> Group:
        self.principal.require_write()
        await self._domain_in_scope(address, "address")
        group = await self._write(lambda: self.directory.add_group(address, name), "address")
        await self.audit("group.create", group.address, group.org_id, {"name": name})
        return group

    async def delete_group(self, address: str) -> None:
        group = await self.get_group(address)
        await self._write(lambda: self.directory.del_group(group.address))
        await self.audit("group.delete", group.address, group.org_id)

    async def add_member(self, address: str, member: str) -> Group:
        group = await self.get_group(address)
        await self._write(lambda: self.directory.add_member(group.address, member), "address")
        await self.audit("group.member.add", group.address, group.org_id, {"member": member})
        return await self.get_group(group.address)

    async def del_member(self, address: str, member: str) -> Group:
        group = await self.get_group(address)
        await self._write(lambda: self.directory.del_member(group.address, member))
        await self.audit("group.member.delete", group.address, group.org_id, {"member": member})
        return await self.get_group(group.address)

    # ------------------------------------------------------------------ administrators

    async def list_admins(self) -> list[Admin]:
        admins = await self.directory.list_admins()
        if self.principal.is_system:
            return admins
        if self.principal.is_domain_admin:  # its colleagues' domains are none of its business
            return [a for a in admins if a.id == self.principal.admin.id]
        return [a for a in admins if a.org_id is not None and self.principal.sees(a.org_id)]

    async def admin_domains(self, admins: list[Admin]) -> dict[int, list[str]]:
        """Admin id → the domains it holds, for the admins listed."""
        return await self.directory.admin_domains(a.id for a in admins if a.role == "domain")

    async def create_admin(
        self,
        name: str,
        password: str,
        role: str = "system",
        org: str | None = None,
        read_only: bool = False,
        domains: list[str] | None = None,
    ) -> Admin:
        self.principal.require_system()
        self.principal.require_write()
        try:
            admin = await self.directory.add_admin(
                name, password, role=role, org=org, read_only=read_only, domains=domains or ()
            )
        except DirectoryError as exc:
            message = str(exc)
            where = next(
                (key for key, word in (("role", "role"), ("domains", "domain"), ("org", "organisation"),
                                       ("password", "password")) if word in message),
                "name",
            )  # fmt: skip
            raise ApiError.from_directory(exc, where) from exc
        detail: dict[str, Any] = {"role": role, "read_only": read_only}
        if domains:
            detail["domains"] = sorted(domains)
        await self.audit("admin.create", admin.name, admin.org_id, detail)
        return admin

    async def set_admin_domains(self, name: str, domains: list[str]) -> list[str]:
        self.principal.require_system()
        self.principal.require_write()
        with field("domains"):
            held = await self.directory.set_admin_domains(name, domains)
        await self.audit("admin.domains", name.lower(), None, {"domains": held})
        return held

    async def delete_admin(self, name: str) -> None:
        self.principal.require_system()
        if name.lower() == self.principal.name:
            raise ApiError(409, "conflict", "an administrator cannot delete itself")
        await self._write(lambda: self.directory.del_admin(name))
        await self.audit("admin.delete", name.lower())

    # ------------------------------------------------------------------ tokens

    async def list_tokens(self) -> list[ApiToken]:
        return await self.tokens.list(None if self.principal.is_system else self.principal.admin.id)

    async def create_token(self, name: str, expires: int | None, admin: str | None = None) -> tuple[str, ApiToken]:
        """A token for the caller (or, for a system admin, for ``admin``); the secret is returned once."""
        owner = self.principal.name if admin is None else admin
        if owner.lower() != self.principal.name:
            self.principal.require_system()
        try:
            # No require_write: a read-only admin needs a token to read with, and it grants no more.
            with field("name"):
                secret, token = await self.tokens.create(owner, name, expires)
        except ApiError as exc:
            if exc.status == 404:
                raise ApiError(422, "invalid", str(exc), "admin") from exc
            if exc.status == 422 and "expiry" in exc.message:
                exc.field = "expires"
            raise
        await self.audit("token.create", f"{token.admin}/{token.id}", None, {"name": name, "expires": expires})
        return secret, token

    async def delete_token(self, token_id: int) -> None:
        missing = ApiError.from_directory(NoSuchToken(f"no API token {token_id}"))
        try:
            token = await self.tokens.get(token_id)
        except NoSuchToken:
            raise missing from None
        if not self.principal.is_system and token.admin_id != self.principal.admin.id:
            raise missing
        await self.tokens.delete(token_id)
        await self.audit("token.delete", f"{token.admin}/{token.id}", None, {"name": token.name})

    # ------------------------------------------------------------------ audit

    async def audit_entries(self, **filters: Any) -> list[AuditEntry]:
        """Entries newest first; a domain admin's are those about its domains (and its own doing)."""
        if not self.principal.is_domain_admin:
            return await self.audit_log.entries(org_ids=self.principal.org_ids, **filters)
        names = await self.domain_names() or frozenset()
        limit = int(filters.pop("limit", 100))
        before_id = filters.pop("before_id", None)
        found: list[AuditEntry] = []
        # The log records an organisation, not a domain: read the organisation's entries in
        # batches and keep the ones whose target is in (or at) one of the admin's domains.
        while len(found) < limit:
            batch = await self.audit_log.entries(
                org_ids=self.principal.org_ids, before_id=before_id, limit=500, **filters
            )
            found.extend(
                e for e in batch if e.actor == self.principal.name or e.target.rpartition("@")[2].lower() in names
            )
            if len(batch) < 500:
                break
            before_id = batch[-1].id
        return found[:limit]

    # ------------------------------------------------------------------ mail queue

    def _queue(self) -> Queue:
        from kastell.mail.transport import transport  # the one Queue that ``kastell queue`` and the runner use

        return transport(self.kastell).queue

    async def _queue_scope(self) -> Callable[[QueuedMessage], bool]:
        """Which queued messages the admin sees: a system admin all, others those sent from their domains."""
        names = await self.domain_names()
        if names is None:
            return lambda _m: True
        return lambda m: m.sender.rpartition("@")[2].lower() in names if "@" in m.sender else False

    async def list_queue(self) -> list[QueuedMessage]:
        """Queued messages in scope, oldest first."""
        return await self._queue().list(sender_domains=await self.domain_names())

    async def get_queued(self, message_id: int) -> QueuedMessage:
        """One queued message; outside the scope it does not exist."""
        found = await self._queue().show(message_id)
        if found is None or not (await self._queue_scope())(found):
            raise not_found(f"no queued message {message_id}")
        return found

    async def _sender_org(self, message: QueuedMessage) -> int | None:
        try:
            return (await self.directory.get_domain(message.sender.rpartition("@")[2])).org_id
        except (DirectoryError, ValueError):
            return None  # an outside or null sender (DSNs)

    async def retry_queued(self, message_id: int) -> int:
        """Make the message's pending recipients due now; how many."""
        message = await self.get_queued(message_id)
        self.principal.require_write()
        count = await self._queue().retry(message.id)
        await self.audit("queue.retry", str(message.id), await self._sender_org(message), {"recipients": count})
        return count

    async def flush_queue(self) -> int:
        """Retry every message in scope now (a system admin: the whole queue in one statement)."""
        self.principal.require_write()
        if self.principal.is_system:
            count = await self._queue().retry()
        else:
            count = 0
            for message in await self.list_queue():
                count += await self._queue().retry(message.id)
        await self.audit("queue.flush", "", self.principal.admin.org_id, {"recipients": count})
        return count

    async def delete_queued(self, message_id: int) -> None:
        """Drop the message without a bounce."""
        message = await self.get_queued(message_id)
        self.principal.require_write()
        if not await self._queue().delete(message.id):
            raise not_found(f"no queued message {message_id}")
        detail = {"sender": message.sender, "recipients": [r.recipient for r in message.recipients][:20]}
        await self.audit("queue.delete", str(message.id), await self._sender_org(message), detail)

    # ------------------------------------------------------------------ live sessions

    async def list_sessions(self) -> list[SessionInfo]:
        """Open protocol sessions of this process; others than a system admin see logins of their domains only."""
        from kastell.ops.sessions import registry

        found = registry(self.kastell).snapshot()
        names = await self.domain_names()
        if names is None:
            return found
        return [s for s in found if s.user is not None and self.principal.sees(s.org_id) and s.domain in names]

    # ------------------------------------------------------------------ statistics

    async def storage_by_domain(self) -> list[stats.DomainStorage]:
        rows = await stats.storage_by_domain(self.kastell.db, self.principal.org_ids)
        if not self.principal.is_domain_admin:
            return rows
        names = await self.domain_names() or frozenset()
        return [r for r in rows if r.domain in names]

    async def storage_by_account(
        self, *, domain: str | None = None, address: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[stats.AccountStorage]:
        """Accounts by bytes used; a domain admin's without ``domain`` are merged over its domains."""
        db = self.kastell.db
        org_ids = self.principal.org_ids
        if domain is not None:
            domain = (await self.get_domain(domain)).name
        if not self.principal.is_domain_admin or domain is not None or address is not None:
            rows = await stats.storage_by_account(
                db, org_ids, domain=domain, address=address, limit=limit, offset=offset
            )
            names = await self.domain_names() if self.principal.is_domain_admin else None
            return [r for r in rows if names is None or r.domain in names]
        merged: list[stats.AccountStorage] = []
        for row in await self.storage_by_domain():
            merged.extend(await stats.storage_by_account(db, org_ids, domain=row.domain, limit=offset + limit))
        merged.sort(key=lambda r: (-r.bytes_used, r.address))
        return merged[offset : offset + limit]

    async def totals(self) -> dict[str, int]:
        """The dashboard's counts, for the admin's scope."""
        if not self.principal.is_domain_admin:
            return await stats.totals(self.kastell.db, self.principal.org_ids)
        rows = await self.storage_by_domain()
        return {
            "organisations": 1,
            "domains": len(await self.list_domains()),
            "accounts": sum(r.accounts for r in rows),
            "groups": len(await self.list_groups()),
            "bytes_used": sum(r.bytes_used for r in rows),
            "items": sum(r.items for r in rows),
        }


def _guess_field(message: str, default: str) -> str:
    """Which request field a directory validation message is about (it names the value's kind)."""
    for key, word in (
        ("kind", "kind"),
        ("language", "language"),
        ("timezone", "time zone"),
        ("quota", "quota"),
        ("permissions", "permissions"),
        ("name", "name must"),
        ("password", "password"),
    ):
        if word in message:
            return key
    return default


__all__ = ["Actions", "NoSuchAdmin", "generate_password"]
