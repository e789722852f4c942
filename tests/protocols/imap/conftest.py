"""A real Kastell IMAP server on loopback, in a background thread's event loop.

The core is ``Kastell.open`` over a data directory made by
``bootstrap.initialise``; the imap and imaps listeners are started through the
listener contract (``kastell.protocols.imap.server.listen`` with a
``ListenSpec``), exactly as ``kastell.server`` does, without the HTTP side.
Clients are the real ``imaplib`` and ``imapclient`` over real sockets.
"""

from __future__ import annotations

import asyncio
import imaplib
import socket
import ssl
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kastell.app import Kastell
from kastell.bootstrap import initialise
from kastell.config import SERVICES, Config, Settings, load
from kastell.listeners import ListenSpec
from kastell.protocols.imap.server import ImapListener, listen

T = TypeVar("T")
PASSWORD = "correct horse battery"
ALICE = "alice@example.org"
BOB = "bob@example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ImapServer:
    data: Path
    host: str
    port: int
    tls_port: int
    loop: asyncio.AbstractEventLoop
    core: Kastell
    listeners: list[ImapListener]

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop (to reach the store directly)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    @property
    def app(self) -> Kastell:
        return self.core

    def client(self, user: str = ALICE) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=30)
        client.login(user, PASSWORD)
        return client

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.data / "tls" / "cert.pem"))
        context.check_hostname = False
        return context


def _settings(data: Path, port: int, tls_port: int, max_message: str, db_url: str | None) -> Settings:
    settings = load(data)
    overrides = {s: "off" for s in SERVICES}
    overrides["imap"] = f"127.0.0.1:{port}"
    overrides["imaps"] = f"127.0.0.1:{tls_port}"
    settings = settings.with_listen(overrides)
    config: Config = settings.config.model_copy(
        update={
            "auth": settings.config.auth.model_copy(update={"failure_delay_seconds": 0}),
            "store": settings.config.store.model_copy(update={"max_message_size": max_message}),
            **({"database": settings.config.database.model_copy(update={"url": db_url})} if db_url else {}),
        }
    )
    return Settings(settings.data_dir, config)


def start_server(
    data: Path, max_message: str = "20M", db_url: str | None = None
) -> tuple[ImapServer, threading.Thread]:
    asyncio.run(initialise(data, demo=False))
    port, tls_port = free_port(), free_port()
    settings = _settings(data, port, tls_port, max_message, db_url)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []
    started: list[Any] = []

    async def start() -> None:
        app = await Kastell.open(settings)
        started.append(app)
        for service, number in (("imap", port), ("imaps", tls_port)):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", number))
            sock.listen(1024)
            sock.setblocking(False)
            started.append(await listen(app, ListenSpec(service, sock, app.tls_context, service == "imaps")))

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
            directory = started[0].directory
            loop.run_until_complete(directory.add_domain("example.org"))
            for user in (ALICE, BOB):
                loop.run_until_complete(directory.add_user(user, PASSWORD, name=user.split("@")[0].title()))
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    ready.wait(60)
    if failure:
        raise failure[0]
    return ImapServer(data, "127.0.0.1", port, tls_port, loop, started[0], started[1:]), thread


def stop_server(imap: ImapServer, thread: threading.Thread) -> None:
    async def stop() -> None:
        for listener in imap.listeners:
            await listener.stop(2)
        await imap.core.close()

    asyncio.run_coroutine_threadsafe(stop(), imap.loop).result(30)
    imap.loop.call_soon_threadsafe(imap.loop.stop)
    thread.join(10)
    imap.loop.close()


@pytest.fixture
def imap_server(tmp_path: Path) -> Iterator[ImapServer]:
    imap, thread = start_server(tmp_path / "data")
    try:
        yield imap
    finally:
        stop_server(imap, thread)


@pytest.fixture
def alice(imap_server: ImapServer) -> Iterator[imaplib.IMAP4]:
    client = imap_server.client()
    yield client
    try:
        client.logout()
    except Exception:
        pass
