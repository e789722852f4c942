"""Shared helpers: an in-memory Environment and one-line evaluation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from kastell.sieve import Envelope, Result, evaluate, evaluate_sequence, parse

NOW = datetime(2024, 3, 15, 12, 30, 45, tzinfo=UTC)  # a Friday


class MemoryEnv:
    """Scripts, duplicate keys and mailboxes held in dicts/sets."""

    def __init__(
        self,
        scripts: dict[tuple[str, str], str] | None = None,
        seen: set[str] | None = None,
        mailboxes: set[str] | None = None,
    ) -> None:
        self.scripts = scripts or {}
        self.seen = seen if seen is not None else set()
        self.mailboxes = mailboxes or {"INBOX"}

    async def include(self, location: str, name: str) -> str | None:
        return self.scripts.get((location, name))

    async def duplicate_seen(self, key: str) -> bool:
        return key in self.seen

    async def mailbox_exists(self, name: str) -> bool:
        return name in self.mailboxes


def message(headers: str = "", body: str = "Hello.\r\n", **fields: str) -> bytes:
    """A small message; keyword fields become headers (underscores -> dashes)."""
    defaults = {
        "From": "Alice <alice@example.org>",
        "To": "Bob <bob@example.com>",
        "Subject": "Test",
        "Message-ID": "<m1@example.org>",
        "Date": "Fri, 15 Mar 2024 10:00:00 +0100",
    }
    for key, value in fields.items():
        defaults[key.replace("_", "-")] = value
    head = "".join(f"{k}: {v}\r\n" for k, v in defaults.items() if v is not None) + headers
    return (head + "\r\n" + body).encode("utf-8")


ENVELOPE = Envelope("alice@example.org", "bob@example.com")


def run(
    script: str,
    msg: bytes | None = None,
    envelope: Envelope = ENVELOPE,
    env: MemoryEnv | None = None,
    **kwargs: Any,
) -> Result:
    kwargs.setdefault("now", NOW)
    return asyncio.run(
        evaluate(parse(script), message() if msg is None else msg, envelope, env or MemoryEnv(), **kwargs)
    )


def run_sequence(scripts: list[str], msg: bytes | None = None, env: MemoryEnv | None = None, **kwargs: Any) -> Result:
    kwargs.setdefault("now", NOW)
    parsed = [parse(s, name=f"s{i}") for i, s in enumerate(scripts)]
    return asyncio.run(
        evaluate_sequence(parsed, message() if msg is None else msg, ENVELOPE, env or MemoryEnv(), **kwargs)
    )
