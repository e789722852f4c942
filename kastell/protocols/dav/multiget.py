"""The shape shared by calendar-multiget (RFC 4791 §7.9) and addressbook-multiget (RFC 6352 §8.7)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.responses import Response

from kastell.protocols.dav import resources as r
from kastell.protocols.dav.common import sources, xml_response
from kastell.protocols.dav.context import BASE, Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.methods.propfind import collect
from kastell.protocols.dav.xml import DAV, Element, multistatus, propstat_response, qn, status_response
from kastell.store import calendar

Render = Callable[[Context, r.Resource, bytes], Awaitable[Element]]
MAX_HREFS = 10000


def requested_props(root: Element) -> tuple[list[str], Element | None, str]:
    """(property names, the data element if asked for, its Clark name)."""
    prop = root.find(qn(DAV, "prop"))
    names = [c.tag for c in prop if isinstance(c.tag, str)] if prop is not None else [qn(DAV, "getetag")]
    for data_name in ("{urn:ietf:params:xml:ns:caldav}calendar-data", "{urn:ietf:params:xml:ns:carddav}address-data"):
        if prop is not None and prop.find(data_name) is not None:
            return names, prop.find(data_name), data_name
    return names, None, ""


async def respond(
    ctx: Context, members: list[r.Resource], names: list[str], data_name: str, render: Render | None, ms: Element
) -> None:
    """Write one propstat response per member, the data property rendered from its source."""
    with_data = bool(data_name) and render is not None
    bodies = await sources(ctx, [m.item for m in members if m.item is not None]) if with_data else []
    it = iter(bodies)
    for member in members:
        overrides = {}
        if with_data:
            assert render is not None
            body = next(it) if member.item is not None else b""
            overrides[data_name] = await render(ctx, member, body)
        found, missing = await collect(ctx, member, names, overrides)
        propstat_response(ms, member.path, found, missing)


async def multiget(ctx: Context, res: r.Resource, root: Element, render: Render) -> Response:
    names, _, data_name = requested_props(root)
    hrefs = [h.text.strip() for h in root.findall(qn(DAV, "href")) if h.text]
    if len(hrefs) > MAX_HREFS:
        raise DavError(403, qn(DAV, "number-of-matches-within-limits"), "too many hrefs")
    ms = multistatus()
    batch: dict[str, str] = {}  # name -> href as sent
    strays: list[str] = []
    for h in hrefs:
        path = urlsplit(h).path
        parent, _, name = path.rstrip("/").rpartition("/")
        if res.folder is not None and r.split(parent + "/") == r.split(res.path) and name:
            batch[r.split("/" + name)[0]] = h
        else:
            strays.append(h)
    members: list[r.Resource] = []
    if batch and res.folder is not None:
        found = {
            r.item_name(item): item for item in await calendar.items_by_names(ctx.mailbox, res.folder.id, list(batch))
        }
        for name, h in batch.items():
            item = found.get(name)
            if item is None:
                from kastell.protocols.dav.resources import find_item

                item = await find_item(ctx, res.folder, name)
            if item is None:
                status_response(ms, h, 404)
            else:
                members.append(r.member(res, item))
    for h in strays:
        path = urlsplit(h).path
        if not path.startswith(BASE + "/"):
            status_response(ms, h, 404)
            continue
        try:
            other = await r.resolve(ctx, r.split(path[len(BASE) :]))
        except DavError as exc:
            status_response(ms, h, exc.status)
            continue
        if other.gal and other.kind == r.OBJECT:
            from kastell.protocols.dav.carddav import gal

            await gal.lookup(ctx, other)
        if not other.exists or other.is_collection:
            status_response(ms, h, 404)
        else:
            members.append(other)
    await respond(ctx, members, names, data_name, render, ms)
    return xml_response(ms)
