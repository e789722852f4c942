"""A real ``kastell serve`` for the admin API and console tests; no tests here.

``admin_server`` (module scope) initialises a data directory without the demo,
sets the failed-login pause to 0 and a low throttle (so 401/429 tests are fast),
adds the system administrator ``root`` with the CLI, starts the server on a free
loopback port and issues an API token for ``root`` through the API itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.process.harness import RunningServer, kastell

ROOT_PASSWORD = "root-secret-passphrase"
ACCOUNT_FAILURES = 5


@dataclass
class AdminServer:
    server: RunningServer
    data: Path
    base: str  # http://127.0.0.1:PORT
    token: str  # root's bearer token

    def client(self, token: str | None = None, **options: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.Client(base_url=self.base + "/api/v1", headers=headers, timeout=30, **options)  # type: ignore[arg-type]


def start(tmp: Path, services: tuple[str, ...] = ("http",), config: str = "") -> AdminServer:
    """``config`` is appended to kastell.toml (whole sections)."""
    data = tmp / "data"
    made = kastell(data, "init", "--no-demo")
    assert made.returncode == 0, made.stderr
    with (data / "kastell.toml").open("a") as toml:
        toml.write(f"\n[auth]\nfailure_delay_seconds = 0\naccount_failures = {ACCOUNT_FAILURES}\n{config}")
    added = kastell(data, "admin", "add", "root", "--password-stdin", stdin=ROOT_PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    server = RunningServer(data, services=services)
    try:
        server.wait_ready()
        base = f"http://127.0.0.1:{server.ports['http']}"
        answer = httpx.post(base + "/api/v1/tokens", json={"name": "tests"}, auth=("root", ROOT_PASSWORD), timeout=30)
        assert answer.status_code == 201, answer.text
        return AdminServer(server, data, base, answer.json()["secret"])
    except BaseException:
        server.kill()
        raise


def error(response: httpx.Response, status: int, code: str, field: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    if field is not None:
        assert body["field"] == field, body
    assert body["message"]
    return str(body["message"])
