"""Real peers the tests start themselves: a private PostgreSQL cluster and OpenLDAP server on loopback.

CI installs the peers (.ci/run) and sets ``KASTELL_REQUIRE_PEERS=1``, so a
missing peer fails there instead of quietly skipping; on a developer machine
without PostgreSQL (or slapd) the tests that need it are skipped with the reason shown.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _missing(reason: str) -> None:
    if os.environ.get("KASTELL_REQUIRE_PEERS"):
        pytest.fail(f"required peer missing: {reason}")
    pytest.skip(reason)


def _as_postgres(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; run them as the packaged postgres user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class PostgresCluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="kastell-pg-"))
        self.port = _free_port()
        self.data = self.root / "data"
        self._counter = 0

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        subprocess.run(
            _as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8"]),
            check=True, capture_output=True,
        )
        subprocess.run(
            _as_postgres([
                str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", "start",
                "-o", f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c full_page_writes=off",
            ]),
            check=True, capture_output=True,
        )

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        self._counter += 1
        name = f"t{os.getpid()}_{self._counter}_{int(time.time() * 1000) % 100000}"
        subprocess.run(
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name],
            check=True, capture_output=True,
        )
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    if not (PG_BIN / "initdb").exists():
        _missing("PostgreSQL 15 server is not installed (apt-get install postgresql)")
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        _missing("asyncpg is not installed (pip install '.[test]')")
    cluster = PostgresCluster()
    try:
        cluster.start()
    except subprocess.CalledProcessError as exc:
        cluster.stop()
        _missing(f"cannot start PostgreSQL: {exc.stderr.decode(errors='replace')[-300:]}")
    yield cluster
    cluster.stop()


# ---------------------------------------------------------------------- OpenLDAP

SLAPD = Path("/usr/sbin/slapd")
LDAP_SCHEMA = Path("/etc/ldap/schema")
LDAP_SUFFIX = "dc=kastell,dc=test"
LDAP_ROOT_DN = "cn=admin," + LDAP_SUFFIX
LDAP_ROOT_PASSWORD = "root-ldap-secret"


class Slapd:
    """A private OpenLDAP server (slapd, mdb backend) on a free loopback port.

    ``url``; ``root_dn``/``root_password`` bind with every right; ``new_tree()``
    gives each test its own ``ou=...`` subtree so that tests sharing the
    session's server never see each other's entries.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="kastell-ldap-"))
        self.port = _free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.tls_port = _free_port()
        self.ldaps_url = f"ldaps://127.0.0.1:{self.tls_port}"
        self.ca_pem = ""  # the server's self-signed certificate, to trust explicitly
        # The same TLS listener on an address its certificate does not name.
        self.mismatched_url = f"ldaps://127.0.0.2:{self.tls_port}"
        self.suffix = LDAP_SUFFIX
        self.root_dn = LDAP_ROOT_DN
        self.root_password = LDAP_ROOT_PASSWORD
        self.proc: subprocess.Popen[bytes] | None = None
        self._counter = 0

    def start(self) -> None:
        from kastell.tls import make_self_signed

        (self.root / "db").mkdir()
        cert, key = self.root / "cert.pem", self.root / "key.pem"
        make_self_signed(cert, key, "localhost")
        self.ca_pem = cert.read_text()
        conf = self.root / "slapd.conf"
        schemas = "".join(f"include {LDAP_SCHEMA / name}.schema\n" for name in ("core", "cosine", "inetorgperson", "nis"))
        conf.write_text(
            schemas
            + f"pidfile {self.root / 'slapd.pid'}\nargsfile {self.root / 'slapd.args'}\n"
            "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
            f"TLSCertificateFile {cert}\nTLSCertificateKeyFile {key}\n"
            # Users bind with their own password but nobody reads it; the rest is readable after a bind.
            "access to attrs=userPassword by self write by anonymous auth by * none\n"
            "access to * by users read by * none\n"
            f'database mdb\nmaxsize 67108864\nsuffix "{self.suffix}"\nrootdn "{self.root_dn}"\n'
            f"rootpw {self.root_password}\ndirectory {self.root / 'db'}\n"
        )
        seed = self.root / "seed.ldif"
        seed.write_text(f"dn: {self.suffix}\nobjectClass: dcObject\nobjectClass: organization\ndc: kastell\no: Kastell tests\n")
        subprocess.run([str(SLAPD.parent / "slapadd"), "-f", str(conf), "-l", str(seed)], check=True, capture_output=True)
        # -d 0: stay in the foreground (a child we can kill), logging nothing.
        self.proc = subprocess.Popen(
            [str(SLAPD), "-f", str(conf), "-h", f"{self.url}/ {self.ldaps_url}/ {self.mismatched_url}/", "-d", "0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("slapd exited: " + (self.proc.stderr.read() if self.proc.stderr else b"").decode(errors="replace")[-300:])
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("slapd did not start listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def admin(self) -> Any:
        """An ldap3 connection bound as the root DN (for tests that change the tree)."""
        from kastell.directory.ldap.client import ldap3_module

        ldap3 = ldap3_module()

        server = ldap3.Server(self.url, connect_timeout=5)
        return ldap3.Connection(
            server, self.root_dn, self.root_password, auto_bind=True, receive_timeout=10, raise_exceptions=True
        )

    def new_tree(self) -> str:
        """A fresh ``ou=tN`` under the suffix with ``ou=people`` and ``ou=groups`` in it; its DN."""
        self._counter += 1
        base = f"ou=t{self._counter},{self.suffix}"
        conn = self.admin()
        try:
            conn.add(base, ["organizationalUnit"], {"ou": f"t{self._counter}"})
            conn.add(f"ou=people,{base}", ["organizationalUnit"], {"ou": "people"})
            conn.add(f"ou=groups,{base}", ["organizationalUnit"], {"ou": "groups"})
        finally:
            conn.unbind()
        return base

    def add_person(self, base: str, uid: str, mail: str, cn: str, password: str) -> str:
        """An inetOrgPerson ``uid=...,ou=people,<base>``; its DN."""
        dn = f"uid={uid},ou=people,{base}"
        conn = self.admin()
        try:
            conn.add(
                dn,
                ["inetOrgPerson"],
                {"uid": uid, "cn": cn, "sn": cn.split()[-1], "mail": mail, "userPassword": password},
            )
        finally:
            conn.unbind()
        return dn

    def add_group(self, base: str, cn: str, members: list[str]) -> str:
        """A groupOfNames ``cn=...,ou=groups,<base>`` with member DNs; its DN."""
        dn = f"cn={cn},ou=groups,{base}"
        conn = self.admin()
        try:
            conn.add(dn, ["groupOfNames"], {"cn": cn, "member": members})
        finally:
            conn.unbind()
        return dn


@pytest.fixture(scope="session")
def slapd() -> Iterator[Slapd]:
    if not SLAPD.exists():
        _missing("OpenLDAP is not installed (apt-get install slapd ldap-utils)")
    try:
        from kastell.directory.ldap.client import ldap3_module

        ldap3_module()
    except ImportError:
        _missing("ldap3 is not installed (pip install .)")
    server = Slapd()
    try:
        server.start()
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        detail = exc.stderr.decode(errors="replace")[-300:] if isinstance(exc, subprocess.CalledProcessError) else str(exc)
        server.stop()
        _missing(f"cannot start slapd: {detail}")
    yield server
    server.stop()
