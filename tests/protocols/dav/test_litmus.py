"""Debian's litmus WebDAV suite against a plain collection (/dav/files/<user>/).

The pass counts are printed (pytest -s, or the report's captured output) and
guarded: every suite must pass in full (104/104 with locks).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests.peers import _missing
from tests.protocols.dav.conftest import ALICE, Dav

EXPECTED = {"basic": 16, "copymove": 13, "props": 30, "http": 4, "locks": 41}


def test_litmus(dav_server: Dav, tmp_path: Path) -> None:
    if shutil.which("litmus") is None:
        _missing("litmus (Debian package litmus)")
    done = subprocess.run(
        ["litmus", f"{dav_server.url}/dav/files/{ALICE[0]}/", ALICE[0], ALICE[1]],
        env={"TESTS": "basic copymove props http locks", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summaries = {
        m.group(1): (int(m.group(2)), int(m.group(3)))
        for m in re.finditer(r"summary for `(\w+)': of (\d+) tests run: (\d+) passed", done.stdout)
    }
    for suite, (run, passed) in summaries.items():
        print(f"litmus {suite}: {passed}/{run}")
    for suite, count in EXPECTED.items():
        assert summaries.get(suite) == (count, count), done.stdout[-3000:]
    assert sum(passed for _, passed in summaries.values()) == 104
