"""Change notifications: who is waiting for which mailbox.

The store publishes one :class:`Change` after each committed write transaction;
IMAP IDLE, ActiveSync Ping, EWS/JMAP push and DAV clients subscribe to the
mailboxes they serve and wake up instead of polling. Delivery is best-effort
and coalescing: a slow subscriber misses intermediate notices but always sees
the newest change number, and then asks the store what changed since the one
it knew (the store, not the notice, is the truth).

This is the in-process transport. Several processes sharing one PostgreSQL
database will use LISTEN/NOTIFY behind the same ``publish``/``subscribe``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Change:
    mailbox_id: int
    change_num: int  # the newest change number after the transaction
    folder_ids: frozenset[int] = field(default_factory=frozenset)  # folders whose contents or metadata changed


class Subscription:
    """One subscriber's view: ``await wait()`` returns the newest change not yet seen."""

    def __init__(self, mailbox_id: int) -> None:
        self.mailbox_id = mailbox_id
        self._latest: Change | None = None
        self._folders: set[int] = set()
        self._event = asyncio.Event()

    def _offer(self, change: Change) -> None:
        self._latest = change
        self._folders |= change.folder_ids
        self._event.set()

    async def wait(self, timeout: float | None = None) -> Change | None:
        """The newest change (folders merged since the last wait), or None on timeout."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return None
        self._event.clear()
        latest = self._latest
        assert latest is not None
        merged = Change(latest.mailbox_id, latest.change_num, frozenset(self._folders))
        self._folders.clear()
        return merged


class ChangeBus:
    def __init__(self) -> None:
        self._subscribers: dict[int, set[Subscription]] = {}
        # When the last change was published (time.monotonic()): background work
        # such as the full-text indexer waits for a quiet moment with it.
        self.last_publish = 0.0

    def publish(self, change: Change) -> None:
        self.last_publish = time.monotonic()
        for subscription in tuple(self._subscribers.get(change.mailbox_id, ())):
            subscription._offer(change)

    @asynccontextmanager
    async def subscribe(self, mailbox_id: int) -> AsyncIterator[Subscription]:
        subscription = Subscription(mailbox_id)
        self._subscribers.setdefault(mailbox_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._subscribers.get(mailbox_id)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[mailbox_id]

    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())
