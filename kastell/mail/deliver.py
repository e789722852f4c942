"""The local delivery pipeline shared by SMTP (MX), submission, LMTP and the queue's DSNs.

Theory of operation. A message reaches a local mailbox in four steps:

1. **resolve** — at RCPT time, ``check_recipient`` asks the directory where an
   address goes and answers the SMTP reply for it (RFC 5321 4.2 / RFC 3463
   codes): unknown → 550 5.1.1, disabled → 550 5.2.1, full → 452 4.2.2.
2. **spam** — ``SpamFilter.scan`` gives a verdict (the built-in filter of a
   later issue plugs in here; today a no-op that says "ham").
3. **rules** — the recipient's Sieve rules, out-of-office and forwarding
   (``kastell.mail.actions``) say where the message goes and with which flags,
   or reject it (550 5.7.1 for that recipient).
4. **store** — ``Mailbox.append`` into INBOX (or Junk, or the rules' folders),
   one transaction per mailbox that commits before it returns, after the blob
   is durable. The store publishes the change notification itself. Redirects,
   vacation replies and duplicate tracking follow the commit.

The same source bytes go to every recipient (no per-recipient header), so the
content-addressed blob store keeps one blob however many mailboxes receive it.
A reply of 250 is sent by the caller only after ``deliver`` returned success for
that recipient: nothing acknowledged exists only in memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from kastell.directory.resolve import LocalRecipient, Resolution
from kastell.mail.actions import Placement, RuleActions, spam_scale
from kastell.ops import metrics
from kastell.rules import srs
from kastell.store.errors import (
    FolderExists,
    InvalidFolderName,
    ItemTooLarge,
    NoSuchFolder,
    NoSuchMailbox,
    QuotaExceeded,
)
from kastell.store.flags import MAX_KEYWORDS, encode_keywords, split_flags
from kastell.store.mailbox import Mailbox
from kastell.store.model import Appended, NewItem

if TYPE_CHECKING:
    from kastell.app import Kastell

log = logging.getLogger("kastell.mail.deliver")


@dataclass(frozen=True, slots=True)
class Reply:
    """An SMTP reply: ``code`` and ``text`` (the text starts with the RFC 3463 enhanced code)."""

    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}"

    @property
    def ok(self) -> bool:
        return 200 <= self.code < 300

    @property
    def temporary(self) -> bool:
        return 400 <= self.code < 500


OK = Reply(250, "2.1.5 OK")
DELIVERED = Reply(250, "2.0.0 OK delivered")


@dataclass(frozen=True, slots=True)
class RecipientCheck:
    """The RCPT-time answer for one address: a reply, and where the mail will go when accepted."""

    reply: Reply
    address: str
    local: bool  # the domain is one of ours
    accounts: tuple[LocalRecipient, ...] = ()
    outside: tuple[str, ...] = ()  # group members elsewhere: the queue takes them
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class SpamVerdict:
    spam: bool = False
    score: float = 0.0
    headers: bytes = b""  # e.g. X-Spam-Status, prepended when not empty
    tested: bool = False  # a filter looked at the message (Sieve's spamtest says 0 otherwise)


@dataclass(frozen=True, slots=True)
class MessageContext:
    """What the filters may look at besides the bytes."""

    sender: str
    recipients: tuple[str, ...]
    client_ip: str | None = None
    authenticated: bool = False
    quarantine: bool = False  # DMARC p=quarantine failed: file into Junk
    # (org, account) → the RCPT address that reached it (an alias, a group, user+tag); what a
    # Sieve script's envelope "to" is. Missing: the account's primary address with the detail.
    envelope_to: Mapping[tuple[int, int], str] = field(default_factory=dict)


class SpamFilter(Protocol):
    async def scan(self, source: bytes, context: MessageContext) -> SpamVerdict: ...


class NoSpamFilter:
    """The placeholder filter: everything is ham (issue 3 item 6 replaces it)."""

    async def scan(self, source: bytes, context: MessageContext) -> SpamVerdict:
        return SpamVerdict()


@dataclass
class Outcome:
    """What happened to one local account."""

    recipient: LocalRecipient
    reply: Reply
    folder: str = ""
    uid: int = 0


class _GroupCommit:
    """Concurrent deliveries into one folder share one store transaction (group commit).

    The store commits (and syncs) once per ``append_many``; when several SMTP/LMTP
    sessions deliver into the same folder at once, the ones that arrive while a
    commit is in flight are stored together by the next one. A flusher task, not
    a caller, does the work, so a client that disconnects cannot strand the others.
    Every caller still gets its own result only after its commit.
    """

    MAX_BATCH = 64

    def __init__(self, mailbox: Mailbox, folder_id: int) -> None:
        self.mailbox = mailbox
        self.folder_id = folder_id
        self.pending: list[tuple[NewItem, asyncio.Future[Appended]]] = []
        self.task: asyncio.Task[None] | None = None

    async def append(self, item: NewItem) -> Appended:
        future: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        self.pending.append((item, future))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._flush())
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        while self.pending:
            batch, self.pending = self.pending[: self.MAX_BATCH], self.pending[self.MAX_BATCH :]
            try:
                results = await self.mailbox.append_many(self.folder_id, [item for item, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], exception=exc)
                    continue
                # One bad item (quota, size) must not fail its neighbours: store them one by one.
                for item, future in batch:
                    try:
                        _settle(future, await self.mailbox.append(self.folder_id, item))
                    except Exception as single:
                        _settle(future, exception=single)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                _settle(future, result)


def _settle(
    future: asyncio.Future[Appended], result: Appended | None = None, *, exception: Exception | None = None
) -> None:
    if future.done():
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        assert result is not None
        future.set_result(result)


@dataclass
class LocalDelivery:
    """The pipeline for one app. ``spam`` is the hook described above."""

    app: Kastell
    spam: SpamFilter = field(default_factory=NoSpamFilter)
    rules: RuleActions = field(init=False)
    # (org, account) → the open mailbox and its INBOX/Junk ids; saves two reads per message.
    _mailboxes: dict[tuple[int, int], tuple[Mailbox, dict[str, int]]] = field(default_factory=dict)
    _commits: dict[tuple[int, int], _GroupCommit] = field(default_factory=dict)
    _resolved: dict[str, tuple[Resolution, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rules = RuleActions(self.app)

    async def _append(self, mailbox: Mailbox, folder_id: int, item: NewItem) -> Appended:
        key = (mailbox.id, folder_id)
        group = self._commits.get(key)
        if group is None or group.mailbox is not mailbox:
            if len(self._commits) > 10000:  # forget idle folders; a bound, not an LRU
                self._commits = {k: g for k, g in self._commits.items() if g.pending or not (g.task and g.task.done())}
            group = self._commits[key] = _GroupCommit(mailbox, folder_id)
        try:
            return await group.append(item)
        finally:
            if not group.pending and (group.task is None or group.task.done()):
                self._commits.pop(key, None)

    async def resolve(self, address: str) -> Resolution:
        """The directory's answer, reused for ``smtp.resolve_cache_seconds`` when found.

        Only positive answers are kept (a user created a moment ago must not get
        550); a deleted mailbox found through a stale entry fails the delivery
        with a temporary error, never a false 250.
        """
        ttl = self.app.settings.config.smtp.resolve_cache_seconds
        now = time.monotonic()
        cached = self._resolved.get(address)
        if cached is not None and cached[1] > now:
            return cached[0]
        resolution = await self.app.directory.resolve(address)
        if ttl and resolution.found:
            if len(self._resolved) > 10000:
                self._resolved.clear()
            self._resolved[address] = (resolution, now + ttl)
        return resolution

    async def check_recipient(self, address: str) -> RecipientCheck:
        """The RCPT answer for ``address`` (never raises for bad input)."""
        resolution = await self.resolve(address)
        if not resolution.valid:
            return RecipientCheck(Reply(553, "5.1.3 Bad recipient address syntax"), address, False)
        if not resolution.local_domain:
            return RecipientCheck(Reply(554, "5.7.1 Relay access denied"), resolution.address, False)
        if not resolution.found:
            if srs.is_srs(resolution.address):
                return await self._srs_bounce(resolution.address)
            return RecipientCheck(Reply(550, "5.1.1 No such user here"), resolution.address, True)
        allowed = {"active", "suspended"} if self.app.settings.config.smtp.deliver_to_suspended else {"active"}
        accounts = tuple(a for a in resolution.accounts if a.status in allowed)
        if not accounts and not resolution.outside:
            if resolution.accounts:
                return RecipientCheck(Reply(550, "5.2.1 Mailbox disabled"), resolution.address, True)
            return RecipientCheck(Reply(550, "5.1.1 No such user here (empty list)"), resolution.address, True)
        if accounts and not resolution.outside and all([await self._full(a) for a in accounts]):
            return RecipientCheck(Reply(452, "4.2.2 Mailbox full, try again later"), resolution.address, True)
        return RecipientCheck(OK, resolution.address, True, accounts, resolution.outside, resolution.detail)

    async def _srs_bounce(self, address: str) -> RecipientCheck:
        """A reply to a forward we rewrote (kastell.rules.srs): it goes on to the original sender."""
        original = srs.reverse(self.app.settings.data_dir, address)
        if original is None or srs.is_srs(original):
            return RecipientCheck(Reply(550, "5.1.1 No such user here (invalid or expired SRS address)"), address, True)
        check = await self.check_recipient(original)
        if check.local:
            return check
        return RecipientCheck(OK, address, True, outside=(original,))

    async def _full(self, recipient: LocalRecipient) -> bool:
        try:
            mailbox, _ = await self._open(recipient)
            quota = await mailbox.quota()
        except (NoSuchMailbox, NoSuchFolder):
            return False
        return bool(quota.limit) and quota.used >= quota.limit

    async def _open(self, recipient: LocalRecipient) -> tuple[Mailbox, dict[str, int]]:
        key = (recipient.org_id, recipient.account_id)
        cached = self._mailboxes.get(key)
        if cached is not None:
            return cached
        mailbox = await self.app.store.open(recipient.org_id, recipient.account_id)
        roles: dict[str, int] = {}
        for role in ("inbox", "junk"):
            try:
                roles[role] = (await mailbox.folder_by_role(role)).id
            except NoSuchFolder:
                pass
        if len(self._mailboxes) > 10000:  # a bound, not an LRU: refilling costs two reads
            self._mailboxes.clear()
        self._mailboxes[key] = (mailbox, roles)
        return mailbox, roles

    async def deliver(
        self,
        source: bytes,
        recipients: Sequence[tuple[LocalRecipient, str | None]],
        context: MessageContext,
    ) -> list[Outcome]:
        """Store ``source`` for each (account, sub-address tag); one outcome per distinct account.

        Each outcome's reply is 250 only after that mailbox's transaction has
        committed; a full mailbox gives 452 4.2.2, a failure of the store 451 4.3.0.
        """
        verdict = await self.spam.scan(source, context)
        if verdict.headers:
            source = verdict.headers + source
        default_role = "junk" if verdict.spam or context.quarantine else "inbox"
        spam_score = spam_scale(verdict.spam, verdict.score, verdict.tested)
        outcomes: list[Outcome] = []
        seen: set[tuple[int, int]] = set()
        for recipient, detail in recipients:
            key = (recipient.org_id, recipient.account_id)
            if key in seen:
                continue
            seen.add(key)
            outcome = await self._store_one(recipient, detail, source, default_role, context, spam_score)
            result = "delivered" if outcome.reply.ok else "deferred" if outcome.reply.temporary else "failed"
            metrics.DELIVERIES.labels("local", result).inc()
            outcomes.append(outcome)
        return outcomes

    async def _store_one(
        self,
        recipient: LocalRecipient,
        detail: str | None,
        source: bytes,
        role: str,
        context: MessageContext,
        spam_score: int | None,
    ) -> Outcome:
        try:
            plan = await self.rules.plan(recipient, detail, source, role, context, spam_score)
            if plan.reject is not None:
                return Outcome(recipient, Reply(550, "5.7.1 " + plan.reject))
            stored: list[tuple[str, int]] = []
            for placement in plan.placements:
                stored.append((placement.target, await self._place(recipient, placement, source)))
            await self.rules.follow_up(recipient, plan, source, context)
            if not stored:  # discarded (or only redirected): accepted all the same
                return Outcome(recipient, DELIVERED)
            return Outcome(recipient, DELIVERED, stored[0][0], stored[0][1])
        except QuotaExceeded:
            return Outcome(recipient, Reply(452, "4.2.2 Mailbox full, try again later"))
        except ItemTooLarge:
            return Outcome(recipient, Reply(552, "5.3.4 Message too big for this mailbox"))
        except Exception:  # the store failed (disk, database): temporary, the client retries
            log.exception("delivery to %s failed", recipient.address)
            return Outcome(recipient, Reply(451, "4.3.0 Local delivery failed, try again later"))

    async def _place(self, recipient: LocalRecipient, placement: Placement, source: bytes) -> int:
        """Store one copy where ``placement`` says; the UID. A missing folder means INBOX (RFC 5228 §4.1)."""
        item = NewItem(source)
        if placement.flags:
            bits, keywords = split_flags(placement.flags)
            valid = [k for k in keywords if _valid_keyword(k)]
            item = NewItem(source, flags=bits, keywords=tuple(valid[:MAX_KEYWORDS]))  # (a script may set more)
        mailbox, roles = await self._open(recipient)
        folder_id = await self._folder(mailbox, roles, placement, recipient)
        try:
            return (await self._append(mailbox, folder_id, item)).uid
        except (NoSuchFolder, NoSuchMailbox):
            # The folder was deleted or the account re-created since we cached it: look again once.
            self._mailboxes.pop((recipient.org_id, recipient.account_id), None)
            mailbox, roles = await self._open(recipient)
            folder_id = await self._folder(mailbox, roles, placement, recipient)
            return (await mailbox.append(folder_id, item)).uid

    async def _folder(
        self, mailbox: Mailbox, roles: dict[str, int], placement: Placement, recipient: LocalRecipient
    ) -> int:
        if placement.role:
            folder_id = roles.get(placement.target) or roles.get("inbox")
            if folder_id is not None:
                return folder_id
            return (await mailbox.folder_by_role("inbox")).id
        try:
            return (await mailbox.folder_by_path(placement.target)).id
        except NoSuchFolder:
            if placement.create:
                try:
                    return (await mailbox.create_folder(placement.target)).id
                except FolderExists:
                    return (await mailbox.folder_by_path(placement.target)).id
        except InvalidFolderName:
            pass
        log.warning("rules of %s: no folder %r, filed into INBOX", recipient.address, placement.target[:200])
        return roles.get("inbox") or (await mailbox.folder_by_role("inbox")).id


def _valid_keyword(keyword: str) -> bool:
    try:
        encode_keywords([keyword])
    except ValueError:
        return False
    return True
