"""The mail transport of one running app: delivery pipeline, queue, DKIM keys, resolver.

``transport(app)`` returns the one :class:`Transport` of an app (made on first
use), so that SMTP, LMTP, the queue runner and — later — JMAP/EWS/ActiveSync
submission share the same queue wake-up, caches and rate limits.
``run_queue(app)`` is the background worker ``kastell serve`` starts.
"""

from __future__ import annotations

import time
import weakref
from collections import deque
from typing import TYPE_CHECKING

from kastell.mail.deliver import LocalDelivery
from kastell.mail.dkim import DkimKeys
from kastell.mail.dns import DnsPythonResolver, Resolver
from kastell.mail.queue import Queue, QueueRunner

if TYPE_CHECKING:
    from kastell.app import Kastell


class RateLimiter:
    """Messages per account per hour (a sliding window in memory; one process)."""

    def __init__(self, per_hour: int) -> None:
        self.per_hour = per_hour
        self._sent: dict[int, deque[float]] = {}

    def allow(self, account_id: int) -> bool:
        if not self.per_hour:
            return True
        now = time.monotonic()
        window = self._sent.setdefault(account_id, deque())
        while window and window[0] <= now - 3600:
            window.popleft()
        if len(window) >= self.per_hour:
            return False
        window.append(now)
        return True


class Transport:
    def __init__(self, app: Kastell) -> None:
        self.app = app
        self.delivery = LocalDelivery(app)
        self.queue = Queue(app)
        self.dkim = DkimKeys(app.db)
        self.resolver: Resolver = DnsPythonResolver()
        self.rate = RateLimiter(app.settings.config.smtp.max_messages_per_hour)
        self.runner: QueueRunner | None = None


_transports: weakref.WeakKeyDictionary[Kastell, Transport] = weakref.WeakKeyDictionary()


def transport(app: Kastell) -> Transport:
    found = _transports.get(app)
    if found is None:
        found = _transports[app] = Transport(app)
    return found


async def run_queue(app: Kastell, *, resolver: Resolver | None = None, poll: float = 5.0) -> None:
    """Deliver the outbound queue until cancelled (``Server.start`` runs this as a worker)."""
    mail = transport(app)
    if resolver is not None:
        mail.resolver = resolver
    mail.runner = QueueRunner(app, mail.queue, lambda: mail.resolver, poll=poll)
    try:
        await mail.runner.run()
    finally:
        mail.runner = None


__all__ = ["RateLimiter", "Transport", "run_queue", "transport"]
