"""The mailbox store against a real SQLite database: clock, tombstones, quota, uids, moves, tenancy."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from kastell.store.errors import (
    FolderExists,
    FolderNotEmpty,
    NoSuchFolder,
    NoSuchItem,
    NoSuchMailbox,
    QuotaExceeded,
    SpecialFolder,
)
from kastell.store.flags import Flag
from kastell.store.model import NewItem

from .storehelp import make_account, message, open_env


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_provisioning_creates_default_folders(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        folders = {f.path: f for f in await box.folders()}
        assert {"INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive", "Outbox"} <= set(folders)
        assert folders["Calendar"].folder_class == "IPF.Appointment"
        assert folders["Contacts"].folder_class == "IPF.Contact"
        assert folders["Tasks"].folder_class == "IPF.Task"
        assert folders["Notes"].folder_class == "IPF.StickyNote"
        assert folders["INBOX"].role == "inbox" and folders["Sent"].role == "sent"
        room = await make_account(env, "org", "room1@a.test", kind="room")
        assert {f.path for f in await room.folders()} == {"INBOX", "Calendar"}
        # Every folder got its own change number from the clock.
        assert len({f.change_num for f in folders.values()}) == len(folders)
        assert await box.last_change() == max(f.change_num for f in folders.values())
        await env.close()

    run(main())


def test_append_allocates_uids_and_changes(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        before = await box.last_change()
        first = await box.append(inbox.id, NewItem(message(1), flags=Flag.SEEN, keywords=("$label1",)))
        batch = await box.append_many(inbox.id, [NewItem(message(n)) for n in range(2, 6)])
        assert [first.uid] + [a.uid for a in batch] == [1, 2, 3, 4, 5]
        changes = [first.change_num] + [a.change_num for a in batch]
        assert changes == list(range(before + 1, before + 6))
        folder = await box.folder(inbox.id)
        assert (folder.uidnext, folder.item_count, folder.unseen_count) == (6, 5, 4)
        assert folder.content_change == changes[-1]
        item = await box.item_by_uid(inbox.id, 1)
        assert item.subject == "message 1"
        assert item.from_addr == "sender1@example.org"
        assert item.from_name == "Sender 1"
        assert item.message_id == "m1@example.org"
        assert item.keywords == ("$label1",)
        assert item.structure is not None
        assert await box.source(item) == message(1)
        assert await box.audit() == []
        await env.close()

    run(main())


def test_change_clock_and_tombstones(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        await box.append_many(inbox.id, [NewItem(message(n)) for n in range(1, 4)])
        mark = await box.last_change()
        assert (await box.changes_since(mark)).items == ()
        changed, refused = await box.store_flags(inbox.id, [(2, 2)], "add", Flag.FLAGGED)
        assert refused == [] and [c.uid for c in changed] == [2]
        # Setting the same flag again changes nothing and takes no number.
        again, _ = await box.store_flags(inbox.id, [(2, 2)], "add", Flag.FLAGGED)
        assert again == []
        removed = await box.expunge(inbox.id, [(3, 3)])
        assert removed == [3]
        delta = await box.changes_since(mark)
        assert [i.uid for i in delta.items] == [2]
        assert [(t.kind, t.uid) for t in delta.removed] == [("item", 3)]
        assert delta.last_change == mark + 2
        # Per folder, too, and nothing before the mark leaks in.
        per_folder = await box.changes_since(mark, inbox.id)
        assert [i.uid for i in per_folder.items] == [2] and len(per_folder.removed) == 1
        assert (await box.changes_since(delta.last_change)).removed == ()
        # CONDSTORE: an UNCHANGEDSINCE older than the item's change is refused.
        _, refused = await box.store_flags(inbox.id, [(1, 2)], "add", Flag.SEEN, unchanged_since=mark)
        assert refused == [2]
        await env.close()

    run(main())


def test_tombstones_are_pruned_and_the_gap_is_reported(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        other = await make_account(env, "org", "bob@a.test")
        inbox = await box.folder_by_role("inbox")
        await box.append_many(inbox.id, [NewItem(message(n)) for n in range(1, 5)])
        other_inbox = await other.folder_by_role("inbox")
        await other.append(other_inbox.id, NewItem(message(9)))
        mark = await box.last_change()
        await box.expunge(inbox.id, [(1, 2)])
        await other.expunge(other_inbox.id, None)
        assert await env.store.prune_tombstones(3600) == 0  # nothing is an hour old
        assert len((await box.changes_since(mark)).removed) == 2
        assert await env.store.prune_tombstones(-10) == 3  # both mailboxes' tombstones
        middle = await box.last_change()
        await box.expunge(inbox.id, [(3, 3)])
        for changes in (await box.changes_since(mark), await box.folder_changes(mark, inbox.id)):
            assert not changes.complete and [t.uid for t in changes.removed] == [3]
        for changes in (await box.changes_since(middle), await box.folder_changes(middle, inbox.id)):
            assert changes.complete and [t.uid for t in changes.removed] == [3]
        assert (await other.changes_since(0)).complete is False
        await env.close()

    run(main())


def test_move_and_copy(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        archive = await box.folder_by_role("archive")
        appended = await box.append_many(inbox.id, [NewItem(message(n)) for n in range(1, 5)])
        mark = await box.last_change()
        moved = await box.move(inbox.id, [(2, 3)], archive.id)
        assert moved == [(2, 1), (3, 2)]
        item = await box.item_by_uid(archive.id, 1)
        assert item.id == appended[1].item_id  # same item, new home
        with pytest.raises(NoSuchItem):
            await box.item_by_uid(inbox.id, 2)
        per_inbox = await box.changes_since(mark, inbox.id)
        assert sorted(t.uid for t in per_inbox.removed if t.uid is not None) == [2, 3]
        whole = await box.changes_since(mark)
        assert whole.removed == ()  # moved, not deleted
        assert {i.id for i in whole.items} == {appended[1].item_id, appended[2].item_id}
        copied = await box.copy(archive.id, None, inbox.id)
        assert copied == [(1, 5), (2, 6)]
        copy = await box.item_by_uid(inbox.id, 5)
        assert copy.id != item.id and copy.blob_id == item.blob_id
        quota = await box.quota()
        assert quota.items == 6
        assert quota.used == sum(len(message(n)) for n in (1, 2, 3, 4, 2, 3))
        assert await box.audit() == []
        await env.close()

    run(main())


def test_quota_exact_after_random_operations(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        rng = random.Random(20261128)
        paths = ["INBOX", "Archive", "Trash", "Projects/A"]
        await box.create_folder("Projects/A")
        ids = {p: (await box.folder_by_path(p)).id for p in paths}
        for step in range(150):
            folder = ids[rng.choice(paths)]
            other = ids[rng.choice(paths)]
            op = rng.choice(["append", "append", "flag", "expunge", "move", "copy"])
            uid_hi = (await box.folder(folder)).uidnext
            lo = rng.randint(1, max(uid_hi, 1))
            span = [(lo, lo + rng.randint(0, 3))]
            if op == "append":
                await box.append_many(folder, [NewItem(message(step * 10 + k, "x" * rng.randint(0, 500)),
                                                       flags=rng.choice([0, Flag.SEEN])) for k in range(3)])
            elif op == "flag":
                await box.store_flags(folder, span, rng.choice(["add", "remove", "set"]), rng.choice([0, 1, 5]))
            elif op == "expunge":
                await box.expunge(folder, span)
            elif op == "move":
                await box.move(folder, span, other)
            else:
                await box.copy(folder, span, other)
        assert await box.audit() == []
        total = 0
        for folder in await box.folders():
            total += sum([i.size async for i in box.iter_items(folder.id)])
        assert (await box.quota()).used == total
        await env.close()

    run(main())


def test_quota_limit_refuses_and_rolls_back(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test", quota=len(message(1)) * 2 + 10)
        inbox = await box.folder_by_role("inbox")
        await box.append_many(inbox.id, [NewItem(message(1)), NewItem(message(2))])
        mark = await box.last_change()
        with pytest.raises(QuotaExceeded):
            await box.append(inbox.id, NewItem(message(3)))
        with pytest.raises(QuotaExceeded):
            await box.copy(inbox.id, None, inbox.id)
        assert await box.last_change() == mark
        assert (await box.folder(inbox.id)).uidnext == 3
        assert await box.audit() == []
        await env.close()

    run(main())


def test_uid_allocation_under_concurrency(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")

        async def writer(w: int) -> list[int]:
            uids = []
            for k in range(10):
                uids.append((await box.append(inbox.id, NewItem(message(w * 100 + k)))).uid)
            return uids

        results = await asyncio.gather(*(writer(w) for w in range(8)))
        every = sorted(u for r in results for u in r)
        assert every == list(range(1, 81))
        for uids in results:
            assert uids == sorted(uids)  # each writer sees increasing uids
        await env.close()

    run(main())


def test_tenancy_items_are_unreachable_across_organisations(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        alice = await make_account(env, "org-a", "alice@a.test")
        mallory = await make_account(env, "org-b", "mallory@b.test")
        alice_inbox = await alice.folder_by_role("inbox")
        secret = await alice.append(alice_inbox.id, NewItem(message(1, "secret")))
        with pytest.raises(NoSuchItem):
            await mallory.item(secret.item_id)
        with pytest.raises(NoSuchFolder):
            await mallory.folder(alice_inbox.id)
        with pytest.raises(NoSuchFolder):
            await mallory.store_flags(alice_inbox.id, None, "add", Flag.DELETED)
        with pytest.raises(NoSuchFolder):
            await mallory.expunge(alice_inbox.id, None)
        mallory_inbox = await mallory.folder_by_role("inbox")
        with pytest.raises(NoSuchFolder):
            await mallory.move(alice_inbox.id, None, mallory_inbox.id)
        with pytest.raises(NoSuchFolder):
            await mallory.copy(alice_inbox.id, None, mallory_inbox.id)
        with pytest.raises(NoSuchItem):
            await mallory.props(secret.item_id)
        with pytest.raises(NoSuchItem):
            await mallory.set_props(secret.item_id, {"x": 1})
        assert [i async for i in mallory.iter_items(alice_inbox.id)] == []
        # Opening another organisation's account by id is refused too.
        with pytest.raises(NoSuchMailbox):
            await env.store.open(mallory.org_id, alice.account_id)
        assert (await alice.item(secret.item_id)).subject == "message 1"
        await env.close()

    run(main())


def test_folder_tree_operations(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        leaf = await box.create_folder("Work/Clients/ACME")
        paths = {f.path for f in await box.folders()}
        assert {"Work", "Work/Clients", "Work/Clients/ACME"} <= paths
        with pytest.raises(FolderExists):
            await box.create_folder("Work/Clients")
        await box.append(leaf.id, NewItem(message(1)))
        renamed = await box.rename_folder((await box.folder_by_path("Work")).id, "Old/Work")
        assert renamed.path == "Old/Work"
        assert (await box.folder(leaf.id)).path == "Old/Work/Clients/ACME"
        work = await box.folder_by_path("Old/Work")
        with pytest.raises(FolderNotEmpty):
            await box.delete_folder(work.id)
        mark = await box.last_change()
        await box.delete_folder(work.id, recursive=True)
        delta = await box.changes_since(mark)
        assert {t.name for t in delta.removed_folders} == {"Old/Work", "Old/Work/Clients", "Old/Work/Clients/ACME"}
        assert [t.uid for t in delta.removed] == [1]
        with pytest.raises(SpecialFolder):
            await box.delete_folder((await box.folder_by_role("inbox")).id)
        assert await box.audit() == []
        await env.close()

    run(main())


def test_change_notifications(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        async with env.events.subscribe(box.id) as subscription:
            waiter = asyncio.create_task(subscription.wait(timeout=5))
            await asyncio.sleep(0)
            appended = await box.append(inbox.id, NewItem(message(1)))
            change = await waiter
            assert change is not None
            assert change.change_num == appended.change_num and inbox.id in change.folder_ids
            assert await subscription.wait(timeout=0.05) is None
        assert env.events.subscriber_count() == 0
        await env.close()

    run(main())


def test_import_duplicates_are_skipped(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        items = [NewItem(message(n)) for n in (1, 2, 2, 3)]
        first = await box.append_many(inbox.id, items, skip_duplicates=True)
        assert [r.duplicate for r in first] == [False, False, True, False]
        second = await box.append_many(inbox.id, items, skip_duplicates=True)
        assert all(r.duplicate for r in second)
        assert (await box.folder(inbox.id)).item_count == 3
        await env.close()

    run(main())
