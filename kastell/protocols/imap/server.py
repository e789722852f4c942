"""asyncio glue for IMAP: sockets, TLS (STARTTLS and imaps), IDLE waits, timeouts.

Nothing here parses or decides: bytes go into the :class:`Parser`, commands
go to the :class:`Session`, and what the session writes goes out.  The one
piece of protocol here is the continuation request for synchronising
literals (``+ Ready``), which the parser asks for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import weakref
import zlib
from typing import TYPE_CHECKING, Any

from kastell.app import Kastell
from kastell.protocols.imap.parser import NEED_DATA, Command, ContinuationRequest, Event, ParseError, Parser
from kastell.protocols.imap.responses import tagged, untagged
from kastell.protocols.imap.selected import RecentFloors
from kastell.protocols.imap.session import LOGOUT, Session

if TYPE_CHECKING:
    from kastell.listeners import ListenSpec

log = logging.getLogger("kastell.imap")

# RFC 9051 §5.4: an inactivity autologout timer must be at least 30 minutes.
IDLE_TIMEOUT = 30 * 60
PRE_AUTH_TIMEOUT = 60.0
READ_SIZE = 64 * 1024
# Inflated bytes taken from a COMPRESS=DEFLATE stream at a time (see Connection._incoming).
INFLATE_LIMIT = 256 * 1024
# While a command runs, let the transport keep reading up to this much (pipelined APPENDs then
# arrive together and are stored in one transaction); idle connections hold no buffer.
STREAM_LIMIT = 4 * 1024 * 1024


class _Closed(Exception):
    """The client went away."""


class Connection:
    """One client: implements the session's ``Io`` over asyncio streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tls: ssl.SSLContext) -> None:
        self.reader = reader
        self.writer = writer
        self.tls = tls
        self.parser = Parser()
        self._pending_read: asyncio.Task[bytes] | None = None
        self._stashed: Event | None = None  # looked at while batching APPENDs, not yet handled
        # Responses are gathered and sent per command (or per FLUSH in long FETCHes):
        # one send() instead of one per line.
        self._out: list[bytes] = []
        self._deflate: Any = None  # zlib objects once COMPRESS=DEFLATE is active
        self._inflate: Any = None
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # The listening socket was made with proto 0, so asyncio does not set
            # TCP_NODELAY itself; without it Nagle + delayed ACK add 40 ms per reply.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def tls_active(self) -> bool:
        return self.writer.get_extra_info("ssl_object") is not None

    def write(self, data: bytes) -> None:
        self._out.append(data)

    async def drain(self) -> None:
        if self._out:
            data = b"".join(self._out)
            self._out.clear()
            if self._deflate is not None:
                data = self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
            self.writer.write(data)
        await self.writer.drain()

    @property
    def compressing(self) -> bool:
        return self._deflate is not None

    def start_compress(self) -> None:
        """RFC 4978 COMPRESS=DEFLATE: raw deflate both ways from the next byte on."""
        self._deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
        self._inflate = zlib.decompressobj(-15)
        if self.parser.buffered:
            # Bytes after the COMPRESS command were already compressed by the client.
            pending = self.parser.take_buffer()
            self.parser.feed(self._incoming(pending))

    def _incoming(self, data: bytes) -> bytes:
        # At most INFLATE_LIMIT bytes per call: deflate inflates up to ~1000:1, and a
        # read of compressed zeros must not become 64 MB at once (the rest waits
        # in ``unconsumed_tail`` and is inflated before the socket is read again).
        return self._inflate.decompress(data, INFLATE_LIMIT) if self._inflate is not None else data

    async def start_tls(self) -> None:
        await self.writer.start_tls(self.tls)

    async def _read(self, timeout: float, wake: asyncio.Event | None = None) -> bytes | None:
        """Bytes from the client; None when ``wake`` fired first. Raises _Closed on EOF/timeout."""
        if self._inflate is not None and self._inflate.unconsumed_tail:
            return self._incoming(self._inflate.unconsumed_tail)
        if self._pending_read is None:
            self._pending_read = asyncio.ensure_future(self.reader.read(READ_SIZE))
        waiters: set[asyncio.Future[object]] = {self._pending_read}  # type: ignore[arg-type]
        waker: asyncio.Task[bool] | None = None
        if wake is not None:
            waker = asyncio.ensure_future(wake.wait())
            waiters.add(waker)  # type: ignore[arg-type]
        try:
            done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if waker is not None and not waker.done():
                waker.cancel()
        if self._pending_read in done:
            task, self._pending_read = self._pending_read, None
            data = task.result()
            if not data:
                raise _Closed()
            return self._incoming(data)  # may be b"" mid-block: callers just read again
        if waker is not None and waker in done:
            return None
        raise _Closed()  # timed out: autologout

    async def read_line(self, wake: asyncio.Event | None = None) -> bytes | None:
        while True:
            line = self.parser.next_line()
            if line is not NEED_DATA:
                assert isinstance(line, bytes)
                return line
            if wake is not None and wake.is_set():
                return None
            data = await self._read(IDLE_TIMEOUT, wake)
            if data is None:
                return None
            self.parser.feed(data)

    async def next_command(self, session: Session) -> Command | None:
        """The next command; answers parse errors and literal continuations itself."""
        while True:
            event, self._stashed = (
                (self._stashed, None) if self._stashed is not None else (self.parser.next_event(), None)
            )
            if isinstance(event, Command):
                return event
            if isinstance(event, ContinuationRequest):
                self.write(b"+ Ready for literal data\r\n")
                await self.drain()
                continue
            if isinstance(event, ParseError):
                if event.tag is None:
                    self.write(untagged(f"BAD {event.text}"))
                else:
                    status = "NO" if event.code == "TOOBIG" else "BAD"
                    self.write(tagged(event.tag, status, event.text, event.code))
                continue
            assert event is NEED_DATA
            await self.drain()
            timeout = IDLE_TIMEOUT if session.account is not None else PRE_AUTH_TIMEOUT
            data = await self._read(timeout)
            assert data is not None
            self.parser.feed(data)

    def more_appends(self, limit_bytes: int = 32 * 1024 * 1024, limit: int = 200) -> list[Command]:
        """APPEND commands already complete in the buffer (pipelined), without reading the socket."""
        found: list[Command] = []
        size = 0
        while len(found) < limit and size < limit_bytes and self._stashed is None:
            event = self.parser.next_event()
            if isinstance(event, Command) and event.name == "APPEND":
                found.append(event)
                size += sum(len(a) for a in event.args if isinstance(a, bytes))
                continue
            if event is NEED_DATA:
                # Take what the transport has buffered already (never waits for the network).
                buffered: bytearray = getattr(self.reader, "_buffer")  # noqa: B009 - no public "available" in asyncio
                if buffered:
                    self.parser.feed(self._incoming(bytes(buffered)))
                    buffered.clear()
                    continue
                break
            self._stashed = event
            break
        return found

    def close(self) -> None:
        if self._pending_read is not None:
            self._pending_read.cancel()
        self.writer.close()


_FLOORS: weakref.WeakKeyDictionary[Kastell, RecentFloors] = weakref.WeakKeyDictionary()


class ImapListener:
    def __init__(self, app: Kastell, spec: ListenSpec) -> None:
        self.app = app
        self.spec = spec
        self.server: asyncio.Server | None = None
        self.connections: set[Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        # \Recent bookkeeping, shared by the imap and imaps listeners of one core.
        self.recent_floors: RecentFloors = _FLOORS.setdefault(app, {})

    async def start(self) -> None:
        self.server = await asyncio.start_server(
            self._client, sock=self.spec.sock, ssl=self.spec.tls if self.spec.implicit_tls else None, limit=STREAM_LIMIT
        )

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        conn = Connection(reader, writer, self.spec.tls)
        self.connections.add(conn)
        peer = writer.get_extra_info("peername")
        session = Session(
            self.app, conn, conn.parser, peer_ip=peer[0] if peer else None, recent_floors=self.recent_floors
        )
        try:
            from kastell.protocols.imap.commands.auth import capabilities

            conn.write(untagged(f"OK [CAPABILITY {capabilities(session)}] Kastell IMAP ready"))
            while session.state != LOGOUT:
                command = await conn.next_command(session)
                if command is None:
                    break
                if command.name == "APPEND":
                    await session.execute_appends([command, *conn.more_appends()])
                else:
                    await session.execute(command)
            await conn.drain()
        except (_Closed, ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                conn.write(untagged("BYE Server shutting down"))
                await asyncio.wait_for(conn.drain(), 1)
        except Exception:
            log.exception("IMAP connection failed")
        finally:
            await session.close()
            conn.close()
            self.connections.discard(conn)
            self.tasks.discard(task)

    async def stop(self, timeout: float) -> None:
        """Stop accepting, say BYE to every client (RFC 9051 §7.1.5), close within ``timeout``."""
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), timeout=0.5)


async def listen(app: Kastell, spec: ListenSpec) -> ImapListener:
    """The listener contract of kastell/listeners.py for the imap and imaps services."""
    listener = ImapListener(app, spec)
    await listener.start()
    return listener
