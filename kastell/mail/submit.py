"""Submission: the API every protocol calls to send a user's message (RFC 6409).

``check_sender`` answers whether an authenticated account may use an address
(its own addresses, aliases and sub-addresses; not a group, not a catch-all).
``submit`` checks the From: header the same way, completes the header (Date,
Message-ID), adds a Received: line, DKIM-signs with the From domain's keys,
delivers local recipients at once (never through the queue), queues the rest
and, when asked, saves a copy in the sender's Sent folder (what ActiveSync,
EWS and JMAP need: issue 3 item 7).

Refusals are :class:`SubmitRefused` carrying the SMTP reply; SMTP sends it as
is, other protocols map it to their own error.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kastell.directory.records import Account
from kastell.mail import dkim, trace
from kastell.mail.deliver import MessageContext, RecipientCheck, Reply
from kastell.mail.transport import transport
from kastell.store.model import NewItem

if TYPE_CHECKING:
    from kastell.app import Kastell

log = logging.getLogger("kastell.mail.submit")
NOT_YOURS = Reply(553, "5.7.1 Sender address not owned by the authenticated user")


class SubmitRefused(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(str(reply))
        self.reply = reply


@dataclass(frozen=True, slots=True)
class SubmitResult:
    delivered: tuple[str, ...]  # local recipients stored
    queued: tuple[str, ...]  # recipients handed to the queue
    failed: tuple[tuple[str, Reply], ...]  # local recipients that could not be stored
    queue_id: int | None = None


async def check_sender(app: Kastell, account: Account, address: str) -> bool:
    """May ``account`` send as ``address``? Its own addresses, aliases and sub-addresses."""
    resolution = await app.directory.resolve(address)
    if not resolution.found or resolution.group or resolution.via == "catchall":
        return False
    return any(a.account_id == account.id and a.org_id == account.org_id for a in resolution.accounts)


_FROM = re.compile(rb"(?im)^from[ \t]*:((?:.*)(?:\r?\n[ \t].*)*)")


def from_addresses(message: bytes) -> list[str]:
    """The addresses of the From: header(s); [] when there is none."""
    found = _FROM.findall(trace.header_block(message))
    texts = [f.decode("utf-8", "replace").replace("\r", "").replace("\n", "") for f in found]
    return [addr for _name, addr in email.utils.getaddresses(texts) if addr]


async def check_from(app: Kastell, account: Account, message: bytes) -> None:
    addresses = from_addresses(message)
    if not addresses:
        raise SubmitRefused(Reply(550, "5.6.0 The message has no From: header"))
    for address in addresses:
        if not await check_sender(app, account, address):
            raise SubmitRefused(Reply(553, "5.7.1 From: header address not owned by the authenticated user"))


async def prepare(
    app: Kastell, account: Account, message: bytes, *, helo: str | None, client_ip: str | None, protocol: str
) -> bytes:
    """Check From:, complete and sign the message; the bytes to deliver and queue."""
    await check_from(app, account, message)
    hostname = app.settings.config.server.hostname
    message = trace.complete_submission(message, hostname)
    message = trace.received(helo=helo, client_ip=client_ip, by=hostname, protocol=protocol) + message
    return await dkim_sign(app, message, from_addresses(message)[0].rpartition("@")[2])


async def dkim_sign(app: Kastell, message: bytes, domain: str) -> bytes:
    """``message`` with a DKIM-Signature of ``domain`` on top, when signing is on and it has keys."""
    if app.settings.config.delivery.dkim_sign:
        keys = await transport(app).dkim.active(domain.lower())
        if keys:
            message = await asyncio.to_thread(dkim.sign, message, keys) + message
    return message


async def submit(
    app: Kastell,
    account: Account,
    mail_from: str,
    recipients: Sequence[str],
    message: bytes,
    *,
    helo: str | None = None,
    client_ip: str | None = None,
    protocol: str = "ESMTPSA",
    save_sent: bool = False,
    prepared: bool = False,
) -> SubmitResult:
    """Send ``message`` for ``account``; raises SubmitRefused (nothing sent then).

    ``prepared``: the caller has run ``prepare`` already (SMTP does, to answer
    a refusal before it acknowledges).
    """
    if not await check_sender(app, account, mail_from):
        raise SubmitRefused(NOT_YOURS)
    if not prepared:
        message = await prepare(app, account, message, helo=helo, client_ip=client_ip, protocol=protocol)
    mail = transport(app)
    local: list[tuple[str, RecipientCheck]] = []
    remote: list[str] = []
    for rcpt in dict.fromkeys(recipients):
        check = await mail.delivery.check_recipient(rcpt)
        if check.local:
            if not check.reply.ok:
                raise SubmitRefused(check.reply)
            local.append((rcpt, check))
            remote.extend(check.outside)
        else:
            remote.append(rcpt)
    delivered: list[str] = []
    failed: list[tuple[str, Reply]] = []
    reached = {(a.org_id, a.account_id): check.address for _rcpt, check in reversed(local) for a in check.accounts}
    context = MessageContext(mail_from, tuple(recipients), client_ip, authenticated=True, envelope_to=reached)
    for rcpt, check in local:
        outcomes = await mail.delivery.deliver(message, [(a, check.detail) for a in check.accounts], context)
        bad = [o.reply for o in outcomes if not o.reply.ok]
        if bad:
            failed.append((rcpt, bad[0]))
        else:
            delivered.append(rcpt)
    queue_id = None
    if remote:
        queue_id = await mail.queue.enqueue(mail_from, remote, message, org_id=account.org_id, account_id=account.id)
    if save_sent:
        await save_copy(app, account, message)
    return SubmitResult(tuple(delivered), tuple(dict.fromkeys(remote)), tuple(failed), queue_id)


async def save_copy(app: Kastell, account: Account, message: bytes) -> None:
    """A copy in the account's Sent folder, marked \\Seen."""
    from kastell.store.flags import Flag

    mailbox = await app.store.open(account.org_id, account.id)
    sent = await mailbox.folder_by_role("sent")
    await mailbox.append(sent.id, NewItem(message, flags=int(Flag.SEEN)))
