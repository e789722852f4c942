"""METADATA (RFC 5464): GETMETADATA and SETMETADATA on the server (mailbox name ``""``)
and on mailboxes, own or shared.

Entries: ``/shared/comment`` and ``/private/comment``, ``/shared/admin``
(server only, read-only: Kastell sets none), and free entries under
``/shared/vendor/`` and ``/private/vendor/``. Names are case-insensitive and
kept in lower case. Server ``/shared`` entries belong to the organisation:
any of its users may read and set them; ``/private`` entries belong to the
user. On a mailbox, reading needs the rights ``l`` and ``r``, setting a
``/private`` entry too, and a ``/shared`` one also ``w`` (RFC 5464 §3.3 and
RFC 4314; a user has every right on their own mailboxes).

Limits: a value of at most :data:`MAX_VALUE` octets (``NO [METADATA MAXSIZE
n]``), at most :data:`MAX_ENTRIES` entries per owner and mailbox or server
(``NO [METADATA TOOMANY]``); GETMETADATA's MAXSIZE option leaves longer values
out and says how long the longest was (``OK [METADATA LONGENTRIES n]``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kastell.protocols.imap.args import astring_arg, atom_arg, list_arg, mailbox_arg, number_arg
from kastell.protocols.imap.errors import Bad, No
from kastell.protocols.imap.parser import Atom, Command, Token
from kastell.protocols.imap.responses import mailbox_name, quoted, untagged
from kastell.protocols.imap.shared import Located, locate
from kastell.store import metadata as store_metadata

if TYPE_CHECKING:
    from kastell.protocols.imap.session import Session

MAX_VALUE = 64 * 1024
MAX_ENTRIES = 100
MAX_NAME = 200  # the store keeps names in a 255-character column, with a prefix
# RFC 5464 §3.2: "/"-separated, no "*" "%", no empty level, no trailing "/".
_NAME = re.compile(r"/(shared|private)(/[\x21-\x24\x26-\x29\x2b-\x2e\x30-\x7e]+)+\Z")
_SERVER_ONLY = {"/shared/admin"}
_READ_ONLY = {"/shared/admin"}


def _entry(token: Token) -> str:
    """A valid entry name, lower-cased; Bad otherwise."""
    name = astring_arg(token).lower()
    if len(name) > MAX_NAME or not _NAME.match(name):
        raise Bad(f"Invalid entry name {name[:60]!r}")
    return name


def _known(name: str, server: bool) -> bool:
    rest = name.split("/", 2)[2]
    return rest == "comment" or rest.startswith("vendor/") or (server and name in _SERVER_ONLY)


def _entries_arg(token: Token) -> list[str]:
    tokens = list_arg(token) if isinstance(token, list) else [token]
    if not tokens:
        raise Bad("No entries given")
    return [_entry(t) for t in tokens]


async def _target(session: Session, token: Token) -> Located | None:
    """None for the server (``""``), else the mailbox the name stands for."""
    name = astring_arg(token)
    if name == "":
        return None
    return await locate(session, mailbox_arg(token, session.utf8))


def _value(value: bytes | None) -> bytes:
    return b"NIL" if value is None else quoted(value)


async def handle_getmetadata(session: Session, command: Command) -> str:
    assert session.account is not None
    args = list(command.args)
    maxsize: int | None = None
    depth = 0
    if args and isinstance(args[0], list):
        options = list_arg(args.pop(0))
        if len(options) % 2:
            raise Bad("GETMETADATA options come in pairs")
        for name_token, value_token in zip(options[::2], options[1::2], strict=True):
            option = atom_arg(name_token)
            if option == "MAXSIZE":
                maxsize = number_arg(value_token)
            elif option == "DEPTH":
                text = atom_arg(value_token)
                if text not in ("0", "1", "INFINITY"):
                    raise Bad("DEPTH is 0, 1 or infinity")
                depth = -1 if text == "INFINITY" else int(text)
            else:
                raise Bad(f"Unknown GETMETADATA option {option[:30]}")
    if len(args) != 2:
        raise Bad("GETMETADATA needs a mailbox and entries")
    target = await _target(session, args[0])
    wanted = _entries_arg(args[1])
    if target is None:
        stored = await store_metadata.server_entries(session.app.store, session.account.org_id, session.account.id)
        label = b'""'
    else:
        target.require("lr", "GETMETADATA")
        stored = await store_metadata.folder_entries(target.mailbox, target.folder.id, session.account.id)
        label = mailbox_name(target.name, session.utf8)
    found: dict[str, bytes | None] = {}
    longest = 0
    for entry in wanted:
        matches = [entry] if entry in stored else []
        if depth:
            prefix = entry + "/"
            for name in sorted(stored):
                if name.startswith(prefix) and (depth < 0 or "/" not in name[len(prefix) :]):
                    matches.append(name)
        if not matches:
            found.setdefault(entry, None)  # asked for and absent: NIL
        for name in matches:
            value = stored[name]
            if maxsize is not None and len(value) > maxsize:
                longest = max(longest, len(value))
                continue
            found[name] = value
    if found:
        pairs = b" ".join(name.encode() + b" " + _value(value) for name, value in found.items())
        session.send(untagged(b"METADATA " + label + b" (" + pairs + b")"))
    if longest:
        return f"[METADATA LONGENTRIES {longest}] GETMETADATA completed"
    return "GETMETADATA completed"


async def handle_setmetadata(session: Session, command: Command) -> str:
    assert session.account is not None
    if len(command.args) != 2 or not isinstance(command.args[1], list):
        raise Bad("SETMETADATA needs a mailbox and a list of entries and values")
    target = await _target(session, command.args[0])
    tokens = list_arg(command.args[1])
    if not tokens or len(tokens) % 2:
        raise Bad("SETMETADATA needs entry and value pairs")
    values: dict[str, bytes | None] = {}
    for name_token, value_token in zip(tokens[::2], tokens[1::2], strict=True):
        entry = _entry(name_token)
        if isinstance(value_token, list):
            raise Bad("An entry value is a string or NIL")
        if isinstance(value_token, Atom):
            value = None if value_token.upper() == "NIL" else str(value_token).encode()
        else:
            value = value_token
        if value is not None and len(value) > MAX_VALUE:
            raise No("Value too long", f"METADATA MAXSIZE {MAX_VALUE}")
        if entry in _READ_ONLY:
            raise No(f"{entry} is read-only", "NOPERM")
        if not _known(entry, target is None):
            raise No(f"Unsupported entry {entry[:60]} (use /shared/vendor/... or /private/vendor/...)")
        values[entry] = value
    try:
        if target is None:
            await store_metadata.set_server_entries(
                session.app.store, session.account.org_id, session.account.id, values, max_entries=MAX_ENTRIES
            )
        else:
            needs_shared = any(e.startswith("/shared/") for e in values)
            target.require("lrw" if needs_shared else "lr", "SETMETADATA")
            await store_metadata.set_folder_entries(
                target.mailbox, target.folder.id, session.account.id, values, max_entries=MAX_ENTRIES
            )
    except store_metadata.TooManyEntries:
        raise No("Too many entries", "METADATA TOOMANY") from None
    return "SETMETADATA completed"
