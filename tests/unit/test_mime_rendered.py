"""ENVELOPE and BODYSTRUCTURE rendered at ingest (migration 0012).

The store keeps both renderings with ``RENDER_VERSION``; FETCH sends them
as they are. These tests pin the renderer's output to that number, check that
the stored copies equal what FETCH would render on demand, and that rows
without current copies (stored before 0012, or by an older renderer) fall
back to the cached structure.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from sqlalchemy import update

from kastell.db import schema as s
from kastell.formats import mime
from kastell.store.ingest import columns_for
from kastell.store.mailbox import Rendered
from kastell.store.model import NewItem

from .storehelp import make_account, message, open_env

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "mime"

# sha256 over the corpus' ENVELOPE and BODYSTRUCTURE renderings. When a change
# to formats/mime alters it, the stored copies of every existing message are
# stale: bump RENDER_VERSION and record the new digest here, together.
RENDER_DIGESTS = {
    1: "9f76f8869e8f9691c6e954c93bd8c13c6e5596d41e9c23b31b7a522b21fed368",
    2: "2bc6d6139b19576376a02e097045b05a99a2207c454602686b08efb12a33e01d",  # line counts as Dovecot counts
    3: "06fae3f2eb04c4f758297545a9dc4c755c428c25a6ab62553f6263d40e61c1f5",  # NUL in a string -> U+FFFD
    4: "a9cd5810cdefb16fb3f542ccbeee6d7bbe493441106a9f5c3f003fbbde674291",  # parameters undecoded, as Dovecot sends them
    5: "c5f8a7a1f2027078ccb0931dd6e5f57366fa157e1fefe2a262cd690667d6fba9",  # encoded messages parsed, broken multiparts kept (IMAP view)
    6: "7888b1bbd91933ee63486b06172ed3bea1d55bf0125cec66ad73f6be006ee14c",  # bare-LF messages: sizes and lines as sent (CRLF)
    7: "f299bf66493fa1ebe8c7cca8ddaea71ef97451cfebb2180af6c53d1ed98f27b2",  # names as written, invalid Content-Type, non-MIME (Dovecot)
}


def _corpus_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(CORPUS.glob("*.eml")):
        columns, _ = columns_for("message", path.read_bytes())
        h.update(columns["imap_envelope"] + b"\0" + columns["imap_bodystructure"] + b"\0")
    return h.hexdigest()


def test_render_version_matches_the_renderer() -> None:
    assert _corpus_digest() == RENDER_DIGESTS[mime.RENDER_VERSION], (
        "ENVELOPE/BODYSTRUCTURE output changed: bump formats.mime.RENDER_VERSION and add its digest"
    )


def test_ingest_stores_what_fetch_would_render() -> None:
    for path in sorted(CORPUS.glob("*.eml")):
        raw = path.read_bytes()
        columns, _ = columns_for("message", raw)
        imap_source, parsed = mime.imap_view(raw, mime.loads(columns["structure"]))
        assert columns["imap_size"] == (None if imap_source is raw else len(imap_source)), path.name
        assert columns["imap_envelope"] == mime.imap_envelope(parsed.envelope), path.name
        assert columns["imap_bodystructure"] == mime.imap_bodystructure(parsed.root, True), path.name
        assert columns["imap_render"] == mime.RENDER_VERSION
    empty, _ = columns_for("contact", b"BEGIN:VCARD\r\nEND:VCARD\r\n")
    assert empty["imap_envelope"] is None and empty["imap_render"] is None


def test_iter_rows_rendered_and_fallback(tmp_path: Path, db_url: str) -> None:
    async def main() -> None:
        env = await open_env(tmp_path, db_url)
        box = await make_account(env, "org", "alice@a.test")
        inbox = await box.folder_by_role("inbox")
        for n in range(1, 4):
            await box.append(inbox.id, NewItem(message(n)))
        async with env.db.write() as conn:
            # uid 2 as stored before migration 0012, uid 3 by an older renderer
            await conn.execute(
                update(s.items)
                .where(s.items.c.uid == 2)
                .values(imap_envelope=None, imap_bodystructure=None, imap_render=None)
            )
            await conn.execute(update(s.items).where(s.items.c.uid == 3).values(imap_render=mime.RENDER_VERSION - 1))
        rows = [r async for r in box.iter_rows(inbox.id, rendered=("envelope", "bodystructure"))]
        assert [r.uid for r in rows] == [1, 2, 3]
        fresh, old, stale = rows
        parsed = mime.parse_message(message(1))
        assert fresh.envelope == mime.imap_envelope(parsed.envelope)
        assert fresh.bodystructure == mime.imap_bodystructure(parsed.root, True)
        assert fresh.structure is None  # not needed, not read
        for row in (old, stale):
            assert row.envelope is None and row.bodystructure is None
            assert row.structure is not None and mime.loads(row.structure).envelope.message_id is not None
        only_envelope: tuple[Rendered, ...] = ("envelope",)
        both = [r async for r in box.iter_rows(inbox.id, rendered=only_envelope, with_structure=True)]
        assert all(r.structure is not None for r in both) and both[0].envelope == fresh.envelope
        assert both[0].bodystructure is None  # not asked for
        plain = [r async for r in box.iter_rows(inbox.id, with_structure=True)]
        assert all(r.envelope is None and r.structure is not None for r in plain)
        await env.close()

    asyncio.run(main())


def test_fetch_answers_the_same_with_or_without_stored_copies() -> None:
    from kastell.protocols.imap.commands.fetch import _RENDERED, Att, _needs_view, _parsed, _render, _view
    from kastell.store.mailbox import ItemRow

    atts = [Att("UID"), Att("ENVELOPE"), Att("BODYSTRUCTURE")]
    for n, path in enumerate(sorted(CORPUS.glob("*.eml"))):
        raw = path.read_bytes()
        columns, _ = columns_for("message", raw)
        head = (n + 1, 0, (), 1, 10, 0, 0, f"blob-{path.name}")
        stored = ItemRow(*head, None, columns["imap_envelope"], columns["imap_bodystructure"], columns["imap_size"])
        _RENDERED.pop(f"blob-{path.name}", None)
        on_demand = ItemRow(*head, columns["structure"], imap_size=columns["imap_size"])
        parsed = _parsed(on_demand, b"")
        if _needs_view(on_demand, parsed):  # as handle_fetch does
            raw, parsed = _view(on_demand, raw, parsed)
        assert list(_render(stored, atts, b"", None, set(), set())) == list(
            _render(on_demand, atts, raw, parsed, set(), set())
        ), path.name
