"""The DNS records a mail domain needs, as data for the API and the console.

MX, SPF, DMARC and DKIM make mail deliverable; the autoconfig/autodiscover
names and RFC 6186/6764 SRV records let clients configure themselves. Values
point at the server's configured hostname; the operator publishes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kastell.mail.dns import DnsTempError, Resolver
from kastell.mail.dns import NoSuchDomain as NoSuchName

if TYPE_CHECKING:
    from kastell.app import Kastell


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


@dataclass(frozen=True, slots=True)
class Check:
    """What DNS says about one record: ``ok``, ``missing``, ``different``, ``unknown`` (lookup failed) or ``unchecked``."""

    status: str
    found: tuple[str, ...] = ()


def _norm(host: str) -> str:
    return host.lower().rstrip(".")


def check_record(record: Record, resolver: Resolver) -> Check:
    """Compare one record with what ``resolver`` answers (synchronous: run it in a thread).

    MX, SPF, DMARC and DKIM are checked — they decide whether mail is accepted
    and delivered; CNAME and SRV records only help clients configure
    themselves and are reported ``unchecked``. An SPF or DMARC record that
    exists but differs is ``different``, not wrong: operators often add
    other senders or a stricter policy on purpose.
    """
    try:
        if record.type == "MX":
            hosts = resolver.mx(record.name)
            found = tuple(f"{pref} {host}" for pref, host in hosts)
            if any(_norm(host) == _norm(record.value) for _pref, host in hosts):
                return Check("ok", found)
            return Check("different" if hosts else "missing", found)
        if record.type == "TXT" and not record.name.startswith(("_caldavs.", "_carddavs.")):
            texts = tuple(t.decode("utf-8", "replace") for t in resolver.txt(record.name))
            tag = record.value.split(";", 1)[0].split(" ", 1)[0]  # v=spf1, v=DMARC1, v=DKIM1
            relevant = tuple(t for t in texts if t.lower().startswith(tag.lower()))
            if not relevant:
                return Check("missing", texts)
            if tag == "v=DKIM1":
                key = record.value.rpartition("p=")[2]
                ok = any(t.replace(" ", "").endswith("p=" + key) for t in relevant)
                return Check("ok" if ok else "different", relevant)
            if tag == "v=DMARC1" or record.value in relevant:
                return Check("ok", relevant)
            return Check("different", relevant)
    except NoSuchName:
        return Check("missing")
    except DnsTempError:
        return Check("unknown")
    return Check("unchecked")


CHECK_TIMEOUT = 3.0  # seconds per lookup: the page waits for the slowest


async def dns_records_of(kastell: Kastell, domain: str) -> list[Record]:
    """The records of a local domain, with its active DKIM keys, for the configured hostname."""
    from kastell.mail.dkim import DkimKeys

    keys = await DkimKeys(kastell.db).active(domain)
    hostname = kastell.settings.config.server.hostname
    return domain_records(domain, hostname, [(k.dns_name(), k.dns_text()) for k in keys])


async def live_check(records: Sequence[Record], resolver: Resolver | None = None) -> list[Check]:
    """``check_record`` for each record, in worker threads side by side (the resolver is synchronous)."""
    from kastell.mail.dns import DnsPythonResolver

    chosen: Resolver = resolver if resolver is not None else DnsPythonResolver(timeout=CHECK_TIMEOUT)
    return list(await asyncio.gather(*(asyncio.to_thread(check_record, r, chosen) for r in records)))
