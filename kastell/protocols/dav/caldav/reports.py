"""CalDAV reports: calendar-query (RFC 4791 §7.8), calendar-multiget (§7.9), free-busy-query (§7.10).

calendar-query narrows by the cached time span in SQL (store/calendar.py) and then
decides each candidate exactly. The common client query — VCALENDAR > VEVENT with
only a time-range — is decided from the columns alone when the object does not
recur (no RRULE/RDATE/RECURRENCE-ID in its source): the span is exact then.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import icalendar
import recurring_ical_events
from starlette.responses import Response

from kastell.formats import ical
from kastell.protocols.dav import resources as r
from kastell.protocols.dav.caldav import filters
from kastell.protocols.dav.common import sources, xml_response
from kastell.protocols.dav.context import Context
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.multiget import multiget, requested_props, respond
from kastell.protocols.dav.xml import CALDAV, Element, element, multistatus, qn
from kastell.store import calendar
from kastell.store.mailbox import Mailbox

_KINDS = {"VEVENT": "event", "VTODO": "task", "VJOURNAL": "note"}
_RECURRING = (b"RRULE", b"RDATE", b"RECURRENCE-ID")


def _calendar_collection(res: r.Resource) -> None:
    if res.ctype != "calendar" or res.kind != r.COLLECTION:
        raise DavError(403, qn(CALDAV, "calendar-collection-location-ok"), "not a calendar collection")


def _utc(value: Any) -> dt.datetime:
    when = getattr(value, "dt", value)
    if isinstance(when, dt.datetime):
        return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    return dt.datetime(when.year, when.month, when.day, tzinfo=dt.UTC)


def expand(source: bytes, start: dt.datetime, end: dt.datetime) -> bytes:
    """The instances in [start, end) as separate components in UTC (RFC 4791 §9.6.5)."""
    cal = icalendar.Calendar.from_ical(source)
    out = icalendar.Calendar()
    out.add("VERSION", "2.0")
    out.add("PRODID", "-//Kastell//DAV//EN")
    recurring = any(_RECURRING[i] in source for i in range(2))
    for occurrence in recurring_ical_events.of(cal).between(start, end):
        for key in ("RRULE", "RDATE", "EXDATE"):
            occurrence.pop(key, None)
        for key in ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID"):
            if key in occurrence and isinstance(occurrence[key].dt, dt.datetime):
                value = _utc(occurrence[key])
                occurrence.pop(key)
                occurrence.add(key, value)
        if recurring and "RECURRENCE-ID" not in occurrence and "DTSTART" in occurrence:
            occurrence.add("RECURRENCE-ID", occurrence["DTSTART"].dt)
        out.add_component(occurrence)
    return bytes(out.to_ical())


def renderer(data: Element | None) -> Any:
    window = None
    if data is not None:
        ex = data.find(qn(CALDAV, "expand"))
        if ex is not None:
            start, end = filters.parse_utc(ex.get("start")), filters.parse_utc(ex.get("end"))
            if start is None or end is None:
                raise DavError(403, qn(CALDAV, "valid-filter"), "expand needs start and end")
            window = (start, end)

    async def render(ctx: Context, res: r.Resource, body: bytes) -> Element:
        if window is not None and res.item is not None:
            try:
                body = expand(body, *window)
            except Exception:  # an object we cannot expand is returned whole
                pass
        return element(qn(CALDAV, "calendar-data"), body.decode("utf-8", "replace"))

    return render


async def calendar_query(ctx: Context, res: r.Resource, root: Element) -> Response:
    _calendar_collection(res)
    assert res.folder is not None
    names, data, data_name = requested_props(root)
    top = filters.parse_filter(root.find(qn(CALDAV, "filter")))
    inner = top.comps[0] if len(top.comps) == 1 else None
    tr = inner.time_range if inner is not None else None
    if tr is not None:
        start, end = tr.epoch()
        candidates = await calendar.items_in_range(ctx.mailbox, res.folder.id, start, end)
    else:
        candidates = [item async for item in ctx.mailbox.iter_items(res.folder.id)]
    wanted_kind = _KINDS.get(inner.name) if inner is not None and not inner.not_defined else None
    if wanted_kind is not None:
        candidates = [i for i in candidates if i.kind == wanted_kind or i.kind not in _KINDS.values()]
    bodies = await sources(ctx, candidates)
    members = []
    fast = top.simple_time_range
    window = None
    if tr is not None:
        window = (tr.start or dt.datetime(1900, 1, 1, tzinfo=dt.UTC), tr.end or dt.datetime(2200, 1, 1, tzinfo=dt.UTC))
    for item, body in zip(candidates, bodies, strict=True):
        if (
            fast
            and item.start_time is not None
            and item.end_time is not None
            and not any(m in body for m in _RECURRING)
        ):
            members.append(r.member(res, item))
            continue
        if fast and window is not None and inner is not None and inner.name == "VEVENT":
            decided = ical.recurs_within(body, *window)  # the plain recurring event, without a full parse
            if decided is not None:
                if decided:
                    members.append(r.member(res, item))
                continue
        try:
            cal = icalendar.Calendar.from_ical(body)
        except Exception:
            continue
        if filters.matches(cal, top):
            members.append(r.member(res, item))
    limit = root.find(qn(CALDAV, "limit"))
    if limit is not None:
        n = int(limit.findtext(qn(CALDAV, "nresults")) or "0")
        members = members[:n] if n > 0 else members
    ms = multistatus()
    await respond(ctx, members, names, data_name, renderer(data), ms)
    return xml_response(ms)


async def calendar_multiget(ctx: Context, res: r.Resource, root: Element) -> Response:
    _calendar_collection(res)
    _, data, _ = requested_props(root)
    return await multiget(ctx, res, root, renderer(data))


async def busy_periods(
    ctx: Context, box: Mailbox, folder_id: int, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime, str]]:
    """Busy periods of one calendar folder of ``box`` within [start, end), clipped, in UTC."""
    items = await calendar.items_in_range(box, folder_id, int(start.timestamp()), int(end.timestamp()))
    periods: list[tuple[dt.datetime, dt.datetime, str]] = []
    for body in await sources(ctx, [i for i in items if i.kind == "event"]):
        try:
            cal = icalendar.Calendar.from_ical(body)
            occurrences = list(recurring_ical_events.of(cal).between(start, end))
        except Exception:
            continue
        for ev in occurrences:
            if str(ev.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
                continue
            status = str(ev.get("STATUS", "CONFIRMED")).upper()
            if status == "CANCELLED" or "DTSTART" not in ev:
                continue
            s = max(_utc(ev["DTSTART"]), start)
            e = min(_utc(ev["DTEND"]) if "DTEND" in ev else s, end)
            periods.append((s, e, "BUSY-TENTATIVE" if status == "TENTATIVE" else "BUSY"))
    return sorted(periods)


def vfreebusy(
    start: dt.datetime,
    end: dt.datetime,
    periods: list[tuple[dt.datetime, dt.datetime, str]],
    *,
    method: str | None = None,
    extra: list[str] = (),  # type: ignore[assignment]
) -> bytes:
    fmt = "%Y%m%dT%H%M%SZ"
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Kastell//DAV//EN"]
    if method:
        lines.append(f"METHOD:{method}")
    lines += [
        "BEGIN:VFREEBUSY",
        f"DTSTAMP:{dt.datetime.now(dt.UTC).strftime(fmt)}",
        f"DTSTART:{start.strftime(fmt)}",
        f"DTEND:{end.strftime(fmt)}",
        *extra,
    ]
    for s, e, kind in periods:
        lines.append(f"FREEBUSY;FBTYPE={kind}:{s.strftime(fmt)}/{e.strftime(fmt)}")
    lines += ["END:VFREEBUSY", "END:VCALENDAR", ""]
    return "\r\n".join(lines).encode()


async def free_busy_query(ctx: Context, res: r.Resource, root: Element) -> Response:
    """Busy periods of the calendar in the range as one VFREEBUSY (RFC 4791 §7.10)."""
    _calendar_collection(res)
    assert res.folder is not None
    tr = filters.TimeRange.parse(root.find(qn(CALDAV, "time-range")))
    if tr is None or tr.start is None or tr.end is None:
        raise DavError(400, None, "free-busy-query needs a time-range with start and end")
    periods = await busy_periods(ctx, ctx.mailbox, res.folder.id, tr.start, tr.end)
    return Response(vfreebusy(tr.start, tr.end, periods), 200, media_type="text/calendar; charset=utf-8")
