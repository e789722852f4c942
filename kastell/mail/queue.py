"""The persistent outbound queue and its runner.

Theory of operation. ``Queue.enqueue`` writes the message's blob (durable
first), then one ``queue_messages`` row and one ``queue_recipients`` row per
recipient in one transaction; the caller acknowledges only after it returns.
The runner (``run_queue``, one task in ``kastell serve``) wakes when something
is enqueued or every ``poll`` seconds, takes the recipients whose
``next_attempt`` is due, groups them by (message, domain) and delivers each
group over one SMTP connection (``kastell.mail.outbound``), at most
``delivery.concurrency`` at once and ``delivery.per_destination`` per domain.

Per recipient: 2xx → ``delivered``; 5xx → ``failed``; 4xx or no connection →
retried after ``retry_first * 2**(attempts-1)`` seconds (at most
``retry_max``) until the message's ``expires`` (``queue_lifetime``), then
``failed``. A message whose recipients are all final is removed and its failed
recipients get one bounce (RFC 3464, ``kastell.mail.dsn``); a message still
pending after ``delay_warning_after`` gets one delay warning. DSNs to a local
sender go straight into the sender's INBOX; to others they are queued with the
null sender. A crash between a delivery and its status update only causes a
duplicate delivery later (at-least-once, RFC 5321 6.1), never a loss.

Blob lifetime: the blob collector marks only blobs that items reference, so the
runner refreshes the modification time of queued blobs (``_keep_blobs``) well
within ``blobs.gc_grace_seconds``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, or_, select, update

from kastell.db import schema as s
from kastell.mail.dns import Resolver
from kastell.mail.dsn import RecipientStatus, build_dsn, status_of
from kastell.mail.mtasts import StsCache
from kastell.ops import metrics

if TYPE_CHECKING:
    from kastell.app import Kastell

log = logging.getLogger("kastell.mail.queue")
M, R = s.queue_messages.c, s.queue_recipients.c
FINAL = ("delivered", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class QueuedRecipient:
    id: int
    recipient: str
    domain: str
    status: str
    attempts: int
    next_attempt: int
    last_error: str | None
    remote: str | None


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    id: int
    sender: str
    size: int
    created: int
    expires: int
    blob_id: str
    recipients: tuple[QueuedRecipient, ...]


class Queue:
    """The ``queue_*`` tables: what the runner, submission and ``kastell queue`` share."""

    def __init__(self, app: Kastell) -> None:
        self.app = app
        self.wakeup = asyncio.Event()

    async def enqueue(
        self,
        sender: str,
        recipients: list[str],
        source: bytes,
        *,
        org_id: int | None = None,
        account_id: int | None = None,
    ) -> int:
        """Queue ``source`` for ``recipients`` (durably: blob, then one transaction); the message id."""
        ref = await self.app.blobs.put(source)
        now = int(time.time())
        lifetime = self.app.settings.config.delivery.queue_lifetime
        async with self.app.db.write() as conn:
            result = await conn.execute(
                insert(s.queue_messages).values(
                    org_id=org_id,
                    sender=sender,
                    blob_id=ref.id,
                    size=ref.size,
                    created=now,
                    expires=now + lifetime,
                    account_id=account_id,
                )  # fmt: skip
            )
            assert result.inserted_primary_key is not None
            message_id = int(result.inserted_primary_key[0])
            await conn.execute(
                insert(s.queue_recipients),
                [
                    {
                        "message_id": message_id,
                        "recipient": r,
                        "domain": r.rpartition("@")[2].lower(),
                        "next_attempt": now,
                    }
                    for r in dict.fromkeys(recipients)
                ],
            )
        self.wakeup.set()
        return message_id

    async def list(self, *, sender_domains: frozenset[str] | None = None) -> list[QueuedMessage]:
        """Queued messages, oldest first, in two queries; ``sender_domains`` keeps those sent from them."""
        query = select(s.queue_messages).order_by(M.id)
        if sender_domains is not None:
            if not sender_domains:
                return []
            patterns = [
                "%@" + d.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                for d in sorted(sender_domains)
            ]
            query = query.where(or_(*[func.lower(M.sender).like(p, escape="\\") for p in patterns]))
        async with self.app.db.read() as conn:
            rows = (await conn.execute(query)).all()
            by_message: dict[int, list[QueuedRecipient]] = {row.id: [] for row in rows}
            for start in range(0, len(rows), 500):
                ids = [row.id for row in rows[start : start + 500]]
                for r in await conn.execute(select(s.queue_recipients).where(R.message_id.in_(ids)).order_by(R.id)):
                    by_message[r.message_id].append(_recipient(r))
        return [
            QueuedMessage(
                row.id, row.sender, row.size, row.created, row.expires, row.blob_id, tuple(by_message[row.id])
            )
            for row in rows
        ]

    async def show(self, message_id: int) -> QueuedMessage | None:
        async with self.app.db.read() as conn:
            row = (await conn.execute(select(s.queue_messages).where(M.id == message_id))).first()
            if row is None:
                return None
            rcpts = await conn.execute(select(s.queue_recipients).where(R.message_id == message_id).order_by(R.id))
            recipients = tuple(_recipient(r) for r in rcpts)
        return QueuedMessage(row.id, row.sender, row.size, row.created, row.expires, row.blob_id, recipients)

    async def source(self, message_id: int) -> bytes | None:
        found = await self.show(message_id)
        return None if found is None else await self.app.blobs.get(found.blob_id)

    async def retry(self, message_id: int | None = None) -> int:
        """Make pending recipients due now (one message, or all: ``flush``); how many."""
        async with self.app.db.write() as conn:
            where = [R.status == "pending"]
            if message_id is not None:
                where.append(R.message_id == message_id)
            result = await conn.execute(update(s.queue_recipients).where(*where).values(next_attempt=0))
        self.wakeup.set()
        return int(result.rowcount or 0)

    async def delete(self, message_id: int) -> bool:
        """Drop a message without a bounce (an operator's decision)."""
        async with self.app.db.write() as conn:
            await conn.execute(delete(s.queue_recipients).where(R.message_id == message_id))
            result = await conn.execute(delete(s.queue_messages).where(M.id == message_id))
        return bool(result.rowcount)

    async def counts(self) -> dict[str, int]:
        async with self.app.db.read() as conn:
            rows = await conn.execute(select(R.status, func.count()).group_by(R.status))
            return {row[0]: int(row[1]) for row in rows}


def _recipient(r: Any) -> QueuedRecipient:
    return QueuedRecipient(r.id, r.recipient, r.domain, r.status, r.attempts, r.next_attempt, r.last_error, r.remote)


def backoff(attempts: int, first: int, longest: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt: first, 2×, 4×… capped."""
    return int(min(longest, first * (2 ** max(0, attempts - 1))))


class QueueRunner:
    """Delivers what is due; ``run()`` until cancelled. ``resolver`` answers MX lookups."""

    def __init__(self, app: Kastell, queue: Queue, resolver: Callable[[], Resolver], *, poll: float = 5.0) -> None:
        self.app = app
        self.queue = queue
        self.resolver = resolver  # read at each delivery: tests and operators may swap it
        self.poll = poll
        config = app.settings.config.delivery
        self._all = asyncio.Semaphore(config.concurrency)
        self._per_domain: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(config.per_destination))
        self._busy: set[tuple[int, str]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_touch = 0.0
        self._finish_lock = asyncio.Lock()
        self.sts = StsCache()  # MTA-STS policies by domain; tests replace its ``fetch``

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.run_once()
                    await self._keep_blobs()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("queue run failed")
                try:
                    await asyncio.wait_for(self.queue.wakeup.wait(), self.poll)
                except TimeoutError:
                    pass
                self.queue.wakeup.clear()
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def run_once(self) -> int:
        """Start a delivery for every due (message, domain) not already in flight; how many."""
        now = int(time.time())
        async with self.app.db.read() as conn:
            rows = (
                await conn.execute(
                    select(R.message_id, R.domain)
                    .where(R.status == "pending", R.next_attempt <= now)
                    .group_by(R.message_id, R.domain)
                    .limit(1000)
                )
            ).all()
        started = 0
        for message_id, domain in rows:
            key = (message_id, domain)
            if key in self._busy:
                continue
            self._busy.add(key)
            task = asyncio.create_task(self._deliver(message_id, domain))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        await self._warn_delays(now)
        return started

    async def drain(self) -> None:
        """Wait for the deliveries in flight (tests, ``flush``)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _deliver(self, message_id: int, domain: str) -> None:
        from kastell.mail.outbound import deliver_group

        try:
            async with self._all, self._per_domain[domain]:
                message = await self.queue.show(message_id)
                if message is None:
                    return
                due = [r for r in message.recipients if r.status == "pending" and r.domain == domain]
                if not due:
                    return
                source = await self.app.blobs.get(message.blob_id)
                results = await deliver_group(
                    self.app, self.resolver(), message.sender, [r.recipient for r in due], source, self.sts
                )
                await self._record(message, due, results)
        except Exception:
            log.exception("delivery of queue message %s to %s failed", message_id, domain)
        finally:
            self._busy.discard((message_id, domain))

    async def _record(self, message: QueuedMessage, due: list[QueuedRecipient], results: dict[str, Any]) -> None:
        config = self.app.settings.config.delivery
        now = int(time.time())
        async with self.app.db.write() as conn:
            for r in due:
                code, text, remote = results[r.recipient]
                attempts = r.attempts + 1
                if 200 <= code < 300:
                    values: dict[str, Any] = {"status": "delivered", "finished": now}
                    metrics.DELIVERIES.labels("remote", "delivered").inc()
                elif 500 <= code < 600 or now >= message.expires:
                    values = {"status": "failed", "finished": now}
                    metrics.DELIVERIES.labels("remote", "failed").inc()
                else:
                    values = {"next_attempt": now + backoff(attempts, config.retry_first, config.retry_max)}
                    metrics.DELIVERIES.labels("remote", "deferred").inc()
                values.update(attempts=attempts, last_attempt=now, last_error=f"{code} {text}"[:2000], remote=remote)
                await conn.execute(update(s.queue_recipients).where(R.id == r.id).values(**values))
        await self._finish(message.id)

    async def _finish(self, message_id: int) -> None:
        """Bounce and remove a message once every recipient is final.

        The bounce is sent before the rows go: a crash in between repeats the
        bounce rather than losing it. The lock keeps two domains' deliveries of
        one message, finishing together, from bouncing twice.
        """
        async with self._finish_lock:
            await self._finish_locked(message_id)

    async def _finish_locked(self, message_id: int) -> None:
        message = await self.queue.show(message_id)
        if message is None or any(r.status not in FINAL for r in message.recipients):
            return
        failed = [r for r in message.recipients if r.status == "failed"]
        if failed and message.sender not in ("", "<>"):
            source = await self.app.blobs.get(message.blob_id)
            statuses = [_status(r, "failed") for r in failed]
            await send_dsn(self.app, message.sender, source, statuses, arrival=message.created)
        async with self.app.db.write() as conn:
            await conn.execute(delete(s.queue_recipients).where(R.message_id == message_id))
            await conn.execute(delete(s.queue_messages).where(M.id == message_id))

    async def _warn_delays(self, now: int) -> None:
        after = self.app.settings.config.delivery.delay_warning_after
        if not after:
            return
        async with self.app.db.read() as conn:
            ids = [
                row[0]
                for row in await conn.execute(
                    select(M.id).where(M.delay_warned == False, M.created <= now - after, M.sender != "")  # noqa: E712
                )
            ]
        for message_id in ids:
            message = await self.queue.show(message_id)
            if message is None:
                continue
            pending = [r for r in message.recipients if r.status == "pending"]
            if pending and not any(r.attempts for r in pending):
                continue  # not tried yet: the warning would have no reason to give
            async with self.app.db.write() as conn:
                await conn.execute(update(s.queue_messages).where(M.id == message_id).values(delay_warned=True))
            if pending and message.sender != "<>":
                source = await self.app.blobs.get(message.blob_id)
                await send_dsn(self.app, message.sender, source, [_status(r, "delayed") for r in pending])

    async def _keep_blobs(self) -> None:
        """Refresh queued blobs' mtime so that the collector (items only) never takes them."""
        grace = self.app.settings.config.blobs.gc_grace_seconds
        if time.monotonic() - self._last_touch < max(60.0, grace / 4):
            return
        self._last_touch = time.monotonic()
        async with self.app.db.read() as conn:
            blobs = [row[0] for row in await conn.execute(select(M.blob_id).distinct())]
        for blob in blobs:
            try:
                os.utime(self.app.blobs.path(blob))
            except (OSError, LookupError):
                log.warning("queued blob %s is missing", blob)


def _status(r: QueuedRecipient, action: str) -> RecipientStatus:
    code, _, text = (r.last_error or "").partition(" ")
    status = status_of(int(code), text) if code.isdigit() else ("4.4.1" if action == "delayed" else "5.4.7")
    if action == "failed" and status.startswith("4"):
        status = "5" + status[1:]  # given up after temporary failures: RFC 3463 4.4.7-style permanent
    return RecipientStatus(r.recipient, action, status, f"smtp; {r.last_error}" if r.last_error else "", r.remote or "")


async def send_dsn(
    app: Kastell, to: str, original: bytes, statuses: list[RecipientStatus], *, arrival: int | None = None
) -> None:
    """Deliver a DSN to ``to``: into the INBOX when local, else through the queue (null sender)."""
    from kastell.mail.actions import send

    hostname = app.settings.config.server.hostname
    dsn = build_dsn(reporting_mta=hostname, to=to, original=original, statuses=statuses, arrival=arrival)
    await send(app, "", to, dsn)
