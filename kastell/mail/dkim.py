"""DKIM (RFC 6376) keys, signing and verification, with dkimpy doing the cryptography.

Each local domain gets two keys (``kastell domain dkim DOMAIN``): Ed25519
(RFC 8463) and RSA-2048, stored in ``dkim_keys``. Submitted mail is signed
with both active keys — receivers that do not know Ed25519 yet ignore that
signature and verify the RSA one (RFC 8463 section 6 recommends this dual
signing). Selectors carry the algorithm and the month they were made
(``ed202611``, ``rsa202611``) so that a later rotation can publish new ones
beside the old.

Verification fetches the signers' keys through the mail resolver
(``kastell.mail.dns``) before calling dkimpy, which then reads them from a
table: no DNS from inside the crypto library, no network in tests.
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass

import dkim
from sqlalchemy import insert, select

from kastell.db import schema as s
from kastell.db.engine import Database
from kastell.mail.dns import DnsTempError, NoSuchDomain, Resolver

# What we sign (RFC 6376 5.4.1 recommends From, and the headers that carry meaning to a reader).
SIGNED_HEADERS = (
    b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"reply-to",
    b"in-reply-to", b"references", b"mime-version", b"content-type", b"content-transfer-encoding",
)  # fmt: skip
ALGORITHMS = {"ed25519-sha256": "ed", "rsa-sha256": "rsa"}


@dataclass(frozen=True, slots=True)
class DkimKey:
    domain: str
    selector: str
    algorithm: str  # ed25519-sha256 | rsa-sha256
    private_key: str  # PEM (PKCS#8)
    public_key: str  # base64, as in the p= tag

    def dns_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"

    def dns_text(self) -> str:
        """The TXT record's value (RFC 6376 3.6.1)."""
        kind = "ed25519" if self.algorithm.startswith("ed25519") else "rsa"
        return f"v=DKIM1; k={kind}; p={self.public_key}"

    def dkimpy_private(self) -> bytes:
        """dkimpy wants PEM for RSA and the raw 32-byte seed, base64, for Ed25519."""
        # Imported here: cryptography costs an idle server ~7 MB; keys are rare work.
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519

        if self.algorithm == "rsa-sha256":
            return self.private_key.encode()
        key = serialization.load_pem_private_key(self.private_key.encode(), password=None)
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        raw = key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return base64.b64encode(raw)


def generate(domain: str, algorithm: str, selector: str) -> DkimKey:
    """A new key pair; Ed25519 or RSA-2048."""
    # Imported here: cryptography costs an idle server ~7 MB; keys are rare work.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    if algorithm == "ed25519-sha256":
        ed = ed25519.Ed25519PrivateKey.generate()
        public = ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        pem = ed.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    elif algorithm == "rsa-sha256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    else:
        raise ValueError(f"unknown DKIM algorithm {algorithm}")
    return DkimKey(domain, selector, algorithm, pem.decode(), base64.b64encode(public).decode())


class DkimKeys:
    """The ``dkim_keys`` table: one place to make, list and use a domain's keys."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def ensure(self, domain: str) -> list[DkimKey]:
        """The domain's active keys, making an Ed25519 and an RSA-2048 key if it has none.

        Raises LookupError when ``domain`` is not a local domain.
        """
        existing = await self.active(domain)
        if existing:
            return existing
        stamp = time.strftime("%Y%m", time.gmtime())
        made = [generate(domain, alg, f"{prefix}{stamp}") for alg, prefix in ALGORITHMS.items()]
        async with self.db.write() as conn:
            domain_id = await conn.scalar(select(s.domains.c.id).where(s.domains.c.name == domain))
            if domain_id is None:
                raise LookupError(f"{domain} is not a local domain")
            present = await conn.scalar(select(s.dkim_keys.c.id).where(s.dkim_keys.c.domain_id == domain_id).limit(1))
            if present is None:  # another process may have made them meanwhile
                await conn.execute(
                    insert(s.dkim_keys),
                    [
                        {
                            "domain_id": domain_id,
                            "selector": key.selector,
                            "algorithm": key.algorithm,
                            "private_key": key.private_key,
                            "public_key": key.public_key,
                            "active": True,
                            "created": int(time.time()),
                        }
                        for key in made
                    ],
                )
        return await self.active(domain)

    async def active(self, domain: str) -> list[DkimKey]:
        """The active keys of ``domain`` (Ed25519 first); [] when it has none."""
        query = (
            select(s.dkim_keys.c.selector, s.dkim_keys.c.algorithm, s.dkim_keys.c.private_key, s.dkim_keys.c.public_key)
            .join(s.domains, s.domains.c.id == s.dkim_keys.c.domain_id)
            .where(s.domains.c.name == domain.lower(), s.dkim_keys.c.active == True)  # noqa: E712
            .order_by(s.dkim_keys.c.algorithm, s.dkim_keys.c.created)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [DkimKey(domain.lower(), *row) for row in rows]


def sign(message: bytes, keys: list[DkimKey]) -> bytes:
    """The DKIM-Signature headers for ``message`` (relaxed/relaxed, one per key), to prepend.

    CPU-bound (RSA): call it through ``asyncio.to_thread`` on the server.
    """
    headers = b""
    present = {name.lower() for name in _header_names(message)}
    include = [h for h in SIGNED_HEADERS if h in present] or [b"from"]
    for key in keys:
        headers += dkim.sign(
            message,
            key.selector.encode(),
            key.domain.encode(),
            key.dkimpy_private(),
            canonicalize=(b"relaxed", b"relaxed"),
            signature_algorithm=key.algorithm.encode(),
            include_headers=include,
            linesep=b"\r\n",
        )
    return headers


_HEADER_NAME = re.compile(rb"^([!-9;-~]+)[ \t]*:", re.MULTILINE)


def _header_names(message: bytes) -> list[bytes]:
    end = message.find(b"\r\n\r\n")
    head = message if end < 0 else message[:end]
    return _HEADER_NAME.findall(head)


@dataclass(frozen=True, slots=True)
class DkimResult:
    """One signature's result (RFC 8601 2.7.1): pass | fail | neutral | temperror | permerror | none."""

    result: str
    domain: str = ""
    selector: str = ""
    algorithm: str = ""


_TAG = re.compile(rb"(?:^|;)\s*([a-z]+)\s*=\s*([^;]*)", re.IGNORECASE)


def _signatures(message: bytes) -> list[dict[bytes, bytes]]:
    """The tags of each DKIM-Signature header, in order (for the key lookups and the report)."""
    found: list[dict[bytes, bytes]] = []
    try:
        parsed = dkim.rfc822_parse(message)[0]
    except Exception:
        return found
    for name, value in parsed:
        if name.lower() == b"dkim-signature":
            tags = {k.lower(): re.sub(rb"\s+", b"", v) for k, v in _TAG.findall(value)}
            found.append(tags)
    return found


def verify(message: bytes, resolver: Resolver) -> list[DkimResult]:
    """Verify every DKIM signature of ``message`` (at most 5: a DoS bound); [] when unsigned.

    Blocking (DNS and crypto): run in a thread.
    """
    results: list[DkimResult] = []
    signatures = _signatures(message)[:5]
    for index, tags in enumerate(signatures):
        domain = tags.get(b"d", b"").decode("ascii", "replace").lower()
        selector = tags.get(b"s", b"").decode("ascii", "replace")
        algorithm = tags.get(b"a", b"").decode("ascii", "replace")
        if not domain or not selector:
            results.append(DkimResult("permerror", domain, selector, algorithm))
            continue
        name = f"{selector}._domainkey.{domain}"
        try:
            records = resolver.txt(name)
        except DnsTempError:
            results.append(DkimResult("temperror", domain, selector, algorithm))
            continue
        except NoSuchDomain:
            records = []
        if not records:
            results.append(DkimResult("permerror", domain, selector, algorithm))
            continue

        def lookup(_name: bytes, timeout: int = 5, _records: list[bytes] = records) -> bytes:
            return _records[0]

        try:
            ok = dkim.DKIM(message, minkey=1024).verify(idx=index, dnsfunc=lookup)
        except dkim.DKIMException:
            ok = False
        except Exception:  # malformed input inside dkimpy: a permanent error of that signature
            results.append(DkimResult("permerror", domain, selector, algorithm))
            continue
        results.append(DkimResult("pass" if ok else "fail", domain, selector, algorithm))
    return results
