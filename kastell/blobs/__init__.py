"""Content-addressed, immutable blobs: message sources, attachments, iCalendar text.

A blob is named by the SHA-256 of its bytes (lower-case hex), so storing the
same bytes twice stores them once. Blobs are never modified; a blob that no
item refers to any more is removed by the mark-and-sweep collector
(:func:`kastell.blobs.gc.collect`), never by the code that deleted the item.

The order that makes acknowledgements honest: ``put`` returns only after the
bytes are durable under their final name; the caller then commits the database
rows that refer to them. A crash in between leaves an unreferenced blob, which
the collector removes; it never leaves a row pointing at a missing blob.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["BlobNotFound", "BlobRef", "BlobStore", "blob_id"]


class BlobNotFound(LookupError):
    """No blob with this id exists."""


@dataclass(frozen=True, slots=True)
class BlobRef:
    id: str  # sha256 hex
    size: int


def blob_id(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


class BlobStore(Protocol):
    """What every backend (filesystem now; PostgreSQL or S3 later) provides."""

    async def put(self, data: bytes) -> BlobRef:
        """Store ``data`` durably; return its reference. Idempotent."""

    async def put_many(self, blobs: Sequence[bytes]) -> list[BlobRef]:
        """Store several blobs with one round of syncing; same guarantees as ``put``."""

    async def get(self, blob: str) -> bytes:
        """The whole blob; raises BlobNotFound."""

    async def read(self, blob: str, start: int, length: int) -> bytes:
        """``length`` bytes from ``start`` (fewer at the end); raises BlobNotFound."""

    async def exists(self, blob: str) -> bool: ...

    def iter_unreferenced_candidates(self, older_than: float) -> AsyncIterator[str]:
        """Ids of blobs last written or re-used before ``older_than`` (epoch seconds)."""

    async def delete_if_older(self, blobs: Sequence[str], older_than: float) -> int:
        """Delete these blobs unless re-used since ``older_than``; the count deleted."""
