"""MTA-STS (RFC 8461): a domain's published demand that mail to it use TLS with a valid certificate.

Before delivering to a domain's MX hosts the queue asks ``policy_for``: a
``_mta-sts.DOMAIN`` TXT record (``v=STSv1; id=…``, section 3.1) announces a
policy, fetched over HTTPS from ``https://mta-sts.DOMAIN/.well-known/mta-sts.txt``
(section 3.3) and cached for its ``max_age`` (and until the TXT id changes).

In ``enforce`` mode only MX hosts matching a policy ``mx`` pattern are used
(section 4.1) and each connection must upgrade with STARTTLS to a certificate
valid for the MX name (4.2); a failure is temporary (4.7.5), never a fallback
to plain text. ``testing`` and ``none`` deliver as usual (reporting, TLSRPT, is
not implemented). Any error while looking up or fetching the policy means "no
policy" unless a cached one is still valid (section 5.1).
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from kastell.mail.dns import DnsTempError, NoSuchDomain, Resolver

MAX_POLICY = 64 * 1024  # section 3.3: a policy is small; do not read more


@dataclass(frozen=True, slots=True)
class StsPolicy:
    mode: str  # enforce | testing | none
    mx: tuple[str, ...]
    max_age: int
    policy_id: str = ""

    def allows(self, host: str) -> bool:
        """Section 4.1: exact names, or "*.example.com" matching one leftmost label."""
        host = host.lower().rstrip(".")
        for pattern in self.mx:
            pattern = pattern.lower().rstrip(".")
            if pattern.startswith("*."):
                head, _, rest = host.partition(".")
                if head and rest == pattern[2:]:
                    return True
            elif host == pattern:
                return True
        return False


def parse_policy(text: str) -> StsPolicy | None:
    """Section 3.2: key/value lines; None when it is not a valid STSv1 policy."""
    fields: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip().lower(), []).append(value.strip())
    if fields.get("version") != ["STSv1"]:
        return None
    mode = (fields.get("mode") or [""])[0].lower()
    try:
        max_age = int((fields.get("max_age") or [""])[0])
    except ValueError:
        return None
    if mode not in ("enforce", "testing", "none") or not 0 <= max_age <= 31557600:
        return None
    mx = tuple(fields.get("mx", ()))
    if mode != "none" and not mx:
        return None
    return StsPolicy(mode, mx, max_age)


def https_fetch(domain: str) -> str | None:
    """The policy text, fetched with certificate checks and no redirects (section 3.3). Blocking."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    url = f"https://mta-sts.{domain}/.well-known/mta-sts.txt"
    try:
        with opener.open(url, timeout=10) as response:
            if response.status != 200 or response.headers.get_content_type() != "text/plain":
                return None
            return str(response.read(MAX_POLICY).decode("utf-8", "replace"))
    except (OSError, ValueError):
        return None


class StsCache:
    """Policies by domain. ``fetch`` is injectable (tests answer without HTTPS)."""

    def __init__(self, fetch: Callable[[str], str | None] = https_fetch) -> None:
        self.fetch = fetch
        self._cache: dict[str, tuple[StsPolicy, float]] = {}

    def policy_for(self, domain: str, resolver: Resolver) -> StsPolicy | None:
        """The policy in force for ``domain``, or None. Blocking (DNS, HTTPS): call in a thread."""
        domain = domain.lower().rstrip(".")
        cached = self._cache.get(domain)
        now = time.time()
        try:
            records = [r for r in resolver.txt(f"_mta-sts.{domain}") if r.lower().startswith(b"v=stsv1")]
        except (NoSuchDomain, DnsTempError):
            records = []
        if len(records) != 1:
            return cached[0] if cached and cached[1] > now else None
        policy_id = ""
        for part in records[0].decode("ascii", "replace").split(";"):
            key, _, value = part.strip().partition("=")
            if key.strip() == "id":
                policy_id = value.strip()
        if cached and cached[1] > now and cached[0].policy_id == policy_id:
            return cached[0]
        text = self.fetch(domain)
        parsed = parse_policy(text) if text else None
        if parsed is None:
            return cached[0] if cached and cached[1] > now else None
        policy = StsPolicy(parsed.mode, parsed.mx, parsed.max_age, policy_id)
        self._cache[domain] = (policy, now + policy.max_age)
        return policy
