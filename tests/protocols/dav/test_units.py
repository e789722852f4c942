"""Sans-I/O pieces of the DAV package: filters, If header, iCalendar/vCard helpers."""

from __future__ import annotations

import icalendar
import pytest
from lxml import etree

from kastell.formats import ical, vcard
from kastell.protocols.dav import locks
from kastell.protocols.dav.caldav import filters
from kastell.protocols.dav.carddav import reports as card_reports
from kastell.protocols.dav.errors import DavError
from kastell.protocols.dav.xml import parse

CAL = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//t//EN\r
BEGIN:VEVENT\r
UID:weekly\r
DTSTAMP:20260101T000000Z\r
DTSTART:20260105T090000Z\r
DTEND:20260105T100000Z\r
RRULE:FREQ=WEEKLY;COUNT=4\r
SUMMARY:Team Sync\r
ATTENDEE;PARTSTAT=NEEDS-ACTION;CN=Bob:mailto:bob@example.com\r
ORGANIZER:mailto:alice@example.com\r
END:VEVENT\r
END:VCALENDAR\r
"""


def calendar_filter(inner: str) -> filters.CompFilter:
    xml = (
        '<C:filter xmlns:C="urn:ietf:params:xml:ns:caldav"><C:comp-filter name="VCALENDAR">'
        f"{inner}</C:comp-filter></C:filter>"
    ).encode()
    return filters.parse_filter(etree.fromstring(xml))


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        (
            '<C:comp-filter name="VEVENT"><C:time-range start="20260119T000000Z" end="20260120T000000Z"/></C:comp-filter>',
            True,
        ),
        (
            '<C:comp-filter name="VEVENT"><C:time-range start="20260202T000000Z" end="20260203T000000Z"/></C:comp-filter>',
            False,
        ),
        ('<C:comp-filter name="VTODO"/>', False),
        (
            '<C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match>team</C:text-match></C:prop-filter></C:comp-filter>',
            True,
        ),
        (
            '<C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY">'
            '<C:text-match collation="i;octet">team</C:text-match></C:prop-filter></C:comp-filter>',
            False,
        ),
        (
            '<C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY">'
            '<C:text-match negate-condition="yes">Lunch</C:text-match></C:prop-filter></C:comp-filter>',
            True,
        ),
        (
            '<C:comp-filter name="VEVENT"><C:prop-filter name="LOCATION"><C:is-not-defined/></C:prop-filter></C:comp-filter>',
            True,
        ),
        (
            '<C:comp-filter name="VEVENT"><C:prop-filter name="ATTENDEE"><C:param-filter name="PARTSTAT">'
            "<C:text-match>NEEDS-ACTION</C:text-match></C:param-filter></C:prop-filter></C:comp-filter>",
            True,
        ),
    ],
)
def test_calendar_filters(inner: str, expected: bool) -> None:
    assert filters.matches(icalendar.Calendar.from_ical(CAL), calendar_filter(inner)) is expected


def test_bad_filters_are_refused() -> None:
    with pytest.raises(DavError) as exc:
        calendar_filter('<C:comp-filter name="VEVENT"><C:time-range start="yesterday"/></C:comp-filter>')
    assert exc.value.status == 403 and "valid-filter" in (exc.value.condition or "")
    with pytest.raises(DavError):
        filters.parse_filter(etree.fromstring(b'<C:filter xmlns:C="urn:ietf:params:xml:ns:caldav"/>'))


def test_card_filters() -> None:
    lines = card_reports.lines_of(
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:1\r\nFN:Ann\r\n Smith\r\nitem1.EMAIL;TYPE=work:ann@x.org\r\nEND:VCARD\r\n"
    )
    assert ("FN", {}, "AnnSmith") in lines
    xml = (
        b'<C:filter xmlns:C="urn:ietf:params:xml:ns:carddav" test="allof">'
        b'<C:prop-filter name="EMAIL"><C:text-match match-type="ends-with">@X.ORG</C:text-match>'
        b'<C:param-filter name="TYPE"><C:text-match match-type="equals">work</C:text-match></C:param-filter>'
        b"</C:prop-filter></C:filter>"
    )
    anyof, props = card_reports.parse_filter(etree.fromstring(xml))
    assert not anyof and props[0].matches(lines)


def test_hostile_xml() -> None:
    with pytest.raises(DavError) as exc:
        parse(b'<!DOCTYPE a [<!ENTITY b SYSTEM "file:///etc/passwd">]><a>&b;</a>')
    assert exc.value.status == 400
    with pytest.raises(DavError):
        parse(b"<a><b></a>")
    assert parse(b"  ") is None


def test_if_header() -> None:
    table = locks.LockTable()
    lock = table.create("/files/a/x", "0", "exclusive", None, "a", 60)
    lists = locks.parse_if(f'(<{lock.token}> ["7"]) (Not <DAV:no-lock>)', "/dav")
    holds, submitted = locks.evaluate(lists, table, "/files/a/x", '"7"')
    assert holds and lock.token in submitted
    holds, _ = locks.evaluate(locks.parse_if("(<urn:uuid:bogus>)", "/dav"), table, "/files/a/x", None)
    assert not holds
    with pytest.raises(DavError):
        locks.parse_if("(<unclosed", "/dav")
    with pytest.raises(DavError) as exc:
        locks.require(table.covering("/files/a/x"), set())
    assert exc.value.status == 423


def test_calendar_validation_and_itip() -> None:
    component, uid, _ = ical.validate(CAL)
    assert (component, uid) == ("VEVENT", "weekly")
    organizer, attendees = ical.scheduling_info(icalendar.Calendar.from_ical(CAL))
    assert organizer == "alice@example.com" and attendees == {"bob@example.com": "NEEDS-ACTION"}
    accepted = ical.set_partstat(CAL, "bob@example.com", "ACCEPTED")
    assert ical.scheduling_info(icalendar.Calendar.from_ical(accepted))[1]["bob@example.com"] == "ACCEPTED"
    reply = ical.itip_message(accepted, "REPLY", attendee="bob@example.com")
    assert b"METHOD:REPLY" in reply and b"alice@example.com" in reply
    assert b"METHOD" not in ical.strip_method(reply)
    with pytest.raises(ical.InvalidCalendar):
        ical.validate(CAL.replace(b"UID:weekly\r\n", b""))


def test_vcard_versions() -> None:
    v3 = b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nFN:A\r\nX-ADDRESSBOOKSERVER-KIND:group\r\nEND:VCARD\r\n"
    assert vcard.validate(v3) == ("3.0", "u")
    v4 = vcard.convert(v3, "4.0")
    assert b"VERSION:4.0" in v4 and b"KIND:group" in v4
    assert vcard.card_version(v4) == "4.0"
    with pytest.raises(vcard.InvalidCard):
        vcard.validate(b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:x\r\nUID:1\r\nEND:VCARD\r\n")


def test_split_for_import() -> None:
    whole = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
        b"BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
        b"END:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Europe/Berlin:20260101T100000\r\nEND:VEVENT\r\n"
        b"BEGIN:VEVENT\r\nUID:b\r\nDTSTART:20260102T100000Z\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nSUMMARY:no uid\r\nEND:VTODO\r\n"
        b"END:VCALENDAR\r\n"
    )
    parts = ical.split_objects(whole)
    assert [p[0] for p in parts] == ["VEVENT", "VEVENT", "VTODO"]
    assert b"VTIMEZONE" in parts[0][2] and b"VTIMEZONE" not in parts[1][2]
    for _, uid, obj in parts:
        assert ical.validate(obj)[1] == uid
    cards = vcard.split_cards(
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:1\r\nFN:A\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:4.0\r\nFN:B\r\nEND:VCARD\r\n"
    )
    assert len(cards) == 2 and cards[0][0] == "1"
    assert vcard.validate(cards[1][1])[1] == cards[1][0]


def test_fast_recurrence_agrees_with_full_expansion() -> None:
    import datetime as dt
    import random

    import recurring_ical_events

    rng = random.Random(7)
    utc = dt.UTC
    checked = 0
    for n in range(150):
        tzid = rng.choice(["", "Europe/Berlin", "America/New_York", "Z"])
        day = dt.datetime(2026, 1, 1, 8) + dt.timedelta(days=rng.randrange(300), hours=rng.randrange(12))
        if tzid == "Z":
            start_line = f"DTSTART:{day:%Y%m%dT%H%M%S}Z"
        elif tzid:
            start_line = f"DTSTART;TZID={tzid}:{day:%Y%m%dT%H%M%S}"
        else:
            start_line = f"DTSTART:{day:%Y%m%dT%H%M%S}"
        end_line = start_line.replace("DTSTART", "DTEND").replace(
            f"{day:%Y%m%dT%H%M%S}", f"{day + dt.timedelta(minutes=rng.choice((0, 30, 90, 1500))):%Y%m%dT%H%M%S}"
        )
        rule = rng.choice(
            ["FREQ=DAILY;COUNT=10", "FREQ=WEEKLY;INTERVAL=2", "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20261231T000000Z",
             "FREQ=MONTHLY;BYMONTHDAY=15", "FREQ=YEARLY"]
        )  # fmt: skip
        exdate = ""
        if rng.random() < 0.5:
            exdate = (
                start_line.replace("DTSTART", "EXDATE").replace(
                    f"{day:%Y%m%dT%H%M%S}", f"{day + dt.timedelta(days=7):%Y%m%dT%H%M%S}"
                )
                + "\r\n"
            )
        source = (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:r\r\nDTSTAMP:20260101T000000Z\r\n"
            f"{start_line}\r\n{end_line}\r\nRRULE:{rule}\r\n{exdate}END:VEVENT\r\nEND:VCALENDAR\r\n"
        ).encode()
        lo = dt.datetime(2026, 1, 1, tzinfo=utc) + dt.timedelta(days=rng.randrange(400), hours=rng.randrange(24))
        hi = lo + dt.timedelta(hours=rng.choice((1, 24, 24 * 7, 24 * 31)))
        fast = ical.recurs_within(source, lo, hi)
        assert fast is not None, source
        slow = bool(list(recurring_ical_events.of(icalendar.Calendar.from_ical(source)).between(lo, hi)))
        assert fast == slow, (n, source, lo, hi)
        checked += 1
    assert checked == 150
