"""Running the real ``kastell`` command: the CLI and the server, as an operator would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from kastell.config import SERVICES


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kastell(data: Path, *args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop("KASTELL_DATA", None)
    return subprocess.run(
        [sys.executable, "-m", "kastell", "--data", str(data), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


class RunningServer:
    """``kastell serve`` in a child process on free loopback ports."""

    def __init__(self, data: Path, *extra: str, services: tuple[str, ...] = ("http", "https")) -> None:
        self.data = data
        self.ports = {service: free_port() for service in services}
        listen: list[str] = []
        for service in SERVICES:
            value = f"127.0.0.1:{self.ports[service]}" if service in self.ports else "off"
            listen += ["--listen", f"{service}={value}"]
        env = {**os.environ}
        env.pop("KASTELL_DATA", None)
        self.log = data.parent / "server.log"
        self._log_handle = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kastell", "serve", "--data", str(data), *listen, *extra],
            stdout=subprocess.PIPE,
            stderr=self._log_handle,
            env=env,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log.read_text()}")
            if b"kastell ready" in self.log.read_bytes():
                return
            time.sleep(0.05)
        raise AssertionError(f"server not ready:\n{self.log.read_text()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self._log_handle.close()
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log_handle.close()
