"""A session's view of its selected mailbox: sequence numbers and pending updates.

Theory of operation
-------------------
Message sequence numbers are per session (RFC 9051 §2.3.1.2): the n-th entry
of ``uids`` (a compact ascending array) is message n.  The array changes only
when this session *tells* its client: EXISTS appends, EXPUNGE/VANISHED
removes.  Other sessions' writes reach us as change-bus notices (``dirty``);
``sync`` then asks the store what changed since ``modseq`` (the highest change
number this view has absorbed) and turns it into untagged responses.

Expunges are withheld while the command in progress is FETCH, STORE or
SEARCH (RFC 9051 §7.5.1: numbers must not shift under a client that uses
them); they stay in ``pending`` and the messages keep their numbers until a
command that may report them.  Because UIDs only grow and moved-in messages
get fresh UIDs, every contiguous run of sequence numbers is one contiguous UID
range in the store, so ``1:*`` stays one range however big the folder.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from kastell.protocols.imap.errors import Bad
from kastell.protocols.imap.responses import compress_set, flag_list
from kastell.store.mailbox import Mailbox
from kastell.store.model import FlagChange, Folder
from kastell.store.search import folder_uids

UidRanges = list[tuple[int, int]]

# \Recent (RFC 3501 §2.3.2; gone in IMAP4rev2): a message is recent in the first
# session that selects its folder read-write after it arrived. The store keeps no
# such state, so the listener keeps it (``RecentFloors``: folder id -> the lowest
# UID not yet claimed by a session). After a restart nothing is recent until new
# mail arrives.
RecentFloors = dict[int, int]


def claim_recent(floors: RecentFloors, folder_id: int, uids: Iterable[int], uidnext: int, claim: bool) -> set[int]:
    """The UIDs among ``uids`` that are recent for this session; ``claim`` takes them (SELECT)."""
    floor = floors.setdefault(folder_id, uidnext)
    recent = {uid for uid in uids if uid >= floor}
    if claim and recent:
        floors[folder_id] = max(recent) + 1
    return recent


def unclaimed_from(floors: RecentFloors, folder_id: int, uidnext: int) -> int:
    """The lowest UID still to be claimed as recent in ``folder_id`` (for STATUS RECENT)."""
    return floors.get(folder_id, uidnext)


@dataclass(eq=False)
class Selected:
    folder: Folder
    read_only: bool
    uids: array[int]
    modseq: int
    dirty: bool = False
    pending: set[int] = field(default_factory=set)  # expunged elsewhere, not yet reported
    # Flag changes this session reported itself (uid -> change number), not to be repeated.
    reported: dict[int, int] = field(default_factory=dict)
    saved: list[int] = field(default_factory=list)  # ESEARCH SAVE result, as UIDs (RFC 5182)
    recent: set[int] = field(default_factory=set)  # \Recent in this session (rev1 only)
    floors: RecentFloors = field(default_factory=dict)  # the listener's, shared by its sessions
    # The mailbox that holds the folder: another account's for a shared folder (see shared.py),
    # and the user's rights on it (RFC 4314 letters; all of them on their own folders).
    mailbox: Mailbox | None = None
    rights: str = "lrswipkxtea"

    @property
    def exists(self) -> int:
        return len(self.uids)

    def seq_of(self, uid: int) -> int:
        """The sequence number of ``uid``, 0 when this view does not hold it."""
        i = bisect.bisect_left(self.uids, uid)
        return i + 1 if i < len(self.uids) and self.uids[i] == uid else 0

    def max_uid(self) -> int:
        return self.uids[-1] if self.uids else 0

    # ------------------------------------------------------------------ sets

    def seq_ranges(self, text: str) -> UidRanges:
        """A sequence set (``1:4,7,*``; ``$`` = saved result) → UID ranges; Bad when invalid."""
        if text == "$":
            return [(u, u) for u in self.saved]
        exists = len(self.uids)
        if not exists and "*" in text:
            return []  # "1:*" in an empty mailbox is nothing, not an error (clients send it)
        out: UidRanges = []
        for lo, hi in parse_set(text, exists):
            if lo < 1 or hi > exists:
                raise Bad("Invalid message sequence number")
            out.append((self.uids[lo - 1], self.uids[hi - 1]))
        return out

    def uid_ranges(self, text: str) -> UidRanges:
        """A UID set → ranges (``*`` is the highest UID; RFC 9051 §6.4.8 allows any numbers)."""
        if text == "$":
            return [(u, u) for u in self.saved]
        return parse_set(text, self.max_uid())

    def ranges(self, text: str, uid: bool) -> UidRanges:
        return self.uid_ranges(text) if uid else self.seq_ranges(text)

    def filter_known(self, uids: Iterable[int]) -> Iterator[tuple[int, int]]:
        """``(seq, uid)`` for the uids this view holds."""
        for uid in uids:
            seq = self.seq_of(uid)
            if seq:
                yield seq, uid

    # ------------------------------------------------------------------ updates

    def absorb_own(self, changed: Sequence[FlagChange]) -> None:
        """Flag changes this session made and reported itself (STORE, FETCH setting \\Seen).

        They took consecutive change numbers. When nothing else happened since the
        view's ``modseq`` they simply advance it, and ``sync`` never reads them back
        (``STORE 1:* +FLAGS`` of 5,000 messages would otherwise fetch 5,000 rows
        to skip them); otherwise they are remembered in ``reported`` and skipped there.
        """
        if not changed:
            return
        numbers = [c.change_num for c in changed]
        first, last = min(numbers), max(numbers)
        if self.modseq == first - 1 and last - first + 1 == len(numbers):
            self.modseq = last
            return
        for change in changed:
            self.reported[change.uid] = change.change_num

    async def sync(
        self, mailbox: Mailbox, allow_expunge: bool, qresync: bool, condstore: bool, rev2: bool = False
    ) -> list[bytes]:
        """Untagged responses for what others changed since ``modseq`` (see the module docstring)."""
        out: list[bytes] = []
        if self.dirty:
            self.dirty = False
            while True:
                changes = await mailbox.folder_changes(self.modseq, self.folder.id)
                top = self.max_uid()
                new_uids: list[int] = []
                if not changes.complete:
                    # Tombstones since our modseq were pruned (a session idle for longer
                    # than store.tombstone_days): find what left by comparing UIDs.
                    here = set(await folder_uids(mailbox, self.folder.id))
                    self.pending.update(uid for uid in self.uids if uid not in here)
                for tomb in changes.removed:
                    if tomb.uid is not None and self.seq_of(tomb.uid):
                        self.pending.add(tomb.uid)
                for item in changes.items:
                    if item.uid > top:
                        new_uids.append(item.uid)
                        continue
                    seq = self.seq_of(item.uid)
                    if not seq or item.uid in self.pending or self.reported.get(item.uid) == item.change_num:
                        continue
                    recent = item.uid in self.recent and not rev2
                    parts = [b"UID %d FLAGS " % item.uid + flag_list(item.flags, item.keywords, recent)]
                    if condstore:
                        parts.append(b"MODSEQ (%d)" % item.change_num)
                    out.append(b"* %d FETCH (%s)\r\n" % (seq, b" ".join(parts)))
                full = len(changes.items) >= 10000 or len(changes.removed) >= 10000
                if full:
                    # Partial page: advance only to what both lists covered.
                    last = min(
                        changes.items[-1].change_num if changes.items else changes.last_change,
                        changes.removed[-1].change_num if changes.removed else changes.last_change,
                    )
                else:
                    last = changes.last_change
                if new_uids:
                    self.recent |= claim_recent(
                        self.floors, self.folder.id, new_uids, self.folder.uidnext, not self.read_only
                    )
                    self.uids.extend(sorted(set(new_uids)))
                    out.append(b"* %d EXISTS\r\n" % len(self.uids))
                self.modseq = max(self.modseq, last)
                if not full:
                    break
            self.reported.clear()
        if allow_expunge and self.pending:
            out.extend(self.expunged(sorted(self.pending), qresync))
        return out

    def expunged(self, uids: list[int], qresync: bool) -> list[bytes]:
        """Remove ``uids`` (ascending) from the view; EXPUNGE (descending) or VANISHED responses."""
        gone = set(uids)
        self.pending -= gone
        known = [u for u in uids if self.seq_of(u)]
        if not known:
            return []
        if qresync:
            out = [b"* VANISHED " + compress_set(known).encode() + b"\r\n"]
        else:
            # Highest first: removing message n does not renumber the ones below it.
            out = [b"* %d EXPUNGE\r\n" % self.seq_of(u) for u in reversed(known)]
        self.uids = array("I", (u for u in self.uids if u not in gone))
        self.recent -= gone
        return out


def missing(ranges: UidRanges, held: array[int]) -> UidRanges:
    """The parts of ``ranges`` that are not in ``held`` (ascending UIDs), as ranges.

    For VANISHED (EARLIER) when the tombstones are gone (RFC 7162 §3.2.5.1 lets a
    server report UIDs that were never there): the answer is gaps, never a list
    of every number, so ``1:4294967295`` costs no more than the folder's size.
    """
    out: UidRanges = []
    for lo, hi in ranges:
        start = lo
        i = bisect.bisect_left(held, lo)
        while i < len(held) and held[i] <= hi:
            if held[i] > start:
                out.append((start, held[i] - 1))
            start = held[i] + 1
            i += 1
        if start <= hi:
            out.append((start, hi))
    return out


def format_ranges(ranges: UidRanges) -> str:
    """``[(1, 3), (7, 7)]`` → ``"1:3,7"``."""
    return ",".join(str(lo) if lo == hi else f"{lo}:{hi}" for lo, hi in ranges)


def parse_set(text: str, star: int) -> UidRanges:
    """``"1:3,5,7:*"`` → normalised ``[(lo, hi)]`` (RFC 9051 §9 sequence-set); Bad when malformed."""
    out: UidRanges = []
    if not text:
        raise Bad("Empty sequence set")
    for part in text.split(","):
        a, sep, b = part.partition(":")
        try:
            lo = star if a == "*" else int(a)
            hi = lo if not sep else (star if b == "*" else int(b))
        except ValueError:
            raise Bad(f"Invalid sequence set {text[:40]!r}") from None
        if (lo < 1 and a != "*") or (hi < 1 and b != "*") or lo > 0xFFFFFFFF or hi > 0xFFFFFFFF:
            raise Bad(f"Invalid sequence set {text[:40]!r}")
        if lo > hi:
            lo, hi = hi, lo
        if hi < 1:
            continue
        out.append((max(lo, 1), hi))
    return _merge(out)


def _merge(ranges: UidRanges) -> UidRanges:
    ranges.sort()
    merged: UidRanges = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged
