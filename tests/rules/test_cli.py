"""``kastell user oof|forward`` and ``kastell sieve`` through the real command."""

from __future__ import annotations

import json
from pathlib import Path

from tests.process.harness import kastell


def ok(data: Path, *args: str, stdin: str | None = None) -> str:
    done = kastell(data, *args, stdin=stdin)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return done.stdout


def fails(data: Path, *args: str, stdin: str | None = None) -> str:
    done = kastell(data, *args, stdin=stdin)
    assert done.returncode != 0, (args, done.stdout)
    assert "Traceback" not in done.stderr
    return done.stderr


def test_oof_forward_and_scripts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ok(data, "domain", "add", "example.test")
    ok(data, "user", "add", "ann@example.test", "--password-stdin", stdin="a long password\n")

    assert "off" in ok(data, "user", "oof", "ann@example.test")
    assert "needs a message" in fails(data, "user", "oof", "ann@example.test", "--on")
    out = ok(data, "user", "oof", "ann@example.test", "--on", "--message", "Away until Monday.", "--end", "2031-01-05")
    assert "on" in out and "Away until Monday." in out
    shown = json.loads(ok(data, "user", "oof", "ann@example.test", "--json"))
    assert shown["enabled"] is True and shown["external_message"] == "Away until Monday." and shown["end"] > 0
    assert "end must be after" in fails(data, "user", "oof", "ann@example.test", "--start", "2031-02-01")
    assert "off" in ok(data, "user", "oof", "ann@example.test", "--off")

    assert "does not forward" in ok(data, "user", "forward", "ann@example.test")
    assert "keeps no copy" in ok(data, "user", "forward", "ann@example.test", "--to", "Ext@Remote.example", "--no-keep")
    assert "ext@remote.example" in ok(data, "user", "forward", "ann@example.test")
    assert "invalid" in fails(data, "user", "forward", "ann@example.test", "--to", "not an address")
    assert "does not forward" in ok(data, "user", "forward", "ann@example.test", "--off")

    error = fails(data, "sieve", "put", "ann@example.test", "broken", "-", stdin='require "fileinto";\nfileinto "x"\n')
    assert "line" in error
    ok(
        data,
        "sieve",
        "put",
        "ann@example.test",
        "main",
        "-",
        "--activate",
        stdin='require "fileinto";\nfileinto "Old";\n',
    )
    assert "main  (active)" in ok(data, "sieve", "list", "ann@example.test")
    assert ok(data, "sieve", "show", "ann@example.test", "main").startswith('require "fileinto";')
    assert "active" in fails(data, "sieve", "del", "ann@example.test", "main")
    ok(data, "sieve", "activate", "ann@example.test")
    ok(data, "sieve", "del", "ann@example.test", "main")
    assert ok(data, "sieve", "list", "ann@example.test") == ""

    ok(data, "sieve", "domain-put", "example.test", "spam", "-", "--phase", "before", stdin="keep;\n")
    assert "spam  (before)" in ok(data, "sieve", "domain-list", "example.test")
    ok(data, "sieve", "domain-del", "example.test", "spam")
    assert "no global script" in fails(data, "sieve", "domain-del", "example.test", "spam")
