"""python-caldav, a real CalDAV client, against the real server over a loopback socket."""

from __future__ import annotations

import datetime as dt
import uuid

import caldav
import pytest

from tests.protocols.dav.conftest import ALICE, Dav

UTC = dt.UTC


@pytest.fixture
def principal(dav_server: Dav) -> caldav.Principal:
    client = caldav.DAVClient(url=f"{dav_server.url}/.well-known/caldav", username=ALICE[0], password=ALICE[1])
    return client.principal()


def test_discovery_from_well_known(principal: caldav.Principal) -> None:
    assert str(principal.url).endswith(f"/dav/principals/{ALICE[0]}/")
    names = {c.get_display_name() for c in principal.calendars()}
    assert {"Calendar", "Tasks", "Notes"} <= names


def test_make_calendar_save_and_time_range_search(principal: caldav.Principal) -> None:
    cal = principal.make_calendar(name=f"Work {uuid.uuid4().hex[:6]}")
    assert cal.get_display_name().startswith("Work ")
    cal.save_event(
        dtstart=dt.datetime(2026, 3, 2, 10, tzinfo=UTC),
        dtend=dt.datetime(2026, 3, 2, 11, tzinfo=UTC),
        summary="standup",
        rrule={"FREQ": "WEEKLY", "COUNT": 10},
        uid="rec-standup",
    )
    cal.save_event(
        dtstart=dt.datetime(2026, 3, 5, 10, tzinfo=UTC),
        dtend=dt.datetime(2026, 3, 5, 11, tzinfo=UTC),
        summary="single",
        uid="single-1",
    )
    cal.save_event(
        dtstart=dt.datetime(2026, 7, 1, 10, tzinfo=UTC),
        dtend=dt.datetime(2026, 7, 1, 11, tzinfo=UTC),
        summary="summer",
        uid="summer-1",
    )
    found = cal.search(start=dt.datetime(2026, 3, 20, tzinfo=UTC), end=dt.datetime(2026, 3, 31, tzinfo=UTC), event=True)
    assert [str(e.icalendar_component["SUMMARY"]) for e in found] == ["standup"]
    expanded = cal.search(
        start=dt.datetime(2026, 3, 20, tzinfo=UTC), end=dt.datetime(2026, 3, 31, tzinfo=UTC), event=True, expand=True
    )
    starts = sorted(e.icalendar_component["DTSTART"].dt for e in expanded)
    assert starts == [dt.datetime(2026, 3, 23, 10, tzinfo=UTC), dt.datetime(2026, 3, 30, 10, tzinfo=UTC)]
    # After the tenth (last) instance on 4 May nothing recurs.
    assert (
        cal.search(start=dt.datetime(2026, 5, 10, tzinfo=UTC), end=dt.datetime(2026, 6, 1, tzinfo=UTC), event=True)
        == []
    )
    early = cal.search(start=dt.datetime(2026, 3, 1, tzinfo=UTC), end=dt.datetime(2026, 3, 8, tzinfo=UTC), event=True)
    assert sorted(str(e.icalendar_component["SUMMARY"]) for e in early) == ["single", "standup"]
    assert len(cal.events()) == 3


def test_override_and_exdate(principal: caldav.Principal) -> None:
    cal = principal.make_calendar(name="Overrides")
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
        "BEGIN:VEVENT\r\nUID:ov-1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T090000Z\r\n"
        "DTEND:20260105T100000Z\r\nRRULE:FREQ=DAILY\r\nEXDATE:20260107T090000Z\r\nSUMMARY:daily\r\nEND:VEVENT\r\n"
        "BEGIN:VEVENT\r\nUID:ov-1\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:20260106T090000Z\r\n"
        "DTSTART:20260120T090000Z\r\nDTEND:20260120T100000Z\r\nSUMMARY:moved\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    cal.save_event(ics)
    # The 6 Jan instance moved to 20 Jan and the 7th is excluded: nothing on 6-7 Jan.
    assert (
        cal.search(start=dt.datetime(2026, 1, 6, tzinfo=UTC), end=dt.datetime(2026, 1, 8, tzinfo=UTC), event=True) == []
    )
    assert (
        len(cal.search(start=dt.datetime(2026, 1, 8, tzinfo=UTC), end=dt.datetime(2026, 1, 9, tzinfo=UTC), event=True))
        == 1
    )


def test_multiget_sync_token_and_freebusy(principal: caldav.Principal) -> None:
    cal = principal.make_calendar(name="Sync")
    events = [
        cal.save_event(
            dtstart=dt.datetime(2026, 4, d, 9, tzinfo=UTC),
            dtend=dt.datetime(2026, 4, d, 10, tzinfo=UTC),
            summary=f"e{d}",
        )
        for d in (1, 2, 3)
    ]
    got = cal.calendar_multiget([e.url for e in events])
    assert sorted(str(e.icalendar_component["SUMMARY"]) for e in got) == ["e1", "e2", "e3"]
    first = cal.objects_by_sync_token(load_objects=False)
    assert len(list(first)) == 3
    token = first.sync_token
    events[0].delete()
    cal.save_event(
        dtstart=dt.datetime(2026, 4, 9, 9, tzinfo=UTC), dtend=dt.datetime(2026, 4, 9, 10, tzinfo=UTC), summary="e9"
    )
    later = cal.objects_by_sync_token(sync_token=token, load_objects=True)
    changed = list(later)
    assert len(changed) == 2  # the new one, and the deleted one (reported gone)
    assert later.sync_token != token
    fb = cal.freebusy_request(dt.datetime(2026, 4, 1, tzinfo=UTC), dt.datetime(2026, 4, 30, tzinfo=UTC))
    text = fb.data
    assert "FREEBUSY" in text and "20260402T090000Z/20260402T100000Z" in text


def test_todos(principal: caldav.Principal) -> None:
    tasks = next(c for c in principal.calendars() if c.get_display_name() == "Tasks")
    todo = tasks.save_todo(summary="write the report", uid=f"todo-{uuid.uuid4().hex}")
    assert any(str(t.icalendar_component["SUMMARY"]) == "write the report" for t in tasks.todos())
    todo.complete()
    assert all(str(t.icalendar_component["SUMMARY"]) != "write the report" for t in tasks.todos())
    assert any(str(t.icalendar_component["SUMMARY"]) == "write the report" for t in tasks.todos(include_completed=True))
