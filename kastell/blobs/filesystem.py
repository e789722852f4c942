"""The filesystem blob backend: ``ROOT/ab/abcdef…`` (256 fan-out directories, as git does).

Writes go to ``ROOT/tmp/`` first, are fsynced, renamed into place and the
directory is fsynced: the final name appears only with complete content, and
survives power loss once ``put`` returns. A crash leaves at most a temporary
file, which is never visible as a blob and is swept by the collector.

Re-using an existing blob refreshes its mtime under a shared lock; the
collector deletes only under the exclusive lock and only blobs whose mtime is
older than the grace period, so a blob that a transaction is about to refer to
is never swept from under it (ARCHITECTURE.md: acknowledge only what is durable).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import fcntl
import hashlib
import os
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kastell.blobs import BlobNotFound, BlobRef

_HEX = frozenset("0123456789abcdef")


class FilesystemBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._lock_path = root / ".gc.lock"

    # ------------------------------------------------------------------ paths

    def path(self, blob: str) -> Path:
        if len(blob) != 64 or not _HEX.issuperset(blob):
            raise BlobNotFound(blob)
        return self.root / blob[:2] / blob

    @contextmanager
    def _lock(self, mode: int) -> Iterator[None]:
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)

    # ----------------------------------------------------------------- writes

    def _write_temp(self, data: bytes, *, sync: bool) -> str:
        fd, name = _mkstemp(self.tmp)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        return name

    def put_many_sync(self, blobs: Sequence[bytes]) -> list[BlobRef]:
        refs = [BlobRef(hashlib.sha256(data).hexdigest(), len(data)) for data in blobs]
        pending: dict[str, bytes] = {}
        with self._lock(fcntl.LOCK_SH):
            for ref, data in zip(refs, blobs, strict=True):
                if ref.id in pending:
                    continue
                final = self.path(ref.id)
                try:
                    os.utime(final)  # re-use: refresh mtime so the collector keeps it
                except FileNotFoundError:
                    pending[ref.id] = data
            # A batch is made durable with two syncfs() calls (contents before the
            # renames, names after) instead of an fsync per file and directory:
            # the same guarantee, a fraction of the cost for imports.
            batch = len(pending) >= _SYNCFS_BATCH and _syncfs is not None
            temps = {blob: self._write_temp(data, sync=not batch) for blob, data in pending.items()}
            if batch:
                self._syncfs()
            dirs: set[Path] = set()
            for blob, temp in temps.items():
                final = self.path(blob)
                if not final.parent.is_dir():
                    final.parent.mkdir(exist_ok=True)
                    dirs.add(self.root)  # the new fan-out directory's own name must be durable too
                os.rename(temp, final)
                dirs.add(final.parent)
            if batch:
                self._syncfs()
            else:
                for directory in dirs:
                    _fsync_dir(directory)
        return refs

    def _syncfs(self) -> None:
        fd = os.open(self.tmp, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if _syncfs(fd) != 0:
                error = ctypes.get_errno()
                raise OSError(error, f"syncfs: {os.strerror(error)}")
        finally:
            os.close(fd)

    async def put(self, data: bytes) -> BlobRef:
        return (await asyncio.to_thread(self.put_many_sync, [data]))[0]

    async def put_many(self, blobs: Sequence[bytes]) -> list[BlobRef]:
        return await asyncio.to_thread(self.put_many_sync, list(blobs))

    # ------------------------------------------------------------------ reads

    def get_sync(self, blob: str) -> bytes:
        try:
            return self.path(blob).read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(blob) from None

    async def get(self, blob: str) -> bytes:
        return await asyncio.to_thread(self.get_sync, blob)

    def _read_sync(self, blob: str, start: int, length: int) -> bytes:
        try:
            with self.path(blob).open("rb") as handle:
                handle.seek(max(start, 0))
                return handle.read(max(length, 0))
        except FileNotFoundError:
            raise BlobNotFound(blob) from None

    async def read(self, blob: str, start: int, length: int) -> bytes:
        return await asyncio.to_thread(self._read_sync, blob, start, length)

    async def exists(self, blob: str) -> bool:
        try:
            return self.path(blob).exists()
        except BlobNotFound:
            return False

    # ------------------------------------------------------------- collection

    async def iter_unreferenced_candidates(self, older_than: float) -> AsyncIterator[str]:
        for fanout in sorted(self.root.iterdir()):
            if len(fanout.name) != 2 or not fanout.is_dir():
                continue
            names = await asyncio.to_thread(_old_entries, fanout, older_than)
            for name in names:
                yield name

    def _delete_sync(self, blobs: Sequence[str], older_than: float) -> int:
        deleted = 0
        with self._lock(fcntl.LOCK_EX):
            for blob in blobs:
                path = self.path(blob)
                try:
                    if path.stat().st_mtime < older_than:
                        path.unlink()
                        deleted += 1
                except FileNotFoundError:
                    pass
            # Temporary files of writers that crashed.
            for entry in os.scandir(self.tmp):
                try:
                    if entry.stat().st_mtime < older_than:
                        os.unlink(entry.path)
                except FileNotFoundError:
                    pass
        return deleted

    async def delete_if_older(self, blobs: Sequence[str], older_than: float) -> int:
        return await asyncio.to_thread(self._delete_sync, list(blobs), older_than)


def _load_syncfs() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.syncfs
    except (OSError, AttributeError):
        return None  # not Linux: fall back to fsync per file
    function.argtypes = [ctypes.c_int]
    return function


_syncfs = _load_syncfs()
_SYNCFS_BATCH = 16


def _old_entries(directory: Path, older_than: float) -> list[str]:
    found = []
    for entry in os.scandir(directory):
        try:
            if entry.stat().st_mtime < older_than:
                found.append(entry.name)
        except FileNotFoundError:
            pass
    return found


def _mkstemp(directory: Path) -> tuple[int, str]:
    name = str(directory / f"{os.getpid()}-{time.monotonic_ns()}-{os.urandom(6).hex()}")
    return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), name


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
