"""LOCK and UNLOCK (RFC 4918 §9.10-9.11), to the degree clients need.

Kastell does not enforce write locks: every write is checked by ETag instead.
LOCK answers with a fresh exclusive lock token so that clients which insist on
locking before writing (Finder, Windows' WebDAV redirector) proceed; UNLOCK always
succeeds. This is why DAV class 2 is advertised; litmus' locks suite fails the tests
that check enforcement.
"""

from __future__ import annotations

import uuid

from lxml import etree
from starlette.responses import Response

from kastell.protocols.dav import resources as r
from kastell.protocols.dav.context import Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.methods import put
from kastell.protocols.dav.xml import DAV, NSMAP, parse, qn, sub, tostring


async def handle_lock(ctx: Context, segments: list[str]) -> Response:
    root = parse(ctx.body)
    res = await r.resolve(ctx, segments)
    status = 200
    if not res.exists:
        # RFC 4918 §9.10.4: LOCK on an unmapped URL creates an empty resource.
        if res.folder is None or res.ctype != "files":
            raise DavError(409 if res.folder is None else 403, None, "cannot lock-create here")
        await put.store(ctx, res, b"", "application/octet-stream")
        status = 201
    token = f"urn:uuid:{uuid.uuid4()}"
    prop = etree.Element(qn(DAV, "prop"), nsmap=NSMAP)
    active = sub(sub(prop, qn(DAV, "lockdiscovery")), qn(DAV, "activelock"))
    sub(sub(active, qn(DAV, "locktype")), qn(DAV, "write"))
    sub(sub(active, qn(DAV, "lockscope")), qn(DAV, "exclusive"))
    sub(active, qn(DAV, "depth"), ctx.request.headers.get("depth", "infinity"))
    if root is not None:
        owner = root.find(qn(DAV, "owner"))
        if owner is not None:
            active.append(owner)
    sub(active, qn(DAV, "timeout"), "Second-600")
    sub(sub(active, qn(DAV, "locktoken")), qn(DAV, "href"), token)
    sub(sub(active, qn(DAV, "lockroot")), qn(DAV, "href"), res.path)
    return Response(
        tostring(prop), status, media_type="application/xml; charset=utf-8", headers={"Lock-Token": f"<{token}>"}
    )


async def handle_unlock(ctx: Context, segments: list[str]) -> Response:
    res = await r.resolve(ctx, segments)
    if not res.exists:
        raise DavError(404)
    if not ctx.request.headers.get("lock-token"):
        raise DavError(400, None, "Lock-Token header required")
    return Response(b"", 204)
