"""``kastell domain|user|alias|group|admin`` through the real command, as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from kastell.app import Kastell
from kastell.config import load


def run(data: Path, *args: str, stdin: str | None = None, data_first: bool = True) -> subprocess.CompletedProcess[str]:
    """``python -m kastell`` with ``--data`` before the command (or at the end)."""
    env = {**os.environ}
    env.pop("KASTELL_DATA", None)
    env.pop("KASTELL_DEBUG", None)
    where = ["--data", str(data)]
    argv = [*where, *args] if data_first else [*args, *where]
    return subprocess.run(
        [sys.executable, "-m", "kastell", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def ok(data: Path, *args: str, **options: Any) -> str:
    done = run(data, *args, **options)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return done.stdout


def fails(data: Path, *args: str, status: int = 1, **options: Any) -> str:
    """Run a command that must fail; return its one-line error."""
    done = run(data, *args, **options)
    assert done.returncode == status, (args, done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("kastell: "), lines
    return lines[0]


def authenticates(data: Path, address: str, password: str) -> bool:
    """Check a password the way a protocol will: through the core's authenticator."""
    from kastell.directory.errors import AuthFailed

    async def main() -> bool:
        app = await Kastell.open(load(data))
        try:
            await app.auth.authenticate(address, password, client_ip=None, protocol="imap")
            return True
        except AuthFailed:
            return False
        finally:
            await app.close()

    return asyncio.run(main())


def test_domains(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert "added domain example.test (organisation example.test)" in ok(data, "domain", "add", "Example.TEST")
    ok(data, "domain", "add", "example.net", "--alias-of", "example.test")
    ok(data, "domain", "add", "other.test", "--org", "Other")
    listed = json.loads(ok(data, "domain", "list", "--json"))
    assert [(d["name"], d["org"], d["alias_of"]) for d in listed] == [
        ("example.net", "example.test", "example.test"),
        ("example.test", "example.test", None),
        ("other.test", "Other", None),
    ]
    table = ok(data, "domain", "list").splitlines()
    assert table[0].split() == ["DOMAIN", "ORGANISATION", "ALIAS", "OF", "CATCH-ALL"]
    assert len(table) == 4 and table[1].index("example.test") == table[0].index("ORGANISATION")
    assert fails(data, "domain", "add", "example.test") == "kastell: domain example.test exists already"
    assert "in use" in fails(data, "domain", "del", "example.test")
    ok(data, "domain", "del", "example.net")
    ok(data, "domain", "del", "other.test")
    assert [d["name"] for d in json.loads(ok(data, "domain", "list", "--json"))] == ["example.test"]
    assert "invalid domain" in fails(data, "domain", "add", "bad domain")


def test_users(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ok(data, "domain", "add", "example.test")
    out = ok(
        data,
        "user",
        "add",
        "Alice@example.test",
        "--password-stdin",
        "--name",
        "Alice A",
        "--quota",
        "2G",
        stdin="pässwörd with spaces \n",
    )
    assert out == "added user alice@example.test\n"  # no password echoed
    assert authenticates(data, "alice@example.test", "pässwörd with spaces ")
    generated = ok(data, "user", "add", "bob@example.test")
    password = generated.splitlines()[1].removeprefix("password: ")
    assert len(password) >= 20 and authenticates(data, "bob@example.test", password)
    assert "password" not in ok(data, "user", "add", "info@example.test", "--kind", "shared")
    listed = json.loads(ok(data, "user", "list", "--json"))
    assert [(u["address"], u["name"], u["kind"], u["quota"]) for u in listed] == [
        ("alice@example.test", "Alice A", "user", 2 * 1024**3),
        ("bob@example.test", "", "user", 0),
        ("info@example.test", "", "shared", 0),
    ]
    assert listed[0]["permissions"] == "all" and listed[2]["permissions"] == "none"
    assert all("password_hash" not in u for u in listed)
    assert json.loads(ok(data, "user", "list", "example.test", "--json", "--kind", "shared"))[0]["address"] == (
        "info@example.test"
    )
    table = ok(data, "user", "list").splitlines()
    assert table[0].split()[:2] == ["ADDRESS", "NAME"] and "2G" in table[1]

    ok(data, "user", "passwd", "alice@example.test", "--password-stdin", stdin="new secret\r\n")
    assert authenticates(data, "alice@example.test", "new secret")
    assert not authenticates(data, "alice@example.test", "pässwörd with spaces ")
    ok(data, "user", "passwd", "alice@example.test", "--password", "third")
    assert authenticates(data, "alice@example.test", "third")

    assert "quota of alice@example.test: 500M" in ok(data, "user", "set-quota", "alice@example.test", "500M")
    assert "suspended" in ok(data, "user", "suspend", "alice@example.test")
    assert not authenticates(data, "alice@example.test", "third")
    ok(data, "user", "activate", "alice@example.test")
    assert authenticates(data, "alice@example.test", "third")
    assert "imap,dav" in ok(data, "user", "set-permissions", "alice@example.test", "dav,imap")
    shown = json.loads(ok(data, "user", "show", "alice@example.test", "--json"))
    assert shown["quota"] == 500 * 1024**2 and shown["status"] == "active"

    ok(data, "user", "del", "bob@example.test")
    assert [u["address"] for u in json.loads(ok(data, "user", "list", "--json"))] == [
        "alice@example.test",
        "info@example.test",
    ]


def test_errors_are_one_line_with_the_right_status(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ok(data, "domain", "add", "example.test")
    ok(data, "user", "add", "alice@example.test", "--password", "pw")
    assert fails(data, "user", "add", "ALICE@example.test", "--password", "pw") == (
        "kastell: user alice@example.test exists already"
    )
    assert "not a local domain" in fails(data, "user", "add", "bob@nowhere.test", "--password", "pw")
    assert "no account" in fails(data, "user", "del", "nobody@example.test")
    assert "invalid address" in fails(data, "user", "add", "no at sign", "--password", "pw")
    assert "not both" in fails(
        data, "user", "add", "c@example.test", "--password", "x", "--password-stdin", status=2, stdin="y\n"
    )
    assert "no password" in fails(data, "user", "passwd", "alice@example.test", "--password-stdin", stdin="", status=2)
    assert "--password" in fails(data, "user", "passwd", "alice@example.test", status=2)
    assert "not a size" in fails(data, "user", "set-quota", "alice@example.test", "lots", status=2)
    assert "unknown permission" in fails(data, "user", "set-permissions", "alice@example.test", "gopher", status=2)
    assert "empty" in fails(data, "user", "add", "d@example.test", "--password", "")


def test_aliases_and_groups(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ok(data, "domain", "add", "example.test")
    ok(data, "user", "add", "alice@example.test", "--password", "pw")
    assert "added alias ally@example.test -> alice@example.test" in ok(
        data, "alias", "add", "Ally@example.test", "alice@example.test"
    )
    assert json.loads(ok(data, "alias", "list", "--json")) == [
        {"alias": "ally@example.test", "target": "alice@example.test"}
    ]
    assert fails(data, "user", "add", "ally@example.test", "--password", "pw") == (
        "kastell: ally@example.test is an alias of alice@example.test already"
    )
    ok(data, "group", "add", "team@example.test", "--name", "Team")
    ok(data, "group", "add-member", "team@example.test", "alice@example.test")
    ok(data, "group", "add-member", "team@example.test", "friend@outside.example")
    assert "already" in fails(data, "group", "add-member", "team@example.test", "ALICE@example.test")
    assert "no user, alias or group" in fails(data, "group", "add-member", "team@example.test", "typo@example.test")
    [team] = json.loads(ok(data, "group", "list", "--json"))
    assert team["address"] == "team@example.test" and team["name"] == "Team"
    assert team["members"] == ["alice@example.test", "friend@outside.example"]
    assert "alice@example.test, friend@outside.example" in ok(data, "group", "list")
    ok(data, "group", "del-member", "team@example.test", "friend@outside.example")
    ok(data, "group", "del", "team@example.test")
    assert json.loads(ok(data, "group", "list", "--json")) == []
    ok(data, "alias", "del", "ally@example.test")
    assert json.loads(ok(data, "alias", "list", "--json")) == []
    assert "not an alias" in fails(data, "alias", "del", "ally@example.test")


def test_admin_add(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert ok(data, "admin", "add", "root", "--password-stdin", stdin="admin secret\n") == "added system admin root\n"
    assert fails(data, "admin", "add", "root", "--password-stdin", stdin="x\n") == "kastell: admin root exists already"
    assert [a["name"] for a in json.loads(ok(data, "admin", "list", "--json"))] == ["root"]

    async def verify() -> str:
        app = await Kastell.open(load(data))
        try:
            return (await app.directory.verify_admin("root", "admin secret")).role
        finally:
            await app.close()

    assert asyncio.run(verify()) == "system"


def test_data_option_before_and_after_the_command(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ok(data, "domain", "add", "before.test")
    ok(data, "domain", "add", "after.test", data_first=False)
    ok(data, "user", "add", "a@after.test", "--password-stdin", stdin="pw\n", data_first=False)
    expected = ["after.test", "before.test"]
    assert [d["name"] for d in json.loads(ok(data, "domain", "list", "--json"))] == expected
    assert [d["name"] for d in json.loads(ok(data, "domain", "list", "--json", data_first=False))] == expected
    # Between the group and its command, too.
    env = {k: v for k, v in os.environ.items() if k != "KASTELL_DATA"}
    done = subprocess.run(
        [sys.executable, "-m", "kastell", "user", "--data", str(data), "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0 and json.loads(done.stdout)[0]["address"] == "a@after.test"
