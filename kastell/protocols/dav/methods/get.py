"""GET and HEAD (RFC 4918 §9.4): one resource, or a whole calendar/address book.

GET of a calendar collection returns every object merged into one VCALENDAR (the
"subscribe" link); of an address book, the cards one after the other. A vCard is
converted when the client asks for another version (RFC 6352 §6.3.2 via Accept).
"""

from __future__ import annotations

import email.utils

from starlette.responses import Response

from kastell.formats import vcard
from kastell.protocols.dav import props as p
from kastell.protocols.dav import resources as r
from kastell.protocols.dav.carddav import gal
from kastell.protocols.dav.common import check_preconditions, sources
from kastell.protocols.dav.context import Context
from kastell.protocols.dav.errors import DavError


def wanted_vcard_version(accept: str | None) -> str | None:
    if not accept or "vcard" not in accept:
        return None
    if "version=4.0" in accept:
        return "4.0"
    if "version=3.0" in accept:
        return "3.0"
    return None


async def whole_calendar(ctx: Context, res: r.Resource) -> bytes:
    assert res.folder is not None
    items = [item async for item in ctx.mailbox.iter_items(res.folder.id)]
    out = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Kastell//DAV//EN"]
    seen_tz: set[str] = set()
    for source in await sources(ctx, items):
        lines = source.decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n")
        depth = 0
        block: list[str] = []
        tzid = None
        for line in lines:
            upper = line.upper()
            if upper.startswith("BEGIN:") and upper != "BEGIN:VCALENDAR":
                depth += 1
            if depth > 0:
                block.append(line)
                if depth == 1 and upper.startswith("TZID:") and block[0].upper() == "BEGIN:VTIMEZONE":
                    tzid = line[5:]
            if upper.startswith("END:") and upper != "END:VCALENDAR":
                depth -= 1
                if depth == 0:
                    if block[0].upper() == "BEGIN:VTIMEZONE":
                        if tzid not in seen_tz:
                            seen_tz.add(tzid or "")
                            out.extend(block)
                    else:
                        out.extend(block)
                    block, tzid = [], None
    out.append("END:VCALENDAR")
    return ("\r\n".join(out) + "\r\n").encode()


async def handle(ctx: Context, segments: list[str]) -> Response:
    res = await r.resolve(ctx, segments)
    if res.gal and res.kind == r.OBJECT:
        await gal.lookup(ctx, res)
    if not res.exists:
        raise DavError(404)
    head = ctx.request.method == "HEAD"
    if res.kind == r.COLLECTION and res.ctype == "calendar":
        body = await whole_calendar(ctx, res)
        return Response(b"" if head else body, 200, media_type="text/calendar; charset=utf-8")
    if res.kind == r.COLLECTION and res.ctype in ("addressbook", "gal"):
        members = await r.children(ctx, res)
        if res.gal:
            parts = [gal.card(m.extra) for m in members]
        else:
            parts = await sources(ctx, [m.item for m in members if m.item is not None])
        body = b"".join(parts)
        return Response(b"" if head else body, 200, media_type="text/vcard; charset=utf-8")
    if res.is_collection:
        listing = "\n".join(m.path for m in await r.children(ctx, res)) + "\n"
        return Response(b"" if head else listing.encode(), 200, media_type="text/plain; charset=utf-8")
    check_preconditions(ctx, res)
    if res.gal:
        body = gal.card(res.extra)
    else:
        assert res.item is not None
        body = await ctx.mailbox.source(res.item)
    ctype = p.content_type(res)
    version = wanted_vcard_version(ctx.request.headers.get("accept")) if res.ctype in ("addressbook", "gal") else None
    if version is not None and vcard.card_version(body) != version:
        body = vcard.convert(body, version)
        ctype = f"text/vcard; charset=utf-8; version={version}"
    headers = {"ETag": p.etag(res) or ""}
    if res.item is not None:
        headers["Last-Modified"] = email.utils.formatdate(res.item.internal_date, usegmt=True)
    if head:
        headers["Content-Length"] = str(len(body))
        return Response(b"", 200, headers=headers, media_type=ctype)
    return Response(body, 200, headers=headers, media_type=ctype)
