"""Downsync: make an organisation's accounts and groups follow its LDAP source.

Theory of operation. ``sync_source`` reads every user and group of the source
in one blocking pass (``client.fetch`` in a thread) and then changes the
directory through ``Directory``'s own methods, so every rule of the directory
(address syntax, tenancy, the mailbox made with each account) holds for synced
objects too. An entry is matched to its account by its immutable external id
(``entryUUID``, AD's ``objectGUID``), never by DN or address, which both change.

- a user entry not yet linked: an account at its mail address is created
  without a local password (it logs in through the directory, see
  ``kastell.directory.auth``); an existing, unlinked user account of the same
  organisation at that address is linked instead (adopted). Entries without a
  mail address, with one outside the organisation's domains, or whose address
  is already something else (an alias, a group, another source's account) are
  skipped and named in ``SyncResult.notes``.
- a linked entry: its display name and DN are updated.
- a linked account whose entry is gone is *suspended*, never deleted (its mail
  stays); if the entry comes back, the sync reactivates only accounts it
  suspended itself, never ones an administrator suspended.
- groups likewise (their address is the group's mail attribute, else its cn
  in the organisation's first domain); their members are set to the synced
  users the entry lists, leaving members added by hand that are not accounts of
  this source alone. A group whose entry is gone is deleted (it holds no mail).

A search that finds no users at all while accounts are linked is refused as an
error rather than suspending everyone: that is a broken base DN or filter far
more often than an empty company. Running the sync twice changes nothing the
second time.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from kastell.db import schema as s
from kastell.directory.addresses import normalise_address
from kastell.directory.errors import DirectoryError, InvalidAddress, NoSuchAccount, NoSuchGroup
from kastell.directory.ldap import client
from kastell.directory.ldap.client import Connect, GroupEntry, LdapError, UserEntry
from kastell.directory.ldap.sources import Source
from kastell.directory.service import Directory

log = logging.getLogger("kastell.ldap")

MAX_NOTES = 50
_SLUG = re.compile(r"[^a-z0-9._-]+")


@dataclass
class SyncResult:
    """What one sync did; ``notes`` names skipped entries (the first ``MAX_NOTES``)."""

    users: int = 0  # user entries found
    created: int = 0
    linked: int = 0  # existing accounts adopted
    updated: int = 0
    suspended: int = 0
    reactivated: int = 0
    skipped: int = 0
    groups: int = 0  # group entries found
    groups_created: int = 0
    groups_updated: int = 0
    groups_deleted: int = 0
    members_added: int = 0
    members_removed: int = 0
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.skipped += 1
        log.info("ldap sync: %s", text)
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if isinstance(v, int)}


def normalise_dn(dn: str) -> str:
    """A DN for comparison: lower case, no spaces around separators (good enough for member lists)."""
    return re.sub(r"\s*([,=+])\s*", r"\1", dn.strip().lower())


async def sync_source(directory: Directory, source: Source, connect: Connect) -> SyncResult:
    """One full downsync of ``source``; see the module docstring. LdapError if the directory fails."""
    mapping = source.settings.mapping()
    users, groups = await asyncio.to_thread(client.fetch, connect, mapping)
    result = SyncResult(users=len(users), groups=len(groups or ()))
    domains = sorted(d.name for d in await directory.list_domains() if d.org_id == source.org_id and d.alias_of is None)
    by_dn = await _sync_users(directory, source, users, set(domains), result)
    if groups is not None:
        await _sync_groups(directory, source, groups, by_dn, domains, result)
    return result


# ------------------------------------------------------------------ users


async def _linked_accounts(directory: Directory, source_id: int) -> dict[str, Any]:
    query = (
        select(s.ldap_accounts, s.accounts.c.address, s.accounts.c.display_name, s.accounts.c.status)
        .select_from(s.ldap_accounts.join(s.accounts, s.accounts.c.id == s.ldap_accounts.c.account_id))
        .where(s.ldap_accounts.c.source_id == source_id)
    )
    async with directory.db.read() as conn:
        return {row.external_id: row for row in await conn.execute(query)}


async def _sync_users(
    directory: Directory, source: Source, users: list[UserEntry], domains: set[str], result: SyncResult
) -> dict[str, str]:
    """Create, link, update, suspend; the address of every synced user by normalised DN."""
    linked = await _linked_accounts(directory, source.id)
    if not users and linked:
        raise LdapError(
            f"the search under {source.settings.base_dn} found no users; refusing to suspend "
            f"{len(linked)} accounts (check the base DN and the user filter)"
        )
    by_dn: dict[str, str] = {}
    present = {entry.external_id for entry in users}
    seen: set[str] = set()
    for entry in users:
        if entry.external_id in seen:
            continue
        seen.add(entry.external_id)
        row = linked.get(entry.external_id)
        try:
            if row is not None:
                await _update_user(directory, row, entry, result)
                by_dn[normalise_dn(entry.dn)] = row.address
                continue
            address = await _new_user(directory, source, entry, domains, present, result)
        except DirectoryError as exc:
            result.note(f"{entry.dn}: {exc}")
            continue
        if address is not None:
            by_dn[normalise_dn(entry.dn)] = address
    relinked = await _linked_accounts(directory, source.id)  # _new_user may have moved links
    for external_id, row in relinked.items():
        if external_id in seen or row.status != "active":
            continue
        await directory.set_status(row.address, "suspended")
        await _set_link(directory, row.account_id, suspended_by_sync=True)
        result.suspended += 1
        log.info("ldap sync: suspended %s (its entry %s is gone)", row.address, row.dn)
    return by_dn


async def _update_user(directory: Directory, row: Any, entry: UserEntry, result: SyncResult) -> None:
    changed = False
    if entry.name and entry.name != row.display_name:
        await directory.set_name(row.address, entry.name)
        changed = True
    if entry.dn != row.dn:
        await _set_link(directory, row.account_id, dn=entry.dn)
        changed = True
    if row.suspended_by_sync:
        if row.status == "suspended":
            await directory.set_status(row.address, "active")
            result.reactivated += 1
        await _set_link(directory, row.account_id, suspended_by_sync=False)
    if changed:
        result.updated += 1
    if entry.mail and _address_or_none(entry.mail) not in (None, row.address):
        result.note(f"{entry.dn}: the mail address changed to {entry.mail}; {row.address} keeps its address")


async def _new_user(
    directory: Directory, source: Source, entry: UserEntry, domains: set[str], present: set[str], result: SyncResult
) -> str | None:
    if not entry.mail:
        result.note(f"{entry.dn}: no {source.settings.mail_attr} attribute")
        return None
    address = _address_or_none(entry.mail)
    if address is None or address.rpartition("@")[2] not in domains:
        result.note(f"{entry.dn}: {entry.mail[:100]} is not in a domain of organisation {source.org}")
        return None
    try:
        account = await directory.get_account(address)
    except NoSuchAccount:
        account = None
    link = None if account is None else await _link_of(directory, account.id)
    if account is None:
        account = await directory.add_user(address, None, name=entry.name)
        result.created += 1
    elif link is not None and link.source_id == source.id and link.external_id not in present:
        # The entry was deleted and made again (a new external id): the account follows the new one.
        await _set_link(directory, account.id, dn=entry.dn, external_id=entry.external_id, suspended_by_sync=False)
        if link.suspended_by_sync and account.status == "suspended":
            await directory.set_status(address, "active")
            result.reactivated += 1
        if entry.name and entry.name != account.name:
            await directory.set_name(address, entry.name)
        return address
    elif account.org_id != source.org_id or account.kind != "user" or link is not None:
        result.note(f"{entry.dn}: {address} is already another account")
        return None
    else:
        result.linked += 1
        if entry.name and entry.name != account.name:
            await directory.set_name(address, entry.name)
    try:
        async with directory.db.write() as conn:
            await conn.execute(
                insert(s.ldap_accounts).values(
                    account_id=account.id, source_id=source.id, dn=entry.dn, external_id=entry.external_id
                )
            )
    except IntegrityError:  # another sync of the same source got there first
        return None
    return address


async def _link_of(directory: Directory, account_id: int) -> Any:
    async with directory.db.read() as conn:
        query = select(s.ldap_accounts).where(s.ldap_accounts.c.account_id == account_id)
        return (await conn.execute(query)).first()


async def _set_link(directory: Directory, account_id: int, **values: Any) -> None:
    async with directory.db.write() as conn:
        await conn.execute(s.ldap_accounts.update().where(s.ldap_accounts.c.account_id == account_id).values(**values))


def _address_or_none(text: str) -> str | None:
    try:
        return normalise_address(text)
    except InvalidAddress:
        return None


# ------------------------------------------------------------------ groups


async def _sync_groups(
    directory: Directory,
    source: Source,
    groups: list[GroupEntry],
    by_dn: dict[str, str],
    domains: list[str],
    result: SyncResult,
) -> None:
    query = (
        select(s.ldap_groups, s.groups.c.address, s.groups.c.display_name)
        .select_from(s.ldap_groups.join(s.groups, s.groups.c.id == s.ldap_groups.c.group_id))
        .where(s.ldap_groups.c.source_id == source.id)
    )
    async with directory.db.read() as conn:
        linked = {row.external_id: row for row in await conn.execute(query)}
    managed = {row.address for row in (await _linked_accounts(directory, source.id)).values()}
    present = {entry.external_id for entry in groups}
    seen: set[str] = set()
    for entry in groups:
        if entry.external_id in seen:
            continue
        seen.add(entry.external_id)
        wanted = {by_dn[dn] for dn in map(normalise_dn, entry.members) if dn in by_dn}
        try:
            row = linked.get(entry.external_id)
            address = await _group_address(directory, source, entry, row, domains, present, result)
            if address is None:
                continue
            current = set((await directory.get_group(address)).members)
            for member in sorted(wanted - current):
                await directory.add_member(address, member)
                result.members_added += 1
            for member in sorted((current & managed) - wanted):
                await directory.del_member(address, member)
                result.members_removed += 1
        except DirectoryError as exc:
            result.note(f"{entry.dn}: {exc}")
    async with directory.db.read() as conn:
        relinked = {row.external_id: row for row in await conn.execute(query)}  # _group_address may move links
    for external_id, row in relinked.items():
        if external_id not in seen:
            try:
                await directory.del_group(row.address)
            except NoSuchGroup:
                pass
            result.groups_deleted += 1
            log.info("ldap sync: deleted group %s (its entry %s is gone)", row.address, row.dn)


async def _group_address(
    directory: Directory,
    source: Source,
    entry: GroupEntry,
    row: Any,
    domains: list[str],
    present: set[str],
    result: SyncResult,
) -> str | None:
    """The group's address, after creating, adopting or updating it; None when skipped."""
    if row is not None:
        if entry.name != row.display_name or entry.dn != row.dn:
            async with directory.db.write() as conn:
                await conn.execute(
                    s.groups.update().where(s.groups.c.id == row.group_id).values(display_name=entry.name)
                )
                await conn.execute(
                    s.ldap_groups.update().where(s.ldap_groups.c.group_id == row.group_id).values(dn=entry.dn)
                )
            result.groups_updated += 1
        return str(row.address)
    address = _address_or_none(entry.mail) if entry.mail else None
    if address is None:
        slug = _SLUG.sub("-", entry.name.lower()).strip("-.")
        if not slug or not domains:
            result.note(f"{entry.dn}: no mail address and no domain to make one in")
            return None
        address = _address_or_none(f"{slug}@{domains[0]}")
    if address is None or address.rpartition("@")[2] not in domains:
        result.note(f"{entry.dn}: {address or entry.mail} is not in a domain of organisation {source.org}")
        return None
    try:
        group = await directory.get_group(address)
    except NoSuchGroup:
        group = await directory.add_group(address, entry.name)
        result.groups_created += 1
    else:
        async with directory.db.read() as conn:
            taken = (await conn.execute(select(s.ldap_groups).where(s.ldap_groups.c.group_id == group.id))).first()
        if taken is not None and taken.source_id == source.id and taken.external_id not in present:
            # The entry was deleted and made again: the group follows the new one.
            async with directory.db.write() as conn:
                await conn.execute(
                    s.ldap_groups.update()
                    .where(s.ldap_groups.c.group_id == group.id)
                    .values(dn=entry.dn, external_id=entry.external_id)
                )
                await conn.execute(s.groups.update().where(s.groups.c.id == group.id).values(display_name=entry.name))
            result.groups_updated += 1
            return address
        if group.org_id != source.org_id or taken is not None:
            result.note(f"{entry.dn}: group {address} is already another source's")
            return None
        result.groups_updated += 1
    try:
        async with directory.db.write() as conn:
            await conn.execute(
                insert(s.ldap_groups).values(
                    group_id=group.id, source_id=source.id, dn=entry.dn, external_id=entry.external_id
                )
            )
    except IntegrityError:
        return None
    return address
