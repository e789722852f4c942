"""CalDAV properties (RFC 4791 §5.2, §6.2; Apple's calendar-color/order; RFC 6638 address set)."""

from __future__ import annotations

from kastell.protocols.dav import resources as r
from kastell.protocols.dav.context import Context, home_href
from kastell.protocols.dav.props import home_set, register, stored
from kastell.protocols.dav.xml import APPLE, CALDAV, Element, element, href, qn, sub

MAX_RESOURCE_SIZE = 10 * 1024 * 1024
COMPONENTS_PROP = qn(CALDAV, "supported-calendar-component-set")

register(qn(CALDAV, "calendar-home-set"))(home_set(qn(CALDAV, "calendar-home-set"), "calendars"))


def components(res: r.Resource) -> list[str]:
    """The component types a calendar collection takes (RFC 4791 §5.2.3)."""
    bag = res.folder_props or res.props
    value = bag.get(COMPONENTS_PROP)
    if isinstance(value, list) and value:
        return [str(v) for v in value]
    if res.folder is None:
        return []
    return [r.CALENDAR_CLASSES.get(res.folder.folder_class, "VEVENT")]


def _calendar(res: r.Resource) -> bool:
    return res.kind == r.COLLECTION and res.ctype == "calendar"


@register(qn(CALDAV, "calendar-user-address-set"))
async def _cuas(ctx: Context, res: r.Resource) -> Element | None:
    if res.kind != r.PRINCIPAL or res.owner is None:
        return None
    return element(qn(CALDAV, "calendar-user-address-set"), children=[href(f"mailto:{res.owner}")])


@register(qn(CALDAV, "supported-calendar-component-set"))
async def _sccs(ctx: Context, res: r.Resource) -> Element | None:
    if not _calendar(res):
        return None
    el = element(COMPONENTS_PROP)
    for name in components(res):
        sub(el, qn(CALDAV, "comp")).set("name", name)
    return el


@register(qn(CALDAV, "supported-calendar-data"))
async def _scd(ctx: Context, res: r.Resource) -> Element | None:
    if not _calendar(res):
        return None
    el = element(qn(CALDAV, "supported-calendar-data"))
    data = sub(el, qn(CALDAV, "calendar-data"))
    data.set("content-type", "text/calendar")
    data.set("version", "2.0")
    return el


@register(qn(CALDAV, "max-resource-size"))
async def _mrs(ctx: Context, res: r.Resource) -> Element | None:
    if not _calendar(res):
        return None
    return element(qn(CALDAV, "max-resource-size"), str(MAX_RESOURCE_SIZE))


@register(qn(CALDAV, "calendar-description"), writable=True)
async def _description(ctx: Context, res: r.Resource) -> Element | None:
    return stored(res, qn(CALDAV, "calendar-description")) if _calendar(res) else None


@register(qn(CALDAV, "calendar-timezone"), writable=True)
async def _timezone(ctx: Context, res: r.Resource) -> Element | None:
    return stored(res, qn(CALDAV, "calendar-timezone")) if _calendar(res) else None


@register(qn(APPLE, "calendar-color"), writable=True)
async def _color(ctx: Context, res: r.Resource) -> Element | None:
    return stored(res, qn(APPLE, "calendar-color")) if _calendar(res) else None


@register(qn(APPLE, "calendar-order"), writable=True)
async def _order(ctx: Context, res: r.Resource) -> Element | None:
    return stored(res, qn(APPLE, "calendar-order")) if _calendar(res) else None


def _schedule_url(name: str, segment: str) -> None:
    async def get(ctx: Context, res: r.Resource) -> Element | None:
        if res.kind != r.PRINCIPAL or res.owner is None:
            return None
        return element(qn(CALDAV, name), children=[href(f"{home_href('calendars', r.seg(res.owner))}{segment}/")])

    register(qn(CALDAV, name))(get)


_schedule_url("schedule-inbox-URL", "inbox")  # RFC 6638 §2.2.1
_schedule_url("schedule-outbox-URL", "outbox")  # RFC 6638 §2.1.1


@register(qn(CALDAV, "calendar-user-type"))
async def _cutype(ctx: Context, res: r.Resource) -> Element | None:
    if res.kind != r.PRINCIPAL:
        return None
    return element(qn(CALDAV, "calendar-user-type"), "INDIVIDUAL")
