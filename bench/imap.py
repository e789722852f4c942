"""IMAP benchmark: Kastell and a private Dovecot side by side, in one run.

    python bench/imap.py [--messages 5000] [--no-dovecot] [--big 0] [--idle 0]

APPENDs N messages of 2–50 KB (30 % multipart with an attachment) to each
server, then times SELECT, FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE), FETCH
1:* BODYSTRUCTURE, UID SEARCH TEXT, UID SEARCH FROM, STORE 1:* +FLAGS and
EXPUNGE of half, and prints each time and the ratio Kastell/Dovecot. Kastell
runs as ``kastell serve`` in its own process, as Dovecot does. ``--big N``
also times SELECT and FETCH FLAGS on an N-message folder (Kastell only; the
messages are stored directly through the store to save time). ``--idle N``
opens N connections that log in and IDLE on an INBOX of 1,000 messages and
prints the server's RSS per connection. Before SEARCH,
the bench waits until Kastell's background full-text indexer has caught up
(a server that has been running has indexed its mail by then) and says how
long it waited. ``--workdir`` puts both servers' data under one directory
(default: the system's temporary directory).
Only ratios measured in the same run mean anything (see /work/shared/peers/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import imaplib
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PEER = Path("/work/shared/peers/dovecot.sh")
WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "invoice",
    "meeting",
    "report",
    "kastell",
    "quarterly",
    "numbers",
    "budget",
    "lunch",
    "project",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_message(i: int, rng: random.Random) -> bytes:
    size = rng.randint(2_000, 50_000)
    text = " ".join(rng.choice(WORDS) for _ in range(size // 7))
    lines = "\r\n".join(text[j : j + 76] for j in range(0, len(text), 76))
    sender = rng.choice(["bob@example.org", "carol@example.net", "dave@example.com", "erin@example.org"])
    head = (
        f"From: Sender {i} <{sender}>\r\nTo: alice@example.org\r\nSubject: message {i} {rng.choice(WORDS)}\r\n"
        f"Date: Mon, 1 Jan 2024 10:{i % 60:02d}:00 +0000\r\nMessage-ID: <{i}@bench>\r\nMIME-Version: 1.0\r\n"
    )
    if rng.random() < 0.3:
        blob = base64.encodebytes(rng.randbytes(size // 3)).replace(b"\n", b"\r\n").decode()
        return (
            head + 'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
            f"{lines}\r\n--b\r\nContent-Type: application/octet-stream; name=a.bin\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{blob}\r\n--b--\r\n"
        ).encode()
    return (head + "Content-Type: text/plain\r\n\r\n" + lines + "\r\n").encode()


class Kastell:
    def __init__(self, root: Path) -> None:
        self.data = root / "kastell"
        self.port = free_port()
        env = {**os.environ}
        env.pop("KASTELL_DATA", None)
        run = lambda *a, stdin=None: subprocess.run(  # noqa: E731
            [sys.executable, "-m", "kastell", "--data", str(self.data), *a],
            input=stdin,
            text=True,
            check=True,
            capture_output=True,
            env=env,
        )
        run("init", "--no-demo")
        run("domain", "add", "example.org")
        run("user", "add", "alice@example.org", "--password-stdin", stdin="secret\n")
        listen = []
        for service in (
            "smtp", "submission", "submissions", "lmtp", "imaps", "pop3", "pop3s", "http", "https", "managesieve"
        ):  # fmt: skip
            listen += ["--listen", f"{service}=off"]
        self.log = (root / "kastell.log").open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kastell",
                "serve",
                "--data",
                str(self.data),
                "--listen",
                f"imap=127.0.0.1:{self.port}",
                *listen,
            ],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("kastell did not start")

    def client(self) -> imaplib.IMAP4:
        c = imaplib.IMAP4("127.0.0.1", self.port)
        c.login("alice@example.org", "secret")
        return c

    def wait_indexed(self) -> float:
        """Wait until the background indexer has no pending rows; the seconds waited."""
        started = time.perf_counter()
        db = sqlite3.connect(self.data / "kastell.db")
        try:
            while db.execute("SELECT count(*) FROM item_text WHERE indexed = 0").fetchone()[0]:
                time.sleep(0.1)
        finally:
            db.close()
        return time.perf_counter() - started

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(60)  # with --idle, thousands of sessions say BYE first
        except subprocess.TimeoutExpired:
            print("kastell did not stop within 60 s; killed", file=sys.stderr)
            self.proc.kill()
            self.proc.wait()


class Dovecot:
    def __init__(self, root: Path) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-dovecot-", dir=root))
        self.dir.chmod(0o755)
        self.port = free_port()
        subprocess.run(
            ["sh", str(PEER), "start", str(self.dir), str(self.port), str(free_port()), str(free_port())], check=True
        )

    def client(self) -> imaplib.IMAP4:
        c = imaplib.IMAP4("127.0.0.1", self.port)
        c.login("alice", "secret")
        return c

    def stop(self) -> None:
        subprocess.run(["sh", str(PEER), "stop", str(self.dir)], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


NOTES: list[str] = []


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def append_all(client: imaplib.IMAP4, messages: list[bytes]) -> float:
    """APPEND with LITERAL+ pipelining in batches (both servers announce it)."""
    started = time.perf_counter()
    sock = client.socket()
    batch = 50
    for start in range(0, len(messages), batch):
        chunk = messages[start : start + batch]
        sock.sendall(
            b"".join(b"P%d APPEND INBOX {%d+}\r\n%s\r\n" % (start + n, len(m), m) for n, m in enumerate(chunk))
        )
        pending = {b"P%d" % (start + n) for n in range(len(chunk))}
        while pending:
            line = client.readline()
            tag = line.split(b" ", 1)[0]
            if tag in pending:
                assert b" OK " in line, line
                pending.discard(tag)
    return time.perf_counter() - started


def run_suite(
    name: str, client: imaplib.IMAP4, messages: list[bytes], settle: Callable[[], float] | None = None
) -> dict[str, float]:
    results = {"APPEND": append_all(client, messages)}
    if settle is not None:
        NOTES.append(f"{name}: timed after its full-text indexer caught up (waited {settle():.1f} s after APPEND)")
    results["SELECT"] = timed(lambda: client.select("INBOX"))
    results["FETCH ENVELOPE"] = timed(lambda: client.fetch("1:*", "(FLAGS UID RFC822.SIZE ENVELOPE)"))
    results["FETCH BODYSTRUCTURE"] = timed(lambda: client.fetch("1:*", "(BODYSTRUCTURE)"))
    results["UID SEARCH TEXT"] = timed(lambda: client.uid("SEARCH", "TEXT", "quarterly"))
    results["UID SEARCH FROM"] = timed(lambda: client.uid("SEARCH", "FROM", "carol"))
    results["STORE +FLAGS"] = timed(lambda: client.store("1:*", "+FLAGS.SILENT", "(\\Flagged)"))

    def expunge_half() -> None:
        client.store(f"1:{len(messages) // 2}", "+FLAGS.SILENT", "(\\Deleted)")
        client.expunge()

    results["EXPUNGE half"] = timed(expunge_half)
    client.logout()
    print(f"  {name}: done", file=sys.stderr)
    return results


def fill(kastell: Kastell, address: str, folder_name: str | None, count: int) -> None:
    """Store ``count`` small messages in a new folder (None: the INBOX) directly through the store."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from kastell.app import Kastell as Core
    from kastell.config import load
    from kastell.store.model import NewItem

    async def main() -> None:
        core = await Core.open(load(kastell.data))
        try:
            account = await core.directory.get_account(address)
            mailbox = await core.store.open(account.org_id, account.id)
            if folder_name is None:
                folder = await mailbox.folder_by_role("inbox")
            else:
                folder = await mailbox.create_folder(folder_name)
            for start in range(0, count, 5000):
                items = [
                    NewItem(
                        source=b"From: x@example.org\r\nSubject: big %d\r\nMessage-ID: <%d@big>\r\n\r\nbody\r\n"
                        % (i, i)
                    )
                    for i in range(start, min(count, start + 5000))
                ]
                await mailbox.append_many(folder.id, items)
        finally:
            await core.close()

    asyncio.run(main())


def big_folder(kastell: Kastell, count: int) -> dict[str, float]:
    """SELECT and FETCH FLAGS on a ``count``-message folder filled through the store."""
    fill(kastell, "alice@example.org", "Big", count)
    client = kastell.client()
    results = {
        f"SELECT {count}": timed(lambda: client.select("Big")),
        f"FETCH 1:* FLAGS {count}": timed(lambda: client.fetch("1:*", "(FLAGS)")),
    }
    client.logout()
    return results


def idle_connections(kastell: Kastell, count: int, inbox_size: int = 1000) -> str:
    """Server RSS per connection for ``count`` connections logged in and in IDLE on an INBOX.

    A second account gets an INBOX of ``inbox_size`` messages; the connections are
    opened 100 at a time (a bounded loop), the first one alone, so the password
    check's cache and the code paths are warm before the baseline is read.
    """
    import psutil

    subprocess.run(
        [sys.executable, "-m", "kastell", "--data", str(kastell.data), "user", "add", "idle@example.org"]
        + ["--password-stdin"],
        input="secret\n",
        text=True,
        check=True,
        capture_output=True,
    )
    fill(kastell, "idle@example.org", None, inbox_size)
    server = psutil.Process(kastell.proc.pid)

    async def session() -> asyncio.StreamWriter:
        reader, writer = await asyncio.open_connection("127.0.0.1", kastell.port)
        await reader.readline()
        for tag, command in ((b"a", b"LOGIN idle@example.org secret"), (b"b", b"SELECT INBOX")):
            writer.write(tag + b" " + command + b"\r\n")
            while not (line := await reader.readline()).startswith(tag + b" "):
                if not line:
                    raise RuntimeError("connection closed")
            if not line.startswith(tag + b" OK"):
                raise RuntimeError(line.decode(errors="replace"))
        writer.write(b"c IDLE\r\n")
        if not (await reader.readline()).startswith(b"+"):
            raise RuntimeError("IDLE refused")
        return writer

    async def run() -> str:
        writers = [await session()]
        await asyncio.sleep(1)
        before = server.memory_info().rss
        gate = asyncio.Semaphore(100)

        async def bounded() -> asyncio.StreamWriter:
            async with gate:
                return await session()

        started = time.perf_counter()
        writers += await asyncio.gather(*(bounded() for _ in range(count - 1)))
        took = time.perf_counter() - started
        await asyncio.sleep(2)
        after = server.memory_info().rss
        for writer in writers:
            writer.write(b"DONE\r\nd LOGOUT\r\n")
        await asyncio.sleep(2)
        for writer in writers:
            writer.close()
        per = (after - before) / max(1, count - 1)
        return (
            f"idle: {count} connections logged in and in IDLE on an INBOX of {inbox_size} messages "
            f"(opened in {took:.1f} s): server RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MiB, "
            f"{per / 1024:.1f} KiB per connection (target < 50 KiB)"
        )

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--no-dovecot", action="store_true")
    parser.add_argument("--big", type=int, default=0, help="also a folder of this many messages (Kastell only)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the servers keep their data")
    parser.add_argument(
        "--idle", type=int, default=0, help="also RSS per connection of this many idle IMAP connections (Kastell only)"
    )
    args = parser.parse_args()
    rng = random.Random(42)
    messages = [make_message(i, rng) for i in range(args.messages)]
    print(f"{len(messages)} messages, {sum(map(len, messages)) / 1e6:.1f} MB", file=sys.stderr)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="bench-imap-", dir=args.workdir))
    root.chmod(0o755)  # Dovecot's directory inside must be reachable for its users
    kastell = Kastell(root)
    try:
        ours = run_suite("kastell", kastell.client(), messages, kastell.wait_indexed)
        theirs: dict[str, float] = {}
        if not args.no_dovecot and PEER.exists() and shutil.which("dovecot"):
            dovecot = Dovecot(root)
            try:
                theirs = run_suite("dovecot", dovecot.client(), messages)
            finally:
                dovecot.stop()
        big = big_folder(kastell, args.big) if args.big else {}
        if args.idle:
            NOTES.append(idle_connections(kastell, args.idle))
            print(NOTES[-1], file=sys.stderr)
    finally:
        kastell.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"{'operation':28} {'kastell s':>10} {'dovecot s':>10} {'ratio':>7}")
    for op, ours_s in ours.items():
        theirs_s = theirs.get(op)
        ratio = f"{ours_s / theirs_s:7.2f}" if theirs_s else "      -"
        print(f"{op:28} {ours_s:10.3f} {theirs_s if theirs_s is not None else float('nan'):10.3f} {ratio}")
    for op, seconds in big.items():
        print(f"{op:28} {seconds:10.3f}")
    for note in NOTES:
        print(note)


if __name__ == "__main__":
    main()
