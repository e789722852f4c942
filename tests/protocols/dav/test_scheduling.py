"""Implicit scheduling (RFC 6638): alice invites bob, a room and someone outside."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx

from kastell.app import Kastell
from kastell.config import load
from tests.protocols.dav.conftest import ALICE, BOB, ROOM, Dav

INVITE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
    "DTSTAMP:20260101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:{summary}\r\n"
    "ORGANIZER:mailto:{alice}\r\n"
    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:{alice}\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{bob}\r\n"
    "ATTENDEE;CUTYPE=ROOM;PARTSTAT=NEEDS-ACTION:mailto:{room}\r\n"
    "{extra}"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def invite(uid: str, summary: str, start: str, end: str, extra: str = "") -> str:
    return INVITE.format(
        uid=uid, summary=summary, start=start, end=end, alice=ALICE[0], bob=BOB[0], room=ROOM, extra=extra
    )


async def sent_messages(data: Path) -> list[bytes]:
    app = await Kastell.open(load(data))
    try:
        account = await app.directory.get_account(ALICE[0])
        box = await app.store.open(account.org_id, account.id)
        sent = await box.folder_by_role("sent")
        return [await box.source(item) async for item in box.iter_items(sent.id)]
    finally:
        await app.close()


def find(http: httpx.Client, owner: str, uid: str) -> tuple[str, str] | None:
    """(href, data) of the object with this UID in the owner's default calendar."""
    query = (
        '<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        '<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR">'
        '<C:comp-filter name="VEVENT"><C:prop-filter name="UID"><C:text-match collation="i;octet">'
        f"{uid}</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    )
    r = http.request("REPORT", f"/dav/calendars/{owner}/Calendar/", content=query.encode(), headers={"Depth": "1"})
    assert r.status_code == 207, r.text
    m = re.search(r"<D:href>([^<]+)</D:href>.*?<C:calendar-data>([^<]+)</C:calendar-data>", r.text, re.S)
    return (m.group(1), m.group(2).replace("&#13;", "\r")) if m else None


def test_invitation_reply_room_and_cancel(dav_server: Dav) -> None:
    alice = httpx.Client(base_url=dav_server.url, auth=ALICE)
    bob = httpx.Client(base_url=dav_server.url, auth=BOB)
    href = f"/dav/calendars/{ALICE[0]}/Calendar/meeting.ics"
    body = invite(
        "sched-1",
        "Planning",
        "20260610T090000Z",
        "20260610T100000Z",
        extra="ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:carol@elsewhere.example\r\n",
    )
    assert alice.put(href, content=body).status_code == 201

    # Bob has the invitation in his calendar.
    found = find(bob, BOB[0], "sched-1")
    assert found is not None and "Planning" in found[1]
    # The room accepted at once, and alice's copy says so.
    mine = alice.get(href).text
    assert re.search(r"PARTSTAT=ACCEPTED[^\r\n]*:mailto:" + re.escape(ROOM), mine.replace("\r\n ", ""))

    # Bob accepts: alice's copy shows his PARTSTAT.
    bob_href, bob_data = found
    accepted = bob_data.replace(
        f"PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{BOB[0]}", f"PARTSTAT=ACCEPTED:mailto:{BOB[0]}"
    )
    unfolded = bob_data.replace("\r\n ", "")
    if accepted == bob_data:  # icalendar may have re-ordered or folded the line
        accepted = re.sub(
            r"ATTENDEE;[^\r\n]*mailto:" + re.escape(BOB[0]), f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{BOB[0]}", unfolded
        )
    assert bob.put(bob_href, content=accepted).status_code == 204
    updated = alice.get(href).text.replace("\r\n ", "")
    assert re.search(r"PARTSTAT=ACCEPTED[^\r\n]*:mailto:" + re.escape(BOB[0]), updated), updated

    # A second meeting at the same time: the room is busy and declines.
    clash = f"/dav/calendars/{ALICE[0]}/Calendar/clash.ics"
    assert (
        alice.put(clash, content=invite("sched-2", "Clash", "20260610T093000Z", "20260610T103000Z")).status_code == 201
    )
    assert re.search(r"PARTSTAT=DECLINED[^\r\n]*:mailto:" + re.escape(ROOM), alice.get(clash).text.replace("\r\n ", ""))

    # The external attendee got an iMIP message through the submission API (a copy in Sent).
    sent = asyncio.run(sent_messages(dav_server.data))
    imip = [m for m in sent if b"carol@elsewhere.example" in m]
    assert imip and b"text/calendar" in imip[0] and b"METHOD:REQUEST" in imip[0]

    # Free/busy of bob through alice's outbox (RFC 6638 §5).
    fb = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\n"
        "UID:fb-1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260610T000000Z\r\nDTEND:20260611T000000Z\r\n"
        f"ORGANIZER:mailto:{ALICE[0]}\r\nATTENDEE:mailto:{BOB[0]}\r\nATTENDEE:mailto:nobody@nowhere.example\r\n"
        "END:VFREEBUSY\r\nEND:VCALENDAR\r\n"
    )
    r = alice.post(f"/dav/calendars/{ALICE[0]}/outbox/", content=fb, headers={"Content-Type": "text/calendar"})
    assert r.status_code == 200 and "20260610T090000Z/20260610T100000Z" in r.text and "3.7;" in r.text

    # The organizer deletes: the meeting leaves bob's calendar.
    assert alice.delete(href).status_code == 204
    assert find(bob, BOB[0], "sched-1") is None


def test_principal_advertises_scheduling(dav_server: Dav) -> None:
    http = httpx.Client(base_url=dav_server.url, auth=ALICE)
    body = (
        b'<propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><prop>'
        b"<C:schedule-inbox-URL/><C:schedule-outbox-URL/></prop></propfind>"
    )
    r = http.request("PROPFIND", f"/dav/principals/{ALICE[0]}/", content=body, headers={"Depth": "0"})
    assert f"/dav/calendars/{ALICE[0]}/inbox/" in r.text and f"/dav/calendars/{ALICE[0]}/outbox/" in r.text
    outbox = http.request("PROPFIND", f"/dav/calendars/{ALICE[0]}/outbox/", headers={"Depth": "0"})
    assert outbox.status_code == 207 and "schedule-outbox" in outbox.text
    assert "calendar-auto-schedule" in http.options("/dav/").headers["dav"]


def test_imip_reply_updates_the_organizers_copy(dav_server: Dav) -> None:
    from kastell.formats import ical
    from kastell.protocols.dav.caldav.scheduling import receive_imip_reply

    alice = httpx.Client(base_url=dav_server.url, auth=ALICE)
    body = INVITE.replace("ATTENDEE;CUTYPE=ROOM;PARTSTAT=NEEDS-ACTION:mailto:{room}\r\n", "").format(
        uid="ext-1",
        summary="Outside",
        start="20260801T090000Z",
        end="20260801T100000Z",
        alice=ALICE[0],
        bob="dan@elsewhere.example",
        extra="",
    )
    href = f"/dav/calendars/{ALICE[0]}/Calendar/ext.ics"
    assert alice.put(href, content=body).status_code == 201
    reply = ical.itip_message(
        ical.set_partstat(body.encode(), "dan@elsewhere.example", "TENTATIVE"),
        "REPLY",
        attendee="dan@elsewhere.example",
    )

    async def deliver() -> bool:
        app = await Kastell.open(load(dav_server.data))
        try:
            account = await app.directory.get_account(ALICE[0])
            return await receive_imip_reply(await app.store.open(account.org_id, account.id), reply)
        finally:
            await app.close()

    assert asyncio.run(deliver())
    assert re.search(
        r"PARTSTAT=TENTATIVE[^\r\n]*:mailto:dan@elsewhere.example", alice.get(href).text.replace("\r\n ", "")
    )
