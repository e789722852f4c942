"""Sender authentication of inbound mail: SPF, DKIM, DMARC, and the RFC 8601 header.

``check(message, client_ip, helo, mail_from, resolver, authserv_id)`` runs in a
worker thread (DNS and RSA are blocking) and returns an :class:`AuthVerdict`:
the ``Authentication-Results:`` header to prepend and the DMARC disposition the
delivery layer applies (``reject`` → 550 5.7.1, ``quarantine`` → Junk).

- SPF (RFC 7208) is pyspf; its DNS goes through our resolver (see
  ``_spf_dns``), so a test's table answers and nothing reaches the network.
- DKIM (RFC 6376) is ``kastell.mail.dkim.verify`` (dkimpy).
- DMARC (RFC 7489) is small enough to do here: the policy record of the
  From: domain or, failing that, of its organisational domain (section 6.6.3;
  the organisational domain comes from the Public Suffix List bundled with
  publicsuffix2), identifier alignment (3.1) and the policy (6.3: ``p``,
  ``sp``, ``pct`` is ignored — we apply the policy to every failing message).
- ARC chains are not verified yet (reported nowhere rather than wrongly).
"""

from __future__ import annotations

import contextvars
import email.utils
import re
from dataclasses import dataclass

import spf
from publicsuffix2 import PublicSuffixList

from kastell.mail.dkim import DkimResult, verify
from kastell.mail.dns import DnsTempError, NoSuchDomain, Resolver

_active: contextvars.ContextVar[Resolver] = contextvars.ContextVar("kastell_spf_resolver")
_psl: PublicSuffixList | None = None


def _spf_dns(
    name: str, qtype: str, strict: object = True, timeout: object = 20
) -> list[tuple[tuple[str, str], object]]:
    """pyspf's ``DNSLookup`` contract, answered by the resolver of the current check."""
    resolver = _active.get()
    try:
        if qtype in ("TXT", "SPF"):
            if qtype == "SPF":  # type 99 is obsolete (RFC 7208 3.1); never asked for
                return []
            return [((name, qtype), (value,)) for value in resolver.txt(name)]
        if qtype == "MX":
            return [((name, qtype), (pref, host)) for pref, host in resolver.mx(name)]
        return [((name, qtype), value) for value in resolver.lookup(name, qtype)]
    except NoSuchDomain:
        return []
    except DnsTempError as exc:
        raise spf.TempError(f"DNS {exc}") from None


# pyspf reads this module global for every lookup; route it to the resolver of the
# current context (contextvars follow asyncio.to_thread into the worker thread).
spf.DNSLookup = _spf_dns


def org_domain(domain: str) -> str:
    """The organisational domain (RFC 7489 3.2): public suffix plus one label."""
    global _psl
    if _psl is None:
        _psl = PublicSuffixList()
    domain = domain.lower().rstrip(".")
    found = _psl.get_sld(domain, strict=False)
    if not found or "." not in found:
        # A TLD the list does not know (".example", ".test"): the default rule "*" (PSL
        # algorithm step 2) makes the TLD the suffix, so the org domain has two labels.
        return ".".join(domain.split(".")[-2:])
    return str(found)


@dataclass(frozen=True, slots=True)
class AuthVerdict:
    header: bytes  # the complete Authentication-Results header line(s), CRLF-terminated
    spf: str
    dkim: tuple[DkimResult, ...]
    dmarc: str  # pass | fail | none | temperror | permerror
    disposition: str  # none | quarantine | reject
    from_domain: str


def check_spf(ip: str, helo: str, mail_from: str, resolver: Resolver) -> str:
    """SPF result of the MAIL FROM identity (HELO when the sender is null, RFC 7208 2.4)."""
    token = _active.set(resolver)
    try:
        sender = mail_from if mail_from and mail_from != "<>" else f"postmaster@{helo}"
        result, _explanation = spf.check2(i=ip, s=sender, h=helo or "unknown", querytime=20)
        return str(result)
    except Exception:
        return "temperror"
    finally:
        _active.reset(token)


_FROM = re.compile(rb"^from[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


def from_domain(message: bytes) -> str | None:
    """The RFC5322.From domain, or None when there is not exactly one From address."""
    end = message.find(b"\r\n\r\n")
    head = message if end < 0 else message[:end]
    found = _FROM.findall(head)
    if len(found) != 1:
        return None
    text = found[0].decode("utf-8", "replace").replace("\r\n", "").replace("\n", "")
    addresses = email.utils.getaddresses([text])
    if len(addresses) != 1 or "@" not in addresses[0][1]:
        return None
    return addresses[0][1].rpartition("@")[2].lower().strip() or None


def _dmarc_record(domain: str, resolver: Resolver) -> dict[str, str] | None:
    try:
        records = [r for r in resolver.txt(f"_dmarc.{domain}") if r.lower().startswith(b"v=dmarc1")]
    except NoSuchDomain:
        return None
    if len(records) != 1:  # none, or ambiguous (RFC 7489 6.6.3: ignore)
        return None
    tags: dict[str, str] = {}
    for part in records[0].decode("ascii", "replace").split(";"):
        key, _, value = part.strip().partition("=")
        if key:
            tags[key.strip().lower()] = value.strip().lower()
    return tags


def _aligned(identifier: str, author: str, mode: str) -> bool:
    identifier, author = identifier.lower().rstrip("."), author.lower().rstrip(".")
    if mode == "s":
        return identifier == author
    return org_domain(identifier) == org_domain(author)


def check_dmarc(
    author: str | None, spf_result: str, spf_domain: str, dkim: list[DkimResult], resolver: Resolver
) -> tuple[str, str, str]:
    """(result, policy, disposition) per RFC 7489 section 6.6."""
    if author is None:
        return "none", "none", "none"
    try:
        record = _dmarc_record(author, resolver)
        policy_key = "p"
        if record is None and org_domain(author) != author:
            record = _dmarc_record(org_domain(author), resolver)
            policy_key = "sp"
    except DnsTempError:
        return "temperror", "none", "none"
    if record is None:
        return "none", "none", "none"
    policy = record.get(policy_key) or record.get("p", "none")
    if policy not in ("none", "quarantine", "reject"):
        policy = "none"
    dkim_ok = any(r.result == "pass" and _aligned(r.domain, author, record.get("adkim", "r")) for r in dkim)
    spf_ok = spf_result == "pass" and bool(spf_domain) and _aligned(spf_domain, author, record.get("aspf", "r"))
    if dkim_ok or spf_ok:
        return "pass", policy, "none"
    return "fail", policy, policy


def check(
    message: bytes,
    *,
    client_ip: str,
    helo: str,
    mail_from: str,
    resolver: Resolver,
    authserv_id: str,
) -> AuthVerdict:
    """Every check, and the Authentication-Results header (RFC 8601 2.2). Blocking."""
    spf_result = check_spf(client_ip, helo, mail_from, resolver)
    null_sender = not mail_from or mail_from == "<>"
    spf_domain = helo if null_sender else mail_from.rpartition("@")[2]
    dkim_results = verify(message, resolver)
    author = from_domain(message)
    dmarc_result, policy, disposition = check_dmarc(author, spf_result, spf_domain, dkim_results, resolver)
    parts = [
        f"spf={spf_result} smtp.{'helo' if null_sender else 'mailfrom'}={_value(spf_domain if null_sender else mail_from)}"
    ]
    if dkim_results:
        parts += [f"dkim={r.result} header.d={_value(r.domain)} header.s={_value(r.selector)}" for r in dkim_results]
    else:
        parts.append("dkim=none")
    dmarc_part = f"dmarc={dmarc_result}"
    if author:
        dmarc_part += f" (p={policy} dis={disposition}) header.from={_value(author)}"
    parts.append(dmarc_part)
    header = f"Authentication-Results: {authserv_id};\r\n\t" + ";\r\n\t".join(parts) + "\r\n"
    return AuthVerdict(header.encode("utf-8"), spf_result, tuple(dkim_results), dmarc_result, disposition, author or "")


_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+\-./=?^_`{|}~@]+$")


def _value(text: str) -> str:
    """An RFC 8601 ``value``: a token, else a quoted string (RFC 2045 5.1)."""
    if text and _TOKEN.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "") + '"'


def header_without_checks(authserv_id: str) -> bytes:
    """What we say when checks are turned off (RFC 8601 2.2: ``none``)."""
    return f"Authentication-Results: {authserv_id}; none\r\n".encode()


_AR_HEADER = re.compile(rb"(?im)^authentication-results[ \t]*:[ \t\r\n]*([^;\s]+)")


def defuse_forged(message: bytes, authserv_id: str) -> bytes:
    """Rename Authentication-Results headers that claim to be ours (RFC 8601 section 5).

    A sender could otherwise plant "dkim=pass" under our name. The header is
    renamed, not removed, so the rest of the source stays byte-exact.
    """
    end = message.find(b"\r\n\r\n")
    head = message if end < 0 else message[: end + 2]
    ours = authserv_id.lower().encode()
    spans = [m.start() for m in _AR_HEADER.finditer(head) if m.group(1).lower() == ours]
    if not spans:
        return message
    out = bytearray(message)
    for start in reversed(spans):
        out[start:start] = b"X-Forged-"
    return bytes(out)
