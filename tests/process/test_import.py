"""``kastell import``: Maildir and mbox through the real command, checked in the store."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from kastell.app import Kastell
from kastell.config import load
from kastell.store.flags import Flag

from .harness import kastell


def _message(n: int, subject: str, extra: str = "") -> bytes:
    return (
        f"From: Sender {n} <s{n}@example.org>\n"
        f"To: alice@imp.test, Bob <bob@example.org>\n"
        f"Subject: {subject}\n"
        f"Date: Tue, 05 Mar 2024 12:{n % 60:02d}:00 +0000\n"
        f"Message-ID: <imp-{n}@example.org>\n"
        f"{extra}\n"
        f"Body of message {n}\n"
    ).encode()


def _maildir(root: Path, folder: str) -> Path:
    path = root if folder == "" else root / folder
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def _setup(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    assert kastell(data, "init", "--no-demo").returncode == 0
    assert kastell(data, "domain", "add", "imp.test").returncode == 0
    added = kastell(data, "user", "add", "alice@imp.test", "--password", "pw-for-alice-1")
    assert added.returncode == 0, added.stderr
    return data


def _inspect(data: Path, work: Any) -> Any:
    async def main() -> Any:
        app = await Kastell.open(load(data))
        try:
            account = await app.directory.get_account("alice@imp.test")
            box = await app.store.open(account.org_id, account.id)
            return await work(box)
        finally:
            await app.close()

    return asyncio.run(main())


def test_maildir_folders_flags_fields_and_idempotence(tmp_path: Path) -> None:
    data = _setup(tmp_path)
    root = tmp_path / "Maildir"
    inbox = _maildir(root, "")
    (inbox / "cur" / "1.M1.host:2,S").write_bytes(_message(1, "seen one"))
    (inbox / "cur" / "2.M2.host:2,FRa").write_bytes(_message(2, "flagged answered"))
    (inbox / "new" / "3.M3.host").write_bytes(_message(3, "=?utf-8?q?gr=C3=BC=C3=9Fe?="))
    (inbox / "dovecot-keywords").write_text("0 $Work\n1 Later\n")
    os.utime(inbox / "cur" / "1.M1.host:2,S", (1600000000, 1600000000))
    archive = _maildir(root, ".Archive.2023")
    (archive / "cur" / "4.M4.host:2,ST").write_bytes(_message(4, "old"))
    drafts = _maildir(root, ".Entw&APw-rfe")
    (drafts / "cur" / "5.M5.host:2,D").write_bytes(_message(5, "draft", "In-Reply-To: <imp-1@example.org>"))
    (root / ".Empty" / "cur").mkdir(parents=True)

    result = kastell(data, "import", "maildir", str(root), "--user", "alice@imp.test")
    assert result.returncode == 0, result.stderr
    assert "imported 5" in result.stdout

    async def check(box: Any) -> None:
        folders = {f.path: f for f in await box.folders()}
        assert {"INBOX", "Archive/2023", "Entwürfe", "Empty", "Archive"} <= set(folders)
        items = {i.subject: i async for i in box.iter_items(folders["INBOX"].id, with_structure=True)}
        assert set(items) == {"seen one", "flagged answered", "grüße"}
        assert items["seen one"].flags == Flag.SEEN
        assert items["seen one"].internal_date == 1600000000
        assert items["flagged answered"].flags == Flag.FLAGGED | Flag.ANSWERED
        assert items["flagged answered"].keywords == ("$Work",)
        assert items["grüße"].flags == 0
        assert items["seen one"].from_addr == "s1@example.org"
        assert items["seen one"].to_addrs == ("alice@imp.test", "bob@example.org")
        assert items["seen one"].message_id == "imp-1@example.org"
        assert items["seen one"].structure is not None
        assert await box.source(items["seen one"]) == _message(1, "seen one")
        old = [i async for i in box.iter_items(folders["Archive/2023"].id)]
        assert [(i.subject, i.flags) for i in old] == [("old", Flag.SEEN | Flag.DELETED)]
        draft = [i async for i in box.iter_items(folders["Entwürfe"].id)]
        assert draft[0].flags == Flag.DRAFT and draft[0].in_reply_to == ("imp-1@example.org",)
        assert (await box.folder(folders["INBOX"].id)).unseen_count == 2
        assert await box.audit() == []

    _inspect(data, check)
    again = kastell(data, "import", "maildir", str(root), "--user", "alice@imp.test")
    assert again.returncode == 0, again.stderr
    assert "imported 0, skipped 5" in again.stdout

    async def count(box: Any) -> int:
        return (await box.quota()).items  # type: ignore[no-any-return]

    assert _inspect(data, count) == 5


def test_mbox_file_and_directory(tmp_path: Path) -> None:
    data = _setup(tmp_path)
    mbox = tmp_path / "in.mbox"
    mbox.write_bytes(
        b"From s1@example.org Tue Mar  5 12:00:00 2024\n"
        + _message(1, "first", "Status: RO")
        + b">From the start of a line\n\n"
        b"From s2@example.org Tue Mar  5 12:01:00 2024\n"
        + _message(2, "second", "X-Status: F")
        + b"\n"
    )
    result = kastell(data, "import", "mbox", str(mbox), "--user", "alice@imp.test", "--folder", "Old/Mail")
    assert result.returncode == 0, result.stderr
    assert "imported 2" in result.stdout
    tree = tmp_path / "mboxes"
    (tree / "Lists").mkdir(parents=True)
    (tree / "Lists" / "python").write_bytes(b"From x Tue Mar  5 12:00:00 2024\n" + _message(3, "list"))

    assert kastell(data, "import", "mbox", str(tree), "--user", "alice@imp.test").returncode == 0

    async def check(box: Any) -> None:
        folder = await box.folder_by_path("Old/Mail")
        items = [i async for i in box.iter_items(folder.id)]
        assert [i.subject for i in items] == ["first", "second"]
        assert items[0].flags == Flag.SEEN and items[1].flags == Flag.FLAGGED
        source = await box.source(items[0])
        assert source.endswith(b"From the start of a line\n")  # one '>' removed, mboxrd
        listed = await box.folder_by_path("Lists/python")
        assert listed.item_count == 1

    _inspect(data, check)


def test_ten_thousand_message_maildir(tmp_path: Path) -> None:
    data = _setup(tmp_path)
    root = tmp_path / "Big"
    folders = [_maildir(root, ""), _maildir(root, ".Archive"), _maildir(root, ".Lists.Python")]
    for n in range(10_000):
        folder = folders[n % 3]
        flags = "S" if n % 2 else ""
        (folder / "cur" / f"{n}.M{n}.big:2,{flags}").write_bytes(_message(n, f"bulk {n}"))
    result = kastell(data, "import", "maildir", str(root), "--user", "alice@imp.test", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "imported 10000" in result.stdout

    async def check(box: Any) -> None:
        counts = {f.path: (f.item_count, f.unseen_count) for f in await box.folders()}
        assert counts["INBOX"] == (3334, 1667)
        assert counts["Archive"] == (3333, 1666)
        assert counts["Lists/Python"] == (3333, 1667)
        listed = {i.subject: i async for i in box.iter_items((await box.folder_by_path("Lists/Python")).id)}
        assert len(listed) == 3333
        assert listed["bulk 29"].flags == Flag.SEEN and listed["bulk 32"].flags == 0
        assert await box.audit() == []

    _inspect(data, check)


CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//export//EN\r\n"
    "BEGIN:VEVENT\r\nUID:ev-1\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240110T090000Z\r\n"
    "DTEND:20240110T100000Z\r\nSUMMARY:Planning\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:ev-2\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240111T090000Z\r\n"
    "DTEND:20240111T100000Z\r\nSUMMARY:Review\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\n"
    "BEGIN:VTODO\r\nUID:todo-1\r\nDTSTAMP:20240101T000000Z\r\nSUMMARY:Write report\r\nEND:VTODO\r\n"
    "END:VCALENDAR\r\n"
)
CARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-1\r\nFN:Ada Lovelace\r\nEMAIL:ada@example.org\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Alan Turing\r\nEMAIL:alan@example.org\r\nEND:VCARD\r\n"
)


def test_ics_and_vcf_imports_are_idempotent(tmp_path: Path) -> None:
    data = _setup(tmp_path)
    ics = tmp_path / "export.ics"
    ics.write_text(CALENDAR)
    vcf = tmp_path / "contacts.vcf"
    vcf.write_text(CARDS)
    first = kastell(data, "import", "ics", str(ics), "--user", "alice@imp.test")
    assert first.returncode == 0, first.stderr
    assert "imported 3" in first.stdout
    cards = kastell(data, "import", "vcf", str(vcf), "--user", "alice@imp.test")
    assert cards.returncode == 0 and "imported 2" in cards.stdout, cards.stderr
    again = kastell(data, "import", "ics", str(ics), "--user", "alice@imp.test")
    assert "imported 0, skipped 3" in again.stdout
    ics.write_text(CALENDAR.replace("SUMMARY:Planning", "SUMMARY:Planning (moved)"))
    changed = kastell(data, "import", "ics", str(ics), "--user", "alice@imp.test")
    assert "imported 1, skipped 2" in changed.stdout
    broken = tmp_path / "broken.ics"
    broken.write_text("this is not a calendar")
    failed = kastell(data, "import", "ics", str(broken), "--user", "alice@imp.test")
    assert failed.returncode == 1 and len(failed.stderr.strip().splitlines()) == 1

    async def check(box: Any) -> None:
        calendar = await box.folder_by_role("calendar")
        events = {i.subject: i async for i in box.iter_items(calendar.id)}
        assert set(events) == {"Planning (moved)", "Review"}
        assert events["Review"].end_time is None and events["Review"].kind == "event"
        tasks = [i async for i in box.iter_items((await box.folder_by_role("tasks")).id)]
        assert [(t.subject, t.kind) for t in tasks] == [("Write report", "task")]
        contacts = [i async for i in box.iter_items((await box.folder_by_role("contacts")).id)]
        assert sorted(c.subject for c in contacts) == ["Ada Lovelace", "Alan Turing"]
        assert await box.audit() == []

    _inspect(data, check)
