"""A real Kastell POP3 server on loopback (tests/protocols/inprocess.py), with pop3 and pop3s.

Clients are the stdlib ``poplib`` over real sockets; messages go in through
the store API.
"""

from __future__ import annotations

import poplib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kastell.config import Config
from kastell.protocols.pop3.server import listen
from kastell.store.model import NewItem
from tests.protocols.inprocess import ALICE, BOB, PASSWORD, InProcessServer, free_port, start

__all__ = ["ALICE", "BOB", "PASSWORD", "Pop3Server", "free_port", "start_server", "stop_server"]


class Pop3Server(InProcessServer):
    @property
    def port(self) -> int:
        return self.ports["pop3"]

    @property
    def tls_port(self) -> int:
        return self.ports["pop3s"]

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


def start_server(data: Path, *, failure_delay: float = 0) -> tuple[Pop3Server, threading.Thread]:
    def configure(config: Config) -> Config:
        auth = config.auth.model_copy(update={"failure_delay_seconds": failure_delay, "account_failures": 5})
        return config.model_copy(update={"auth": auth})

    server = start(Pop3Server, data, {"pop3": False, "pop3s": True}, listen, configure=configure)
    assert server.thread is not None
    return server, server.thread


def stop_server(server: Pop3Server, thread: threading.Thread) -> None:
    server.stop()


@pytest.fixture
def pop3_server(tmp_path: Path) -> Iterator[Pop3Server]:
    server, thread = start_server(tmp_path / "data")
    try:
        yield server
    finally:
        stop_server(server, thread)
