"""The DNS records a mail domain needs, as data for the API and the console.

MX, SPF, DMARC and DKIM make mail deliverable; the autoconfig/autodiscover
names and RFC 6186/6764 SRV records let clients configure themselves. Values
point at the server's configured hostname; the operator publishes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Record:
    type: str
    name: str
    value: str
    purpose: str
    priority: int | None = None


# (service label, port, purpose): RFC 6186 (mail) and RFC 6764 (CalDAV/CardDAV).
_SRV = (
    ("_submissions._tcp", 465, "mail submission over TLS (RFC 8314)"),
    ("_submission._tcp", 587, "mail submission with STARTTLS"),
    ("_imaps._tcp", 993, "IMAP over TLS"),
    ("_imap._tcp", 143, "IMAP with STARTTLS"),
    ("_pop3s._tcp", 995, "POP3 over TLS"),
    ("_autodiscover._tcp", 443, "Outlook autodiscover"),
    ("_caldavs._tcp", 443, "CalDAV over TLS"),
    ("_carddavs._tcp", 443, "CardDAV over TLS"),
)


def domain_records(domain: str, hostname: str, dkim: Sequence[tuple[str, str]] = ()) -> list[Record]:
    """The records of ``domain`` served by ``hostname``; ``dkim`` is (name, TXT value) per active key."""
    host = hostname.rstrip(".") + "."
    records = [
        Record("MX", domain, host, "receive mail", priority=10),
        Record("TXT", domain, "v=spf1 mx -all", "SPF: only the MX hosts send mail for the domain"),
        Record("TXT", f"_dmarc.{domain}", f"v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}", "DMARC policy"),
    ]
    records += [Record("TXT", name, value, "DKIM public key") for name, value in dkim]
    records += [
        Record("CNAME", f"autoconfig.{domain}", host, "Thunderbird autoconfig"),
        Record("CNAME", f"autodiscover.{domain}", host, "Outlook autodiscover"),
    ]
    records += [
        Record("SRV", f"{label}.{domain}", f"0 1 {port} {host}", purpose, priority=0) for label, port, purpose in _SRV
    ]
    records += [
        Record("TXT", f"_caldavs._tcp.{domain}", "path=/dav/", "CalDAV context path"),
        Record("TXT", f"_carddavs._tcp.{domain}", "path=/dav/", "CardDAV context path"),
    ]
    return records
