"""The filesystem blob store: content addressing, atomic writes, collection."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kastell.blobs import BlobNotFound, blob_id
from kastell.blobs.filesystem import FilesystemBlobStore


def test_put_get_dedup(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)

    async def main() -> None:
        ref = await store.put(b"hello")
        assert ref.id == blob_id(b"hello") and ref.size == 5
        again = await store.put(b"hello")
        assert again == ref
        assert await store.get(ref.id) == b"hello"
        assert await store.read(ref.id, 1, 3) == b"ell"
        refs = await store.put_many([b"a", b"b", b"a"])
        assert refs[0] == refs[2] and refs[0] != refs[1]
        files = [p for p in tmp_path.rglob("*") if p.is_file() and p.parent.name != "tmp" and p.name != ".gc.lock"]
        assert len(files) == 3
        with pytest.raises(BlobNotFound):
            await store.get("0" * 64)
        with pytest.raises(BlobNotFound):
            await store.get("../../etc/passwd")
        assert not await store.exists("../x")

    asyncio.run(main())


CRASH_WRITER = """
import os, signal, sys
from pathlib import Path
from kastell.blobs.filesystem import FilesystemBlobStore
store = FilesystemBlobStore(Path(sys.argv[1]))
real_rename = os.rename
def crash(*args):
    os.kill(os.getpid(), signal.SIGKILL)   # power goes out between write and rename
os.rename = crash
store.put_many_sync([b"half-written message" * 1000])
"""


def test_crash_between_write_and_rename_leaves_no_visible_blob(tmp_path: Path) -> None:
    data = b"half-written message" * 1000
    proc = subprocess.run([sys.executable, "-c", CRASH_WRITER, str(tmp_path)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    store = FilesystemBlobStore(tmp_path)

    async def main() -> None:
        assert not await store.exists(blob_id(data))
        with pytest.raises(BlobNotFound):
            await store.get(blob_id(data))
        leftovers = list((tmp_path / "tmp").iterdir())
        assert len(leftovers) == 1  # the temporary file, never under a blob name
        # The collector sweeps temporary files of crashed writers.
        await store.delete_if_older([], time.time() + 1)
        assert list((tmp_path / "tmp").iterdir()) == []
        # And the same bytes can be stored properly afterwards.
        ref = await store.put(data)
        assert await store.get(ref.id) == data

    asyncio.run(main())


def test_collection_respects_grace_and_reuse(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)

    async def main() -> None:
        old, reused, young = await store.put_many([b"old", b"reused", b"young"])
        past = time.time() - 7200
        for ref in (old, reused):
            os.utime(store.path(ref.id), (past, past))
        await store.put(b"reused")  # re-use refreshes the mtime
        cutoff = time.time() - 3600
        candidates = [b async for b in store.iter_unreferenced_candidates(cutoff)]
        assert candidates == [old.id]
        assert await store.delete_if_older(candidates, cutoff) == 1
        assert not await store.exists(old.id)
        assert await store.exists(reused.id) and await store.exists(young.id)

    asyncio.run(main())


def test_collector_keeps_blobs_of_queued_messages(tmp_path: Path) -> None:
    from sqlalchemy import insert

    from kastell.db import schema as s

    from .storehelp import open_env

    async def main() -> None:
        env = await open_env(tmp_path)
        queued, orphan = await env.blobs.put_many([b"queued for a remote host", b"nobody wants me"])
        async with env.db.write() as conn:
            await conn.execute(
                insert(s.queue_messages).values(sender="a@b.test", blob_id=queued.id, size=queued.size, created=0, expires=1)
            )
        past = time.time() - 7200
        for ref in (queued, orphan):
            os.utime(env.blobs.path(ref.id), (past, past))
        assert await env.store.collect_garbage(3600) == 1
        assert await env.blobs.exists(queued.id) and not await env.blobs.exists(orphan.id)
        await env.close()

    asyncio.run(main())
