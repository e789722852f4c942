"""Aliases and groups, including tenancy: an alias never crosses organisations."""

from __future__ import annotations

import pytest

from kastell.directory import (
    AddressTaken,
    AlreadyExists,
    InvalidAddress,
    InvalidValue,
    NoSuchAccount,
    NoSuchAlias,
    NoSuchDomain,
    NoSuchGroup,
    NoSuchMember,
)
from kastell.directory.service import Directory

from .directoryhelp import anyio_backend_fixture, directory_fixture, env_fixture, migrated_template_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.anyio


async def _two_orgs(directory: Directory) -> None:
    await directory.add_domain("a.test", org="Org A")
    await directory.add_domain("a-alias.test", alias_of="a.test")
    await directory.add_domain("b.test", org="Org B")
    await directory.add_user("alice@a.test", "pw")
    await directory.add_user("bob@b.test", "pw")


async def test_aliases(directory: Directory) -> None:
    await _two_orgs(directory)
    alias = await directory.add_alias("Ally@A.test", "ALICE@a.test")
    assert alias.address == "ally@a.test" and alias.target == "alice@a.test"
    # An alias may point at another alias: it is stored against the account.
    second = await directory.add_alias("al@a.test", "ally@a.test")
    assert second.target == "alice@a.test" and second.account_id == alias.account_id
    # An alias in an alias domain is allowed (it wins over the domain mapping).
    await directory.add_alias("special@a-alias.test", "alice@a.test")
    assert [a.address for a in await directory.list_aliases()] == ["al@a.test", "ally@a.test", "special@a-alias.test"]
    assert [a.address for a in await directory.list_aliases("a-alias.test")] == ["special@a-alias.test"]
    await directory.del_alias("AL@a.test")
    assert [a.address for a in await directory.list_aliases("a.test")] == ["ally@a.test"]


async def test_alias_refusals(directory: Directory) -> None:
    await _two_orgs(directory)
    await directory.add_group("team@a.test")
    with pytest.raises(InvalidValue, match="different organisations"):
        await directory.add_alias("bob@a.test", "bob@b.test")
    with pytest.raises(InvalidValue, match="different organisations"):
        await directory.add_alias("alice@b.test", "alice@a.test")
    with pytest.raises(NoSuchDomain):
        await directory.add_alias("ally@elsewhere.test", "alice@a.test")
    with pytest.raises(NoSuchAccount):
        await directory.add_alias("ally@a.test", "nobody@a.test")
    with pytest.raises(InvalidValue, match="is a group"):
        await directory.add_alias("crew@a.test", "team@a.test")
    with pytest.raises(AddressTaken, match="user alice@a.test exists already"):
        await directory.add_alias("alice@a.test", "alice@a.test")
    with pytest.raises(InvalidAddress):
        await directory.add_alias("two@@a.test", "alice@a.test")
    with pytest.raises(NoSuchAlias, match="primary address"):
        await directory.del_alias("alice@a.test")
    with pytest.raises(NoSuchAlias, match="a group"):
        await directory.del_alias("team@a.test")
    with pytest.raises(NoSuchAlias):
        await directory.del_alias("nobody@a.test")
    assert await directory.list_aliases() == []


async def test_groups(directory: Directory) -> None:
    await _two_orgs(directory)
    group = await directory.add_group("Team@a.test", name="The Team")
    assert group.address == "team@a.test" and group.name == "The Team" and group.members == ()
    await directory.add_group("all@a.test")
    await directory.add_member("team@a.test", "Alice@a.test")
    await directory.add_member("team@a.test", "Friend@Outside.example")
    await directory.add_member("all@a.test", "team@a.test")
    await directory.add_member("all@a.test", "bob@b.test")  # another organisation's user: plain delivery
    await directory.add_member("all@a.test", "alice+lists@a.test")  # sub-address of a local user
    await directory.add_member("all@a.test", "alice@a-alias.test")  # through the alias domain
    assert await directory.members("TEAM@a.test") == ["alice@a.test", "friend@outside.example"]
    listed = {g.address: g for g in await directory.list_groups()}
    assert list(listed) == ["all@a.test", "team@a.test"]
    assert listed["all@a.test"].members == ("alice+lists@a.test", "alice@a-alias.test", "bob@b.test", "team@a.test")
    assert [g.address for g in await directory.list_groups("b.test")] == []
    assert (await directory.get_group("team@a.test")).name == "The Team"
    await directory.del_member("team@a.test", "FRIEND@outside.example")
    assert await directory.members("team@a.test") == ["alice@a.test"]
    await directory.del_group("team@a.test")
    assert "team@a.test" not in await directory.members("all@a.test")  # left the lists it was in
    with pytest.raises(NoSuchGroup):
        await directory.members("team@a.test")
    assert not (await directory.resolve("team@a.test")).found


async def test_group_refusals(directory: Directory) -> None:
    await _two_orgs(directory)
    await directory.add_group("team@a.test")
    await directory.add_member("team@a.test", "alice@a.test")
    with pytest.raises(AlreadyExists, match="alice@a.test is a member of team@a.test already"):
        await directory.add_member("team@a.test", "ALICE@a.test")
    with pytest.raises(InvalidValue, match="member of itself"):
        await directory.add_member("team@a.test", "team@a.test")
    with pytest.raises(NoSuchAccount, match="no user, alias or group typo@a.test"):
        await directory.add_member("team@a.test", "typo@a.test")
    with pytest.raises(NoSuchGroup):
        await directory.add_member("nope@a.test", "alice@a.test")
    with pytest.raises(NoSuchGroup):
        await directory.add_member("alice@a.test", "bob@b.test")  # a user is not a group
    with pytest.raises(NoSuchMember):
        await directory.del_member("team@a.test", "bob@b.test")
    with pytest.raises(NoSuchGroup):
        await directory.del_group("nope@a.test")
    with pytest.raises(NoSuchDomain):
        await directory.add_group("team@elsewhere.test")
    with pytest.raises(InvalidAddress):
        await directory.add_member("team@a.test", "not an address")
    with pytest.raises(InvalidValue):
        await directory.add_group("crew@a.test", name="x" * 300)
