"""Sharing a calendar between two users of one organisation (read, then read-write)."""

from __future__ import annotations

import httpx

from tests.protocols.dav.conftest import ALICE, BOB, Dav

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
    "DTSTAMP:20260101T000000Z\r\nDTSTART:20260901T100000Z\r\nDTEND:20260901T110000Z\r\n"
    "SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
DEPTH1 = b'<propfind xmlns="DAV:"><prop><displayname/><resourcetype/></prop></propfind>'


def share(level: str) -> bytes:
    return (
        '<?xml version="1.0"?><CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">'
        f"<CS:set><D:href>mailto:{BOB[0]}</D:href><CS:{level}/></CS:set></CS:share>"
    ).encode()


def test_share_read_then_read_write(dav_server: Dav) -> None:
    alice = httpx.Client(base_url=dav_server.url, auth=ALICE)
    bob = httpx.Client(base_url=dav_server.url, auth=BOB)
    cal = f"/dav/calendars/{ALICE[0]}/Shared%20Plans/"
    assert alice.request("MKCALENDAR", cal).status_code == 201
    assert alice.put(cal + "a.ics", content=ICS.format(uid="sh-a", summary="alice's plan")).status_code == 201

    # Before sharing, bob sees nothing of it.
    assert bob.request("PROPFIND", cal, headers={"Depth": "1"}, content=DEPTH1).status_code == 403
    r = alice.post(cal, content=share("read"), headers={"Content-Type": "application/xml"})
    assert r.status_code == 200

    # Bob finds it in his own home, reads it, but cannot write.
    home = bob.request("PROPFIND", f"/dav/calendars/{BOB[0]}/", headers={"Depth": "1"}, content=DEPTH1)
    assert cal in home.text
    assert "alice's plan" in bob.get(cal + "a.ics").text
    assert bob.request("PROPFIND", cal, headers={"Depth": "1"}, content=DEPTH1).status_code == 207
    assert bob.put(cal + "b.ics", content=ICS.format(uid="sh-b", summary="bob's")).status_code == 403
    assert bob.delete(cal + "a.ics").status_code == 403
    # Only the shared collection: alice's home and her other calendars stay closed.
    assert bob.request("PROPFIND", f"/dav/calendars/{ALICE[0]}/", headers={"Depth": "1"}).status_code == 403
    assert bob.get(f"/dav/calendars/{ALICE[0]}/Calendar/").status_code == 403
    assert bob.post(cal, content=share("read-write")).status_code == 403  # only the owner shares

    assert alice.post(cal, content=share("read-write")).status_code == 200
    assert bob.put(cal + "b.ics", content=ICS.format(uid="sh-b", summary="bob's")).status_code == 201
    assert "bob's" in alice.get(cal + "b.ics").text
    invite = alice.request(
        "PROPFIND",
        cal,
        headers={"Depth": "0"},
        content=b'<propfind xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/"><prop><CS:invite/></prop></propfind>',
    )
    assert f"mailto:{BOB[0]}" in invite.text and "read-write" in invite.text
