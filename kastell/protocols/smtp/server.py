"""asyncio glue: the ``listen(app, spec)`` of the SMTP family (see kastell/listeners.py).

``KastellSMTP``/``KastellLMTP`` are aiosmtpd's protocol classes with three
changes: AUTH is offered per connection (TLS, or a network allowed plain text:
``plaintext_auth_allowed``) instead of per server; implicit TLS counts as TLS;
sessions and envelopes carry Kastell's state. aiosmtpd keeps the dialogue, the
SIZE limit (552), the line limit and end-of-data detection (only CRLF.CRLF:
the SMTP-smuggling fix of aiosmtpd 1.4.5).

``stop(timeout)`` stops accepting, lets transactions that are being stored
finish, then says ``421`` to every open session (RFC 5321 3.8) and closes it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from kastell.config import parse_size
from kastell.listeners import ListenSpec
from kastell.protocols.smtp.handler import Handler, KastellEnvelope, KastellSession
from kastell.protocols.smtp.policy import POLICIES, Policy

if TYPE_CHECKING:
    from kastell.app import Kastell

log = logging.getLogger("kastell.smtp")


class _Kastell:
    """Mixed into aiosmtpd's SMTP and LMTP classes (see the module docstring)."""

    listener: SmtpListener
    _tls_protocol: Any
    transport: Any
    loop: asyncio.AbstractEventLoop

    def _create_session(self) -> Session:
        return KastellSession(self.loop)

    def _create_envelope(self) -> Envelope:
        return KastellEnvelope()

    @property
    def tls_active(self) -> bool:
        if self._tls_protocol is not None:
            return True
        transport = self.transport
        return transport is not None and transport.get_extra_info("sslcontext") is not None

    # aiosmtpd reads this flag to decide whether to advertise and accept AUTH.
    # We decide per connection (handler.auth_allowed); the constructor's value is ignored.
    @property
    def _auth_require_tls(self) -> bool:
        handler: Handler = self.event_handler  # type: ignore[attr-defined]
        return not handler.auth_allowed(self)  # type: ignore[arg-type]

    @_auth_require_tls.setter
    def _auth_require_tls(self, value: bool) -> None:
        pass

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.listener.sessions.add(self)  # type: ignore[arg-type]
        super().connection_made(transport)  # type: ignore[misc]

    def connection_lost(self, error: Exception | None) -> None:
        self.listener.sessions.discard(self)
        super().connection_lost(error)  # type: ignore[misc]

    async def handle_exception(self, error: Exception) -> str:
        # Never a traceback to the client (aiosmtpd's default puts the exception text in the reply).
        log.exception("SMTP session error")
        return "451 4.3.0 Internal error, try again later"


class KastellSMTP(_Kastell, SMTP):
    pass


class KastellLMTP(_Kastell, LMTP):
    pass


class SmtpListener:
    def __init__(self, app: Kastell, spec: ListenSpec, policy: Policy) -> None:
        self.app = app
        self.spec = spec
        self.policy = policy
        self.handler = Handler(app, policy)
        self.sessions: set[KastellSMTP] = set()
        self.server: asyncio.Server | None = None

    def _factory(self) -> KastellSMTP:
        config = self.app.settings.config
        cls = KastellLMTP if self.policy.lmtp else KastellSMTP
        protocol = cls(
            self.handler,
            data_size_limit=parse_size(config.store.max_message_size) or None,
            enable_SMTPUTF8=True,
            hostname=config.server.hostname,
            ident="Kastell",
            tls_context=None if self.spec.implicit_tls else self.spec.tls,
            timeout=config.smtp.timeout,
            auth_required=self.policy.auth_required,
            auth_require_tls=True,
            command_call_limit={"*": 10000, "AUTH": 20, "EHLO": 50, "HELO": 50, "LHLO": 50, "STARTTLS": 5},
        )
        protocol.listener = self
        return protocol  # type: ignore[return-value]

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            self._factory, sock=self.spec.sock, ssl=self.spec.tls if self.spec.implicit_tls else None
        )

    async def stop(self, timeout: float) -> None:
        if self.server is not None:
            self.server.close()
        deadline = asyncio.get_running_loop().time() + timeout
        while any(getattr(s.session, "busy", False) for s in self.sessions):
            if asyncio.get_running_loop().time() >= deadline:
                break
            await asyncio.sleep(0.05)
        for session in list(self.sessions):
            transport = session.transport
            if transport is None or transport.is_closing():
                continue
            try:
                transport.write(b"421 4.3.2 Service shutting down\r\n")
            except Exception:  # the peer may be gone already
                pass
            transport.close()
        if self.server is not None:
            try:
                await asyncio.wait_for(
                    self.server.wait_closed(), max(0.1, deadline - asyncio.get_running_loop().time())
                )
            except TimeoutError:
                pass


async def listen(app: Kastell, spec: ListenSpec) -> SmtpListener:
    # aiosmtpd logs every command line at INFO ("mail.log"): too much for a server log, and it
    # costs time per message. Its warnings and errors still come through.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    listener = SmtpListener(app, spec, POLICIES[spec.service])
    await listener.start()
    return listener
