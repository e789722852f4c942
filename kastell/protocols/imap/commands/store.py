"""STORE/UID STORE (RFC 9051 §6.4.6, UNCHANGEDSINCE RFC 7162 §3.1.3), COPY/UID COPY
(§6.4.7, COPYUID RFC 4315) and MOVE/UID MOVE (RFC 6851)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kastell.protocols.imap.args import atom_arg, list_arg, mailbox_arg, number_arg, text_arg
from kastell.protocols.imap.commands.mailboxes import find_folder
from kastell.protocols.imap.errors import Bad, No
from kastell.protocols.imap.parser import Atom, Command
from kastell.protocols.imap.responses import compress_set, flag_list, untagged
from kastell.store.errors import QuotaExceeded
from kastell.store.flags import MAX_KEYWORDS, split_flags
from kastell.store.scope import FlagMode

if TYPE_CHECKING:
    from kastell.protocols.imap.session import Session

_MODES: dict[str, FlagMode] = {"": "set", "+": "add", "-": "remove"}


async def handle_store(session: Session, command: Command) -> str:
    selected = session.require_selected()
    if selected.read_only:
        raise No("Mailbox is read-only", "READ-ONLY")
    uid_mode = command.name == "UID STORE"
    args = list(command.args)
    if len(args) < 3:
        raise Bad("STORE needs a set, an item and flags")
    ranges = selected.ranges(text_arg(args.pop(0)), uid_mode)
    unchanged_since: int | None = None
    if isinstance(args[0], list):
        modifiers = list_arg(args.pop(0))
        if len(modifiers) != 2 or atom_arg(modifiers[0]) != "UNCHANGEDSINCE":
            raise Bad("Invalid STORE modifier")
        unchanged_since = number_arg(modifiers[1])
        session.enabled.add("CONDSTORE")
    item = atom_arg(args.pop(0))
    silent = item.endswith(".SILENT")
    base = item.removesuffix(".SILENT")
    sign = base[0] if base[:1] in ("+", "-") else ""
    if base.removeprefix(sign) != "FLAGS":
        raise Bad(f"Invalid STORE item {item[:30]}")
    names = list_arg(args[0]) if len(args) == 1 and isinstance(args[0], list) else args
    flag_texts = []
    for token in names:
        if not isinstance(token, Atom):
            raise Bad("Flags must be atoms")
        flag_texts.append(str(token))
    bits, keywords = split_flags(flag_texts)
    if len(keywords) > MAX_KEYWORDS:
        raise Bad(f"At most {MAX_KEYWORDS} keywords")
    try:
        changed, refused = await session.require_mailbox().store_flags(
            selected.folder.id, ranges, _MODES[sign], bits, keywords, unchanged_since=unchanged_since
        )
    except ValueError as exc:
        raise Bad(str(exc)) from None
    selected.absorb_own(changed)
    for change in changed:
        seq = selected.seq_of(change.uid)
        # RFC 7162 §3.1.3: with CONDSTORE the new MODSEQ is sent even for .SILENT.
        if not seq or (silent and not session.condstore):
            continue
        recent = change.uid in selected.recent and not session.rev2
        parts = [b"FLAGS " + flag_list(change.flags, change.keywords, recent)] if not silent else []
        if uid_mode:
            parts.insert(0, b"UID %d" % change.uid)
        if session.condstore:
            parts.append(b"MODSEQ (%d)" % change.change_num)
        session.send(b"* %d FETCH (%s)\r\n" % (seq, b" ".join(parts)))
    if refused:
        numbers = refused if uid_mode else [selected.seq_of(u) for u in refused if selected.seq_of(u)]
        return f"[MODIFIED {compress_set(numbers)}] Conditional STORE failed"
    return f"{command.name} completed"


async def handle_copy(session: Session, command: Command) -> str:
    selected = session.require_selected()
    uid_mode = command.name.startswith("UID ")
    move = command.name.endswith("MOVE")
    if len(command.args) != 2:
        raise Bad(f"{command.name} needs a set and a mailbox")
    if move and selected.read_only:
        raise No("Mailbox is read-only", "READ-ONLY")
    ranges = selected.ranges(text_arg(command.args[0]), uid_mode)
    target = await find_folder(session, mailbox_arg(command.args[1], session.utf8), code="TRYCREATE")
    mailbox = session.require_mailbox()
    if target.id == selected.folder.id:
        selected.dirty = True  # copies into the selected mailbox are announced with EXISTS now
    # Only messages this session knows: the ranges may span UIDs it has not been told of.
    known = [(lo, hi) for lo, hi in ranges]
    try:
        if move:
            pairs = await mailbox.move(selected.folder.id, known, target.id)
        else:
            pairs = await mailbox.copy(selected.folder.id, known, target.id)
    except QuotaExceeded:
        raise No("Quota exceeded", "OVERQUOTA") from None
    pairs = [(old, new) for old, new in pairs if selected.seq_of(old)] if not move else pairs
    if not pairs:
        return f"{command.name} completed"
    code = f"COPYUID {target.uidvalidity} {compress_set([o for o, _ in pairs])} {compress_set([n for _, n in pairs])}"
    if not move:
        return f"[{code}] {command.name} completed"
    # RFC 6851 §4.3: COPYUID goes in an untagged OK before the expunges.
    session.send(untagged(f"OK [{code}] Moved"))
    selected.pending.update(old for old, _ in pairs)
    await session.updates(allow_expunge=True)
    return f"{command.name} completed"
