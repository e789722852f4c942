"""The LDAP tests share one private slapd (tests/peers.py) and the directory fixtures of tests/unit."""

from __future__ import annotations

from tests.peers import slapd  # noqa: F401  (the fixture)
from tests.unit.directoryhelp import (  # noqa: F401  (fixtures)
    anyio_backend_fixture,
    directory_fixture,
    env_fixture,
    migrated_template_fixture,
)
