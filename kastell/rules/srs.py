"""Sender Rewriting Scheme for forwards that leave the server.

A message forwarded to another domain keeps passing SPF only if its envelope
sender is ours: ``alice@a.example`` becomes
``SRS0=HHHH=TT=a.example=alice@ourdomain``, signed with the installation's key
and valid for 21 days. A bounce to that address is recognised at RCPT time and
sent on to the original sender (``reverse``). srslib implements the scheme of
libsrs2 (the "guarded" form, SRS1 for addresses rewritten elsewhere before).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import srslib

KEY_FILE = "srs.key"


@lru_cache(maxsize=8)
def _srs(data_dir: Path) -> srslib.SRS:
    from kastell.keys import load_key

    return srslib.SRS(load_key(data_dir, KEY_FILE))


def forward(data_dir: Path, sender: str, domain: str) -> str:
    """The rewritten envelope sender for a forward by ``domain``; the null sender stays null."""
    if not sender or "@" not in sender:
        return sender
    try:
        return str(_srs(data_dir).forward(sender, domain))
    except srslib.Error:
        return sender


def is_srs(address: str) -> bool:
    return address[:5].upper() in ("SRS0=", "SRS0-", "SRS0+", "SRS1=", "SRS1-", "SRS1+")


def reverse(data_dir: Path, address: str) -> str | None:
    """The address a bounce to ``address`` goes to, or None when it is not a valid SRS address of ours."""
    if not is_srs(address):
        return None
    try:
        return str(_srs(data_dir).reverse(address))
    except (srslib.Error, ValueError, KeyError):
        return None
