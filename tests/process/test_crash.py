"""Durability: SIGKILL in the middle of writing leaves a consistent store, and a rerun completes it."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

from kastell.app import Kastell
from kastell.config import load

from .harness import kastell

COUNT = 3000


def _maildir(root: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    for n in range(COUNT):
        body = f"line {n}\n" * (n % 50 + 1)
        source = f"From: a{n}@example.org\nSubject: crash {n}\nMessage-ID: <c{n}@x>\n\n{body}".encode()
        (root / "cur" / f"{n:05d}.M{n}.crash:2,S").write_bytes(source)


def _state(data: Path) -> tuple[int, list[str], int]:
    async def main() -> tuple[int, list[str], int]:
        app = await Kastell.open(load(data))
        try:
            account = await app.directory.get_account("alice@crash.test")
            box = await app.store.open(account.org_id, account.id)
            inbox = await box.folder_by_role("inbox")
            missing = 0
            async for item in box.iter_items(inbox.id):
                if not await app.blobs.exists(item.blob_id):
                    missing += 1
            return (await box.folder(inbox.id)).item_count, await box.audit(), missing
        finally:
            await app.close()

    return asyncio.run(main())


def test_sigkill_during_import_loses_nothing_committed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert kastell(data, "init", "--no-demo").returncode == 0
    assert kastell(data, "domain", "add", "crash.test").returncode == 0
    assert kastell(data, "user", "add", "alice@crash.test", "--password", "crash-pass-1").returncode == 0
    maildir = tmp_path / "Maildir"
    _maildir(maildir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kastell", "--data", str(data), "import", "maildir", str(maildir),
         "--user", "alice@crash.test"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    # Kill it once some batches have committed, while others are in flight.
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        stored = sum(1 for p in (data / "blobs").glob("??/*"))
        if stored >= 700:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the import finished before it could be killed"

    count, problems, missing = _state(data)
    assert problems == []  # counters, uids and quota agree with the rows
    assert missing == 0  # every committed item has its blob
    assert 0 < count < COUNT

    rerun = kastell(data, "import", "maildir", str(maildir), "--user", "alice@crash.test", timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"skipped {count} already present" in rerun.stdout
    final, problems, missing = _state(data)
    assert (final, problems, missing) == (COUNT, [], 0)
