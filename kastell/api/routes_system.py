"""Routes of the administration itself: who am I, admins, API tokens, audit log, statistics, health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from kastell.api.auth import Principal, authenticate, kastell_of
from kastell.api.models import (
    AccountStorageOut,
    AdminDomainsIn,
    AdminIn,
    AdminOut,
    AuditOut,
    AuditPage,
    DomainStorageOut,
    Health,
    Page,
    Summary,
    TokenCreated,
    TokenIn,
    TokenOut,
)
from kastell.api.routes_directory import Act, Limit, Offset, listing
from kastell.ops.health import health as read_health

router = APIRouter()
Caller = Annotated[Principal, Depends(authenticate)]


@router.get("/me", response_model=AdminOut, tags=["administrators"])
async def me(act: Act) -> AdminOut:
    """The administrator these credentials belong to."""
    admin = act.principal.admin
    return AdminOut.of(admin, (await act.admin_domains([admin])).get(admin.id))


# ---------------------------------------------------------------- administrators


@router.get("/admins", response_model=Page[AdminOut], tags=["administrators"])
async def list_admins(act: Act, limit: Limit = 100, offset: Offset = 0) -> Page[AdminOut]:
    admins = await act.list_admins()
    held = await act.admin_domains(admins)
    return listing(admins, lambda a: AdminOut.of(a, held.get(a.id)), limit=limit, offset=offset, sort=None, sortable={})


@router.post("/admins", status_code=201, response_model=AdminOut, tags=["administrators"])
async def create_admin(act: Act, body: AdminIn) -> AdminOut:
    """A domain admin needs ``domains`` (of one organisation; ``org`` may then be left out)."""
    admin = await act.create_admin(body.name, body.password, body.role, body.org, body.read_only, body.domains)
    return AdminOut.of(admin, (await act.admin_domains([admin])).get(admin.id))


@router.put("/admins/{name}/domains", response_model=AdminOut, tags=["administrators"])
async def set_admin_domains(act: Act, name: str, body: AdminDomainsIn) -> AdminOut:
    """Replace the domains a domain admin holds."""
    held = await act.set_admin_domains(name, body.domains)
    found = [a for a in await act.list_admins() if a.name == name.lower()]
    return AdminOut.of(found[0], held)


@router.delete("/admins/{name}", status_code=204, response_class=Response, tags=["administrators"])
async def delete_admin(act: Act, name: str) -> Response:
    await act.delete_admin(name)
    return Response(status_code=204)


# ---------------------------------------------------------------- tokens


@router.get("/tokens", response_model=list[TokenOut], tags=["tokens"])
async def list_tokens(act: Act) -> list[TokenOut]:
    """Your tokens (a system admin: everyone's); never their secrets."""
    return [TokenOut.of(t) for t in await act.list_tokens()]


@router.post("/tokens", status_code=201, response_model=TokenCreated, tags=["tokens"])
async def create_token(act: Act, body: TokenIn) -> TokenCreated:
    """A bearer token for scripts; ``secret`` is in this answer only (only its sha256 is kept)."""
    secret, token = await act.create_token(body.name, body.expires, body.admin)
    return TokenCreated(**TokenOut.of(token).model_dump(), secret=secret)


@router.delete("/tokens/{token_id}", status_code=204, response_class=Response, tags=["tokens"])
async def delete_token(act: Act, token_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    await act.delete_token(token_id)
    return Response(status_code=204)


# ---------------------------------------------------------------- audit


@router.get("/audit", response_model=AuditPage, tags=["audit"])
async def audit(
    act: Act,
    limit: Limit = 100,
    cursor: int | None = Query(None, ge=1, le=2**62, description="next_cursor of the previous page"),
    actor: str | None = Query(None, max_length=320),
    action: str | None = Query(None, max_length=64, description='exact ("user.create") or a prefix ending in "."'),
    since: int | None = Query(None, ge=0, le=2**40, description="Unix time, inclusive"),
    until: int | None = Query(None, ge=0, le=2**40, description="Unix time, exclusive"),
) -> AuditPage:
    """Administrative changes, newest first (an org admin sees its organisation's only)."""
    entries = await act.audit_entries(
        actor=actor, action=action, since=since, until=until, before_id=cursor, limit=limit + 1
    )
    more = len(entries) > limit
    entries = entries[:limit]
    return AuditPage(items=[AuditOut.of(e) for e in entries], next_cursor=entries[-1].id if more else None)


# ---------------------------------------------------------------- statistics and health


@router.get("/stats/summary", response_model=Summary, tags=["statistics"])
async def summary(act: Act) -> Summary:
    return Summary(**await act.totals())


@router.get("/stats/storage/domains", response_model=list[DomainStorageOut], tags=["statistics"])
async def storage_domains(act: Act) -> list[DomainStorageOut]:
    """Accounts, bytes and items per domain, from the store's counters."""
    rows = await act.storage_by_domain()
    return [
        DomainStorageOut(domain=r.domain, org_id=r.org_id, accounts=r.accounts, bytes_used=r.bytes_used, items=r.items)
        for r in rows
    ]


@router.get("/stats/storage/users", response_model=list[AccountStorageOut], tags=["statistics"])
async def storage_users(
    act: Act,
    limit: Limit = 100,
    offset: Offset = 0,
    domain: str | None = Query(None, max_length=255),
) -> list[AccountStorageOut]:
    """Accounts by bytes used, largest first."""
    rows = await act.storage_by_account(domain=domain, limit=limit, offset=offset)
    return [
        AccountStorageOut(address=r.address, domain=r.domain, quota=r.quota, bytes_used=r.bytes_used, items=r.items)
        for r in rows
    ]


@router.get("/health", response_model=Health, tags=["health"])
async def health(request: Request, _principal: Caller) -> Health:
    """Version, uptime, CPU, memory, disk and the state of every listener."""
    return Health(**read_health(kastell_of(request)))
