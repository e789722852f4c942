"""calendar-query filters (RFC 4791 §9.7) parsed once, evaluated per object.

Time ranges on recurring objects are answered by expanding the recurrence set
(RRULE, RDATE, EXDATE and RECURRENCE-ID overrides) with ``recurring_ical_events``,
so an instance moved into or out of the range by an override counts correctly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import recurring_ical_events

from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.xml import CALDAV, Element, qn

UTC = dt.UTC


def parse_utc(text: str | None) -> dt.datetime | None:
    """A time-range bound: a UTC DATE-TIME like ``20260101T000000Z`` (RFC 4791 §9.9)."""
    if text is None:
        return None
    try:
        return dt.datetime.strptime(text.strip(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise DavError(403, qn(CALDAV, "valid-filter"), f"bad time-range value {text!r}") from exc


@dataclass
class TimeRange:
    start: dt.datetime | None
    end: dt.datetime | None

    @classmethod
    def parse(cls, el: Element | None) -> TimeRange | None:
        if el is None:
            return None
        tr = cls(parse_utc(el.get("start")), parse_utc(el.get("end")))
        if tr.start is None and tr.end is None:
            raise DavError(403, qn(CALDAV, "valid-filter"), "time-range without start or end")
        return tr

    def epoch(self) -> tuple[int | None, int | None]:
        return (
            int(self.start.timestamp()) if self.start else None,
            int(self.end.timestamp()) if self.end else None,
        )


@dataclass
class TextMatch:
    text: str
    negate: bool
    collation: str

    @classmethod
    def parse(cls, el: Element | None) -> TextMatch | None:
        if el is None:
            return None
        collation = el.get("collation", "i;ascii-casemap")
        if collation not in ("i;ascii-casemap", "i;octet", "i;unicode-casemap"):
            raise DavError(403, qn(CALDAV, "supported-collation"), collation)
        return cls(el.text or "", el.get("negate-condition", "no") == "yes", collation)

    def matches(self, value: str) -> bool:
        hit = self.text in value if self.collation == "i;octet" else self.text.casefold() in value.casefold()
        return hit != self.negate


@dataclass
class ParamFilter:
    name: str
    not_defined: bool
    text: TextMatch | None


@dataclass
class PropFilter:
    name: str
    not_defined: bool
    time_range: TimeRange | None
    text: TextMatch | None
    params: list[ParamFilter] = field(default_factory=list)


@dataclass
class CompFilter:
    name: str
    not_defined: bool
    time_range: TimeRange | None
    props: list[PropFilter] = field(default_factory=list)
    comps: list[CompFilter] = field(default_factory=list)

    @property
    def simple_time_range(self) -> bool:
        """Only VCALENDAR > one component with a bare time-range (the common client query)."""
        if self.props or self.not_defined or self.time_range or len(self.comps) != 1:
            return False
        inner = self.comps[0]
        return not inner.props and not inner.comps and not inner.not_defined


def _comp(el: Element) -> CompFilter:
    name = el.get("name")
    if not name:
        raise DavError(403, qn(CALDAV, "valid-filter"), "comp-filter without name")
    cf = CompFilter(
        name.upper(),
        el.find(qn(CALDAV, "is-not-defined")) is not None,
        TimeRange.parse(el.find(qn(CALDAV, "time-range"))),
    )
    for child in el:
        if child.tag == qn(CALDAV, "comp-filter"):
            cf.comps.append(_comp(child))
        elif child.tag == qn(CALDAV, "prop-filter"):
            pname = child.get("name")
            if not pname:
                raise DavError(403, qn(CALDAV, "valid-filter"), "prop-filter without name")
            pf = PropFilter(
                pname.upper(),
                child.find(qn(CALDAV, "is-not-defined")) is not None,
                TimeRange.parse(child.find(qn(CALDAV, "time-range"))),
                TextMatch.parse(child.find(qn(CALDAV, "text-match"))),
            )
            for param in child.findall(qn(CALDAV, "param-filter")):
                pf.params.append(
                    ParamFilter(
                        (param.get("name") or "").upper(),
                        param.find(qn(CALDAV, "is-not-defined")) is not None,
                        TextMatch.parse(param.find(qn(CALDAV, "text-match"))),
                    )
                )
            cf.props.append(pf)
    return cf


def parse_filter(el: Element | None) -> CompFilter:
    if el is None:
        raise DavError(403, qn(CALDAV, "valid-filter"), "calendar-query needs a filter")
    top = el.find(qn(CALDAV, "comp-filter"))
    if top is None or (top.get("name") or "").upper() != "VCALENDAR":
        raise DavError(403, qn(CALDAV, "valid-filter"), "the filter must start with VCALENDAR")
    return _comp(top)


def _overlaps(calendar: Any, name: str, tr: TimeRange) -> bool:
    start = tr.start or dt.datetime(1900, 1, 1, tzinfo=UTC)
    end = tr.end or dt.datetime(2200, 1, 1, tzinfo=UTC)
    if name == "VTODO":
        # RFC 4791 §9.9: a VTODO without DTSTART, DUE and COMPLETED matches every range.
        for todo in calendar.walk("VTODO"):
            if not any(k in todo for k in ("DTSTART", "DUE", "COMPLETED", "CREATED")):
                return True
    try:
        query = recurring_ical_events.of(calendar, components=[name])
        for _ in query.between(start, end):
            return True
    except Exception:  # an unexpandable rule: be generous, the client filters again
        return True
    return False


def _prop_matches(component: Any, pf: PropFilter) -> bool:
    values = component.get(pf.name)
    if values is None:
        return pf.not_defined
    if pf.not_defined:
        return False
    if not isinstance(values, list):
        values = [values]
    for value in values:
        ok = True
        if pf.text is not None:
            ok = pf.text.matches(
                value.to_ical().decode("utf-8", "replace") if hasattr(value, "to_ical") else str(value)
            )
        if ok and pf.time_range is not None:
            when = getattr(value, "dt", None)
            if isinstance(when, dt.date) and not isinstance(when, dt.datetime):
                when = dt.datetime(when.year, when.month, when.day, tzinfo=UTC)
            if isinstance(when, dt.datetime):
                when = when if when.tzinfo else when.replace(tzinfo=UTC)
                ok = (tr_start := pf.time_range.start) is None or when >= tr_start
                ok = ok and (pf.time_range.end is None or when < pf.time_range.end)
            else:
                ok = False
        for param in pf.params:
            if not ok:
                break
            pvalue = getattr(value, "params", {}).get(param.name)
            if pvalue is None:
                ok = param.not_defined
            elif param.not_defined:
                ok = False
            elif param.text is not None:
                ok = param.text.matches(str(pvalue))
        if ok:
            return True
    return False


def _comp_matches(calendar: Any, parent: Any, cf: CompFilter) -> bool:
    components = [c for c in parent.subcomponents if c.name == cf.name]
    if cf.not_defined:
        return not components
    if not components:
        return False
    if cf.time_range is not None and not _overlaps(calendar, cf.name, cf.time_range):
        return False
    if not cf.props and not cf.comps:
        return True
    return any(
        all(_prop_matches(c, pf) for pf in cf.props) and all(_comp_matches(calendar, c, sub) for sub in cf.comps)
        for c in components
    )


def matches(calendar: Any, top: CompFilter) -> bool:
    """Does the parsed VCALENDAR pass the filter whose top is the VCALENDAR comp-filter?"""
    if top.not_defined:
        return False
    if not all(_prop_matches(calendar, pf) for pf in top.props):
        return False
    return all(_comp_matches(calendar, calendar, cf) for cf in top.comps)
