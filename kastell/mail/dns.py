"""DNS lookups for mail: one small resolver interface, a dnspython implementation, a static one.

Everything in ``kastell.mail`` that asks DNS (MX resolution in the queue, SPF,
DKIM keys, DMARC policies) goes through a :class:`Resolver`, so tests and
air-gapped sites answer from a table (:class:`StaticResolver`) and never from
the network. The interface is synchronous on purpose: pyspf and dkimpy call DNS
from inside their own code, so checks run in a worker thread
(``asyncio.to_thread``) and the event loop never waits on DNS.

Answers: ``txt`` joins the character-strings of each record (RFC 7208 3.3,
RFC 6376 3.6.2.2); ``mx`` returns (preference, host) pairs; every lookup returns
``[]`` when the name exists without records of the type, raises
:class:`NoSuchDomain` on NXDOMAIN and :class:`DnsTempError` on a timeout or
SERVFAIL (callers turn that into a 4xx / temperror, never into a bounce).
"""

from __future__ import annotations

from typing import Protocol

import dns.exception
import dns.resolver


class DnsTempError(Exception):
    """The lookup failed temporarily (timeout, SERVFAIL); try again later."""


class NoSuchDomain(Exception):
    """NXDOMAIN: the name does not exist."""


class Resolver(Protocol):
    def txt(self, name: str) -> list[bytes]: ...

    def mx(self, name: str) -> list[tuple[int, str]]: ...

    def addresses(self, name: str) -> list[str]:
        """A and AAAA, IPv6 first when both exist."""
        ...

    def ptr(self, ip: str) -> list[str]: ...

    def lookup(self, name: str, rdtype: str) -> list[object]:
        """Raw answers of another type (pyspf asks for A, AAAA, PTR separately)."""
        ...


class DnsPythonResolver:
    """The system resolver (``/etc/resolv.conf``) through dnspython."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._resolver = dns.resolver.Resolver()
        self._resolver.lifetime = timeout

    def _answers(self, name: str, rdtype: str) -> list[object]:
        try:
            return list(self._resolver.resolve(name, rdtype, search=False))
        except dns.resolver.NXDOMAIN:
            raise NoSuchDomain(name) from None
        except dns.resolver.NoAnswer:
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as exc:
            raise DnsTempError(f"{name}/{rdtype}: {exc}") from None
        except dns.exception.DNSException as exc:  # a malformed name and similar: treat as absent
            raise NoSuchDomain(f"{name}: {exc}") from None

    def txt(self, name: str) -> list[bytes]:
        return [b"".join(r.strings) for r in self._answers(name, "TXT")]  # type: ignore[attr-defined]

    def mx(self, name: str) -> list[tuple[int, str]]:
        return [
            (int(r.preference), r.exchange.to_text(omit_final_dot=True))  # type: ignore[attr-defined]
            for r in self._answers(name, "MX")
        ]

    def addresses(self, name: str) -> list[str]:
        found: list[str] = []
        for rdtype in ("AAAA", "A"):
            try:
                found += [r.address for r in self._answers(name, rdtype)]  # type: ignore[attr-defined]
            except NoSuchDomain:
                if rdtype == "A" and not found:
                    raise
        return found

    def ptr(self, ip: str) -> list[str]:
        import dns.reversename

        name = dns.reversename.from_address(ip).to_text()
        return [r.target.to_text(omit_final_dot=True) for r in self._answers(name, "PTR")]  # type: ignore[attr-defined]

    def lookup(self, name: str, rdtype: str) -> list[object]:
        if rdtype == "TXT":
            return list(self.txt(name))
        if rdtype == "MX":
            return list(self.mx(name))
        if rdtype == "PTR":
            return [r.target.to_text(omit_final_dot=True) for r in self._answers(name, "PTR")]  # type: ignore[attr-defined]
        return [r.address for r in self._answers(name, rdtype)]  # type: ignore[attr-defined]


class StaticResolver:
    """Answers from a table: ``{("example.com", "MX"): [(10, "mx.example.com")], ...}``.

    A name that appears under no type is NXDOMAIN; a name that appears under
    some other type answers ``[]``. Values: TXT ``str``/``bytes``, MX
    ``(pref, host)``, A/AAAA ``str``, PTR ``str``. ``("name", "FAIL")`` makes
    every lookup of the name a temporary failure.
    """

    def __init__(self, records: dict[tuple[str, str], list[object]] | None = None) -> None:
        self.records: dict[tuple[str, str], list[object]] = {}
        for (name, rdtype), values in (records or {}).items():
            self.add(name, rdtype, *values)

    def add(self, name: str, rdtype: str, *values: object) -> None:
        self.records.setdefault((name.lower().rstrip("."), rdtype.upper()), []).extend(values)

    def lookup(self, name: str, rdtype: str) -> list[object]:
        name = name.lower().rstrip(".")
        if (name, "FAIL") in self.records:
            raise DnsTempError(name)
        found = self.records.get((name, rdtype.upper()))
        if found is not None:
            return list(found)
        if any(key[0] == name for key in self.records):
            return []
        raise NoSuchDomain(name)

    def txt(self, name: str) -> list[bytes]:
        return [
            v.encode() if isinstance(v, str) else bytes(v)
            for v in self.lookup(name, "TXT")
            if isinstance(v, str | bytes)
        ]

    def mx(self, name: str) -> list[tuple[int, str]]:
        found: list[tuple[int, str]] = []
        for value in self.lookup(name, "MX"):
            assert isinstance(value, tuple) and len(value) == 2
            found.append((int(value[0]), str(value[1]).rstrip(".")))
        return found

    def addresses(self, name: str) -> list[str]:
        six = [str(v) for v in self._maybe(name, "AAAA")]
        four = [str(v) for v in self._maybe(name, "A")]
        if not six and not four:
            self.lookup(name, "A")  # NXDOMAIN when the name is unknown
        return six + four

    def _maybe(self, name: str, rdtype: str) -> list[object]:
        try:
            return self.lookup(name, rdtype)
        except NoSuchDomain:
            return []

    def ptr(self, ip: str) -> list[str]:
        return [str(v) for v in self._maybe(ip, "PTR")]
