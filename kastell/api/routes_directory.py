"""Routes of the directory: organisations, domains, users, aliases, groups.

Every handler is three lines of glue: parse (FastAPI + ``models``), call one
``Actions`` method (scope, audit), shape the answer. List endpoints share
``listing``: filter, sort (``sort=field`` or ``-field``), page (``limit``/``offset``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response

from kastell.api.actions import Actions
from kastell.api.auth import Principal, authenticate, kastell_of
from kastell.api.dns import dns_records_of, live_check
from kastell.api.errors import ApiError
from kastell.api.models import (
    AliasCreate,
    AliasIn,
    AliasOut,
    DnsRecord,
    DnsRecords,
    DomainIn,
    DomainOut,
    DomainPatch,
    ForwardingIO,
    GroupIn,
    GroupOut,
    MemberIn,
    OrganisationIn,
    OrganisationOut,
    OutOfOfficeIO,
    Page,
    PasswordIn,
    PasswordOut,
    UserCreated,
    UserDetail,
    UserIn,
    UserOut,
    UserPatch,
    permission_bits,
)
from kastell.rules import oof
from kastell.store import stats

T = TypeVar("T")
M = TypeVar("M")

router = APIRouter()
Caller = Annotated[Principal, Depends(authenticate)]
Limit = Annotated[int, Query(ge=1, le=1000, description="items per page")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="items to skip")]
Search = Annotated[str | None, Query(max_length=320, description="substring of address or name")]


def actions(request: Request, principal: Caller) -> Actions:
    return Actions(kastell_of(request), principal)


Act = Annotated[Actions, Depends(actions)]


def listing(
    items: Sequence[T],
    shape: Callable[[T], M],
    *,
    limit: int,
    offset: int,
    sort: str | None,
    sortable: dict[str, Callable[[T], Any]],
) -> Page[M]:
    """Sort (stable, by the one key named), then page; ``sort`` outside ``sortable`` is a 422 on sort."""
    ordered = list(items)
    if sort:
        key = sortable.get(sort.lstrip("-"))
        if key is None:
            raise ApiError(422, "invalid", f"sort: one of {', '.join(sorted(sortable))}, optionally with -", "sort")
        ordered.sort(key=key, reverse=sort.startswith("-"))
    page = ordered[offset : offset + limit]
    following = offset + limit
    return Page[Any](
        items=[shape(item) for item in page],
        total=len(ordered),
        limit=limit,
        offset=offset,
        next_offset=following if following < len(ordered) else None,
    )


def _matches(q: str | None, *texts: str) -> bool:
    return q is None or any(q.lower() in text.lower() for text in texts)


# ---------------------------------------------------------------- organisations


@router.get("/organisations", response_model=Page[OrganisationOut], tags=["organisations"])
async def list_organisations(
    act: Act, limit: Limit = 100, offset: Offset = 0, q: Search = None, sort: str | None = Query(None, max_length=40)
) -> Page[OrganisationOut]:
    orgs = [o for o in await act.list_orgs() if _matches(q, o.name)]
    return listing(
        orgs,
        OrganisationOut.of,
        limit=limit,
        offset=offset,
        sort=sort,
        sortable={"name": lambda o: o.name, "created": lambda o: o.created},
    )


@router.post("/organisations", status_code=201, response_model=OrganisationOut, tags=["organisations"])
async def create_organisation(act: Act, body: OrganisationIn) -> OrganisationOut:
    return OrganisationOut.of(await act.create_org(body.name))


@router.get("/organisations/{name}", response_model=OrganisationOut, tags=["organisations"])
async def get_organisation(act: Act, name: str) -> OrganisationOut:
    return OrganisationOut.of(await act.get_org(name))


# ---------------------------------------------------------------- domains


@router.get("/domains", response_model=Page[DomainOut], tags=["domains"])
async def list_domains(
    act: Act,
    limit: Limit = 100,
    offset: Offset = 0,
    q: Search = None,
    org: str | None = Query(None, max_length=255, description="only this organisation's domains"),
    alias: bool | None = Query(None, description="true: only alias domains; false: only real ones"),
    sort: str | None = Query(None, max_length=40),
) -> Page[DomainOut]:
    domains = [
        d
        for d in await act.list_domains()
        if _matches(q, d.name)
        and (org is None or d.org == org)
        and (alias is None or (d.alias_of is not None) == alias)
    ]
    return listing(
        domains,
        DomainOut.of,
        limit=limit,
        offset=offset,
        sort=sort,
        sortable={"name": lambda d: d.name, "org": lambda d: d.org, "created": lambda d: d.created},
    )


@router.post("/domains", status_code=201, response_model=DomainOut, tags=["domains"])
async def create_domain(act: Act, body: DomainIn) -> DomainOut:
    return DomainOut.of(await act.add_domain(body.name, org=body.org, alias_of=body.alias_of))


@router.get("/domains/{name}", response_model=DomainOut, tags=["domains"])
async def get_domain(act: Act, name: str) -> DomainOut:
    return DomainOut.of(await act.get_domain(name))


@router.patch("/domains/{name}", response_model=DomainOut, tags=["domains"])
async def update_domain(act: Act, name: str, body: DomainPatch) -> DomainOut:
    if "catchall" not in body.model_fields_set:
        return DomainOut.of(await act.get_domain(name))
    return DomainOut.of(await act.set_catchall(name, body.catchall))


@router.delete("/domains/{name}", status_code=204, response_class=Response, tags=["domains"])
async def delete_domain(act: Act, name: str) -> Response:
    await act.del_domain(name)
    return Response(status_code=204)


@router.get("/domains/{name}/dns", response_model=DnsRecords, tags=["domains"])
async def domain_dns(
    act: Act,
    request: Request,
    name: str,
    check: bool = Query(False, description="also ask DNS what it publishes now (MX, SPF, DMARC, DKIM)"),
) -> DnsRecords:
    """The records to publish for the domain: MX, SPF, DMARC, DKIM, autoconfig, SRV."""
    domain = await act.get_domain(name)
    records = await dns_records_of(kastell_of(request), domain.name)
    checks = await live_check(records) if check else [None] * len(records)
    return DnsRecords(
        domain=domain.name,
        records=[
            DnsRecord(
                type=r.type,
                name=r.name,
                value=r.value,
                priority=r.priority,
                purpose=r.purpose,
                status=None if c is None else c.status,
                found=[] if c is None else list(c.found),
            )
            for r, c in zip(records, checks, strict=True)
        ],
    )


@router.post("/domains/{name}/dkim", response_model=DnsRecords, tags=["domains"])
async def domain_dkim(act: Act, request: Request, name: str) -> DnsRecords:
    """Make the domain's DKIM keys if it has none; answers with its DNS records."""
    await act.ensure_dkim(name)
    return await domain_dns(act, request, name, check=False)


# ---------------------------------------------------------------- users


_USER_SORT: dict[str, Callable[[Any], Any]] = {
    "address": lambda a: a.address,
    "name": lambda a: a.name.lower(),
    "created": lambda a: a.created,
    "updated": lambda a: a.updated,
    "quota": lambda a: a.quota,
    "status": lambda a: a.status,
}


@router.get("/users", response_model=Page[UserOut], tags=["users"])
async def list_users(
    act: Act,
    limit: Limit = 100,
    offset: Offset = 0,
    q: Search = None,
    domain: str | None = Query(None, max_length=255),
    kind: str | None = Query(None, max_length=16, description="user, shared, room or equipment"),
    status: str | None = Query(None, max_length=16, description="active, suspended or disabled"),
    sort: str | None = Query(None, max_length=40, description=f"one of {', '.join(_USER_SORT)}; prefix - to reverse"),
) -> Page[UserOut]:
    accounts = [
        a
        for a in await act.list_users(domain, kind)
        if _matches(q, a.address, a.name) and (status is None or a.status == status)
    ]
    return listing(accounts, UserOut.of, limit=limit, offset=offset, sort=sort, sortable=_USER_SORT)


@router.post("/users", status_code=201, response_model=UserCreated, tags=["users"])
async def create_user(act: Act, body: UserIn) -> UserCreated:
    from kastell.api.actions import generate_password

    generated = generate_password() if body.password is None and body.kind == "user" else None
    account = await act.create_user(
        body.address,
        body.password if body.password is not None else generated,
        name=body.name,
        quota=body.quota,
        kind=body.kind,
        language=body.language,
        timezone=body.timezone,
        permissions=None if body.permissions is None else permission_bits(list(body.permissions)),
    )
    return UserCreated(**UserOut.of(account).model_dump(), password=generated)


@router.get("/users/{ref}", response_model=UserDetail, tags=["users"])
async def get_user(act: Act, request: Request, ref: str) -> UserDetail:
    """``ref`` is the account's id or its primary address."""
    account = await act.get_user(ref)
    aliases = await act.user_aliases(str(account.id))
    usage = await stats.storage_by_account(kastell_of(request).db, address=account.address, limit=1)
    return UserDetail(
        **UserOut.of(account).model_dump(),
        aliases=[a.address for a in aliases],
        bytes_used=usage[0].bytes_used if usage else 0,
        items=usage[0].items if usage else 0,
    )


@router.patch("/users/{ref}", response_model=UserOut, tags=["users"])
async def update_user(act: Act, ref: str, body: UserPatch) -> UserOut:
    changes: dict[str, Any] = {}
    for key in body.model_fields_set:
        value = getattr(body, key)
        if value is None:
            raise ApiError(422, "invalid", f"{key}: must not be null", key)
        changes[key] = permission_bits(list(value)) if key == "permissions" else value
    return UserOut.of(await act.update_user(ref, changes))


@router.post("/users/{ref}/password", response_model=PasswordOut, tags=["users"])
async def reset_password(act: Act, ref: str, body: PasswordIn) -> PasswordOut:
    """Set the password, or generate one (returned only in this answer)."""
    account, generated = await act.reset_password(ref, body.password)
    return PasswordOut(address=account.address, password=generated)


@router.get("/users/{ref}/oof", response_model=OutOfOfficeIO, tags=["users"])
async def get_oof(act: Act, ref: str) -> OutOfOfficeIO:
    """The account's automatic reply (out-of-office)."""
    return _oof_out(await act.get_oof(ref))


@router.put("/users/{ref}/oof", response_model=OutOfOfficeIO, tags=["users"])
async def set_oof(act: Act, ref: str, body: OutOfOfficeIO) -> OutOfOfficeIO:
    """Replace the automatic reply; delivery applies it from the next message on."""
    return _oof_out(await act.set_oof(ref, oof.OutOfOffice(**body.model_dump())))


def _oof_out(value: oof.OutOfOffice) -> OutOfOfficeIO:
    return OutOfOfficeIO(**{k: v for k, v in dataclasses.asdict(value).items() if k != "updated"})


@router.get("/users/{ref}/forwarding", response_model=ForwardingIO, tags=["users"])
async def get_forwarding(act: Act, ref: str) -> ForwardingIO:
    found = await act.get_forwarding(ref)
    return ForwardingIO(targets=list(found.targets), keep=found.keep)


@router.put("/users/{ref}/forwarding", response_model=ForwardingIO, tags=["users"])
async def set_forwarding(act: Act, ref: str, body: ForwardingIO) -> ForwardingIO:
    """Forward every incoming message to ``targets`` (SRS for other domains); ``[]`` stops it."""
    found = await act.set_forwarding(ref, body.targets, body.keep)
    return ForwardingIO(targets=list(found.targets), keep=found.keep)


@router.delete("/users/{ref}", status_code=204, response_class=Response, tags=["users"])
async def delete_user(act: Act, ref: str) -> Response:
    await act.delete_user(ref)
    return Response(status_code=204)


@router.get("/users/{ref}/aliases", response_model=list[AliasOut], tags=["aliases"])
async def user_aliases(act: Act, ref: str) -> list[AliasOut]:
    return [AliasOut.of(a) for a in await act.user_aliases(ref)]


@router.post("/users/{ref}/aliases", status_code=201, response_model=AliasOut, tags=["aliases"])
async def add_user_alias(act: Act, ref: str, body: AliasIn) -> AliasOut:
    return AliasOut.of(await act.add_alias(body.address, ref))


# ---------------------------------------------------------------- aliases


@router.get("/aliases", response_model=Page[AliasOut], tags=["aliases"])
async def list_aliases(
    act: Act,
    limit: Limit = 100,
    offset: Offset = 0,
    q: Search = None,
    domain: str | None = Query(None, max_length=255),
    sort: str | None = Query(None, max_length=40),
) -> Page[AliasOut]:
    aliases = [a for a in await act.list_aliases(domain) if _matches(q, a.address, a.target)]
    return listing(
        aliases,
        AliasOut.of,
        limit=limit,
        offset=offset,
        sort=sort,
        sortable={"address": lambda a: a.address, "target": lambda a: a.target},
    )


@router.post("/aliases", status_code=201, response_model=AliasOut, tags=["aliases"])
async def create_alias(act: Act, body: AliasCreate) -> AliasOut:
    try:
        return AliasOut.of(await act.add_alias(body.address, body.target))
    except ApiError as exc:
        if exc.status == 404 and "account" in exc.message:
            raise ApiError(422, "invalid", exc.message, "target") from exc
        raise


@router.delete("/aliases/{address}", status_code=204, response_class=Response, tags=["aliases"])
async def delete_alias(act: Act, address: str) -> Response:
    await act.del_alias(address)
    return Response(status_code=204)


# ---------------------------------------------------------------- groups


@router.get("/groups", response_model=Page[GroupOut], tags=["groups"])
async def list_groups(
    act: Act,
    limit: Limit = 100,
    offset: Offset = 0,
    q: Search = None,
    domain: str | None = Query(None, max_length=255),
    sort: str | None = Query(None, max_length=40),
) -> Page[GroupOut]:
    groups = [g for g in await act.list_groups(domain) if _matches(q, g.address, g.name)]
    return listing(
        groups,
        GroupOut.of,
        limit=limit,
        offset=offset,
        sort=sort,
        sortable={
            "address": lambda g: g.address,
            "name": lambda g: g.name.lower(),
            "members": lambda g: len(g.members),
        },
    )


@router.post("/groups", status_code=201, response_model=GroupOut, tags=["groups"])
async def create_group(act: Act, body: GroupIn) -> GroupOut:
    return GroupOut.of(await act.create_group(body.address, body.name))


@router.get("/groups/{address}", response_model=GroupOut, tags=["groups"])
async def get_group(act: Act, address: str) -> GroupOut:
    return GroupOut.of(await act.get_group(address))


@router.delete("/groups/{address}", status_code=204, response_class=Response, tags=["groups"])
async def delete_group(act: Act, address: str) -> Response:
    await act.delete_group(address)
    return Response(status_code=204)


@router.post("/groups/{address}/members", status_code=201, response_model=GroupOut, tags=["groups"])
async def add_member(act: Act, address: str, body: MemberIn) -> GroupOut:
    return GroupOut.of(await act.add_member(address, body.address))


@router.delete("/groups/{address}/members/{member}", response_model=GroupOut, tags=["groups"])
async def delete_member(act: Act, address: str, member: str) -> GroupOut:
    return GroupOut.of(await act.del_member(address, member))
