"""Hypothesis-generated ManageSieve commands against a live server: never a crash.

Every generated line gets OK, NO or a SASL challenge; the session never answers
with the internal-error BYE, and still answers NOOP afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.mail.mailenv import PASSWORD, start_env

VERBS = [
    "CAPABILITY", "NOOP", "HAVESPACE", "PUTSCRIPT", "CHECKSCRIPT", "LISTSCRIPTS", "SETACTIVE", "GETSCRIPT",
    "DELETESCRIPT", "RENAMESCRIPT", "AUTHENTICATE", "STARTTLS", "FROB", "havespace", "putscript",
]  # fmt: skip
WORDS = [
    '"a"', '"b"', '""', '"PLAIN"', "PLAIN", "0", "1", "99999999999", "-1", '"\\\\"', '"\\"x"', "{0+}\r\n",
    "{5+}\r\nkeep;", "{4}\r\nfoo;", '"keep;"', '"frob;"', '"require \\"fileinto\\"; fileinto \\"x\\";"', "(", ")",
    '"\u00e4\u00f6"', "*", "NIL", '"a/b"', '"\\u0000"', "{3+}\r\n\x00\x01\x02",
]  # fmt: skip


class Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.file = self.sock.makefile("rb")
        self.response()
        token = base64.b64encode(f"\0alice@example.test\0{PASSWORD}".encode()).decode()
        assert self.send(f'AUTHENTICATE "PLAIN" "{token}"\r\n'.encode())[-1].startswith(b"OK")

    def response(self) -> list[bytes]:
        lines = []
        while True:
            line = self.file.readline()
            assert line, "the server closed the connection"
            if line.rstrip().endswith(b"}") and b"{" in line:
                size = int(line.rstrip()[line.rindex(b"{") + 1 : -1].rstrip(b"+"))
                line += self.file.read(size)
            lines.append(line)
            if line[:2] in (b"OK", b"NO") or line[:3] == b"BYE" or line == b'""\r\n':
                return lines

    def send(self, data: bytes) -> list[bytes]:
        self.sock.sendall(data)
        return self.response()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, object] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        env = loop.run_until_complete(start_env(Path(tmp_path_factory.mktemp("fuzz")), services=("managesieve",)))
        holder["env"] = env
        started.set()
        loop.run_forever()
        loop.run_until_complete(env.server.stop())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(60)
    env = holder["env"]
    c = Client(env.ports["managesieve"])  # type: ignore[attr-defined]
    yield c
    c.sock.close()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)


_n = itertools.count()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(VERBS), st.lists(st.sampled_from(WORDS), max_size=4))
def test_random_commands_never_break_the_session(client: Client, verb: str, words: list[str]) -> None:
    if verb.upper() == "STARTTLS":
        return  # changes the connection itself (refused anyway once logged in)
    lines = client.send(" ".join([verb, *words]).encode("utf-8") + b"\r\n")
    if lines[-1] == b'""\r\n':  # a SASL challenge: cancel it
        lines = client.send(b'"*"\r\n')
    assert not lines[-1].startswith(b"BYE"), lines
    assert lines[-1][:2] in (b"OK", b"NO"), lines
    assert client.send(b'NOOP "n%d"\r\n' % next(_n))[-1].startswith(b"OK")
