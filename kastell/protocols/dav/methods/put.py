"""PUT (RFC 4918 §9.7; RFC 4791 §5.3.2; RFC 6352 §6.3.2): create or replace one resource.

Calendar and address-book members are validated before anything is stored: a
broken object gets 403 with ``valid-calendar-data``/``valid-address-data`` and is
never kept half-valid; a UID already used by another member is 409 with
``no-uid-conflict`` (and the href of that member).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from kastell.formats import ical, vcard
from kastell.protocols.dav import resources as r
from kastell.protocols.dav.caldav import scheduling
from kastell.protocols.dav.caldav.props import MAX_RESOURCE_SIZE as MAX_CAL
from kastell.protocols.dav.caldav.props import components
from kastell.protocols.dav.carddav.props import MAX_RESOURCE_SIZE as MAX_CARD
from kastell.protocols.dav.common import check_preconditions
from kastell.protocols.dav.context import Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.xml import CALDAV, CARDDAV, qn
from kastell.store import calendar
from kastell.store.model import NewItem

MAX_FILE = 64 * 1024 * 1024


async def _uid_conflict(ctx: Context, res: r.Resource, uid: str, ns: str) -> None:
    assert res.folder is not None
    same = res.same_uid if res.same_uid is not None else await calendar.uid_in_use(ctx.mailbox, res.folder.id, uid)
    for other in same:
        if res.item is None or other.id != res.item.id:
            raise DavError(409, qn(ns, "no-uid-conflict"), f"UID in use by {r.item_name(other)}")


def _validated(ctx: Context, body: bytes) -> tuple[str, str] | None:
    """What ``_early_uid`` found for this very body, if it validated it."""
    cached = ctx.cache.get("validated")
    if cached is not None and cached[0] is body:
        result: tuple[str, str] = cached[1]
        return result
    return None


async def store(
    ctx: Context, res: r.Resource, body: bytes, content_type: str | None, dead: dict[str, Any] | None = None
) -> tuple[int, str]:
    """Validate and write ``body`` at ``res``; (201 or 204, the new ETag). Shared with COPY/MOVE,
    which pass the source's property bag as ``dead`` (RFC 4918 §9.8.2: properties travel)."""
    if res.gal or res.folder is None or res.name is None:
        raise DavError(403 if res.gal else 409, None, "cannot store a resource here")
    ctype = res.ctype
    props: dict[str, Any] | None = dict(dead) if dead else None
    if ctype == "calendar":
        if len(body) > MAX_CAL:
            raise DavError(403, qn(CALDAV, "max-resource-size"))
        try:
            cached = _validated(ctx, body)
            component, uid = cached if cached is not None else ical.validate(body)[:2]
        except ical.InvalidCalendar as exc:
            raise DavError(403, qn(CALDAV, "valid-calendar-data"), str(exc)) from exc
        if component not in components(res):
            raise DavError(403, qn(CALDAV, "supported-calendar-component"), f"{component} not accepted here")
        await _uid_conflict(ctx, res, uid, CALDAV)
        kind = ical.KIND_OF_COMPONENT.get(component, "event")
    elif ctype == "addressbook":
        if len(body) > MAX_CARD:
            raise DavError(403, qn(CARDDAV, "max-resource-size"))
        try:
            cached = _validated(ctx, body)
            _, uid = cached if cached is not None else vcard.validate(body)
        except vcard.InvalidCard as exc:
            raise DavError(403, qn(CARDDAV, "valid-address-data"), str(exc)) from exc
        await _uid_conflict(ctx, res, uid, CARDDAV)
        kind = "contact"
    else:
        if len(body) > MAX_FILE:
            raise DavError(413, None, "too large")
        kind = "file"
        props = {**(dead or {}), "content-type": content_type or "application/octet-stream"}
    new = NewItem(body, kind=kind, name=res.name, props=props)
    if res.item is not None:
        item = await ctx.mailbox.replace(res.item.id, new)
        return 204, f'"{item.change_num}"'
    appended = await ctx.mailbox.append(res.folder.id, new)
    return 201, f'"{appended.change_num}"'


def _early_uid(ctx: Context, segments: list[str], body: bytes) -> str | None:
    """The object UID of a calendar/address-book upload, read before the lookup so that
    the no-uid-conflict check rides in the same read as the URL (a PUT's hot path).
    The validation result is kept for ``store`` (one parse per upload, not two)."""
    if len(segments) != 4 or segments[0] not in ("calendars", "addressbooks") or len(body) > MAX_CARD:
        return None  # (an oversize body is refused by store() without being parsed)
    try:
        if segments[0] == "calendars":
            component, uid, _ = ical.validate(body)
            ctx.cache["validated"] = (body, (component, uid))
        else:
            version, uid = vcard.validate(body)
            ctx.cache["validated"] = (body, (version, uid))
    except ValueError:
        return None  # store() reports it with the right precondition
    return str(uid)


async def handle(ctx: Context, segments: list[str]) -> Response:
    res = await r.resolve(ctx, segments, uid=_early_uid(ctx, segments, ctx.body))
    if res.is_collection:
        raise DavError(405, None, "cannot PUT to a collection")
    if res.folder is None and not res.gal:
        raise DavError(409, None, "no parent collection")
    check_preconditions(ctx, res)
    # Implicit scheduling (RFC 6638 §3.2) compares with what was there: read it only
    # when the upload is a scheduling object at all.
    scheduling_object = res.ctype == "calendar" and ctx.access == "owner" and b"ORGANIZER" in ctx.body
    old = await ctx.mailbox.source(res.item) if scheduling_object and res.item is not None else None
    status, etag = await store(ctx, res, ctx.body, ctx.request.headers.get("content-type"))
    if scheduling_object and await scheduling.after_put(ctx, res, old, ctx.body):
        return Response(b"", status)  # stored object differs from the upload: no ETag
    return Response(b"", status, headers={"ETag": etag})
