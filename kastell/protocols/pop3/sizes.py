"""Message sizes as POP3 counts them: octets with CRLF line ends (RFC 1939 §11).

Kastell keeps sources byte-exact, and a message imported from mbox or
appended by a sloppy client may have bare LF line ends; RETR sends those lines
with CRLF (encode.py), so the size LIST and STAT report must count one more
octet for each bare LF, or clients that check sizes (fetchmail) complain. The
RFC expects the server to work this out "when it opens the maildrop".

The count needs the bytes, so it is cached per blob (blobs are immutable and
content-addressed: one count serves every copy of a message and every later
session), and each login reads at most :data:`SCAN_BUDGET` bytes of blobs not
yet counted; a message beyond that budget is reported with its stored size
until a later session has counted it. A typical POP3 INBOX is counted once, at
its first login, in well under a second.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kastell.blobs.filesystem import FilesystemBlobStore

SCAN_BUDGET = 128 * 1024 * 1024
CACHE_ENTRIES = 100_000  # ~15 MB at most

_cache: OrderedDict[str, int] = OrderedDict()


def crlf_size(data: bytes) -> int:
    """Octets of ``data`` once every bare LF has become CRLF."""
    return len(data) + data.count(b"\n") - data.count(b"\r\n")


async def wire_sizes(blobs: FilesystemBlobStore, blob_ids: Sequence[str], stored: Sequence[int]) -> list[int]:
    """The CRLF size of each message (see the module docstring for the budget)."""
    sizes: list[int] = []
    budget = SCAN_BUDGET
    for blob_id, size in zip(blob_ids, stored, strict=True):
        known = _cache.get(blob_id)
        if known is None and size <= budget:
            budget -= size
            try:
                known = crlf_size(await blobs.get(blob_id))
            except Exception:  # unreadable now: RETR will say so; the stored size will do
                known = None
            else:
                _cache[blob_id] = known
                if len(_cache) > CACHE_ENTRIES:
                    _cache.popitem(last=False)
        elif known is not None:
            _cache.move_to_end(blob_id)
        sizes.append(size if known is None else known)
    return sizes
