"""Reading command arguments out of parser tokens (RFC 9051 §9 astring, mailbox, lists)."""

from __future__ import annotations

from kastell.imports import utf7
from kastell.protocols.imap.errors import Bad
from kastell.protocols.imap.parser import Atom, Token


def astring_arg(token: Token) -> str:
    """An astring (atom, quoted or literal) as text."""
    if isinstance(token, list):
        raise Bad("Expected a string, got a list")
    if isinstance(token, bytes):
        return token.decode("utf-8", "replace")
    return str(token)


def text_arg(token: Token) -> str:
    return astring_arg(token)


def atom_arg(token: Token) -> str:
    if not isinstance(token, Atom):
        raise Bad("Expected an atom")
    return token.upper()


def number_arg(token: Token) -> int:
    if not isinstance(token, Atom) or not token.isdigit() or len(token) > 20:
        raise Bad("Expected a number")
    return int(token)


def list_arg(token: Token) -> list[Token]:
    if not isinstance(token, list):
        raise Bad("Expected a parenthesised list")
    return token


def mailbox_arg(token: Token, utf8: bool) -> str:
    """A mailbox name → store path: modified UTF-7 decoded for rev1 clients, INBOX
    case-insensitive (RFC 9051 §5.1), a trailing hierarchy delimiter dropped."""
    name = astring_arg(token)
    if not utf8:
        name = utf7.decode(name)
    if name.upper() == "INBOX" or name.upper().startswith("INBOX/"):
        name = "INBOX" + name[5:]
    return name.rstrip("/") if name not in ("/",) else name
