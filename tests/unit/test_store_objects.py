"""Groupware objects in the store: names, UIDs, time spans, replace and remove."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kastell.store.errors import NoSuchItem
from kastell.store.model import NewItem

from .storehelp import make_account, message, open_env


def event(uid: str, summary: str, start: str = "20240105T100000Z", end: str = "20240105T110000Z", extra: str = "") -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:{summary}\r\n{extra}"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def test_events_replace_and_remove(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        calendar = await box.folder_by_role("calendar")
        first = await box.append(calendar.id, NewItem(event("u1", "Standup"), kind="event", name="u1.ics"))
        item = await box.item_by_name(calendar.id, "u1.ics")
        assert (item.kind, item.subject, item.object_uid) == ("event", "Standup", "u1")
        assert (item.start_time, item.end_time) == (1704448800, 1704452400)
        weekly = await box.append(
            calendar.id,
            NewItem(event("u2", "Weekly", extra="RRULE:FREQ=WEEKLY\r\n"), kind="event", name="u2.ics"),
        )
        assert (await box.item(weekly.item_id)).end_time is None  # unbounded recurrence

        mark = await box.last_change()
        bigger = event("u1", "Standup moved" + " padding" * 50, start="20240106T100000Z", end="20240106T103000Z")
        replaced = await box.replace(first.item_id, NewItem(bigger, kind="event"))
        assert replaced.id == first.item_id and replaced.uid == first.uid and replaced.name == "u1.ics"
        assert replaced.change_num == mark + 1 and replaced.subject.startswith("Standup moved")
        assert replaced.start_time == 1704535200
        assert await box.source(replaced) == bigger
        delta = await box.changes_since(mark, calendar.id)
        assert [i.id for i in delta.items] == [first.item_id]
        assert (await box.quota()).used == len(bigger) + len(event("u2", "Weekly", extra="RRULE:FREQ=WEEKLY\r\n"))

        await box.remove(weekly.item_id)
        gone = await box.changes_since(mark + 1, calendar.id)
        assert [(t.uid, t.name) for t in gone.removed] == [(weekly.uid, "u2.ics")]
        with pytest.raises(NoSuchItem):
            await box.item_by_name(calendar.id, "u2.ics")
        inbox = await box.folder_by_role("inbox")
        mail = await box.append(inbox.id, NewItem(message(1)))
        with pytest.raises(ValueError):
            await box.replace(mail.item_id, NewItem(message(2)))
        assert await box.audit() == []

        other = await make_account(env, "org-b", "mallory@b.test")
        with pytest.raises(NoSuchItem):
            await other.replace(first.item_id, NewItem(event("u1", "hijack"), kind="event"))
        with pytest.raises(NoSuchItem):
            await other.remove(first.item_id)
        assert (await box.item(first.item_id)).subject.startswith("Standup moved")
        await env.close()

    asyncio.run(main())


def test_contacts_columns(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        contacts = await box.folder_by_role("contacts")
        card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c-1\r\nFN:Ada Lovelace\r\nEMAIL:Ada@Example.org\r\nEND:VCARD\r\n"
        added = await box.append(contacts.id, NewItem(card, kind="contact", name="c-1.vcf"))
        item = await box.item(added.item_id)
        assert (item.subject, item.object_uid, item.from_addr) == ("Ada Lovelace", "c-1", "ada@example.org")
        broken = await box.append(contacts.id, NewItem(b"BEGIN:VCARD\r\nFN", kind="contact", name="x.vcf"))
        assert (await box.item(broken.item_id)).object_uid is None  # stored, columns empty
        await env.close()

    asyncio.run(main())
