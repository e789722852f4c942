"""vdirsyncer: a two-way sync of a calendar and an address book with a local directory."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.peers import _missing
from tests.protocols.dav.conftest import BOB, Dav

EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n"
    "DTSTAMP:20260101T000000Z\r\nDTSTART:20260301T100000Z\r\nDTEND:20260301T110000Z\r\n"
    "SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\nEND:VCARD\r\n"


def _config(tmp: Path, url: str) -> Path:
    config = tmp / "config"
    (tmp / "status").mkdir()
    blocks = [f'[general]\nstatus_path = "{tmp}/status/"\n']
    for pair, kind, ext, coll in (("cal", "caldav", ".ics", "Calendar"), ("card", "carddav", ".vcf", "Contacts")):
        (tmp / pair).mkdir()
        blocks.append(
            f'[pair {pair}]\na = "{pair}_local"\nb = "{pair}_remote"\ncollections = ["{coll}"]\n'
            f'conflict_resolution = "b wins"\n\n'
            f'[storage {pair}_local]\ntype = "filesystem"\npath = "{tmp}/{pair}/"\nfileext = "{ext}"\n\n'
            f'[storage {pair}_remote]\ntype = "{kind}"\nurl = "{url}/.well-known/{kind}"\n'
            f'username = "{BOB[0]}"\npassword = "{BOB[1]}"\n'
        )
    config.write_text("\n".join(blocks))
    return config


def _run(config: Path, *args: str) -> str:
    env = {**os.environ, "VDIRSYNCER_CONFIG": str(config)}
    # As a module of this interpreter: a venv's bin/ need not be on PATH.
    done = subprocess.run(
        [sys.executable, "-m", "vdirsyncer", *args],
        env=env,
        input="y\n" * 10,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_two_way_sync_with_conflict(dav_server: Dav, tmp_path: Path) -> None:
    if importlib.util.find_spec("vdirsyncer") is None:
        _missing("vdirsyncer (the test extra)")
    http = httpx.Client(auth=BOB)
    cal_url = f"{dav_server.url}/dav/calendars/{BOB[0]}/Calendar/"
    book_url = f"{dav_server.url}/dav/addressbooks/{BOB[0]}/Contacts/"
    assert (
        http.put(cal_url + "remote-1.ics", content=EVENT.format(uid="remote-1", summary="from server")).status_code
        == 201
    )
    assert http.put(book_url + "c1.vcf", content=CARD.format(uid="c1", name="Carol")).status_code == 201

    config = _config(tmp_path, dav_server.url)
    _run(config, "discover")
    _run(config, "sync")
    local_cal = tmp_path / "cal" / "Calendar"
    local_book = tmp_path / "card" / "Contacts"
    assert any("from server" in p.read_text() for p in local_cal.iterdir())
    assert any("Carol" in p.read_text() for p in local_book.iterdir())

    # Local creations go up; a remote change comes down.
    (local_cal / "local-1.ics").write_text(EVENT.format(uid="local-1", summary="from laptop"))
    (local_book / "d1.vcf").write_text(CARD.format(uid="d1", name="Dave"))
    current = http.get(cal_url + "remote-1.ics")
    changed = http.put(
        cal_url + "remote-1.ics",
        content=EVENT.format(uid="remote-1", summary="changed on server"),
        headers={"If-Match": current.headers["etag"]},
    )
    assert changed.status_code == 204
    _run(config, "sync")
    report = http.request(
        "PROPFIND",
        cal_url,
        headers={"Depth": "1"},
        content=b'<propfind xmlns="DAV:"><prop><getetag/></prop></propfind>',
    )
    assert report.status_code == 207
    assert "from laptop" in http.get(cal_url + "local-1.ics").text
    assert any("changed on server" in p.read_text() for p in local_cal.iterdir())
    cards = http.get(book_url).text
    assert "Dave" in cards and "Carol" in cards

    # Conflict: both sides change the same event; "b wins" keeps the server's.
    local_file = next(p for p in local_cal.iterdir() if "changed on server" in p.read_text())
    local_file.write_text(EVENT.format(uid="remote-1", summary="laptop edit"))
    current = http.get(cal_url + "remote-1.ics")
    http.put(
        cal_url + "remote-1.ics",
        content=EVENT.format(uid="remote-1", summary="server edit"),
        headers={"If-Match": current.headers["etag"]},
    )
    _run(config, "sync")
    assert "server edit" in local_file.read_text()
    assert "server edit" in http.get(cal_url + "remote-1.ics").text

    # A deletion on the server removes the local copy on the next sync.
    assert http.delete(cal_url + "local-1.ics").status_code == 204
    _run(config, "sync")
    assert not any("from laptop" in p.read_text() for p in local_cal.iterdir())
