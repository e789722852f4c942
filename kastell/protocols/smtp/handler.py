"""The aiosmtpd handler shared by smtp, submission(s) and lmtp; ``Policy`` says how they differ.

Replies follow RFC 5321 4.2 with RFC 3463 enhanced codes. The 250 after DATA
is sent only when every stored copy has committed (``kastell.mail.deliver``)
or the message is in the queue's committed transaction (``kastell.mail.queue``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aiosmtpd.smtp import MISSING, AuthResult, Envelope, Session

from kastell.directory.errors import AuthFailed, AuthThrottled
from kastell.directory.records import Account
from kastell.listeners import plaintext_auth_allowed
from kastell.mail import authres, submit, trace
from kastell.mail.deliver import MessageContext, Outcome, RecipientCheck, Reply
from kastell.mail.dsn import RecipientStatus, status_of
from kastell.mail.queue import send_dsn
from kastell.mail.transport import transport
from kastell.ops.sessions import LiveSession, open_session
from kastell.protocols.smtp.policy import Policy

if TYPE_CHECKING:
    from kastell.app import Kastell
    from kastell.protocols.smtp.server import KastellSMTP

log = logging.getLogger("kastell.smtp")


class KastellSession(Session):
    """aiosmtpd's per-connection state, plus the client address as a string."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.busy = False  # a DATA transaction is being stored: shutdown waits for it

    # aiosmtpd still sets this deprecated field after AUTH and logs a warning each time.
    @property
    def login_data(self) -> Any:
        return self._login_data

    @login_data.setter
    def login_data(self, value: Any) -> None:
        self._login_data = value


class KastellEnvelope(Envelope):
    def __init__(self) -> None:
        super().__init__()
        self.checks: list[RecipientCheck] = []  # local recipients, in RCPT order
        self.remote: list[str] = []  # outside recipients of an authenticated sender


def peer_ip(session: Session) -> str | None:
    peer = session.peer
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return None


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None


Hook = TypeVar("Hook", bound=Callable[..., Awaitable[Any]])


def _counted(verb: str) -> Callable[[Hook], Hook]:
    """Report each call of a hook to the connection's live session (and so the metrics): 2xx/3xx is ok."""

    def wrap(hook: Hook) -> Hook:
        @functools.wraps(hook)
        async def counted(self: Handler, server: KastellSMTP, *args: Any) -> Any:
            started = time.perf_counter()
            reply = await hook(self, server, *args)
            ok = not isinstance(reply, str) or reply[:1] in ("2", "3")  # EHLO answers a list of lines
            self.live(server).command(verb, "ok" if ok else "err", time.perf_counter() - started)
            return reply

        return counted  # type: ignore[return-value]

    return wrap


class Handler:
    def __init__(self, app: Kastell, policy: Policy) -> None:
        self.app = app
        self.policy = policy
        self.mail = transport(app)
        self.hostname = app.settings.config.server.hostname
        # The live session of each connection, by the task that serves it: aiosmtpd makes a new
        # Session after STARTTLS, the task stays. The entry goes when the task ends.
        self._live: dict[asyncio.Task[Any], LiveSession] = {}

    def live(self, server: KastellSMTP) -> LiveSession:
        """The connection's entry in the live sessions, made at its first command hook."""
        task = asyncio.current_task()
        assert task is not None  # hooks run in the connection's task
        found = self._live.get(task)
        if found is None:
            session = server.session
            found = self._live[task] = open_session(
                self.app, self.policy.service, peer_ip(session) if session else None
            )

            def ended(_task: asyncio.Task[Any], live: LiveSession = found) -> None:
                live.close()
                self._live.pop(_task, None)

            task.add_done_callback(ended)
        return found

    # ------------------------------------------------------------------ greeting and AUTH

    def auth_allowed(self, server: KastellSMTP) -> bool:
        return self.policy.auth_offered and plaintext_auth_allowed(
            self.app, peer_ip(server.session) if server.session else None, server.tls_active
        )

    @_counted("EHLO")
    async def handle_EHLO(
        self, server: KastellSMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        kept = [r for r in responses[:-1] if not r.startswith("250-AUTH") or self.auth_allowed(server)]
        return [*kept, "250-PIPELINING", "250-ENHANCEDSTATUSCODES", "250 HELP"]

    async def handle_AUTH(self, server: KastellSMTP, session: Session, envelope: Envelope, args: list[str]) -> Any:
        if not self.auth_allowed(server):
            return "538 5.7.11 Encryption required for requested authentication mechanism"
        return MISSING

    async def auth_PLAIN(self, server: KastellSMTP, args: list[str]) -> AuthResult:
        if len(args) == 1:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
            assert isinstance(blob, bytes)
        else:
            decoded = _b64(args[1])
            if decoded is None:
                await server.push("501 5.5.2 Cannot decode base64")
                return AuthResult(success=False, handled=True)
            blob = decoded
        parts = blob.split(b"\x00")
        if len(parts) != 3:  # RFC 4616 2: [authzid] NUL authcid NUL passwd
            await server.push("501 5.5.2 Cannot split the PLAIN response")
            return AuthResult(success=False, handled=True)
        return await self._login(server, parts[1], parts[2])

    async def auth_LOGIN(self, server: KastellSMTP, args: list[str]) -> AuthResult:
        if len(args) == 1:
            login = await server.challenge_auth("Username:")
        else:
            login = _b64(args[1]) or MISSING
        if login is MISSING:
            return AuthResult(success=False, handled=True)
        password = await server.challenge_auth("Password:")
        if password is MISSING:
            return AuthResult(success=False, handled=True)
        assert isinstance(login, bytes) and isinstance(password, bytes)
        return await self._login(server, login, password)

    async def _login(self, server: KastellSMTP, login: bytes, password: bytes) -> AuthResult:
        assert server.session is not None
        try:
            account = await self.app.auth.authenticate(
                login.decode("utf-8", "replace"),
                password.decode("utf-8", "replace"),
                client_ip=peer_ip(server.session),
                protocol="smtp",
            )
        except AuthThrottled:
            await self.app.auth.delay_failure()
            return AuthResult(success=False, handled=False, message="454 4.7.0 Too many failed attempts, try later")
        except AuthFailed:
            await self.app.auth.delay_failure()
            return AuthResult(success=False, handled=False, message="535 5.7.8 Authentication credentials invalid")
        self.live(server).authenticated(account.address, account.org_id)
        return AuthResult(success=True, auth_data=account)

    # ------------------------------------------------------------------ envelope

    @_counted("MAIL")
    async def handle_MAIL(
        self, server: KastellSMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        account = session.auth_data if session.authenticated else None
        if account is not None:
            if address == "<>" or not await submit.check_sender(self.app, account, address):
                return str(submit.NOT_YOURS)
            if not self.mail.rate.allow(account.id):
                return "451 4.7.1 Too many messages this hour, try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    @_counted("RCPT")
    async def handle_RCPT(
        self, server: KastellSMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        assert isinstance(envelope, KastellEnvelope)
        if len(envelope.rcpt_tos) >= self.app.settings.config.smtp.max_recipients:
            return "452 4.5.3 Too many recipients"
        check = await self.mail.delivery.check_recipient(address)
        if check.local:
            if not check.reply.ok:
                return str(check.reply)
            envelope.checks.append(check)
        elif session.authenticated and check.reply.code != 553:
            envelope.remote.append(address)
        else:
            return str(check.reply)  # 554 5.7.1: never an open relay; 553 5.1.3 bad syntax
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    # ------------------------------------------------------------------ DATA

    @_counted("DATA")
    async def handle_DATA(self, server: KastellSMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope, KastellEnvelope) and isinstance(session, KastellSession)
        content = envelope.original_content or b""
        bad = _malformed(content)
        if bad is not None:
            return bad
        session.busy = True
        try:
            if session.authenticated:
                return await self._submission(server, session, envelope, content)
            return await self._inbound(server, session, envelope, content)
        finally:
            session.busy = False

    def _protocol_name(self, server: KastellSMTP, session: Session) -> str:
        base = "LMTP" if self.policy.lmtp else "ESMTP" if session.extended_smtp else "SMTP"
        return base + ("S" if server.tls_active else "") + ("A" if session.authenticated else "")

    async def _submission(
        self, server: KastellSMTP, session: Session, envelope: KastellEnvelope, content: bytes
    ) -> str:
        account = session.auth_data
        assert isinstance(account, Account)
        try:
            message = await submit.prepare(
                self.app, account, content, helo=session.host_name, client_ip=peer_ip(session),
                protocol=self._protocol_name(server, session),
            )  # fmt: skip
            result = await submit.submit(
                self.app, account, envelope.mail_from or "", envelope.rcpt_tos, message, prepared=True,
                client_ip=peer_ip(session),
            )  # fmt: skip
        except submit.SubmitRefused as exc:
            return str(exc.reply)
        if self.policy.lmtp:
            return "\r\n".join("250 2.0.0 OK" for _ in envelope.rcpt_tos)
        if result.failed and not result.delivered and not result.queued:
            return str(result.failed[0][1])
        if result.failed:
            await self._bounce(envelope.mail_from or "", content, [(r, reply) for r, reply in result.failed])
        ident = f" queued as {result.queue_id}" if result.queue_id else ""
        return f"250 2.0.0 OK{ident}"

    async def _inbound(self, server: KastellSMTP, session: Session, envelope: KastellEnvelope, content: bytes) -> str:
        config = self.app.settings.config.smtp
        sender = envelope.mail_from or ""
        ip = peer_ip(session) or ""
        head = trace.return_path(sender)
        head += trace.received(
            helo=session.host_name, client_ip=ip, by=self.hostname, protocol=self._protocol_name(server, session)
        )
        quarantine = False
        if self.policy.check_senders:
            content = authres.defuse_forged(content, self.hostname)
            if config.verify_senders:
                verdict = await asyncio.to_thread(
                    authres.check, content, client_ip=ip, helo=session.host_name or "", mail_from=sender,
                    resolver=self.mail.resolver, authserv_id=self.hostname,
                )  # fmt: skip
                if config.apply_dmarc_policy and verdict.disposition == "reject":
                    return "550 5.7.1 Rejected by the DMARC policy of " + verdict.from_domain
                quarantine = config.apply_dmarc_policy and verdict.disposition == "quarantine"
                head += verdict.header
            else:
                head += authres.header_without_checks(self.hostname)
        message = head + content
        reached = {
            (a.org_id, a.account_id): check.address for check in reversed(envelope.checks) for a in check.accounts
        }
        context = MessageContext(sender, tuple(envelope.rcpt_tos), ip, quarantine=quarantine, envelope_to=reached)
        replies: list[Reply] = []
        done: dict[tuple[int, int], Outcome] = {}  # one copy per mailbox however many RCPTs reach it
        for check in envelope.checks:
            todo = [(a, check.detail) for a in check.accounts if (a.org_id, a.account_id) not in done]
            for outcome in await self.mail.delivery.deliver(message, todo, context) if todo else []:
                done[(outcome.recipient.org_id, outcome.recipient.account_id)] = outcome
            outcomes = [done[(a.org_id, a.account_id)] for a in check.accounts]
            failures = [o.reply for o in outcomes if not o.reply.ok]
            # A list with some members stored counts as delivered; the others are bounced below.
            if failures and len(failures) == len(outcomes):
                replies.append(failures[0])
            else:
                replies.append(Reply(250, "2.0.0 OK delivered"))
                if failures:
                    await self._bounce(
                        sender, content, [(o.recipient.address, o.reply) for o in outcomes if not o.reply.ok]
                    )
        outside = [a for check in envelope.checks for a in check.outside]
        if outside:
            await self.mail.queue.enqueue(sender, outside, message)
        if self.policy.lmtp:
            return "\r\n".join(str(r) for r in replies)  # RFC 2033 4.2: one reply per RCPT
        good = [r for r in replies if r.ok]
        if not good:
            return str(next((r for r in replies if r.temporary), replies[0]))
        bad = [(check.address, r) for check, r in zip(envelope.checks, replies, strict=True) if not r.ok]
        if bad:
            await self._bounce(sender, content, bad)
        return "250 2.0.0 OK delivered"

    async def _bounce(self, sender: str, content: bytes, failed: list[tuple[str, Reply]]) -> None:
        """We said 250 for the message, so a recipient that failed afterwards gets a DSN (RFC 5321 6.1)."""
        if not sender or sender == "<>":
            return
        statuses = [
            RecipientStatus(r, "failed", "5" + status_of(reply.code, reply.text)[1:], f"smtp; {reply}")
            for r, reply in failed
        ]
        try:
            await send_dsn(self.app, sender, content, statuses)
        except Exception:
            log.exception("could not send a DSN to %s", sender)


def _malformed(content: bytes) -> str | None:
    """Refuse what RFC 5322 forbids and SMTP smuggling needs: bare CR/LF, NUL (RFC 5321 2.3.8)."""
    if b"\x00" in content:
        return "554 5.6.0 NUL characters are not allowed in a message"
    stripped = content.replace(b"\r\n", b"")
    if b"\n" in stripped or b"\r" in stripped:
        return "554 5.6.11 Bare CR or LF is not allowed; use CRLF line ends (RFC 5321 2.3.8)"
    return None
