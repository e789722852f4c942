#!/usr/bin/env python3
"""Import throughput and idle memory.

    python bench/import.py [--messages 10000] [--users 1000] [--keep DIR]

1. Generates a Maildir of N messages (mixed shapes: plain, html alternative,
   attachments, replies; 4 folders; flags in the file names) and imports it
   into a fresh data directory in-process, as ``kastell import maildir`` does.
   Reports messages/s (target: more than 1,000 on one core).
2. Provisions U users, starts ``kastell serve`` with every listener and reports
   the idle server's resident memory after it settles (target: under 80 MB
   with 1,000 users).

No timing assertions anywhere: this prints numbers for people to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kastell.app import Kastell  # noqa: E402
from kastell.bootstrap import initialise  # noqa: E402
from kastell.config import SERVICES, load  # noqa: E402
from kastell.imports.runner import import_maildir  # noqa: E402

WORDS = (  # noqa: SIM905
    "meeting budget report draft review schedule project client invoice team update "
    "quarter release server backup network office contract proposal summary agenda"
).split()


def _text(rng: random.Random, words: int) -> str:
    lines, line = [], []
    for _ in range(words):
        line.append(rng.choice(WORDS))
        if len(line) == 12:
            lines.append(" ".join(line))
            line = []
    lines.append(" ".join(line))
    return "\r\n".join(lines)


def make_message(n: int, rng: random.Random) -> bytes:
    shape = rng.random()
    head = (
        f"From: Person {n % 97} <person{n % 97}@example.org>\r\n"
        f"To: Demo <bench@bench.test>\r\n"
        f"Subject: {rng.choice(WORDS)} {rng.choice(WORDS)} #{n}\r\n"
        f"Date: Mon, {1 + n % 28:02d} Jan 2024 {n % 24:02d}:{n % 60:02d}:00 +0100\r\n"
        f"Message-ID: <bench-{n}@example.org>\r\n"
        + (f"In-Reply-To: <bench-{n - 1}@example.org>\r\nReferences: <bench-{n - 1}@example.org>\r\n" if n % 3 == 0 else "")
        + "MIME-Version: 1.0\r\n"
    )
    body = _text(rng, rng.randint(40, 600))
    if shape < 0.5:
        return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n").encode()
    if shape < 0.85:
        return (
            head + 'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
            "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
            "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>" + body + "</p></body></html>\r\n"
            "--alt--\r\n"
        ).encode()
    attachment = base64.encodebytes(rng.randbytes(rng.randint(2000, 40000))).decode().replace("\n", "\r\n")
    return (
        head + 'Content-Type: multipart/mixed; boundary="mix"\r\n\r\n'
        "--mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
        '--mix\r\nContent-Type: application/pdf; name="report.pdf"\r\n'
        'Content-Disposition: attachment; filename="report.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + attachment + "--mix--\r\n"
    ).encode()


def make_maildir(root: Path, count: int) -> int:
    rng = random.Random(42)
    folders = [root, root / ".Archive", root / ".Projects.Alpha", root / ".Sent"]
    for folder in folders:
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
    total = 0
    for n in range(count):
        folder = folders[0] if n % 2 == 0 else rng.choice(folders[1:])
        data = make_message(n, rng)
        total += len(data)
        flags = "".join(sorted(rng.sample("SRF", rng.randint(0, 2))))
        (folder / "cur" / f"{1700000000 + n}.M{n}P1.bench:2,{flags}").write_bytes(data)
    return total


async def bench_import(data: Path, maildir: Path, count: int) -> None:
    await initialise(data, demo=False)
    app = await Kastell.open(load(data))
    try:
        await app.directory.add_domain("bench.test")
        await app.directory.add_user("bench@bench.test", None, name="Bench")
        started = time.process_time(), time.perf_counter()
        report = await import_maildir(app, "bench@bench.test", maildir)
        cpu = time.process_time() - started[0]
        wall = time.perf_counter() - started[1]
        assert report.imported == count, report
        print(f"import: {count} messages in {wall:.2f} s wall, {cpu:.2f} s CPU")
        print(f"import: {count / wall:.0f} messages/s (target > 1000 on one core)")
        again = time.perf_counter()
        rerun = await import_maildir(app, "bench@bench.test", maildir)
        print(f"re-import (all skipped as duplicates): {rerun.duplicates} in {time.perf_counter() - again:.2f} s")
    finally:
        await app.close()


async def provision_users(data: Path, users: int) -> None:
    app = await Kastell.open(load(data))
    try:
        await app.directory.add_domain("many.test")
        for n in range(users):
            await app.directory.add_user(f"user{n:05d}@many.test", None, name=f"User {n}")
    finally:
        await app.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_idle_rss(data: Path) -> None:
    listen = []
    for service in SERVICES:
        listen += ["--listen", f"{service}=127.0.0.1:{_free_port()}"]  # every listener, as in production
    proc = subprocess.Popen(
        [sys.executable, "-m", "kastell", "serve", "--data", str(data), *listen],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if b"kastell ready" in line:
                break
        # Idle means nothing left to do: wait until the background workers (the
        # full-text indexer has the imported messages to index) are quiet.
        server = psutil.Process(proc.pid)
        server.cpu_percent()
        quiet, waited = 0, 0
        while quiet < 3 and waited < 300:
            time.sleep(1)
            waited += 1
            quiet = quiet + 1 if server.cpu_percent() < 2.0 else 0
        rss = server.memory_info().rss
        print(f"idle server RSS: {rss / 2**20:.1f} MB after {waited} s (target < 80 MB)")
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args()
    # In the current directory, not /tmp: on some machines /tmp is a much slower filesystem.
    work = args.keep or Path(tempfile.mkdtemp(prefix="kastell-bench-", dir="."))
    work.mkdir(parents=True, exist_ok=True)
    try:
        maildir = work / "Maildir"
        size = make_maildir(maildir, args.messages)
        print(f"generated {args.messages} messages, {size / 2**20:.1f} MB")
        data = work / "data"
        asyncio.run(bench_import(data, maildir, args.messages))
        started = time.perf_counter()
        asyncio.run(provision_users(data, args.users))
        print(f"provisioned {args.users} users in {time.perf_counter() - started:.1f} s")
        bench_idle_rss(data)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.pop("KASTELL_DATA", None)
    main()
