"""LOCK and UNLOCK (RFC 4918 §9.10, §9.11): exclusive and shared write locks.

The lock table and the If header live in ``locks.py``; enforcement for the other
methods happens in ``app.py`` before a handler runs. A LOCK without a body
refreshes the lock named in the If header (§9.10.2); a LOCK on an unmapped URL
creates an empty resource (§9.10.4).
"""

from __future__ import annotations

from lxml import etree
from starlette.responses import Response

from kastell.protocols.dav import locks as lk
from kastell.protocols.dav import resources as r
from kastell.protocols.dav.common import depth
from kastell.protocols.dav.context import Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.methods import put
from kastell.protocols.dav.xml import DAV, NSMAP, Element, parse, qn, sub, tostring


def activelock(parent: Element, lock: lk.Lock) -> None:
    active = sub(parent, qn(DAV, "activelock"))
    sub(sub(active, qn(DAV, "locktype")), qn(DAV, "write"))
    sub(sub(active, qn(DAV, "lockscope")), qn(DAV, lock.scope))
    sub(active, qn(DAV, "depth"), "infinity" if lock.depth == "infinity" else "0")
    if lock.owner:
        try:
            active.append(etree.fromstring(lock.owner.encode()))
        except etree.XMLSyntaxError:
            pass
    sub(active, qn(DAV, "timeout"), f"Second-{lock.timeout}")
    sub(sub(active, qn(DAV, "locktoken")), qn(DAV, "href"), lock.token)
    sub(sub(active, qn(DAV, "lockroot")), qn(DAV, "href"), "/dav" + r.seg_path(lock.root))


def _answer(lock: lk.Lock, status: int) -> Response:
    prop = etree.Element(qn(DAV, "prop"), nsmap=NSMAP)
    activelock(sub(prop, qn(DAV, "lockdiscovery")), lock)
    return Response(
        tostring(prop), status, media_type="application/xml; charset=utf-8", headers={"Lock-Token": f"<{lock.token}>"}
    )


async def handle_lock(ctx: Context, segments: list[str]) -> Response:
    assert ctx.locks is not None
    path = lk.key(segments)
    timeout = lk.parse_timeout(ctx.request.headers.get("timeout"))
    root = parse(ctx.body)
    if root is None:
        # A refresh: the If header names the lock (its evaluation ran in app.py).
        for token in ctx.submitted:
            lock = ctx.locks.get(token)
            if lock is not None and lock.covers(path):
                ctx.locks.refresh(lock, timeout)
                return _answer(lock, 200)
        raise DavError(412, "{DAV:}lock-token-matches-request-uri", "no lock to refresh")
    if root.tag != qn(DAV, "lockinfo"):
        raise DavError(400, None, "lockinfo expected")
    scope_el = root.find(qn(DAV, "lockscope"))
    scope = "shared" if scope_el is not None and scope_el.find(qn(DAV, "shared")) is not None else "exclusive"
    owner_el = root.find(qn(DAV, "owner"))
    owner = etree.tostring(owner_el, encoding="unicode") if owner_el is not None else None
    level = depth(ctx, "infinity")
    if level == "1":
        raise DavError(400, None, "LOCK Depth must be 0 or infinity")
    res = await r.resolve(ctx, segments)
    lock = ctx.locks.create(path, level, scope, owner, ctx.account.address, timeout)
    status = 200
    if not res.exists:
        if res.folder is None or res.ctype != "files":
            ctx.locks.remove(lock.token)
            raise DavError(409 if res.folder is None else 403, None, "cannot lock-create here")
        await put.store(ctx, res, b"", "application/octet-stream")
        status = 201
    return _answer(lock, status)


async def handle_unlock(ctx: Context, segments: list[str]) -> Response:
    assert ctx.locks is not None
    header = ctx.request.headers.get("lock-token", "").strip()
    if not (header.startswith("<") and header.endswith(">")):
        raise DavError(400, None, "Lock-Token header required")
    lock = ctx.locks.get(header[1:-1])
    if lock is None or not lock.covers(lk.key(segments)):
        raise DavError(409, "{DAV:}lock-token-matches-request-uri", "no such lock on this resource")
    ctx.locks.remove(lock.token)
    return Response(b"", 204)
