"""``kastell import``: streaming, batched, idempotent imports into one mailbox.

Messages are read one at a time and stored in batches (one transaction and one
round of blob syncing per batch). Re-running an import stores nothing twice:
a message whose exact bytes are already in the target folder is skipped.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kastell.imports import maildir, mbox
from kastell.store.errors import NoSuchFolder, NoSuchItem
from kastell.store.flags import MAX_KEYWORDS
from kastell.store.mailbox import Mailbox
from kastell.store.model import NewItem

if TYPE_CHECKING:
    from kastell.app import Kastell

BATCH = 500
Progress = Callable[[int], None]  # called with the number of messages just processed


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    unreadable: int = 0
    folders_created: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return (self.imported + self.duplicates) / self.seconds if self.seconds else 0.0


async def _mailbox(app: Kastell, address: str) -> Mailbox:
    account = await app.directory.get_account(address)
    return await app.store.open(account.org_id, account.id)


async def _folder_id(box: Mailbox, path: str, report: ImportReport) -> int:
    try:
        return (await box.folder_by_path(path)).id
    except NoSuchFolder:
        folder = await box.create_folder(path)
        report.folders_created.append(folder.path)
        return folder.id


async def _store(box: Mailbox, folder_id: int, batch: list[NewItem], report: ImportReport) -> None:
    results = await box.append_many(folder_id, batch, skip_duplicates=True)
    for result in results:
        if result.duplicate:
            report.duplicates += 1
        else:
            report.imported += 1


async def _run(
    box: Mailbox, folder_id: int, items: Iterable[NewItem], report: ImportReport, progress: Progress | None
) -> None:
    batch: list[NewItem] = []
    batch_bytes = 0
    for item in items:
        batch.append(item)
        batch_bytes += len(item.source)
        if len(batch) >= BATCH or batch_bytes >= 64 * 1024 * 1024:
            await _store(box, folder_id, batch, report)
            if progress:
                progress(len(batch))
            batch, batch_bytes = [], 0
    if batch:
        await _store(box, folder_id, batch, report)
        if progress:
            progress(len(batch))


def count_maildir(root: Path) -> int:
    return sum(1 for folder, directory in maildir.folders(root) for _ in maildir.messages(folder, directory))


async def import_maildir(app: Kastell, address: str, root: Path, *, progress: Progress | None = None) -> ImportReport:
    started = time.monotonic()
    report = ImportReport()
    box = await _mailbox(app, address)
    for folder, directory in maildir.folders(root):
        folder_id = await _folder_id(box, folder, report)

        def read(directory: Path = directory, folder: str = folder) -> Iterable[NewItem]:
            for message in maildir.messages(folder, directory):
                try:
                    source = message.path.read_bytes()
                except OSError:
                    report.unreadable += 1
                    continue
                yield NewItem(
                    source=source,
                    flags=message.flags,
                    keywords=message.keywords[:MAX_KEYWORDS],
                    internal_date=message.internal_date,
                )

        await _run(box, folder_id, read(), report, progress)
    report.seconds = time.monotonic() - started
    return report


async def import_mbox(
    app: Kastell, address: str, path: Path, *, folder: str | None = None, progress: Progress | None = None
) -> ImportReport:
    """One mbox file into ``folder`` (default INBOX), or a directory of mbox files into folders
    named after their relative paths (``Lists/python.mbox`` → ``Lists/python``)."""
    started = time.monotonic()
    report = ImportReport()
    box = await _mailbox(app, address)
    if path.is_dir():
        files = [
            (("/".join(p.relative_to(path).with_suffix("").parts)), p)
            for p in sorted(path.rglob("*"))
            if p.is_file() and not p.name.startswith(".") and p.suffix not in (".msf", ".dat", ".json")
        ]
    else:
        files = [(folder or "INBOX", path)]
    for name, file in files:
        folder_id = await _folder_id(box, name, report)
        with file.open("rb") as handle:
            items = (
                NewItem(
                    source=message.source,
                    flags=message.flags,
                    internal_date=message.internal_date or mbox.header_date(message.source),
                )
                for message in mbox.messages(handle)
            )
            await _run(box, folder_id, items, report, progress)
    report.seconds = time.monotonic() - started
    return report


def _resource_name(uid: str, suffix: str) -> str:
    # Deterministic, so that importing the same file again finds what it stored.
    return hashlib.sha1(uid.encode("utf-8", "replace")).hexdigest() + suffix


async def _store_object(box: Mailbox, folder_id: int, item: NewItem, report: ImportReport) -> None:
    assert item.name is not None
    try:
        existing = await box.item_by_name(folder_id, item.name)
    except NoSuchItem:
        await box.append(folder_id, item)
        report.imported += 1
        return
    if await box.source(existing) == item.source:
        report.duplicates += 1
    else:
        await box.replace(existing.id, item)  # the file has a newer version of this object
        report.imported += 1


async def import_calendar(app: Kastell, address: str, path: Path, *, folder: str | None = None) -> ImportReport:
    """An iCalendar file: events into the calendar, to-dos into Tasks, journals into Notes
    (or everything into ``folder``); one object per UID, as CalDAV stores them."""
    from kastell.formats import ical

    started = time.monotonic()
    report = ImportReport()
    box = await _mailbox(app, address)
    try:
        objects = ical.split_objects(path.read_bytes())
    except ValueError as exc:
        raise ImportError_(f"{path}: not an iCalendar file: {exc}") from None
    for component, uid, source in objects:
        role = {"VTODO": "tasks", "VJOURNAL": "notes"}.get(component, "calendar")
        target = await box.folder_by_path(folder) if folder else await box.folder_by_role(role)
        kind = ical.KIND_OF_COMPONENT[component]
        await _store_object(box, target.id, NewItem(source, kind=kind, name=_resource_name(uid, ".ics")), report)
    report.seconds = time.monotonic() - started
    return report


async def import_contacts(app: Kastell, address: str, path: Path, *, folder: str | None = None) -> ImportReport:
    """A vCard file (one or many cards) into the address book (or ``folder``)."""
    from kastell.formats import vcard

    started = time.monotonic()
    report = ImportReport()
    box = await _mailbox(app, address)
    target = await box.folder_by_path(folder) if folder else await box.folder_by_role("contacts")
    for uid, source in vcard.split_cards(path.read_bytes()):
        item = NewItem(source, kind="contact", name=_resource_name(uid, ".vcf"))
        await _store_object(box, target.id, item, report)
    report.seconds = time.monotonic() - started
    return report


class ImportError_(ValueError):
    """The file cannot be imported; the message says why."""
