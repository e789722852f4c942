"""SELECT/EXAMINE (RFC 9051 §6.3.2, CONDSTORE/QRESYNC parameters RFC 7162 §3.2.5),
CLOSE, UNSELECT (RFC 3691), EXPUNGE and UID EXPUNGE (RFC 4315)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kastell.protocols.imap.args import atom_arg, list_arg, mailbox_arg, number_arg, text_arg
from kastell.protocols.imap.errors import Bad, No
from kastell.protocols.imap.parser import Command
from kastell.protocols.imap.responses import compress_set, flag_list, mailbox_name, ok, untagged
from kastell.protocols.imap.selected import Selected, claim_recent, format_ranges, missing, parse_set
from kastell.protocols.imap.shared import locate, read_write
from kastell.store import search as store_search
from kastell.store.flags import Flag

if TYPE_CHECKING:
    from kastell.protocols.imap.session import Session

SYSTEM_FLAGS = "\\Answered \\Flagged \\Deleted \\Seen \\Draft"
# Keywords that clients use in every mailbox (RFC 5788 registry); listed so that they show in FLAGS.
COMMON_KEYWORDS = "$Forwarded $MDNSent $Junk $NotJunk"


async def handle_select(session: Session, command: Command) -> str:
    from kastell.protocols.imap.session import AUTHENTICATED, SELECTED

    if not command.args:
        raise Bad(f"{command.name} needs a mailbox name")
    read_only = command.name == "EXAMINE"
    qresync: tuple[int, int, str | None] | None = None
    for param in command.args[1:]:
        options = list_arg(param)
        i = 0
        while i < len(options):
            name = atom_arg(options[i])
            if name == "CONDSTORE":
                session.enabled.add("CONDSTORE")
            elif name == "QRESYNC" and i + 1 < len(options):
                if not session.qresync:
                    raise Bad("QRESYNC must be enabled first")
                values = list_arg(options[i + 1])
                if len(values) < 2:
                    raise Bad("QRESYNC needs uidvalidity and modseq")
                known = text_arg(values[2]) if len(values) > 2 and not isinstance(values[2], list) else None
                qresync = (number_arg(values[0]), number_arg(values[1]), known)
                i += 1
            else:
                raise Bad(f"Unknown SELECT parameter {name[:30]}")
            i += 1
    # A failed SELECT leaves no mailbox selected (RFC 9051 §6.3.2).
    await session.set_selected(None)
    session.state = AUTHENTICATED
    located = await locate(session, mailbox_arg(command.args[0], session.utf8))
    located.require("r", command.name)
    rights = located.rights
    # RFC 4314 §5.2: READ-ONLY unless the user may insert, expunge or change some flag.
    read_only = read_only or not read_write(rights)
    mailbox = located.mailbox
    uids = await store_search.folder_uids(mailbox, located.folder.id)
    # Re-read the folder after the UIDs: its counters then cover at least what we list.
    folder = await mailbox.folder(located.folder.id)
    selected = Selected(
        folder, read_only, uids, folder.content_change, floors=session.recent_floors, mailbox=mailbox, rights=rights
    )
    selected.recent = claim_recent(session.recent_floors, folder.id, reversed(uids), folder.uidnext, not read_only)
    selected.dirty = True  # absorb anything that raced with the listing at the next sync
    session.send(untagged(f"FLAGS ({SYSTEM_FLAGS} {COMMON_KEYWORDS})"))
    session.send(untagged(b"%d EXISTS" % len(uids)))
    if not session.rev2:
        session.send(untagged(b"%d RECENT" % len(selected.recent)))
        unseen = await store_search.search(mailbox, folder.id, store_search.FlagKey(int(Flag.SEEN), False), limit=1)
        if unseen:
            first = selected.seq_of(unseen[0][0])
            if first:
                session.send(ok(f"UNSEEN {first}", "First unseen"))
    session.send(ok(f"PERMANENTFLAGS ({_permanent_flags(rights, read_only)})", "Flags permitted"))
    session.send(ok(f"UIDVALIDITY {folder.uidvalidity}", "UIDs valid"))
    session.send(ok(f"UIDNEXT {folder.uidnext}", "Predicted next UID"))
    if session.condstore:
        session.send(ok(f"HIGHESTMODSEQ {folder.content_change}", "Highest"))
    if session.rev2:
        session.send(untagged(b'LIST () "/" ' + mailbox_name(located.name, True)))
    await session.set_selected(selected)
    session.state = SELECTED
    if qresync is not None and qresync[0] == folder.uidvalidity:
        await _qresync(session, selected, qresync[1], qresync[2])
    return "[READ-ONLY] EXAMINE completed" if read_only else "[READ-WRITE] SELECT completed"


def _permanent_flags(rights: str, read_only: bool) -> str:
    """The flags this user may change here (RFC 4314 §5.1.1: PERMANENTFLAGS reflects the rights)."""
    if all(r in rights for r in "stw"):
        return f"{SYSTEM_FLAGS} {COMMON_KEYWORDS} \\*"
    if read_only:
        return ""
    names = []
    if "w" in rights:
        names += ["\\Answered", "\\Flagged"]
    if "t" in rights:
        names.append("\\Deleted")
    if "s" in rights:
        names.append("\\Seen")
    if "w" in rights:
        names += ["\\Draft", COMMON_KEYWORDS, "\\*"]
    return " ".join(names)


async def _qresync(session: Session, selected: Selected, since: int, known: str | None) -> None:
    """RFC 7162 §3.2.5.1: VANISHED (EARLIER) for what went away, FETCH for what changed."""
    mailbox = session.require_mailbox()
    changes = await mailbox.changes_since(since, selected.folder.id, limit=1_000_000)
    allowed = parse_set(known, selected.folder.uidnext) if known else None

    def wanted(uid: int) -> bool:
        return allowed is None or any(lo <= uid <= hi for lo, hi in allowed)

    if changes.complete:
        vanished = sorted({t.uid for t in changes.removed if t.uid is not None and wanted(t.uid)})
        # A UID that is still here (moved out and back is impossible: moves renumber) is not vanished.
        vanished = [u for u in vanished if not selected.seq_of(u)]
        if vanished:
            session.send(untagged("VANISHED (EARLIER) " + compress_set(vanished)))
    else:
        # The tombstones since ``since`` were pruned: every UID the client may know that is not here.
        gaps = missing(allowed or [(1, selected.folder.uidnext - 1)], selected.uids)
        if gaps:
            session.send(untagged("VANISHED (EARLIER) " + format_ranges(gaps)))
    for item in sorted(changes.items, key=lambda i: i.uid):
        seq = selected.seq_of(item.uid)
        if seq:
            session.send(
                b"* %d FETCH (UID %d FLAGS %s MODSEQ (%d))\r\n"
                % (seq, item.uid, flag_list(item.flags, item.keywords), item.change_num)
            )


async def handle_close(session: Session, command: Command) -> str:
    from kastell.protocols.imap.session import AUTHENTICATED

    selected = session.require_selected()
    # RFC 4314 §4: without "e" CLOSE closes without expunging, and still says OK.
    if command.name == "CLOSE" and not selected.read_only and "e" in selected.rights:
        # RFC 9051 §6.4.1: CLOSE expunges silently.
        deleted = await store_search.search(
            session.require_mailbox(), selected.folder.id, store_search.FlagKey(int(Flag.DELETED), True)
        )
        uids = [uid for uid, _ in deleted if selected.seq_of(uid)]
        if uids:
            await session.require_mailbox().expunge(selected.folder.id, [(u, u) for u in uids])
    await session.set_selected(None)
    session.state = AUTHENTICATED
    if command.name == "CLOSE" and session.qresync:
        return "[CLOSED] CLOSE completed"
    return f"{command.name} completed"


async def handle_expunge(session: Session, command: Command) -> str:
    selected = session.require_selected()
    if "e" not in selected.rights:
        raise No("Permission denied: EXPUNGE needs the right 'e'", "NOPERM")
    if selected.read_only:
        raise No("Mailbox is read-only", "READ-ONLY")
    mailbox = session.require_mailbox()
    within = None
    if command.name == "UID EXPUNGE":
        if len(command.args) != 1:
            raise Bad("UID EXPUNGE needs a UID set")
        within = selected.uid_ranges(text_arg(command.args[0]))
    deleted = await store_search.search(
        mailbox, selected.folder.id, store_search.FlagKey(int(Flag.DELETED), True), within=within
    )
    uids = [uid for uid, _ in deleted if selected.seq_of(uid)]
    removed: list[int] = []
    ranges = _ranges(uids)
    # Runs of UIDs are one range each; a statement takes at most 500 of them.
    for start in range(0, len(ranges), 500):
        removed += await mailbox.expunge(selected.folder.id, ranges[start : start + 500])
    # Report our own expunges together with whatever others expunged meanwhile.
    selected.pending.update(removed)
    await session.updates(allow_expunge=True)
    return "EXPUNGE completed"


def _ranges(uids: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for uid in uids:
        if out and uid == out[-1][1] + 1:
            out[-1] = (out[-1][0], uid)
        else:
            out.append((uid, uid))
    return out
