"""First-run set-up of a data directory: config, certificate, database, demo account.

Shared by ``kastell init`` and ``kastell serve`` (which initialises a missing
data directory itself, so one command gives a running server).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from kastell.config import CONFIG_NAME, initial_toml, load
from kastell.tls import make_self_signed

DEMO_DOMAIN = "example.test"
DEMO_USER = f"demo@{DEMO_DOMAIN}"


@dataclass(frozen=True, slots=True)
class InitResult:
    created_config: bool
    created_certificate: bool
    demo_password: str | None  # set only when the demo user was created just now


def generate_password() -> str:
    return secrets.token_urlsafe(15)


async def initialise(data_dir: Path, *, hostname: str = "localhost", demo: bool = True) -> InitResult:
    """Create what is missing in ``data_dir``; harmless when everything exists."""
    from kastell.app import Kastell
    from kastell.directory.errors import DirectoryError

    data_dir.mkdir(parents=True, exist_ok=True)
    config_path = data_dir / CONFIG_NAME
    created_config = not config_path.exists()
    if created_config:
        config_path.write_text(initial_toml(hostname), encoding="utf-8")
    settings = load(data_dir)
    created_cert = False
    if not settings.cert_path.exists() or not settings.key_path.exists():
        make_self_signed(settings.cert_path, settings.key_path, settings.config.server.hostname)
        created_cert = True
    password = None
    app = await Kastell.open(settings)
    try:
        if demo and created_config:
            try:
                await app.directory.add_domain(DEMO_DOMAIN)
                password = generate_password()
                await app.directory.add_user(DEMO_USER, password, name="Demo User")
            except DirectoryError:
                password = None  # the operator made it already: leave it alone
    finally:
        await app.close()
    return InitResult(created_config, created_cert, password)
