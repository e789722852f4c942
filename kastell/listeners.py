"""The contract between the server process and a protocol's TCP listener.

Each TCP protocol package (IMAP, POP3, SMTP, LMTP, ManageSieve) exposes one
coroutine ``listen(app, spec) -> Listener``. The server process calls it for
every configured service with a bound-and-listening socket, logs the line, and
on shutdown calls ``stop(timeout)``: stop accepting, let sessions finish (or
say goodbye: ``* BYE``, ``421``) within ``timeout`` seconds, then close them.

Protocols share policy helpers from here rather than from each other.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import socket

    from kastell.app import Kastell


@dataclass(frozen=True)
class ListenSpec:
    service: str  # "imap", "imaps", "smtp", ...
    sock: socket.socket  # bound, listening, non-blocking
    tls: ssl.SSLContext  # for STARTTLS, or for every connection when implicit_tls
    implicit_tls: bool  # imaps, pop3s, submissions


class Listener(Protocol):
    async def stop(self, timeout: float) -> None: ...


ListenFunction = Callable[["Kastell", ListenSpec], Awaitable[Listener]]


def plaintext_auth_allowed(app: Kastell, peer_ip: str | None, tls_active: bool) -> bool:
    """May a client send a password on this connection? Always over TLS; without TLS
    only from the networks in ``auth.plaintext_without_tls_from`` (loopback by default)."""
    if tls_active:
        return True
    if not peer_ip:
        return False
    try:
        address = ipaddress.ip_address(peer_ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(
        address in ipaddress.ip_network(net, strict=False)
        for net in app.settings.config.auth.plaintext_without_tls_from
    )


class StreamListener:
    """What the line protocols' listeners (POP3, ManageSieve) share: the accept loop on the
    spec's socket, one task per connection, idle and shutdown-aware reads, and a stop that lets
    sessions say goodbye before they are cancelled.

    A subclass implements ``session(reader, writer)`` (return to close the connection) and
    sets ``log`` and ``internal_error`` (the line sent when a session fails unexpectedly).
    """

    IDLE_TIMEOUT = 600.0
    HANDSHAKE_TIMEOUT = 30.0
    READ_SIZE = 65536
    log = logging.getLogger("kastell.listeners")
    internal_error = b""

    def __init__(self, app: Kastell, spec: ListenSpec) -> None:
        self.app = app
        self.spec = spec
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._stop_waiter: asyncio.Task[bool] | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def start(self) -> None:
        self._stop_waiter = asyncio.create_task(self._stopping.wait())
        self._server = await asyncio.start_server(
            self._accept,
            sock=self.spec.sock,
            ssl=self.spec.tls if self.spec.implicit_tls else None,
            ssl_handshake_timeout=self.HANDSHAKE_TIMEOUT if self.spec.implicit_tls else None,
        )

    async def stop(self, timeout: float) -> None:
        """Stop accepting; sessions see ``read`` return None and end themselves; stragglers are cancelled."""
        if self._server is not None:
            self._server.close()
        self._stopping.set()
        tasks = set(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        if self._stop_waiter is not None:
            self._stop_waiter.cancel()
            with suppress(asyncio.CancelledError):
                await self._stop_waiter

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self.session(reader, writer)
        except (ConnectionError, TimeoutError, ssl.SSLError, asyncio.IncompleteReadError):
            pass  # the peer went away or broke TLS: nothing to answer
        except Exception:
            self.log.exception("%s: session failed", self.spec.service)
            with suppress(Exception):
                writer.write(self.internal_error)
                await asyncio.wait_for(writer.drain(), 5)
        finally:
            self._tasks.discard(task)
            writer.close()
            with suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 5)

    async def read(self, reader: asyncio.StreamReader) -> bytes | None:
        """The next bytes from the peer; b"" at EOF; None when idle too long or the server stops."""
        if self._stopping.is_set():
            return None
        assert self._stop_waiter is not None
        read = asyncio.ensure_future(reader.read(self.READ_SIZE))
        done, _ = await asyncio.wait(
            {read, self._stop_waiter}, timeout=self.IDLE_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if read in done:
            return read.result()
        read.cancel()
        with suppress(asyncio.CancelledError):
            await read
        return None
