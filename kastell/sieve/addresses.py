"""Address helpers for the address/envelope tests, redirect and vacation:
address parts (RFC 5228 §2.7.4, RFC 5233 subaddress) and syntax checks."""

from __future__ import annotations

import re

from kastell.formats.mime.addresses import parse_address_list

__all__ = ["SEPARATOR", "address_part", "parse_addresses", "split_detail", "strip_detail", "valid_mailbox"]

#: The subaddress separator (RFC 5233 §1: implementation-defined; "+" is usual).
SEPARATOR = "+"

_LOCAL = re.compile(r"""[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+|"(?:[^"\\\r\n]|\\.)*\"""")
_DOMAIN = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?|\[[^\[\]\\\r\n]*\]"
)


def valid_mailbox(value: str, *, allow_phrase: bool = False) -> bool:
    """True for ``local@domain`` (or ``Name <local@domain>`` when
    ``allow_phrase``); non-ASCII is allowed (RFC 6531)."""
    value = value.strip()
    if allow_phrase and value.endswith(">") and "<" in value:
        value = value[value.rindex("<") + 1 : -1].strip()
    if "@" not in value or any(c in value for c in "\r\n\x00"):
        return False
    local, _, domain = value.rpartition("@")
    ascii_local = re.sub(r"[^\x00-\x7f]", "a", local)
    ascii_domain = re.sub(r"[^\x00-\x7f]", "a", domain)
    return bool(_LOCAL.fullmatch(ascii_local)) and bool(_DOMAIN.fullmatch(ascii_domain))


def parse_addresses(value: bytes) -> list[tuple[str, str]]:
    """``(localpart, domain)`` of every mailbox in a header value (group
    markers dropped, domain ``""`` when absent).  Never raises."""
    out = []
    for addr in parse_address_list(value):
        if addr.is_group_marker or addr.mailbox is None:
            continue
        out.append((addr.mailbox, addr.host or ""))
    return out


def split_detail(local: str) -> tuple[str, str | None]:
    """``"user+detail"`` -> ``("user", "detail")``; no separator -> detail None."""
    user, sep, detail = local.partition(SEPARATOR)
    return (user, detail) if sep else (local, None)


def strip_detail(address: str) -> str:
    """The address without its +detail: ``"a+b@x"`` -> ``"a@x"``."""
    local, at, domain = address.rpartition("@")
    if not at:
        return split_detail(address)[0]
    return f"{split_detail(local)[0]}@{domain}"


def address_part(local: str, domain: str, part: str) -> str | None:
    """The ``part`` (":all", ":localpart", ...) of an address, or None when
    the address has no such part (then it matches nothing)."""
    if part == ":all":
        return f"{local}@{domain}" if domain else local
    if part == ":localpart":
        return local
    if part == ":domain":
        return domain or None
    user, detail = split_detail(local)
    if part == ":user":
        return user
    if part == ":detail":
        return detail
    return None
