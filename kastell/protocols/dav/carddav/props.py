"""CardDAV properties (RFC 6352 §6.2, §7.1)."""

from __future__ import annotations

from kastell.protocols.dav import resources as r
from kastell.protocols.dav.context import Context
from kastell.protocols.dav.props import home_set, register, stored
from kastell.protocols.dav.xml import CARDDAV, Element, element, qn, sub

MAX_RESOURCE_SIZE = 1024 * 1024

register(qn(CARDDAV, "addressbook-home-set"))(home_set(qn(CARDDAV, "addressbook-home-set"), "addressbooks"))


def _book(res: r.Resource) -> bool:
    return res.kind == r.COLLECTION and res.ctype in ("addressbook", "gal")


@register(qn(CARDDAV, "supported-address-data"))
async def _sad(ctx: Context, res: r.Resource) -> Element | None:
    if not _book(res):
        return None
    el = element(qn(CARDDAV, "supported-address-data"))
    for version in ("3.0", "4.0"):
        data = sub(el, qn(CARDDAV, "address-data-type"))
        data.set("content-type", "text/vcard")
        data.set("version", version)
    return el


@register(qn(CARDDAV, "max-resource-size"))
async def _mrs(ctx: Context, res: r.Resource) -> Element | None:
    return element(qn(CARDDAV, "max-resource-size"), str(MAX_RESOURCE_SIZE)) if _book(res) else None


@register(qn(CARDDAV, "addressbook-description"), writable=True)
async def _description(ctx: Context, res: r.Resource) -> Element | None:
    if not _book(res):
        return None
    if res.gal:
        return element(qn(CARDDAV, "addressbook-description"), "The organisation's directory")
    return stored(res, qn(CARDDAV, "addressbook-description"))
