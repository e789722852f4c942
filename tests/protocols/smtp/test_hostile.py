"""Malformed and hostile input gets protocol replies, never a traceback, never a smuggled message."""

from __future__ import annotations

import socket

import pytest

from tests.mail.mailenv import MailEnv, in_thread

pytestmark = pytest.mark.anyio


class Raw:
    """A bare TCP client: write bytes, read CRLF-terminated replies."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""
        assert self.reply().startswith(b"220")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def reply(self) -> bytes:
        """A whole (multi-line) reply, its lines joined by LF."""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3:4] == b"-":
            lines.append(self.line())
        return b"\n".join(lines)

    def close(self) -> None:
        self.sock.close()


def smuggle(port: int, separator: bytes) -> list[bytes]:
    raw = Raw(port)
    try:
        raw.send(b"EHLO attacker.example\r\n")
        replies = [raw.reply()]
        raw.send(b"MAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
        replies += [raw.reply(), raw.reply(), raw.reply()]
        raw.send(
            b"Subject: first\r\n\r\nbody"
            + separator
            + b"MAIL FROM:<ceo@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n"
        )
        replies.append(raw.reply())
        raw.send(b"QUIT\r\n")
        replies.append(raw.reply())
        return replies
    finally:
        raw.close()


@pytest.mark.parametrize("separator", [b"\n.\n", b"\r.\n", b"\n.\r\n", b"\r\n.\n"])
async def test_smtp_smuggling_is_not_end_of_data(mailenv: MailEnv, separator: bytes) -> None:
    replies = await in_thread(smuggle, mailenv.ports["smtp"], separator)
    # The only end of data is CRLF.CRLF; the whole thing is one message with bare LF/CR: refused.
    assert replies[4].startswith(b"554 5.6.11"), replies
    assert replies[5].startswith(b"221")
    assert await mailenv.inbox("bob@example.test") == []
    assert await mailenv.inbox("alice@example.test") == []


def exchange(port: int, chunks: list[bytes], count: int) -> list[bytes]:
    raw = Raw(port)
    try:
        for chunk in chunks:
            raw.send(chunk)
        return [raw.reply() for _ in range(count)]
    finally:
        raw.close()


async def test_pipelined_junk_answered_in_order(mailenv: MailEnv) -> None:
    replies = await in_thread(
        exchange,
        mailenv.ports["smtp"],
        [
            b"EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
            b"\xff\xfe\x00JUNK\r\nFROB it\r\nRCPT TO:<bob@example.test>\r\nRCPT TO:<<>>\r\nRSET\r\nNOOP\r\n"
        ],
        9,
    )
    codes = [r[:3] for r in replies]
    assert codes == [b"250", b"250", b"250", b"500", b"500", b"250", b"553", b"250", b"250"], replies
    assert all(b"Traceback" not in r and b"Error: (" not in r for r in replies)
    assert b"PIPELINING" in replies[0] and b"ENHANCEDSTATUSCODES" in replies[0] and b"SMTPUTF8" in replies[0]


async def test_overlong_lines(mailenv: MailEnv) -> None:
    long_command = b"MAIL FROM:<" + b"a" * 5000 + b"@remote.example>\r\n"
    data = b"Subject: long\r\n\r\n" + b"x" * 3000 + b"\r\n.\r\n"
    replies = await in_thread(
        exchange,
        mailenv.ports["smtp"],
        [
            b"EHLO c.example\r\n",
            long_command,
            b"MAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n",
            data,
            b"NOOP\r\n",
        ],
        7,
    )
    assert replies[1].startswith(b"500")  # command line too long
    assert replies[4].startswith(b"354")
    assert replies[5].startswith(b"500")  # RFC 5321 4.5.3.1.6: text line too long
    assert replies[6].startswith(b"250")  # the session goes on
    assert await mailenv.inbox("alice@example.test") == []


async def test_nul_refused_8bit_utf8_accepted(mailenv: MailEnv) -> None:
    envelope = b"EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
    replies = await in_thread(exchange, mailenv.ports["smtp"], [envelope, b"Subject: n\r\n\r\na\x00b\r\n.\r\n"], 5)
    assert replies[4].startswith(b"554 5.6.0")
    utf8 = "Subject: Grüße\r\nFrom: Jürgen <jürgen@remote.example>\r\n\r\nÄpfel\r\n".encode()
    envelope8 = b"EHLO c.example\r\nMAIL FROM:<j\xc3\xbcrgen@remote.example> SMTPUTF8 BODY=8BITMIME\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
    replies = await in_thread(exchange, mailenv.ports["smtp"], [envelope8, utf8 + b".\r\n"], 5)
    assert replies[4].startswith(b"250"), replies
    [stored] = await mailenv.inbox("alice@example.test")
    assert stored.endswith(utf8)


async def test_bad_auth_input(mailenv: MailEnv) -> None:
    replies = await in_thread(
        exchange,
        mailenv.ports["submission"],
        [
            b"EHLO c.example\r\nAUTH PLAIN !!notbase64\r\nAUTH PLAIN Zm9v\r\nAUTH FOO\r\nMAIL FROM:<alice@example.test>\r\n"
        ],
        5,
    )
    assert [r[:3] for r in replies] == [b"250", b"501", b"501", b"504", b"530"], replies
