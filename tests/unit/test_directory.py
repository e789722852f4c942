"""The directory service against a real SQLite database: organisations, domains, accounts, admins."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from kastell.db import schema as s
from kastell.directory import (
    AddressTaken,
    AdminExists,
    AuthFailed,
    DomainExists,
    DomainInUse,
    InvalidAddress,
    InvalidValue,
    NoSuchAccount,
    NoSuchAdmin,
    NoSuchDomain,
    NoSuchOrganisation,
    OrganisationExists,
    Permission,
)
from kastell.directory.service import Directory
from kastell.store.errors import NoSuchMailbox

from .directoryhelp import (  # noqa: F401 (fixtures)
    Env,
    anyio_backend_fixture,
    directory_fixture,
    env_fixture,
    migrated_template_fixture,
    open_env,
)

pytestmark = pytest.mark.anyio


# ------------------------------------------------------------------------ organisations


async def test_organisations(directory: Directory) -> None:
    created = await directory.create_org("Acme")
    assert created.name == "Acme" and created.id > 0 and created.created > 0
    assert await directory.get_org("Acme") == created
    await directory.create_org("Beta")
    assert [o.name for o in await directory.list_orgs()] == ["Acme", "Beta"]
    with pytest.raises(OrganisationExists, match="organisation Acme exists already"):
        await directory.create_org("Acme")
    with pytest.raises(NoSuchOrganisation):
        await directory.get_org("Gamma")
    for bad in ("", " padded", "line\nbreak", "x" * 256):
        with pytest.raises(InvalidValue):
            await directory.create_org(bad)


# ------------------------------------------------------------------------ domains


async def test_add_domain_creates_the_organisation_named_after_it(directory: Directory) -> None:
    domain = await directory.add_domain("Example.TEST.")
    assert domain.name == "example.test" and domain.org == "example.test"
    assert domain.alias_of is None and domain.catchall is None
    joined = await directory.add_domain("second.test", org="example.test")
    assert joined.org_id == domain.org_id
    own = await directory.add_domain("other.test", org="Other Org")
    assert own.org == "Other Org" and own.org_id != domain.org_id
    assert await directory.get_domain("EXAMPLE.test") == domain
    assert [d.name for d in await directory.list_domains()] == ["example.test", "other.test", "second.test"]


async def test_domain_names_are_validated_and_idna_encoded(directory: Directory) -> None:
    domain = await directory.add_domain("Bücher.test")
    assert domain.name == "xn--bcher-kva.test"
    with pytest.raises(DomainExists, match="domain xn--bcher-kva.test exists already"):
        await directory.add_domain("xn--bcher-kva.test")
    for bad in ("", "no spaces.test", "-lead.test", "a..b", "x" * 64 + ".test", "under_score.test", "[1.2.3.4]"):
        with pytest.raises(InvalidAddress):
            await directory.add_domain(bad)


async def test_alias_domains(directory: Directory) -> None:
    target = await directory.add_domain("example.test", org="Acme")
    alias = await directory.add_domain("example.net", alias_of="EXAMPLE.test")
    assert alias.alias_of == "example.test" and alias.org_id == target.org_id and alias.org == "Acme"
    with pytest.raises(NoSuchDomain):
        await directory.add_domain("x.test", alias_of="unknown.test")
    with pytest.raises(InvalidValue, match="alias domain itself"):
        await directory.add_domain("y.test", alias_of="example.net")
    with pytest.raises(InvalidValue, match="target's organisation"):
        await directory.add_domain("z.test", org="Other", alias_of="example.test")
    # Accounts and groups live in the target domain, not the alias domain.
    with pytest.raises(InvalidValue, match="alias domain of example.test"):
        await directory.add_user("alice@example.net", "pw")
    with pytest.raises(InvalidValue):
        await directory.add_group("team@example.net")


async def test_del_domain_refuses_while_in_use(directory: Directory) -> None:
    await directory.add_domain("example.test")
    await directory.add_domain("example.net", alias_of="example.test")
    await directory.add_user("alice@example.test", None)
    await directory.add_group("team@example.test")
    await directory.add_alias("al@example.test", "alice@example.test")
    with pytest.raises(DomainInUse) as caught:
        await directory.del_domain("example.test")
    message = str(caught.value)
    assert "1 account" in message and "1 group" in message and "1 alias," in message and "1 alias domain" in message
    assert "\n" not in message
    await directory.del_domain("example.net")
    await directory.del_alias("al@example.test")
    await directory.del_group("team@example.test")
    await directory.del_account("alice@example.test")
    await directory.del_domain("Example.Test")
    assert await directory.list_domains() == []
    with pytest.raises(NoSuchDomain):
        await directory.del_domain("example.test")
    with pytest.raises(NoSuchDomain):
        await directory.del_domain("not a domain")


async def test_del_domain_counts_an_alias_in_it_that_points_elsewhere(directory: Directory) -> None:
    await directory.add_domain("example.test")
    await directory.add_domain("second.test", org="example.test")
    await directory.add_user("alice@example.test", None)
    await directory.add_alias("alice@second.test", "alice@example.test")
    with pytest.raises(DomainInUse, match="1 alias;"):
        await directory.del_domain("second.test")


async def test_catchall(directory: Directory) -> None:
    await directory.add_domain("example.test")
    await directory.add_domain("other.test")
    await directory.add_user("alice@example.test", None)
    await directory.add_user("mallory@other.test", None)
    changed = await directory.set_catchall("example.test", "Alice@Example.test")
    assert changed.catchall == "alice@example.test"
    with pytest.raises(NoSuchAccount):
        await directory.set_catchall("example.test", "nobody@example.test")
    with pytest.raises(InvalidValue, match="another organisation"):
        await directory.set_catchall("example.test", "mallory@other.test")
    with pytest.raises(NoSuchDomain):
        await directory.set_catchall("unknown.test", None)
    assert (await directory.set_catchall("example.test", None)).catchall is None


# ------------------------------------------------------------------------ accounts


async def test_add_user_and_its_mailbox(env: Env) -> None:
    directory = env.directory
    await directory.add_domain("example.test")
    alice = await directory.add_user(
        "Alice@Example.TEST", "secret", name="Alice Liddell", quota=1024, language="de", timezone="Europe/Berlin"
    )
    assert alice.address == "alice@example.test" and alice.kind == "user" and alice.status == "active"
    assert alice.name == "Alice Liddell" and alice.quota == 1024 and alice.has_password
    assert alice.language == "de" and alice.timezone == "Europe/Berlin"
    assert alice.permissions == Permission.ALL and alice.active
    assert alice.created == alice.updated > 0
    assert await directory.get_account("ALICE@example.test") == alice
    assert await directory.get_account_by_id(alice.org_id, alice.id) == alice
    box = await env.store.open(alice.org_id, alice.id)  # provisioned in the same transaction
    assert "INBOX" in {f.path for f in await box.folders()}
    async with env.db.read() as conn:
        row = (await conn.execute(select(s.addresses).where(s.addresses.c.account_id == alice.id))).one()
    assert row.address == "alice@example.test" and row.is_primary and row.group_id is None
    assert "secret" not in repr(alice)


async def test_resource_kinds_have_no_password_and_no_login_permissions(directory: Directory) -> None:
    await directory.add_domain("example.test")
    for kind in ("shared", "room", "equipment"):
        account = await directory.add_user(f"{kind}@example.test", None, kind=kind)
        assert account.kind == kind and not account.has_password and account.permissions == Permission.NONE
    with pytest.raises(InvalidValue, match="invalid kind"):
        await directory.add_user("robot@example.test", None, kind="robot")


async def test_default_quota_and_explicit_permissions(migrated_template: Path, tmp_path: Path) -> None:
    env = open_env(migrated_template, tmp_path, default_quota=5 * 1024**3)
    try:
        await env.directory.add_domain("example.test")
        bob = await env.directory.add_user("bob@example.test", "pw", permissions=Permission.IMAP | Permission.SMTP)
        assert bob.quota == 5 * 1024**3 and bob.permissions == Permission.IMAP | Permission.SMTP
        assert (await env.directory.add_user("carol@example.test", "pw", quota=0)).quota == 0
    finally:
        await env.db.close()


async def test_add_user_refusals(directory: Directory) -> None:
    await directory.add_domain("example.test")
    await directory.add_user("alice@example.test", "pw")
    with pytest.raises(NoSuchDomain, match="unknown.test is not a local domain"):
        await directory.add_user("bob@unknown.test", "pw")
    with pytest.raises(AddressTaken, match="^user alice@example.test exists already$"):
        await directory.add_user("ALICE@example.test", "pw")
    with pytest.raises(InvalidAddress):
        await directory.add_user("not an address", "pw")
    cases: list[dict[str, object]] = [
        {"quota": -1},
        {"name": "two\nlines"},
        {"language": "en us"},
        {"timezone": "Mars Time"},
        {"permissions": 1 << 20},
    ]
    for options in cases:
        with pytest.raises(InvalidValue):
            await directory.add_user("bob@example.test", "pw", **options)  # type: ignore[arg-type]
    for password in ("", "x" * 1025, "nul\x00byte"):
        with pytest.raises(InvalidValue):
            await directory.add_user("bob@example.test", password)
    assert [a.address for a in await directory.list_accounts()] == ["alice@example.test"]


async def test_one_address_means_one_thing(directory: Directory) -> None:
    await directory.add_domain("example.test")
    await directory.add_user("alice@example.test", "pw")
    await directory.add_alias("ally@example.test", "alice@example.test")
    await directory.add_group("team@example.test")
    with pytest.raises(AddressTaken, match="ally@example.test is an alias of alice@example.test already"):
        await directory.add_user("ally@example.test", "pw")
    with pytest.raises(AddressTaken, match="group team@example.test exists already"):
        await directory.add_user("Team@example.test", "pw")
    with pytest.raises(AddressTaken, match="user alice@example.test exists already"):
        await directory.add_group("alice@example.test")
    with pytest.raises(AddressTaken):
        await directory.add_alias("team@example.test", "alice@example.test")
    with pytest.raises(AddressTaken):
        await directory.add_group("ally@example.test")


async def test_a_unique_violation_from_the_driver_becomes_address_taken(env: Env) -> None:
    """A row the pre-check does not see (as in a race) still ends as AddressTaken, not IntegrityError."""
    domain = await env.directory.add_domain("example.test")
    async with env.db.write() as conn:
        await conn.execute(
            insert(s.accounts).values(
                org_id=domain.org_id,
                domain_id=domain.id,
                kind="user",
                address="ghost@example.test",
                permissions=0,
                created=0,
                updated=0,
            )
        )
    with pytest.raises(AddressTaken, match="ghost@example.test exists already"):
        await env.directory.add_user("ghost@example.test", "pw")


async def test_a_failing_hook_rolls_the_account_back(migrated_template: Path, tmp_path: Path) -> None:
    env = open_env(migrated_template, tmp_path)

    async def broken_store(*_args: object) -> None:
        raise RuntimeError("disk full")

    env.directory.on_account_created = broken_store
    try:
        await env.directory.add_domain("example.test")
        with pytest.raises(RuntimeError):
            await env.directory.add_user("alice@example.test", "pw")
        with pytest.raises(NoSuchAccount):
            await env.directory.get_account("alice@example.test")
        assert not (await env.directory.resolve("alice@example.test")).found
    finally:
        await env.db.close()


async def test_get_account_by_id_is_scoped_to_the_organisation(directory: Directory) -> None:
    await directory.add_domain("a.test")
    await directory.add_domain("b.test")
    alice = await directory.add_user("alice@a.test", "pw")
    bob = await directory.add_user("bob@b.test", "pw")
    with pytest.raises(NoSuchAccount):
        await directory.get_account_by_id(bob.org_id, alice.id)
    with pytest.raises(NoSuchAccount):
        await directory.get_account("nobody@a.test")


async def test_list_accounts_filters_orders_and_pages(directory: Directory) -> None:
    await directory.add_domain("a.test")
    await directory.add_domain("b.test")
    for address in ("zed@a.test", "amy@a.test", "bob@b.test", "mid@a.test"):
        await directory.add_user(address, None)
    await directory.add_user("room1@a.test", None, kind="room")
    assert [a.address for a in await directory.list_accounts()] == [
        "amy@a.test",
        "bob@b.test",
        "mid@a.test",
        "room1@a.test",
        "zed@a.test",
    ]
    assert [a.address for a in await directory.list_accounts("A.TEST", kind="user")] == [
        "amy@a.test",
        "mid@a.test",
        "zed@a.test",
    ]
    assert [a.address for a in await directory.list_accounts(kind="room")] == ["room1@a.test"]
    page = await directory.list_accounts(after="bob@b.test", limit=2)
    assert [a.address for a in page] == ["mid@a.test", "room1@a.test"]
    assert [a.address async for a in directory.iter_accounts(batch=2)] == [
        a.address for a in await directory.list_accounts()
    ]
    with pytest.raises(NoSuchDomain):
        await directory.list_accounts("c.test")
    with pytest.raises(InvalidValue):
        await directory.list_accounts(kind="robot")


async def test_setters(directory: Directory) -> None:
    await directory.add_domain("example.test")
    alice = await directory.add_user("alice@example.test", "old")
    assert (await directory.set_quota("alice@example.test", 10)).quota == 10
    assert (await directory.set_name("ALICE@example.test", "Alice")).name == "Alice"
    assert (await directory.set_status("alice@example.test", "suspended")).status == "suspended"
    changed = await directory.set_permissions("alice@example.test", Permission.parse("imap,dav"))
    assert changed.permissions == Permission.IMAP | Permission.DAV
    assert changed.updated >= alice.updated
    record = await directory.login_record("alice@example.test")
    assert record is not None and record[1] is not None
    await directory.set_password("alice@example.test", "new")
    record = await directory.login_record("alice@example.test")
    assert record is not None and record[1] is not None
    assert await directory.passwords.verify(record[1], "new")
    assert not await directory.passwords.verify(record[1], "old")
    assert not (await directory.set_password("alice@example.test", None)).has_password
    for call in (
        directory.set_status("alice@example.test", "gone"),
        directory.set_quota("alice@example.test", -5),
        directory.set_name("alice@example.test", "bell\x07"),
        directory.set_permissions("alice@example.test", -1),
        directory.set_password("alice@example.test", ""),
    ):
        with pytest.raises(InvalidValue):
            await call
    with pytest.raises(NoSuchAccount):
        await directory.set_quota("nobody@example.test", 1)


async def test_del_account_takes_mailbox_aliases_memberships_and_catchall(env: Env) -> None:
    directory = env.directory
    await directory.add_domain("example.test")
    alice = await directory.add_user("alice@example.test", "pw")
    await directory.add_user("bob@example.test", "pw")
    await directory.add_alias("ally@example.test", "alice@example.test")
    await directory.add_group("team@example.test")
    await directory.add_member("team@example.test", "alice@example.test")
    await directory.add_member("team@example.test", "ally@example.test")
    await directory.add_member("team@example.test", "bob@example.test")
    await directory.set_catchall("example.test", "ally@example.test")
    await directory.del_account("Alice@example.test")
    with pytest.raises(NoSuchAccount):
        await directory.get_account("alice@example.test")
    with pytest.raises(NoSuchMailbox):
        await env.store.open(alice.org_id, alice.id)
    assert await directory.list_aliases() == []
    assert await directory.members("team@example.test") == ["bob@example.test"]
    assert (await directory.get_domain("example.test")).catchall is None
    async with env.db.read() as conn:
        mailboxes = (await conn.execute(select(func.count()).select_from(s.mailboxes))).scalar_one()
    assert mailboxes == 1  # bob's
    with pytest.raises(NoSuchAccount):
        await directory.del_account("alice@example.test")
    again = await directory.add_user("alice@example.test", "pw")  # the address is free again
    assert again.id != alice.id or again.created >= alice.created


# ------------------------------------------------------------------------ admins


async def test_admins(directory: Directory) -> None:
    admin = await directory.add_admin("Root", "admin-pw")
    assert admin.name == "root" and admin.role == "system" and admin.org_id is None and not admin.read_only
    assert await directory.verify_admin("ROOT", "admin-pw") == admin
    with pytest.raises(AuthFailed, match="^authentication failed$") as wrong:
        await directory.verify_admin("root", "nope")
    with pytest.raises(AuthFailed, match="^authentication failed$") as unknown:
        await directory.verify_admin("nobody", "admin-pw")
    assert (wrong.value.reason, unknown.value.reason) == ("bad-password", "unknown-user")
    with pytest.raises(AdminExists):
        await directory.add_admin("root", "other")
    with pytest.raises(InvalidValue):
        await directory.add_admin("org-admin", "pw", role="org")
    with pytest.raises(InvalidValue):
        await directory.add_admin("sys", "pw", role="system", org="Acme")
    with pytest.raises(NoSuchOrganisation):
        await directory.add_admin("org-admin", "pw", role="org", org="Acme")
    with pytest.raises(InvalidValue):
        await directory.add_admin("has space", "pw")
    with pytest.raises(InvalidValue):
        await directory.add_admin("boss", "pw", role="emperor")
    org = await directory.create_org("Acme")
    scoped = await directory.add_admin("helpdesk", "pw", role="org", org="Acme", read_only=True)
    assert scoped.org_id == org.id and scoped.read_only
    assert [a.name for a in await directory.list_admins()] == ["helpdesk", "root"]
    await directory.del_admin("helpdesk")
    with pytest.raises(NoSuchAdmin):
        await directory.del_admin("helpdesk")


async def test_admin_password_is_rehashed_when_parameters_change(env: Env) -> None:
    from .directoryhelp import fast_passwords

    await env.directory.add_admin("root", "pw")
    env.directory.passwords = type(fast_passwords())(time_cost=2, memory_cost=8 * 1024, parallelism=1)
    await env.directory.verify_admin("root", "pw")
    async with env.db.read() as conn:
        stored = (await conn.execute(select(s.admins.c.password_hash))).scalar_one()
    assert "t=2" in stored
