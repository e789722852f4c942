"""The rules objects on every database: scripts, out-of-office, forwarding, tracking, effective rules."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kastell.app import Kastell
from kastell.config import Settings, validate
from kastell.directory.errors import InvalidAddress
from kastell.directory.resolve import LocalRecipient
from kastell.rules import forwarding, oof, scripts
from kastell.rules.engine import RulesEngine, tracking_key
from kastell.rules.scripts import DomainScripts, ScriptError


async def _app(tmp_path: Path, db_url: str) -> Kastell:
    settings = Settings(tmp_path / "data", validate({"database": {"url": db_url}, "sieve": {"max_scripts": 3}}))
    app = await Kastell.open(settings)
    await app.directory.add_domain("one.test", org="one")
    await app.directory.add_domain("two.test", org="two")
    for address in ("ann@one.test", "ben@one.test", "cat@two.test"):
        await app.directory.add_user(address, "a long password")
    await app.directory.add_alias("annie@one.test", "ann@one.test")
    return app


def _recipient(account: object) -> LocalRecipient:
    return LocalRecipient(account.org_id, account.id, account.address, "active", "user")  # type: ignore[attr-defined]


def test_rules_objects(tmp_path: Path, db_url: str) -> None:
    async def go() -> None:
        app = await _app(tmp_path, db_url)
        try:
            ann = await app.directory.get_account("ann@one.test")
            cat = await app.directory.get_account("cat@two.test")
            store = scripts.for_account(app, ann.org_id, ann.id)
            others = scripts.for_account(app, cat.org_id, cat.id)
            engine = RulesEngine(app)
            assert await engine.rules_for(_recipient(ann)) is None  # nothing set: nothing to run

            await store.put("a", "keep;\n")
            await store.put("b", 'require "fileinto";\nfileinto "X";\n')
            await store.put("c", "discard;\n")
            with pytest.raises(ScriptError) as full:
                await store.put("d", "keep;\n")
            assert full.value.code == "QUOTA/MAXSCRIPTS"
            with pytest.raises(ScriptError) as broken:
                await store.put("a", "keep;\nfrob;\n")
            assert "line 2" in str(broken.value)
            assert await store.get("a") == "keep;\n"  # the broken version was not stored
            await store.activate("b")
            assert [(i.name, i.active) for i in await store.list()] == [("a", False), ("b", True), ("c", False)]
            with pytest.raises(ScriptError) as active:
                await store.delete("b")
            assert active.value.code == "ACTIVE"
            with pytest.raises(ScriptError) as exists:
                await store.rename("a", "c")
            assert exists.value.code == "ALREADYEXISTS"
            await store.rename("b", "main")
            assert await store.active() == ("main", 'require "fileinto";\nfileinto "X";\n')
            # Another organisation's account sees none of it, and cannot touch it.
            assert await others.list() == [] and await others.get("main") is None
            with pytest.raises(ScriptError):
                await others.activate("main")

            stored = await oof.put(app.db, ann.org_id, ann.id, oof.OutOfOffice(enabled=True, external_message="Out."))
            assert stored.updated > 0 and (await oof.get(app.db, ann.org_id, ann.id)).enabled
            assert not (await oof.get(app.db, cat.org_id, ann.id)).enabled  # wrong organisation: nothing
            with pytest.raises(oof.OofError):
                await oof.put(
                    app.db, ann.org_id, ann.id, oof.OutOfOffice(enabled=True, start=10, end=5, external_message="x")
                )
            await forwarding.put(
                app.db, ann.org_id, ann.id, ["Ben@One.test", "ben@one.test", "x@far.example"], keep=False
            )
            assert await forwarding.get(app.db, ann.org_id, ann.id) == forwarding.Forwarding(
                ("ben@one.test", "x@far.example"), False
            )
            with pytest.raises(InvalidAddress):
                await forwarding.put(app.db, ann.org_id, ann.id, ["no at sign"], keep=True)

            domain = await app.directory.get_domain("one.test")
            await DomainScripts(app.db, domain.org_id, domain.id).put("pre", "keep;\n", "before")
            await DomainScripts(app.db, domain.org_id, domain.id).put("post", "keep;\n", "after")
            await DomainScripts(app.db, domain.org_id, domain.id).put("lib", "keep;\n", "")
            rules = await engine.rules_for(_recipient(ann))
            assert rules is not None
            assert [label for label, _ in rules.scripts] == [
                "global:pre", "out-of-office", "forwarding", "personal:main", "global:post",
            ]  # fmt: skip
            assert set(rules.addresses) == {"ann@one.test", "annie@one.test"}
            assert 'envelope :domain :is "from" ["one.test"]' in rules.scripts[1][1]  # only its own org's domains
            ben = await app.directory.get_account("ben@one.test")
            ben_rules = await engine.rules_for(_recipient(ben))
            assert ben_rules is not None and [label for label, _ in ben_rules.scripts] == ["global:pre", "global:post"]

            # Vacation tracking: once per sender and handle within the period; concurrent claims give one reply.
            claims = await asyncio.gather(
                *[engine.claim_vacation(ann.id, "h", "Carol@X.example", 3600) for _ in range(5)]
            )
            assert sorted(claims) == [False] * 4 + [True]
            assert not await engine.claim_vacation(ann.id, "h", "carol@x.example", 3600)
            assert await engine.claim_vacation(ann.id, "other", "carol@x.example", 3600)
            assert await engine.claim_vacation(ben.id, "h", "carol@x.example", 3600)
            await engine.record_duplicates(ann.id, [("id-1", 3600)])
            assert await engine.tracked(ann.id, "duplicate", tracking_key("id-1"))
            assert await engine.prune() == 0
            assert await engine.claim_vacation(ann.id, "short", "dan@x.example", -1)  # expired at once
            assert await engine.prune() == 1
            assert await engine.claim_vacation(ann.id, "short", "dan@x.example", 3600)  # forgotten: a new reply
        finally:
            await app.close()

    asyncio.run(go())
