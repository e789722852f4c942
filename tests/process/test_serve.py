"""``kastell serve`` as a process: first-run set-up, live provisioning, HTTP(S), clean SIGTERM."""

from __future__ import annotations

import json
import signal
import ssl
import urllib.request
import warnings
from pathlib import Path

from .harness import RunningServer, kastell


def _get(url: str, context: ssl.SSLContext | None = None) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5, context=context) as response:
        assert response.status == 200
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_first_run_provision_while_running_and_sigterm(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = RunningServer(data)
    try:
        server.wait_ready()
        # First run made the directory, the certificate and the demo account.
        assert (data / "kastell.toml").exists()
        assert (data / "tls" / "cert.pem").exists()
        assert oct((data / "tls" / "key.pem").stat().st_mode & 0o777) == "0o600"
        log = server.log.read_text()
        assert f"http listening on 127.0.0.1:{server.ports['http']}" in log
        assert f"https listening on 127.0.0.1:{server.ports['https']}" in log

        assert _get(f"http://127.0.0.1:{server.ports['http']}/healthz")["status"] == "ok"
        trusted = ssl.create_default_context(cafile=str(data / "tls" / "cert.pem"))
        assert _get(f"https://localhost:{server.ports['https']}/healthz", trusted)["status"] == "ok"
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname = False
        old.verify_mode = ssl.CERT_NONE
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        old.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client offer what the server must refuse
        try:
            _get(f"https://127.0.0.1:{server.ports['https']}/healthz", old)
            raise AssertionError("TLS 1.1 was accepted")
        except (ssl.SSLError, OSError):
            pass

        # The CLI provisions while the server holds the database open.
        assert kastell(data, "domain", "add", "live.test").returncode == 0
        added = kastell(data, "user", "add", "bob@live.test", "--password-stdin", stdin="s3cret-pass\n")
        assert added.returncode == 0, added.stderr
        users = json.loads(kastell(data, "user", "list", "--json").stdout)
        assert {"demo@example.test", "bob@live.test"} <= {u["address"] for u in users}
        status = kastell(data, "status", "--json")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["listeners"]["http"]["up"] is True
    except BaseException:
        server.kill()
        raise
    code, seconds = server.stop(signal.SIGTERM)
    assert code == 0, server.log.read_text()
    assert seconds < 5
    assert "stopped" in server.log.read_text()
    assert server.proc.stdout is not None
    out = server.proc.stdout.read().decode()
    assert "demo account: demo@example.test  password: " in out


def test_second_start_keeps_data_and_sigint_stops(tmp_path: Path) -> None:
    data = tmp_path / "data"
    init = kastell(data, "init", "--no-demo", "--hostname", "mail.example.org")
    assert init.returncode == 0, init.stderr
    assert "password" not in init.stdout
    assert kastell(data, "domain", "add", "kept.test").returncode == 0
    server = RunningServer(data)
    try:
        server.wait_ready()
    except BaseException:
        server.kill()
        raise
    code, seconds = server.stop(signal.SIGINT)
    assert code == 0 and seconds < 5
    domains = json.loads(kastell(data, "domain", "list", "--json").stdout)
    assert [d["name"] for d in domains] == ["kept.test"]


def test_errors_are_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "kastell.toml").write_text("[listen]\nimapx = 'x'\n")
    result = kastell(data, "status")
    assert result.returncode != 0
    assert result.stderr.strip() == "kastell: kastell.toml: listen.imapx: unknown key"
    bad = kastell(tmp_path / "other", "serve", "--listen", "gopher=1.2.3.4:70")
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr
