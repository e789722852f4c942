"""Address resolution: every step in order, groups, tenancy, query counts, and properties."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from kastell.db.engine import Database
from kastell.directory import Resolution
from kastell.directory.service import Directory

from .directoryhelp import Env, anyio_backend_fixture, migrated_template_fixture, open_env  # noqa: F401 (fixtures)

pytestmark = pytest.mark.anyio


async def _world(directory: Directory) -> None:
    """Org A (a.test, alias domain a-alias.test, catch-all), org B (b.test, no catch-all)."""
    await directory.add_domain("a.test", org="Org A")
    await directory.add_domain("a-alias.test", alias_of="a.test")
    await directory.add_domain("b.test", org="Org B")
    for address in ("alice@a.test", "bob@a.test", "dan@a.test", "postmaster@a.test", "bob@b.test"):
        await directory.add_user(address, None)
    await directory.set_status("bob@a.test", "suspended")
    await directory.add_alias("ally@a.test", "alice@a.test")
    await directory.add_alias("dan+sales@a.test", "bob@a.test")  # an exact address beats sub-addressing
    await directory.set_catchall("a.test", "postmaster@a.test")
    await directory.add_group("team@a.test")
    await directory.add_group("sub@a.test")
    await directory.add_group("empty@a.test")
    for member in ("alice@a.test", "ally@a.test", "out@x.example", "sub@a.test"):
        await directory.add_member("team@a.test", member)
    for member in ("bob@a.test", "team@a.test", "OUT@x.example", "bob@b.test", "alice+news@a.test"):
        await directory.add_member("sub@a.test", member)


@pytest.fixture(scope="module")
async def world(migrated_template: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    env = open_env(migrated_template, tmp_path_factory.mktemp("resolve"))
    await _world(env.directory)
    try:
        yield env
    finally:
        await env.db.close()


def _addresses(resolution: Resolution) -> list[str]:
    return [r.address for r in resolution.accounts]


@contextmanager
def count_queries(db: Database) -> Iterator[list[tuple[str, Any]]]:
    """The SELECTs run on the read engine inside the block, with their parameters."""
    statements: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:
        if args[2].lstrip().upper().startswith("SELECT"):
            statements.append((args[2], args[3]))

    event.listen(db.reader.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.reader.sync_engine, "before_cursor_execute", record)


async def test_exact_primary_address(world: Env) -> None:
    found = await world.directory.resolve("Alice@A.Test")
    assert found.found and found.valid and found.local_domain and found.via == "address"
    assert found.address == "alice@a.test" and found.detail is None and not found.group
    assert _addresses(found) == ["alice@a.test"] and found.outside == ()
    alice = await world.directory.get_account("alice@a.test")
    assert found.accounts[0].account_id == alice.id and found.accounts[0].org_id == alice.org_id == found.org_id
    assert found.accounts[0].status == "active" and found.accounts[0].kind == "user"


async def test_alias(world: Env) -> None:
    found = await world.directory.resolve("ALLY@a.test")
    assert found.via == "address" and _addresses(found) == ["alice@a.test"]


async def test_alias_domain(world: Env) -> None:
    for address in ("alice@a-alias.test", "ally@A-ALIAS.test"):
        found = await world.directory.resolve(address)
        assert found.via == "alias-domain" and _addresses(found) == ["alice@a.test"] and found.local_domain


async def test_subaddress(world: Env) -> None:
    found = await world.directory.resolve("alice+Lists@a.test")
    assert found.via == "subaddress" and _addresses(found) == ["alice@a.test"] and found.detail == "Lists"
    assert (await world.directory.resolve("ally+x@a.test")).detail == "x"  # alias with a tag
    through_alias_domain = await world.directory.resolve("alice+y@a-alias.test")
    assert through_alias_domain.via == "subaddress" and _addresses(through_alias_domain) == ["alice@a.test"]
    empty_tag = await world.directory.resolve("alice+@a.test")
    assert empty_tag.via == "subaddress" and empty_tag.detail == ""
    double = await world.directory.resolve("alice+a+b@a.test")
    assert double.detail == "a+b" and _addresses(double) == ["alice@a.test"]


async def test_exact_beats_subaddress(world: Env) -> None:
    found = await world.directory.resolve("dan+sales@a.test")
    assert found.via == "address" and _addresses(found) == ["bob@a.test"] and found.detail is None
    other_tag = await world.directory.resolve("dan+support@a.test")
    assert other_tag.via == "subaddress" and _addresses(other_tag) == ["dan@a.test"]


async def test_catchall_comes_last(world: Env) -> None:
    for address in ("nobody@a.test", "nobody+tag@a.test", "+tag@a.test", "nobody@a-alias.test"):
        found = await world.directory.resolve(address)
        assert found.via == "catchall" and _addresses(found) == ["postmaster@a.test"], address
        assert found.detail is None


async def test_unknown_local_user_versus_relay(world: Env) -> None:
    unknown = await world.directory.resolve("nobody@b.test")
    assert unknown.valid and unknown.local_domain and not unknown.found and unknown.accounts == ()
    assert unknown.org_id is not None
    relay = await world.directory.resolve("alice@elsewhere.example")
    assert relay.valid and not relay.local_domain and not relay.found and relay.org_id is None
    invalid = await world.directory.resolve("not an address")
    assert not invalid.valid and not invalid.local_domain and not invalid.found


async def test_groups_expand_recursively_without_loops_or_duplicates(world: Env) -> None:
    found = await world.directory.resolve("Team@a.test")
    assert found.group and found.via == "address"
    assert sorted(_addresses(found)) == ["alice@a.test", "bob@a.test", "bob@b.test"]
    assert found.outside == ("out@x.example",)
    statuses = {r.address: r.status for r in found.accounts}
    assert statuses["bob@a.test"] == "suspended"  # reported; the delivery layer decides
    orgs = {r.address: r.org_id for r in found.accounts}
    assert orgs["bob@b.test"] != orgs["alice@a.test"]  # each recipient keeps its own organisation
    through_the_loop = await world.directory.resolve("sub@a.test")
    assert sorted(_addresses(through_the_loop)) == sorted(_addresses(found))
    tagged = await world.directory.resolve("team+x@a.test")
    assert tagged.group and tagged.detail == "x"
    empty = await world.directory.resolve("empty@a.test")
    assert empty.found and empty.group and empty.accounts == () and empty.outside == ()


async def test_stale_local_members_are_dropped_not_sent_out(migrated_template: Path, tmp_path: Path) -> None:
    env = open_env(migrated_template, tmp_path)
    try:
        await env.directory.add_domain("a.test")
        await env.directory.add_user("gone@a.test", None)
        await env.directory.add_group("team@a.test")
        await env.directory.add_member("team@a.test", "gone+tag@a.test")  # kept: only the exact address is forgotten
        await env.directory.add_member("team@a.test", "far@x.example")
        await env.directory.del_account("gone@a.test")
        found = await env.directory.resolve("team@a.test")
        assert found.accounts == () and found.outside == ("far@x.example",)
    finally:
        await env.db.close()


async def test_tenancy_an_org_b_address_never_reaches_org_a(world: Env) -> None:
    a_accounts = {a.id for a in await world.directory.list_accounts("a.test")}
    for address in ("alice@b.test", "ally@b.test", "postmaster@b.test", "alice+x@b.test", "team@b.test"):
        found = await world.directory.resolve(address)
        assert not found.found and not {r.account_id for r in found.accounts} & a_accounts


async def test_each_step_is_one_indexed_query(world: Env) -> None:
    expected = {
        "x@elsewhere.example": 1,  # domain
        "alice@a.test": 2,  # domain, exact
        "alice@a-alias.test": 3,  # domain, exact, alias domain
        "alice+t@a.test": 3,  # domain, exact, sub-address
        "nobody@a.test": 3,  # domain, exact, catch-all target
    }
    for address, queries in expected.items():
        with count_queries(world.db) as statements:
            await world.directory.resolve(address)
        assert len(statements) == queries, (address, statements)
        async with world.db.read() as conn:
            for sql, parameters in statements:
                plan = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters)).all()
                details = " | ".join(str(row[-1]) for row in plan)
                assert "SCAN" not in details, (sql, details)  # every table reached through an index


async def test_separator_is_configurable(migrated_template: Path, tmp_path: Path) -> None:
    for separator, address, expected in (("-", "alice-tag@a.test", "tag"), ("", "alice+tag@a.test", None)):
        root = tmp_path / f"separator-{separator or 'none'}"
        root.mkdir()
        env = open_env(migrated_template, root, subaddress_separator=separator)
        try:
            await env.directory.add_domain("a.test")
            await env.directory.add_user("alice@a.test", None)
            found = await env.directory.resolve(address)
            assert found.found == (expected is not None) and found.detail == expected
            assert not (await env.directory.resolve("alice+tag@a.test" if separator else "x@a.test")).found
        finally:
            await env.db.close()


# ------------------------------------------------------------------------ properties

_LOCAL = st.from_regex(r"[a-z0-9](?:[a-z0-9_-]|\.(?=[a-z0-9])){0,20}", fullmatch=True)
_TAG = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", max_size=12).filter(
    lambda t: ".." not in t and not t.endswith(".")
)
_PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
async def users(migrated_template: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    env = open_env(migrated_template, tmp_path_factory.mktemp("property"))
    await env.directory.add_domain("prop.test")
    try:
        yield env
    finally:
        await env.db.close()


@_PROPERTY
@given(local=_LOCAL, tag=_TAG, case=st.lists(st.booleans(), min_size=40, max_size=40))
async def test_property_local_plus_tag_finds_the_user_with_the_tag(
    users: Env, local: str, tag: str, case: list[bool]
) -> None:
    address = f"{local}@prop.test"
    try:
        account = await users.directory.get_account(address)
    except Exception:
        account = await users.directory.add_user(address, None)
    written = "".join(ch.upper() if up else ch for ch, up in zip(local, case, strict=False))
    found = await users.directory.resolve(f"{written}+{tag}@PROP.Test")
    assert [r.account_id for r in found.accounts] == [account.id]
    assert found.detail == tag and found.via == "subaddress"


@_PROPERTY
@given(text=st.one_of(st.text(max_size=80), st.emails(), _LOCAL.map(lambda local: local + "@prop.test")))
async def test_property_unknown_addresses_never_raise_nor_reach_another_user(users: Env, text: str) -> None:
    found = await users.directory.resolve(text)
    for recipient in found.accounts:
        # The only legitimate answers: the exact address, or the owner of its part before "+".
        local, _, domain = found.address.rpartition("@")
        assert recipient.address in (found.address, f"{local.partition('+')[0]}@{domain}")
    if not found.valid:
        assert not found.found and found.accounts == ()
