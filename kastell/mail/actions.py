"""Executing a recipient's rules during delivery (the Sieve step of the pipeline).

``RuleActions.plan`` runs the recipient's effective rules (kastell.rules.engine)
and turns the Sieve result into what delivery does: where to store the message
and with which flags, or a rejection. ``follow_up`` does what comes after the
store committed — redirects, vacation replies, duplicate tracking — and never
fails the delivery (the message is stored; a follow-up that fails is logged).

Loops: a redirected copy carries ``Delivered-To: <account address>`` on top; a
message that already carries the account's own address there has passed this
account before, so its redirects are dropped and it is kept instead.
Redirects that leave the server get an SRS envelope sender (kastell.rules.srs).
Vacation replies go out with the null sender (RFC 5230 §5), DKIM-signed when
the domain has keys.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kastell.mail import trace
from kastell.ops import metrics
from kastell.rules import srs
from kastell.rules.engine import EffectiveRules, RulesEngine

if TYPE_CHECKING:
    from kastell import sieve
    from kastell.app import Kastell
    from kastell.directory.resolve import LocalRecipient
    from kastell.mail.deliver import MessageContext

log = logging.getLogger("kastell.mail.actions")

_DELIVERED_TO = re.compile(rb"(?im)^delivered-to[ \t]*:[ \t]*<?([^\r\n>]*)>?[ \t]*\r?$")


@dataclass(frozen=True, slots=True)
class Placement:
    """Store the message into ``target`` — a folder role ("inbox", "junk") or a path."""

    target: str
    flags: tuple[str, ...] | None = None
    create: bool = False
    role: bool = True


@dataclass
class Plan:
    placements: list[Placement]
    reject: str | None = None
    redirects: list[sieve.Redirect] = field(default_factory=list)
    vacations: list[sieve.Vacation] = field(default_factory=list)
    duplicate_marks: list[tuple[str, int]] = field(default_factory=list)
    rules: EffectiveRules | None = None


def delivered_to(source: bytes) -> set[str]:
    """The addresses of the message's Delivered-To: headers, lower-cased."""
    block = trace.header_block(source)
    return {m.decode("utf-8", "replace").strip().lower() for m in _DELIVERED_TO.findall(block)}


def spam_scale(spam: bool, score: float, tested: bool) -> int | None:
    """A verdict on RFC 5235's scale: None untested, 1 (surely ham) … 10 (surely spam)."""
    if not tested:
        return None
    if spam:
        return 10
    return max(1, min(9, 1 + int(score)))


class RuleActions:
    def __init__(self, app: Kastell) -> None:
        self.app = app
        self.engine = RulesEngine(app)

    async def plan(
        self,
        recipient: LocalRecipient,
        detail: str | None,
        source: bytes,
        default_role: str,
        context: MessageContext,
        spam_score: int | None = None,
    ) -> Plan:
        keep = Placement(default_role)
        rules = await self.engine.rules_for(recipient)
        if rules is None:
            return Plan([keep])
        from kastell import sieve  # loaded with the first account that has rules (memory of an idle server)

        rcpt = context.envelope_to.get((recipient.org_id, recipient.account_id), "")
        if not rcpt:
            local, _, domain = recipient.address.rpartition("@")
            rcpt = f"{local}+{detail}@{domain}" if detail else recipient.address
        envelope = sieve.Envelope(context.sender, rcpt)
        result = await self.engine.evaluate(rules, source, envelope, spam_score=spam_score)
        if result.errors:
            log.warning("rules of %s failed, message kept: %s", recipient.address, "; ".join(result.errors))
        plan = Plan([], rules=rules, duplicate_marks=list(result.duplicate_marks))
        looped = bool(delivered_to(source) & {a.lower() for a in rules.addresses})
        dropped = False
        for action in result.actions:
            metrics.RULE_ACTIONS.labels(type(action).__name__.lower()).inc()
            if isinstance(action, sieve.Keep):
                plan.placements.append(Placement(default_role, action.flags))
            elif isinstance(action, sieve.FileInto):
                inbox = action.mailbox.upper() == "INBOX"
                plan.placements.append(
                    Placement("inbox" if inbox else action.mailbox, action.flags, action.create, role=inbox)
                )
            elif isinstance(action, sieve.Redirect):
                if looped:
                    dropped = True
                else:
                    plan.redirects.append(action)
            elif isinstance(action, sieve.Reject):
                plan.reject = action.reason
            elif isinstance(action, sieve.Vacation):
                plan.vacations.append(action)
        if plan.reject is not None:
            return Plan([], reject=_reply_text(plan.reject), rules=rules)
        if dropped:
            log.warning("mail loop for %s: redirect dropped, message kept", recipient.address)
            if not plan.placements:
                plan.placements.append(keep)
        return plan

    async def follow_up(self, recipient: LocalRecipient, plan: Plan, source: bytes, context: MessageContext) -> None:
        """Redirects, vacation replies and duplicate tracking, once the message is stored."""
        if plan.rules is None:
            return
        try:
            await self.engine.record_duplicates(recipient.account_id, plan.duplicate_marks)
        except Exception:
            log.exception("duplicate tracking for %s failed", recipient.address)
        for redirect in plan.redirects:
            try:
                await self._redirect(recipient, redirect.address, source, context.sender)
            except Exception:
                log.exception("redirect of a message for %s failed", recipient.address)
        for vacation in plan.vacations:
            try:
                await self._vacation(recipient, plan.rules, vacation, source)
            except Exception:
                log.exception("vacation reply for %s failed", recipient.address)

    async def _redirect(self, recipient: LocalRecipient, to: str, source: bytes, sender: str) -> None:
        message = b"Delivered-To: " + recipient.address.encode() + b"\r\n" + source
        await send(self.app, sender, to, message, srs_domain=recipient.address.rpartition("@")[2])
        log.info("redirected a message for %s to %s", recipient.address, to)

    async def _vacation(
        self, recipient: LocalRecipient, rules: EffectiveRules, action: sieve.Vacation, source: bytes
    ) -> None:
        if action.suppressed:
            log.info("no vacation reply from %s: %s", recipient.address, action.suppressed)
            return
        if not await self.engine.claim_vacation(recipient.account_id, action.handle, action.reply_to, action.seconds):
            return
        from kastell.mail.submit import dkim_sign
        from kastell.sieve.vacation import compose_reply

        hostname = self.app.settings.config.server.hostname
        reply = compose_reply(
            action, source, from_address=recipient.address, now=datetime.now(UTC), message_id_domain=hostname
        )
        reply = await dkim_sign(self.app, reply, (action.from_address or recipient.address).rpartition("@")[2])
        await send(self.app, "", action.reply_to, reply)
        log.info("vacation reply from %s to %s", recipient.address, action.reply_to)


def _reply_text(reason: str) -> str:
    """A rejection reason fit for one SMTP reply line."""
    text = " ".join(reason.split())
    text = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)[:200]
    return text or "Message rejected"


async def send(app: Kastell, sender: str, to: str, message: bytes, *, srs_domain: str | None = None) -> None:
    """Send ``message`` from this server: stored at once when ``to`` is local, else queued.

    With ``srs_domain`` (a forward), what leaves the server carries an SRS envelope sender of
    that domain, so that the receiver's SPF check of the original sender's domain cannot fail.
    """
    from kastell.mail.deliver import MessageContext
    from kastell.mail.transport import transport

    mail = transport(app)
    check = await mail.delivery.check_recipient(to)
    outgoing_sender = srs.forward(app.settings.data_dir, sender, srs_domain) if srs_domain else sender
    if check.local:
        if check.reply.ok and check.accounts:
            outcomes = await mail.delivery.deliver(
                message,
                [(a, check.detail) for a in check.accounts],
                MessageContext(sender, (to,), envelope_to={(a.org_id, a.account_id): to for a in check.accounts}),
            )
            failed = [str(o.reply) for o in outcomes if not o.reply.ok]
            if failed:
                log.warning("local delivery to %s failed: %s", to, failed[0])
        else:
            log.warning("message to local %s dropped: %s", to, check.reply)
        if check.outside:
            await mail.queue.enqueue(outgoing_sender, list(check.outside), message)
        return
    await mail.queue.enqueue(outgoing_sender, [to], message)
