"""A real Kastell POP3 server on loopback, in a background thread's event loop.

``Kastell.open`` over a data directory made by ``bootstrap.initialise``; the
pop3 and pop3s listeners are started through the listener contract
(``kastell.protocols.pop3.server.listen`` with a ``ListenSpec``), as
``kastell.server`` does. Clients are the stdlib ``poplib`` over real sockets;
messages go in through the store API.
"""

from __future__ import annotations

import asyncio
import poplib
import socket
import ssl
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from kastell.app import Kastell
from kastell.bootstrap import initialise
from kastell.config import SERVICES, Config, Settings, load
from kastell.listeners import ListenSpec
from kastell.protocols.pop3.server import Pop3Listener, listen
from kastell.store.mailbox import Mailbox
from kastell.store.model import NewItem

T = TypeVar("T")
PASSWORD = "correct horse battery"
ALICE = "alice@example.org"
BOB = "bob@example.org"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Pop3Server:
    data: Path
    host: str
    port: int
    tls_port: int
    loop: asyncio.AbstractEventLoop
    app: Kastell
    listeners: list[Pop3Listener] = field(default_factory=list)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's loop (to reach the store directly)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def mailbox(self, address: str = ALICE) -> Mailbox:
        async def open_box() -> Mailbox:
            account = await self.app.directory.get_account(address)
            return await self.app.store.open(account.org_id, account.id)

        return self.run(open_box())

    def deliver(self, *sources: bytes, address: str = ALICE) -> list[int]:
        """Append messages to the INBOX through the store API; their uids."""
        box = self.mailbox(address)

        async def append() -> list[int]:
            inbox = await box.folder_by_role("inbox")
            done = await box.append_many(inbox.id, [NewItem(source) for source in sources])
            return [a.uid for a in done]

        return self.run(append())

    def inbox_uids(self, address: str = ALICE) -> list[int]:
        box = self.mailbox(address)

        async def uids() -> list[int]:
            inbox = await box.folder_by_role("inbox")
            return [item.uid async for item in box.iter_items(inbox.id)]

        return self.run(uids())

    def client(self, user: str = ALICE, password: str = PASSWORD) -> poplib.POP3:
        client = poplib.POP3(self.host, self.port, timeout=30)
        client.user(user)
        client.pass_(password)
        return client

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.data / "tls" / "cert.pem"))
        context.check_hostname = False
        return context


def _settings(data: Path, port: int, tls_port: int, failure_delay: float) -> Settings:
    settings = load(data)
    overrides = {s: "off" for s in SERVICES}
    overrides["pop3"] = f"127.0.0.1:{port}"
    overrides["pop3s"] = f"127.0.0.1:{tls_port}"
    settings = settings.with_listen(overrides)
    config: Config = settings.config.model_copy(
        update={
            "auth": settings.config.auth.model_copy(
                update={"failure_delay_seconds": failure_delay, "account_failures": 5}
            ),
        }
    )
    return Settings(settings.data_dir, config)


def start_server(data: Path, *, failure_delay: float = 0) -> tuple[Pop3Server, threading.Thread]:
    asyncio.run(initialise(data, demo=False))
    port, tls_port = free_port(), free_port()
    settings = _settings(data, port, tls_port, failure_delay)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []
    started: list[Any] = []

    async def start() -> None:
        app = await Kastell.open(settings)
        started.append(app)
        for service, number in (("pop3", port), ("pop3s", tls_port)):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", number))
            sock.listen(128)
            sock.setblocking(False)
            started.append(await listen(app, ListenSpec(service, sock, app.tls_context, service == "pop3s")))
        await app.directory.add_domain("example.org")
        for user in (ALICE, BOB):
            await app.directory.add_user(user, PASSWORD, name=user.split("@")[0].title())

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
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
    return Pop3Server(data, "127.0.0.1", port, tls_port, loop, started[0], started[1:]), thread


def stop_server(server: Pop3Server, thread: threading.Thread) -> None:
    async def stop() -> None:
        for listener in server.listeners:
            await listener.stop(2)
        await server.app.close()

    asyncio.run_coroutine_threadsafe(stop(), server.loop).result(30)
    server.loop.call_soon_threadsafe(server.loop.stop)
    thread.join(10)
    server.loop.close()


@pytest.fixture
def pop3_server(tmp_path: Path) -> Iterator[Pop3Server]:
    server, thread = start_server(tmp_path / "data")
    try:
        yield server
    finally:
        stop_server(server, thread)
