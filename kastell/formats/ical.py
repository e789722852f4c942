"""iCalendar objects (RFC 5545) as the store keeps them: the cached columns of an item.

The source text is stored byte-exact; these columns make listings and
time-range queries cheap. Parsing never raises: a calendar object that cannot
be read yields empty columns (protocols validate uploads before storing).
"""

from __future__ import annotations

import collections
import datetime as dt
from typing import Any

import icalendar

_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")
_FAR_PAST = -(2**62)


def _epoch(value: Any, tz: dt.tzinfo = dt.UTC) -> int | None:
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
            lasts = [_last_instance(component, r) for r in rules]
            if start is not None and end is not None and lasts and all(x is not None for x in lasts):
                end = max(x for x in lasts if x is not None) + (end - start)
            else:
                end = None  # a rule we cannot bound: stay a candidate
    return start, end


_MAX_COUNT = 100_000  # a longer COUNT is treated as unbounded rather than expanded


def _last_instance(component: Any, rule: Any) -> int | None:
    """Epoch start of the last instance of a bounded rule (UNTIL, or COUNT expanded)."""
    if "UNTIL" in rule:
        return _epoch(rule["UNTIL"][0])
    count = int(rule["COUNT"][0])
    if count > _MAX_COUNT:
        return None
    from dateutil import rrule as du

    first = component.get("DTSTART").dt
    if not isinstance(first, dt.datetime):
        first = dt.datetime(first.year, first.month, first.day)
    try:
        tail = collections.deque(du.rrulestr(rule.to_ical().decode(), dtstart=first), maxlen=1)
    except Exception:  # a rule dateutil cannot read: unbounded for indexing
        return None
    return _epoch(tail[0], first.tzinfo or dt.UTC) if tail else None


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


class InvalidCalendar(ValueError):
    """An iCalendar object that a calendar collection must not store (RFC 4791 §4.1)."""


def validate(source: bytes) -> tuple[str, str, Any]:
    """Check a calendar object resource; ``(component type, UID, parsed calendar)``.

    RFC 4791 §4.1: one VCALENDAR; its components (besides VTIMEZONE) all of one
    type and all with the same UID; at most one of them without RECURRENCE-ID.
    Raises InvalidCalendar with a reason fit for the client.
    """
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidCalendar("not UTF-8") from exc
    if "BEGIN:VCALENDAR" not in text.upper():
        raise InvalidCalendar("not an iCalendar object")
    try:
        calendars = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as exc:
        raise InvalidCalendar(f"unparsable iCalendar: {exc}") from exc
    if len(calendars) != 1 or calendars[0].name != "VCALENDAR":
        raise InvalidCalendar("exactly one VCALENDAR expected")
    calendar = calendars[0]
    kinds: set[str] = set()
    uids: set[str] = set()
    masters = 0
    for component in calendar.subcomponents:
        if component.name == "VTIMEZONE":
            continue
        if component.name not in _COMPONENTS:
            if component.name in ("VFREEBUSY", "VAVAILABILITY"):
                kinds.add(component.name)
            continue
        kinds.add(component.name)
        uid = component.get("UID")
        if uid is None or not str(uid).strip():
            raise InvalidCalendar(f"{component.name} without UID")
        uids.add(str(uid))
        if "RECURRENCE-ID" not in component:
            masters += 1
        if "DTSTART" in component:
            try:
                component.decoded("DTSTART")
            except Exception as exc:
                raise InvalidCalendar("unreadable DTSTART") from exc
    if len(kinds) != 1:
        raise InvalidCalendar("one component type per object" if kinds else "no VEVENT, VTODO or VJOURNAL")
    if len(uids) != 1:
        raise InvalidCalendar("all components must share one UID")
    if masters > 1:
        raise InvalidCalendar("more than one master component")
    return kinds.pop(), uids.pop(), calendar


KIND_OF_COMPONENT = {"VEVENT": "event", "VTODO": "task", "VJOURNAL": "note"}


# ------------------------------------------------------------------ iTIP (RFC 5546)


def address_of(value: Any) -> str:
    """``mailto:Bob@Example.com`` → ``bob@example.com`` (calendar user addresses)."""
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.lower()


def _attendee_list(component: Any) -> list[Any]:
    value = component.get("ATTENDEE")
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def scheduling_info(calendar: Any) -> tuple[str | None, dict[str, str]]:
    """(organizer address, {attendee address: PARTSTAT}) of an object, from its master."""
    component = main_component(calendar)
    if component is None or "ORGANIZER" not in component:
        return None, {}
    attendees = {
        address_of(a): str(getattr(a, "params", {}).get("PARTSTAT", "NEEDS-ACTION")).upper()
        for a in _attendee_list(component)
    }
    return address_of(component["ORGANIZER"]), attendees


def set_partstat(source: bytes, address: str, partstat: str) -> bytes:
    """The object with ``address``'s PARTSTAT set in every component (master and overrides)."""
    calendar = icalendar.Calendar.from_ical(source)
    for component in calendar.walk():
        if component.name not in _COMPONENTS:
            continue
        for attendee in _attendee_list(component):
            if address_of(attendee) == address:
                attendee.params["PARTSTAT"] = partstat
                attendee.params.pop("RSVP", None)
    return bytes(calendar.to_ical())


def itip_message(source: bytes, method: str, *, attendee: str | None = None) -> bytes:
    """An iTIP message (RFC 5546 §3.2) built from a stored object.

    ``method`` REQUEST or CANCEL carries the whole object (CANCEL with STATUS:CANCELLED);
    REPLY carries only ``attendee``'s ATTENDEE line, as §3.2.3 requires.
    """
    calendar = icalendar.Calendar.from_ical(source)
    calendar.pop("METHOD", None)
    calendar.add("METHOD", method)
    for component in calendar.walk():
        if component.name not in _COMPONENTS:
            continue
        if method == "CANCEL":
            component.pop("STATUS", None)
            component.add("STATUS", "CANCELLED")
        if method == "REPLY" and attendee is not None:
            keep = [a for a in _attendee_list(component) if address_of(a) == attendee]
            component.pop("ATTENDEE", None)
            for a in keep:
                component.add("ATTENDEE", a)
    return bytes(calendar.to_ical())


def strip_method(source: bytes) -> bytes:
    """A calendar object resource from an iTIP message: the same without METHOD (RFC 4791 §4.1)."""
    calendar = icalendar.Calendar.from_ical(source)
    calendar.pop("METHOD", None)
    return bytes(calendar.to_ical())


def split_objects(source: bytes) -> list[tuple[str, str, bytes]]:
    """A whole calendar (an export, a subscription) as calendar object resources:
    ``(component type, UID, one VCALENDAR per UID with the VTIMEZONEs it uses)``.

    For ``kastell import ics``: each result passes ``validate``. Components without a
    UID get a generated one, so nothing of the file is lost.
    """
    import uuid

    calendar = icalendar.Calendar.from_ical(source)
    timezones = {str(tz.get("TZID")): tz for tz in calendar.walk("VTIMEZONE")}
    groups: dict[str, list[Any]] = {}
    for component in calendar.subcomponents:
        if component.name not in _COMPONENTS:
            continue
        if "UID" not in component:
            component.add("UID", str(uuid.uuid4()))
        groups.setdefault(str(component["UID"]), []).append(component)
    out = []
    for uid, components in groups.items():
        obj = icalendar.Calendar()
        obj.add("VERSION", "2.0")
        obj.add("PRODID", str(calendar.get("PRODID", "-//Kastell//import//EN")))
        text = b"".join(c.to_ical() for c in components)
        for tzid, tz in timezones.items():
            if f"TZID={tzid}".encode() in text:
                obj.add_component(tz)
        for component in components:
            obj.add_component(component)
        out.append((components[0].name, uid, bytes(obj.to_ical())))
    return out


# ------------------------------------------------- fast recurrence test (hot path)

_FAST_PROPS = ("DTSTART", "DTEND", "DURATION", "RRULE", "EXDATE")


def _fast_time(value: str, params: dict[str, str]) -> dt.datetime:
    """A DATE or DATE-TIME value as an aware datetime (floating and dates read as UTC)."""
    if len(value) == 8:
        return dt.datetime.strptime(value, "%Y%m%d").replace(tzinfo=dt.UTC)
    if value.endswith("Z"):
        return dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    naive = dt.datetime.strptime(value, "%Y%m%dT%H%M%S")
    tzid = params.get("TZID")
    if tzid:
        import zoneinfo

        return naive.replace(tzinfo=zoneinfo.ZoneInfo(tzid.strip('"')))
    return naive.replace(tzinfo=dt.UTC)


def recurs_within(source: bytes, start: dt.datetime, end: dt.datetime) -> bool | None:
    """Does the one recurring VEVENT of ``source`` have an instance overlapping [start, end)?

    A fast path for the most common calendar-query (RFC 4791 §9.9): the object is
    read line by line and the rule expanded with dateutil, without building an
    icalendar tree. Only the plain shape is decided here — one VEVENT, an RRULE,
    optional EXDATEs, TZIDs that zoneinfo knows; anything else (RDATE, overrides,
    custom VTIMEZONEs that zoneinfo lacks, odd values) returns None and the caller
    takes the full path.
    """
    text = source.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\n ", "").replace("\n\t", "")
    upper = text.upper()
    if upper.count("BEGIN:VEVENT") != 1 or "RDATE" in upper or "RECURRENCE-ID" in upper:
        return None
    found: dict[str, list[tuple[str, dict[str, str]]]] = {}
    inside = False
    for line in text.split("\n"):
        head = line.upper()
        if head.startswith("BEGIN:VEVENT"):
            inside = True
            continue
        if head.startswith("END:VEVENT"):
            break
        if not inside:
            continue
        name_params, sep, value = line.partition(":")
        if not sep:
            continue
        parts = name_params.split(";")
        name = parts[0].upper()
        if name in _FAST_PROPS:
            params = {}
            for p in parts[1:]:
                k, _, v = p.partition("=")
                params[k.upper()] = v
            found.setdefault(name, []).append((value.strip(), params))
    if "DTSTART" not in found or len(found.get("RRULE", [])) != 1:
        return None
    try:
        from dateutil import rrule as du

        first = _fast_time(*found["DTSTART"][0])
        if "DTEND" in found:
            length = _fast_time(*found["DTEND"][0]) - first
        elif "DURATION" in found:
            length = icalendar.vDuration.from_ical(found["DURATION"][0][0])  # type: ignore[no-untyped-call]
        else:
            length = dt.timedelta(days=1) if len(found["DTSTART"][0][0]) == 8 else dt.timedelta(0)
        excluded = {
            _fast_time(v, params).astimezone(dt.UTC)
            for value, params in found.get("EXDATE", [])
            for v in value.split(",")
        }
        rule = du.rrulestr(found["RRULE"][0][0], dtstart=first)
        # Instances starting in (start - length, end) may overlap; a zero-length one at start counts.
        for instance in rule.between(start - length, end, inc=True):
            begins = instance.astimezone(dt.UTC)
            if begins in excluded:
                continue
            ends = begins + length
            if begins < end and (ends > start or (length == dt.timedelta(0) and begins >= start)):
                return True
        return False
    except Exception:  # anything unusual: let the full path decide
        return None
