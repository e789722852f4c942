"""What differs between the SMTP-family listeners, as data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Policy:
    service: str
    lmtp: bool = False  # RFC 2033: LHLO, one reply per recipient after DATA
    auth_required: bool = False  # submission: MAIL needs AUTH first (RFC 6409 4.3)
    auth_offered: bool = True  # AUTH is advertised (still only where plain text is allowed)
    check_senders: bool = False  # SPF/DKIM/DMARC and Authentication-Results (the MX)
    trusted: bool = False  # LMTP: the MTA in front did the checks; no relay questions


POLICIES: dict[str, Policy] = {
    "smtp": Policy("smtp", check_senders=True),
    "submission": Policy("submission", auth_required=True),
    "submissions": Policy("submissions", auth_required=True),
    "lmtp": Policy("lmtp", lmtp=True, auth_offered=False, trusted=True),
}
