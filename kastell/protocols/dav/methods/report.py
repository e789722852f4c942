"""REPORT (RFC 3253 §3.6): dispatch on the report element to the module that owns it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import Response

from kastell.protocols.dav import resources as r
from kastell.protocols.dav import sync
from kastell.protocols.dav.caldav import reports as caldav_reports
from kastell.protocols.dav.carddav import reports as carddav_reports
from kastell.protocols.dav.context import Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.principals import principal_property_search
from kastell.protocols.dav.xml import CALDAV, CARDDAV, DAV, Element, parse, qn

Report = Callable[[Context, r.Resource, Element], Awaitable[Response]]

REPORTS: dict[str, Report] = {
    qn(DAV, "sync-collection"): sync.sync_collection,
    qn(DAV, "principal-property-search"): principal_property_search,
    qn(CALDAV, "calendar-query"): caldav_reports.calendar_query,
    qn(CALDAV, "calendar-multiget"): caldav_reports.calendar_multiget,
    qn(CALDAV, "free-busy-query"): caldav_reports.free_busy_query,
    qn(CARDDAV, "addressbook-query"): carddav_reports.addressbook_query,
    qn(CARDDAV, "addressbook-multiget"): carddav_reports.addressbook_multiget,
}


async def handle(ctx: Context, segments: list[str]) -> Response:
    root = parse(ctx.body)
    if root is None:
        raise DavError(400, None, "REPORT needs a body")
    report = REPORTS.get(root.tag)
    if report is None:
        raise DavError(403, qn(DAV, "supported-report"), f"unsupported report {root.tag}")
    res = await r.resolve(ctx, segments)
    if not res.exists:
        raise DavError(404)
    return await report(ctx, res, root)
