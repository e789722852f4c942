"""Kastell's Sieve result in the same normalised form as the Pigeonhole parser produces.

The normalised actions, in script order (the implicit keep last):

    ("store", mailbox, flags, copy, create)   keep is ("store", "INBOX", ...), like fileinto "INBOX"
    ("implicit-keep", flags)
    ("redirect", address, copy)               the domain lower-cased (domains are case-insensitive,
                                              RFC 5321 §2.4; Pigeonhole prints them lower-cased)
    ("reject", reason)                        reason as Pigeonhole prints it (line ends as CRLF,
                                              control characters as "?", cut at 128 bytes)
    ("discard",)
    ("vacation", verdict, seconds, subject, from, handle, reason)
                                              verdict "reply to <sender>" or "suppressed";
                                              handle None when it is the implementation's default
                                              (RFC 5230 §4.2 leaves its form to the implementation)

Flags are a sorted tuple of lower-cased flag names (IMAP flags are case-insensitive, RFC 3501
§2.3.2; Pigeonhole prints system flags lower-cased), empty when none are set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tests.sieve_diff.pigeonhole import Outcome


def flags(values: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(sorted({flag.lower() for value in values or () for flag in value.split()}))


def address(text: str) -> str:
    local, at, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}" if at else text


def sanitize(text: str, max_bytes: int = 128) -> str:
    """Dovecot's str_sanitize(): control characters become "?", long text is cut and gets "...".

    Line ends are made CRLF first: Pigeonhole stores a multi-line string (RFC 5228 §2.4.2) with
    CRLF line ends even when the script file has bare LF; which one a reason carries is not
    observable in the reply, which is CRLF anyway.
    """
    text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    clean = "".join("?" if ord(ch) < 0x20 or ord(ch) == 0x7F else ch for ch in text)
    encoded = clean.encode("utf-8")
    if len(encoded) <= max_bytes:
        return clean
    return encoded[: max_bytes - 3].decode("utf-8", errors="ignore") + "..."


# kastell/sieve/interpreter.py default_handle(): "vacation-" and an MD5 hex digest.
_KASTELL_DEFAULT_HANDLE = re.compile(r"vacation-[0-9a-f]{32}")


def kastell_outcome(result: Any) -> Outcome:
    """Normalises a kastell.sieve Result (duck-typed: the interpreter may not be importable yet)."""
    from kastell import sieve

    outcome = Outcome(duplicate_marks=len(result.duplicate_marks))
    if result.errors:
        outcome.error = "runtime"
    for action in result.actions:
        if isinstance(action, sieve.Keep):
            if action.implicit:
                outcome.actions.append(("implicit-keep", flags(action.flags)))
            else:
                outcome.actions.append(("store", "INBOX", flags(action.flags), False, False))
        elif isinstance(action, sieve.FileInto):
            outcome.actions.append(("store", action.mailbox, flags(action.flags), action.copy, action.create))
        elif isinstance(action, sieve.Redirect):
            outcome.actions.append(("redirect", address(action.address), action.copy))
        elif isinstance(action, sieve.Reject):
            outcome.actions.append(("reject" if not action.extended else "ereject", sanitize(action.reason)))
        elif isinstance(action, sieve.Discard):
            outcome.actions.append(("discard",))
        elif isinstance(action, sieve.Vacation):
            verdict = "suppressed" if action.suppressed is not None else f"reply to {action.reply_to}"
            outcome.actions.append(
                (
                    "vacation",
                    verdict,
                    action.seconds,
                    action.subject,
                    action.from_address,
                    None if _KASTELL_DEFAULT_HANDLE.fullmatch(action.handle) else action.handle,
                    action.reason.strip(),
                )
            )
        else:
            raise AssertionError(f"unknown Kastell action {action!r}")
    return outcome


def pigeonhole_outcome(outcome: Outcome) -> Outcome:
    """Drops what cannot be compared from a Pigeonhole outcome: the default vacation handle.

    Pigeonhole's default handle is reason + (subject or "<default-subject>") + (from or
    "<default-from>") + "<MIME>"/"<NO-MIME>" (cmd-vacation.c); sieve-test prints only its first line.
    """
    actions = []
    for action in outcome.actions:
        if action[0] == "redirect":
            assert isinstance(action[1], str)
            action = (action[0], address(action[1]), *action[2:])
        if action[0] == "vacation":
            handle, reason = action[5], action[6]
            assert isinstance(handle, str) and isinstance(reason, str)
            if handle.endswith(("<MIME>", "<NO-MIME>")) or ("\n" in reason and reason.startswith(handle)):
                action = (*action[:5], None, action[6])
        actions.append(action)
    return Outcome(actions=actions, duplicate_marks=outcome.duplicate_marks, error=outcome.error)
