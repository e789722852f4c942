"""A running server with ManageSieve, LMTP, SMTP, submission and HTTP, and a sink smarthost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.mail.mailenv import MAIL_SERVICES, MailEnv, Sink, anyio_backend, env_with_sink

__all__ = ["anyio_backend", "rules_env"]


@pytest.fixture
async def rules_env(tmp_path: Path) -> AsyncIterator[tuple[MailEnv, Sink]]:
    async with env_with_sink(tmp_path, (*MAIL_SERVICES, "managesieve", "imap", "http")) as world:
        yield world
