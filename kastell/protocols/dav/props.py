"""The property registry: Clark name → how to read it (and whether allprop shows it).

Each property is an async getter ``(ctx, resource) -> Element | None``; None means
"not defined on this resource" (404 in its propstat). CalDAV and CardDAV register
their properties from their own modules (``caldav/props.py``, ``carddav/props.py``),
the way xandikos registers ``Property`` classes.

Writable collection properties (displayname, descriptions, colour, order) and dead
properties live in the folder property bag (store/folderprops.py), under their
Clark name; dead properties are stored as their serialised XML element.
"""

from __future__ import annotations

import email.utils
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lxml import etree

from kastell.protocols.dav import resources as r
from kastell.protocols.dav.context import BASE, SYNC_PREFIX, Context, home_href
from kastell.protocols.dav.xml import CS, DAV, Element, element, href, qn, sub

_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
Getter = Callable[[Context, r.Resource], Awaitable[Element | None]]


@dataclass(frozen=True)
class Property:
    name: str
    get: Getter
    allprop: bool = False  # RFC 4918 §14.2: returned for <allprop/>
    writable: bool = False  # stored in the property bag by PROPPATCH


REGISTRY: dict[str, Property] = {}


def register(name: str, *, allprop: bool = False, writable: bool = False) -> Callable[[Getter], Getter]:
    def deco(fn: Getter) -> Getter:
        REGISTRY[name] = Property(name, fn, allprop, writable)
        return fn

    return deco


def stored(res: r.Resource, name: str) -> Element | None:
    """A writable or dead property from the bag, as an element."""
    value = res.props.get(name)
    if value is None:
        return None
    if isinstance(value, dict) and "xml" in value:
        # A dead property keeps its element whole: namespaces, attributes, children.
        try:
            return etree.fromstring(str(value["xml"]).encode(), _SAFE_PARSER)
        except etree.XMLSyntaxError:
            return None
    return element(name, str(value))


def dead_names(res: r.Resource) -> list[str]:
    return [n for n in res.props if n.startswith("{") and n not in REGISTRY]


def etag(res: r.Resource) -> str | None:
    if res.item is not None:
        return f'"{res.item.change_num}"'
    if res.extra is not None:
        return f'"g{res.extra.updated}-{res.extra.id}"'
    return None


def content_type(res: r.Resource) -> str:
    ctype = res.ctype
    if ctype == "calendar":
        return "text/calendar; charset=utf-8"
    if ctype in ("addressbook", "gal"):
        return "text/vcard; charset=utf-8"
    value = res.props.get("content-type")
    if value:
        return str(value)
    return "application/octet-stream"


def sync_token(res: r.Resource) -> str | None:
    if res.folder is None:
        return None
    return f"{SYNC_PREFIX}{res.folder.content_change}"


# --------------------------------------------------------------- RFC 4918 §15


@register(qn(DAV, "resourcetype"), allprop=True)
async def _resourcetype(ctx: Context, res: r.Resource) -> Element | None:
    el = element(qn(DAV, "resourcetype"))
    if res.is_collection:
        sub(el, qn(DAV, "collection"))
    if res.kind == r.PRINCIPAL:
        sub(el, qn(DAV, "principal"))
    elif res.kind in (r.INBOX, r.OUTBOX):
        sub(el, qn("urn:ietf:params:xml:ns:caldav", res.kind))
    elif res.kind == r.COLLECTION:
        ctype = res.ctype
        if ctype == "calendar":
            sub(el, qn("urn:ietf:params:xml:ns:caldav", "calendar"))
        elif ctype in ("addressbook", "gal"):
            sub(el, qn("urn:ietf:params:xml:ns:carddav", "addressbook"))
    return el


@register(qn(DAV, "displayname"), allprop=True, writable=True)
async def _displayname(ctx: Context, res: r.Resource) -> Element | None:
    name = qn(DAV, "displayname")
    if res.kind == r.COLLECTION:
        if res.gal:
            return element(name, "Global Address List")
        assert res.folder is not None
        value = stored(res, name)  # (an lxml element without children is falsy: no `or`)
        return value if value is not None else element(name, res.folder.name)
    if res.kind == r.PRINCIPAL:
        if res.owner == ctx.account.address.lower():
            return element(name, ctx.account.name or ctx.account.address)
        return element(name, res.owner)
    if res.kind == r.HOME:
        return element(name, res.owner)
    return None


@register(qn(DAV, "getetag"), allprop=True)
async def _getetag(ctx: Context, res: r.Resource) -> Element | None:
    value = etag(res)
    return None if value is None else element(qn(DAV, "getetag"), value)


@register(qn(DAV, "getcontenttype"), allprop=True)
async def _getcontenttype(ctx: Context, res: r.Resource) -> Element | None:
    if res.is_collection:
        return None
    return element(qn(DAV, "getcontenttype"), content_type(res))


@register(qn(DAV, "getcontentlength"), allprop=True)
async def _getcontentlength(ctx: Context, res: r.Resource) -> Element | None:
    if res.item is None:
        return None
    return element(qn(DAV, "getcontentlength"), str(res.item.size))


@register(qn(DAV, "getlastmodified"), allprop=True)
async def _getlastmodified(ctx: Context, res: r.Resource) -> Element | None:
    if res.item is None:
        return None
    return element(qn(DAV, "getlastmodified"), email.utils.formatdate(res.item.internal_date, usegmt=True))


@register(qn(DAV, "supportedlock"), allprop=True)
async def _supportedlock(ctx: Context, res: r.Resource) -> Element | None:
    el = element(qn(DAV, "supportedlock"))
    entry = sub(el, qn(DAV, "lockentry"))
    sub(sub(entry, qn(DAV, "lockscope")), qn(DAV, "exclusive"))
    sub(sub(entry, qn(DAV, "locktype")), qn(DAV, "write"))
    shared = sub(el, qn(DAV, "lockentry"))
    sub(sub(shared, qn(DAV, "lockscope")), qn(DAV, "shared"))
    sub(sub(shared, qn(DAV, "locktype")), qn(DAV, "write"))
    return el


@register(qn(DAV, "lockdiscovery"), allprop=True)
async def _lockdiscovery(ctx: Context, res: r.Resource) -> Element | None:
    from kastell.protocols.dav.locks import key
    from kastell.protocols.dav.methods.lock import activelock

    el = element(qn(DAV, "lockdiscovery"))
    if ctx.locks is not None:
        for lock in ctx.locks.covering(key(r.split(res.path[len(BASE) :]))):
            activelock(el, lock)
    return el


# ------------------------------------------------ principals (RFC 5397, RFC 3744)


@register(qn(DAV, "current-user-principal"))
async def _cup(ctx: Context, res: r.Resource) -> Element | None:
    return element(qn(DAV, "current-user-principal"), children=[href(ctx.principal_href)])


@register(qn(DAV, "principal-URL"))
async def _principal_url(ctx: Context, res: r.Resource) -> Element | None:
    if res.kind != r.PRINCIPAL or res.owner is None:
        return None
    return element(qn(DAV, "principal-URL"), children=[href(f"{BASE}/principals/{r.seg(res.owner)}/")])


@register(qn(DAV, "principal-collection-set"))
async def _pcs(ctx: Context, res: r.Resource) -> Element | None:
    return element(qn(DAV, "principal-collection-set"), children=[href(f"{BASE}/principals/")])


@register(qn(DAV, "owner"))
async def _owner(ctx: Context, res: r.Resource) -> Element | None:
    if res.owner is None:
        return None
    return element(qn(DAV, "owner"), children=[href(f"{BASE}/principals/{r.seg(res.owner)}/")])


@register(qn(DAV, "current-user-privilege-set"))
async def _cups(ctx: Context, res: r.Resource) -> Element | None:
    el = element(qn(DAV, "current-user-privilege-set"))
    read_only = (
        res.gal
        or res.kind in (r.ROOT, r.PRINCIPALS, r.SPACE)
        or (res.kind == r.PRINCIPAL and res.owner != ctx.account.address.lower())
    )
    privileges = ["read", "read-current-user-privilege-set"]
    if not read_only:
        privileges += ["write", "write-properties", "write-content", "bind", "unbind", "all"]
    for name in privileges:
        sub(sub(el, qn(DAV, "privilege")), qn(DAV, name))
    return el


@register(qn(DAV, "supported-report-set"))
async def _srs(ctx: Context, res: r.Resource) -> Element | None:
    reports: list[str] = []
    if res.kind in (r.PRINCIPAL, r.PRINCIPALS):
        reports += [qn(DAV, "principal-property-search"), qn(DAV, "principal-search-property-set")]
    if res.kind in (r.COLLECTION, r.OBJECT) and not res.gal:
        reports.append(qn(DAV, "sync-collection"))
    ctype = res.ctype
    if ctype == "calendar":
        reports += [
            qn("urn:ietf:params:xml:ns:caldav", n) for n in ("calendar-query", "calendar-multiget", "free-busy-query")
        ]
    elif ctype in ("addressbook", "gal"):
        reports += [qn("urn:ietf:params:xml:ns:carddav", n) for n in ("addressbook-query", "addressbook-multiget")]
    el = element(qn(DAV, "supported-report-set"))
    for name in reports:
        sub(sub(sub(el, qn(DAV, "supported-report")), qn(DAV, "report")), name)
    return el


# ------------------------------------------------------- sync, quota (RFC 6578, 4331)


@register(qn(DAV, "sync-token"))
async def _sync_token(ctx: Context, res: r.Resource) -> Element | None:
    if res.kind != r.COLLECTION:
        return None
    value = sync_token(res)
    return None if value is None else element(qn(DAV, "sync-token"), value)


@register(qn(CS, "getctag"))
async def _getctag(ctx: Context, res: r.Resource) -> Element | None:
    if res.kind != r.COLLECTION or res.folder is None:
        return None
    return element(qn(CS, "getctag"), f'"{res.folder.content_change}"')


async def _quota(ctx: Context) -> tuple[int, int]:
    if "quota" not in ctx.cache:
        q = await ctx.mailbox.quota()
        ctx.cache["quota"] = (q.used, q.limit)
    used, limit = ctx.cache["quota"]
    return int(used), int(limit)


@register(qn(DAV, "quota-used-bytes"))
async def _quota_used(ctx: Context, res: r.Resource) -> Element | None:
    if not res.is_collection or res.kind in (r.ROOT, r.PRINCIPALS, r.SPACE, r.PRINCIPAL) or res.gal:
        return None
    used, _ = await _quota(ctx)
    return element(qn(DAV, "quota-used-bytes"), str(used))


@register(qn(DAV, "quota-available-bytes"))
async def _quota_avail(ctx: Context, res: r.Resource) -> Element | None:
    if not res.is_collection or res.kind in (r.ROOT, r.PRINCIPALS, r.SPACE, r.PRINCIPAL) or res.gal:
        return None
    used, limit = await _quota(ctx)
    if not limit:
        return None  # unlimited: RFC 4331 §4 lets the server omit it
    return element(qn(DAV, "quota-available-bytes"), str(max(0, limit - used)))


def home_set(name: str, space: str) -> Getter:
    async def get(ctx: Context, res: r.Resource) -> Element | None:
        if res.kind != r.PRINCIPAL or res.owner is None:
            return None
        return element(name, children=[href(home_href(space, r.seg(res.owner)))])

    return get
