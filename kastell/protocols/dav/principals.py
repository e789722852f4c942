"""principal-property-search (RFC 3744 §9.4) over the caller's organisation."""

from __future__ import annotations

from starlette.responses import Response

from kastell.protocols.dav import resources as r
from kastell.protocols.dav.carddav import gal
from kastell.protocols.dav.common import xml_response
from kastell.protocols.dav.context import BASE, Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.methods.propfind import collect
from kastell.protocols.dav.xml import DAV, Element, multistatus, propstat_response, qn

_MAX_RESULTS = 100


async def principal_property_search(ctx: Context, res: r.Resource, root: Element) -> Response:
    terms: list[str] = []
    for search in root.iter(qn(DAV, "property-search")):
        match = search.findtext(qn(DAV, "match"))
        if match is None:
            raise DavError(400, None, "property-search without match")
        terms.append(match.strip().lower())
    any_of = root.get("test", "allof") == "anyof"
    prop = root.find(qn(DAV, "prop"))
    names = [c.tag for c in prop if isinstance(c.tag, str)] if prop is not None else []
    ms = multistatus()
    count = 0
    for account in await gal.accounts(ctx):
        haystack = f"{account.name}\n{account.address}\nmailto:{account.address}".lower()
        hits = [t in haystack for t in terms]
        if terms and not (any(hits) if any_of else all(hits)):
            continue
        principal = r.Resource(r.PRINCIPAL, f"{BASE}/principals/{r.seg(account.address)}/", owner=account.address)
        found, missing = await collect(ctx, principal, names)
        propstat_response(ms, principal.path, found, missing)
        count += 1
        if count >= _MAX_RESULTS:
            break
    return xml_response(ms)
