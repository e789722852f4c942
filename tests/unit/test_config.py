"""Configuration: defaults, validation errors that name the key, listener overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from kastell.config import ConfigError, initial_toml, load, parse_endpoint, parse_size, resolve_data_dir


def test_defaults_are_the_embedded_setup(tmp_path: Path) -> None:
    settings = load(tmp_path)
    assert settings.config.listen.endpoint("imap") == ("127.0.0.1", 2143)
    assert settings.config.listen.endpoint("https") == ("127.0.0.1", 8443)
    assert settings.database_url.endswith(str(tmp_path / "kastell.db"))
    assert settings.config.database.sqlite_synchronous == "full"


def test_initial_file_loads_and_round_trips_hostname(tmp_path: Path) -> None:
    (tmp_path / "kastell.toml").write_text(initial_toml('mail."x'))
    assert load(tmp_path).config.server.hostname == 'mail."x'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[listen]\nimapx = '1.2.3.4:1'\n", "listen.imapx: unknown key"),
        ("[listen]\nimap = 'nonsense'\n", "listen.imap:"),
        ("[server]\nshutdown_timeout = 'soon'\n", "server.shutdown_timeout:"),
        ("[bogus]\n", "bogus: unknown key"),
        ("[store]\ndefault_quota = 'lots'\n", "store.default_quota:"),
        ("[auth]\nplaintext_without_tls_from = ['not a net']\n", "auth.plaintext_without_tls_from"),
        ("[server\n", "kastell.toml:"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "kastell.toml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load(tmp_path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_listen_overrides(tmp_path: Path) -> None:
    settings = load(tmp_path).with_listen({"imap": "off", "http": "[::1]:9000"})
    assert settings.config.listen.endpoint("imap") is None
    assert settings.config.listen.endpoint("http") == ("::1", 9000)
    with pytest.raises(ConfigError):
        load(tmp_path).with_listen({"gopher": "1.2.3.4:70"})
    with pytest.raises(ConfigError):
        load(tmp_path).with_listen({"imap": "1.2.3.4:99999"})


def test_sizes_and_endpoints() -> None:
    assert parse_size("2G") == 2 * 1024**3
    assert parse_size("500MiB") == 500 * 1024**2
    assert parse_size("0") == 0
    with pytest.raises(ValueError):
        parse_size("-1M")
    assert parse_endpoint("off") is None
    with pytest.raises(ValueError):
        parse_endpoint("localhost")


def test_data_dir_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KASTELL_DATA", str(tmp_path / "env"))
    assert resolve_data_dir(None) == tmp_path / "env"
    assert resolve_data_dir(str(tmp_path / "opt")) == tmp_path / "opt"


def test_api_prefix_constant_matches_the_api() -> None:
    from kastell.admin.mount import API_PREFIX
    from kastell.api import PREFIX

    assert API_PREFIX == PREFIX
