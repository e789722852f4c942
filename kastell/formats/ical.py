"""iCalendar objects (RFC 5545) as the store keeps them: the cached columns of an item.

The source text is stored byte-exact; these columns make listings and
time-range queries cheap. Parsing never raises: a calendar object that cannot
be read yields empty columns (protocols validate uploads before storing).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import icalendar

_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")
_FAR_PAST = -(2**62)


def _epoch(value: Any, tz: dt.tzinfo = dt.timezone.utc) -> int | None:
    if value is None:
        return None
    when = getattr(value, "dt", value)
    if isinstance(when, dt.datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=tz)  # floating time: read as UTC for indexing
        return int(when.timestamp())
    if isinstance(when, dt.date):
        return int(dt.datetime(when.year, when.month, when.day, tzinfo=tz).timestamp())
    return None


def main_component(calendar: icalendar.Calendar) -> Any:
    """The master component (the one without RECURRENCE-ID), else the first one."""
    first = None
    for component in calendar.walk():
        if component.name in _COMPONENTS:
            if "RECURRENCE-ID" not in component:
                return component
            first = first or component
    return first


def span(component: Any) -> tuple[int | None, int | None]:
    """(start, end) in epoch seconds; end None when the object recurs without bound."""
    start = _epoch(component.get("DTSTART"))
    end = _epoch(component.get("DTEND")) or _epoch(component.get("DUE"))
    if end is None and start is not None:
        duration = component.get("DURATION")
        if duration is not None:
            end = start + int(duration.dt.total_seconds())
        else:
            value = component.get("DTSTART")
            all_day = value is not None and not isinstance(value.dt, dt.datetime)
            end = start + (86400 if all_day else 0)
    if "RRULE" in component or "RDATE" in component:
        rule = component.get("RRULE")
        rules = rule if isinstance(rule, list) else [rule] if rule is not None else []
        if any("UNTIL" not in r and "COUNT" not in r for r in rules) or "RDATE" in component:
            end = None  # unbounded (or irregular): always a candidate for time-range queries
        else:
            untils = [_epoch(r["UNTIL"][0]) for r in rules if "UNTIL" in r]
            if untils and all(u is not None for u in untils) and start is not None and end is not None:
                end = max(u for u in untils if u is not None) + (end - start)
            else:
                end = None  # COUNT: the exact last instance is the DAV layer's business
    return start, end


def item_columns(source: bytes) -> dict[str, Any]:
    try:
        calendar = icalendar.Calendar.from_ical(source)
        component = main_component(calendar)
    except Exception:  # the store never refuses what a protocol accepted
        return {}
    if component is None:
        return {}
    start, end = span(component)
    summary = str(component.get("SUMMARY", ""))[:4000]
    uid = component.get("UID")
    return {
        "subject": summary,
        "object_uid": str(uid)[:512] if uid is not None else None,
        "start_time": start,
        "end_time": end,
        "preview": str(component.get("DESCRIPTION", ""))[:256],
    }
