"""A running server with ManageSieve, LMTP, SMTP, submission and HTTP, and a sink smarthost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.mail.mailenv import MAIL_SERVICES, MailEnv, Sink, anyio_backend, start_env

__all__ = ["anyio_backend", "rules_env"]


@pytest.fixture
async def rules_env(tmp_path: Path) -> AsyncIterator[tuple[MailEnv, Sink]]:
    sink = Sink()
    sink.start()
    env = await start_env(
        tmp_path,
        f"[delivery]\nmx_port = {sink.port}\n",
        services=(*MAIL_SERVICES, "managesieve", "imap", "http"),
    )
    env.resolver.add("remote.example", "MX", (10, "mx.remote.example"))
    env.resolver.add("mx.remote.example", "A", "127.0.0.1")
    try:
        yield env, sink
    finally:
        await env.server.stop()
        sink.stop()
