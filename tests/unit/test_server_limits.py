"""The server raises its open-file limit so that thousands of IDLE clients fit."""

from __future__ import annotations

import resource
import subprocess
import sys


def test_soft_limit_is_raised_to_the_hard_limit() -> None:
    # In a child process with a low soft limit, as systemd starts services.
    code = (
        "import resource\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "from kastell.server import raise_file_limit\n"
        "print(raise_file_limit(4096), resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    expected = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    assert out == [str(expected), str(expected)]
