"""Routes of an organisation's LDAP / Active Directory source: ``/organisations/{name}/ldap``.

Who: system administrators and the organisation's own administrators (another
organisation's is told 404, as everywhere); domain administrators may not,
since a source changes the whole organisation (403); read-only ones may look
and check but not change or sync. The bind password is accepted and never
returned, nor written to the audit log. A directory that cannot be reached or
refuses the bind is an answer, not a server error: ``check`` reports it in its
body, ``sync`` with 409 ``ldap_failed`` (and keeps it in ``last_error``).
"""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Query, Response

from kastell.api.actions import Actions
from kastell.api.errors import ApiError, forbidden
from kastell.api.models import ErrorBody
from kastell.api.models_ldap import LdapCheckOut, LdapEntryOut, LdapSourceIn, LdapSourceOut, LdapSyncOut
from kastell.api.routes_directory import Act
from kastell.directory.ldap import InvalidSetting, Ldap, LdapError, Source, SourceSettings, SyncResult
from kastell.directory.records import Organisation

router = APIRouter(tags=["ldap"])
_FAILED = {409: {"model": ErrorBody, "description": "the directory could not be used (ldap_failed)"}}


async def scoped(act: Actions, name: str, *, write: bool = False) -> tuple[Ldap, Organisation]:
    """The organisation ``name`` if this administrator may manage its source (404/403 otherwise)."""
    org = await act.get_org(name)
    if act.principal.is_domain_admin:
        raise forbidden("a domain administrator cannot manage the organisation's LDAP source")
    if write:
        act.principal.require_write()
    return Ldap.of(act.kastell), org


# The operations that change something, shared with the console (kastell.admin.ldap_page): scope, act, audit.


async def save(act: Actions, name: str, settings: SourceSettings, password: str | None) -> Source:
    ldap, org = await scoped(act, name, write=True)
    try:
        source = await ldap.put(org, settings, password)
    except InvalidSetting as exc:
        raise ApiError(422, "invalid", str(exc), exc.field) from exc
    detail = {k: v for k, v in dataclasses.asdict(source.settings).items() if k != "ca_cert"}
    detail["credentials_changed"] = password is not None  # a flag only, never the value
    await act.audit("ldap.set", org.name, org.id, detail)
    return source


async def remove(act: Actions, name: str) -> None:
    ldap, org = await scoped(act, name, write=True)
    await ldap.delete(org)
    await act.audit("ldap.delete", org.name, org.id)


async def sync_now(act: Actions, name: str) -> SyncResult:
    """Sync; LdapError becomes 409 ldap_failed (and is in the audit entry and ``last_error``)."""
    ldap, org = await scoped(act, name, write=True)
    try:
        result = await ldap.sync(org)
    except LdapError as exc:
        await act.audit("ldap.sync", org.name, org.id, {"error": str(exc)[:300]})
        raise ApiError(409, "ldap_failed", str(exc)) from exc
    await act.audit("ldap.sync", org.name, org.id, result.counts())
    return result


async def check(act: Actions, name: str) -> LdapCheckOut:
    ldap, org = await scoped(act, name)
    try:
        return LdapCheckOut.of(await ldap.check(org))
    except LdapError as exc:
        return LdapCheckOut(ok=False, error=str(exc))


@router.get("/organisations/{name}/ldap", response_model=LdapSourceOut)
async def get_ldap(act: Act, name: str) -> LdapSourceOut:
    """The organisation's LDAP source (404 when it has none)."""
    ldap, org = await scoped(act, name)
    return LdapSourceOut.of(await ldap.get(org))


@router.put("/organisations/{name}/ldap", response_model=LdapSourceOut)
async def put_ldap(act: Act, name: str, body: LdapSourceIn) -> LdapSourceOut:
    """Create or replace the source; ``bind_password`` omitted keeps the stored one."""
    return LdapSourceOut.of(await save(act, name, body.settings(), body.bind_password))


@router.delete("/organisations/{name}/ldap", status_code=204, response_class=Response)
async def delete_ldap(act: Act, name: str) -> Response:
    """Remove the source; its accounts and groups stay, no longer linked."""
    await remove(act, name)
    return Response(status_code=204)


@router.post("/organisations/{name}/ldap/check", response_model=LdapCheckOut)
async def check_ldap(act: Act, name: str) -> LdapCheckOut:
    """Bind with the service account and count users and groups; a failure is reported in the body."""
    return await check(act, name)


@router.get("/organisations/{name}/ldap/search", response_model=list[LdapEntryOut], responses=_FAILED)  # type: ignore[arg-type]
async def search_ldap(
    act: Act, name: str, q: str = Query("", max_length=256, description="substring of mail or name")
) -> list[LdapEntryOut]:
    """Users of the directory whose mail or name contains ``q`` (at most 50)."""
    ldap, org = await scoped(act, name)
    try:
        return [LdapEntryOut.of(entry) for entry in await ldap.search(org, q)]
    except LdapError as exc:
        raise ApiError(409, "ldap_failed", str(exc)) from exc


@router.post("/organisations/{name}/ldap/sync", response_model=LdapSyncOut, responses=_FAILED)  # type: ignore[arg-type]
async def sync_ldap(act: Act, name: str) -> LdapSyncOut:
    """Sync users and groups from the directory now; the counts of what changed."""
    return LdapSyncOut.of(await sync_now(act, name))
