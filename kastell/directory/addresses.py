"""Address and domain validation: one canonical, lower-case form for every address.

The directory stores and compares addresses only in the form ``normalise_address``
returns, so that a lookup is one indexed equality test. The rules are those of
a dot-atom mailbox (RFC 5322 §3.4.1) with the limits of RFC 5321 §4.5.3.1 and
UTF-8 local parts (RFC 6531); the domain is converted to its ASCII (IDNA) form.
Quoted local parts and address literals (``user@[192.0.2.1]``) are refused:
no mail system one would host needs them and they complicate every lookup.

Both functions raise ``InvalidAddress`` and nothing else, whatever the input.
"""

from __future__ import annotations

import re

from kastell.directory.errors import InvalidAddress

MAX_LOCAL = 64  # octets, RFC 5321 §4.5.3.1.1
MAX_DOMAIN = 253  # octets without the trailing dot
MAX_ADDRESS = 254  # the longest path that fits a 256-octet RFC 5321 reverse-path

# RFC 5322 atext, plus any non-ASCII character (RFC 6532) that passes the checks below.
_ATEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def normalise_domain(text: str) -> str:
    """``"Exämple.TEST."`` → ``"xn--exmple-cua.test"``; raises InvalidAddress.

    Lower-cased, one trailing dot removed, non-ASCII labels converted with IDNA
    (the ``idna`` codec of the standard library); every label must be 1-63
    letters, digits or hyphens, not starting or ending with a hyphen.
    """
    if not isinstance(text, str) or not text:
        raise InvalidAddress("empty domain name")
    shown = _shown(text)
    domain = text.lower().removesuffix(".")
    if not domain.isascii():
        if any(not ch.isprintable() or ch.isspace() for ch in domain):
            raise InvalidAddress(f"invalid domain name {shown}")
        try:
            domain = domain.encode("idna").decode("ascii").lower()
        except (UnicodeError, ValueError):
            raise InvalidAddress(f"invalid domain name {shown}") from None
    if not domain or len(domain) > MAX_DOMAIN:
        raise InvalidAddress(f"invalid domain name {shown}")
    for label in domain.split("."):
        if not _LABEL.fullmatch(label):
            raise InvalidAddress(f"invalid domain name {shown}")
    return domain


def normalise_address(text: str) -> str:
    """``"Alice@Example.TEST"`` → ``"alice@example.test"``; raises InvalidAddress.

    Exactly one ``@``; the local part is a dot-atom (no leading, trailing or
    double dot) of at most 64 octets; no spaces or control characters anywhere.
    """
    if not isinstance(text, str) or not text:
        raise InvalidAddress("empty address")
    shown = _shown(text)
    if text.count("@") != 1:
        raise InvalidAddress(f"invalid address {shown} (expected local@domain)")
    local, _, domain = text.partition("@")
    local = local.lower()
    if not local or len(local.encode("utf-8", "surrogatepass")) > MAX_LOCAL:
        raise InvalidAddress(f"invalid address {shown} (local part empty or too long)")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidAddress(f"invalid address {shown} (misplaced dot)")
    for ch in local:
        if ch == "." or _ATEXT.fullmatch(ch):
            continue
        if ord(ch) < 128 or not ch.isprintable() or ch.isspace() or _is_surrogate(ch):
            raise InvalidAddress(f"invalid address {shown} (character {ch!r} not allowed)")
    try:
        domain = normalise_domain(domain)
    except InvalidAddress:
        raise InvalidAddress(f"invalid address {shown} (bad domain)") from None
    address = f"{local}@{domain}"
    if len(address.encode("utf-8")) > MAX_ADDRESS:
        raise InvalidAddress(f"invalid address {shown} (too long)")
    return address


def split(address: str) -> tuple[str, str]:
    """``"a@b"`` → ``("a", "b")`` for an address that is already normalised."""
    local, _, domain = address.rpartition("@")
    return local, domain


def _is_surrogate(ch: str) -> bool:
    return 0xD800 <= ord(ch) <= 0xDFFF


def _shown(text: str) -> str:
    """The input quoted for an error message: one line, bounded, escapes visible."""
    return repr(text[:80] + ("…" if len(text) > 80 else ""))
