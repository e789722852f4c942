"""Which protocols an account may log in with: a bit set in ``accounts.permissions``.

The bit values are stored in the database; never renumber them, only add.
"""

from __future__ import annotations

import enum

from kastell.directory.errors import InvalidValue


class Permission(enum.IntFlag):
    """Protocols an account may authenticate with."""

    NONE = 0
    IMAP = 1
    POP3 = 2
    SMTP = 4  # submission (587/465); inbound MX mail needs no permission
    DAV = 8  # CalDAV and CardDAV
    ACTIVESYNC = 16
    EWS = 32
    MAPI = 64  # MAPI over HTTP and its NSPI address book
    WEB = 128  # web UI / admin-free self service
    JMAP = 256
    ALL = IMAP | POP3 | SMTP | DAV | ACTIVESYNC | EWS | MAPI | WEB | JMAP

    @classmethod
    def parse(cls, text: str) -> Permission:
        """``"imap,pop3,dav"`` → ``IMAP|POP3|DAV``; ``"all"``, ``"none"`` and ``""`` too.

        Names are case-insensitive and may be separated by commas and/or spaces.
        Raises InvalidValue naming the unknown word.
        """
        result = cls.NONE
        for word in text.replace(",", " ").split():
            name = word.strip().upper()
            member = _BY_NAME.get(name)
            if member is None:
                known = ", ".join(m.lower() for m in _BY_NAME)
                raise InvalidValue(f"unknown permission {word!r} (one of: {known})")
            result |= member
        return result

    def format(self) -> str:
        """The inverse of ``parse``: ``"all"``, ``"none"`` or ``"imap,pop3,dav"``."""
        if self == Permission.ALL:
            return "all"
        if not self:
            return "none"
        return ",".join(name.lower() for name, bit in _SINGLE.items() if bit & self)

    @classmethod
    def for_protocol(cls, protocol: str) -> Permission:
        """The bit an authentication over ``protocol`` needs.

        ``protocol`` is the name a protocol package passes to the authenticator:
        imap, pop3, smtp/submission, managesieve (needs IMAP: filters belong to
        mail reading), dav/caldav/carddav, activesync, ews, mapi, web, jmap.
        Raises InvalidValue for an unknown name (a bug in the caller).
        """
        bit = _PROTOCOLS.get(protocol.lower())
        if bit is None:
            raise InvalidValue(f"unknown protocol {protocol!r}")
        return bit


_SINGLE: dict[str, Permission] = {
    "IMAP": Permission.IMAP,
    "POP3": Permission.POP3,
    "SMTP": Permission.SMTP,
    "DAV": Permission.DAV,
    "ACTIVESYNC": Permission.ACTIVESYNC,
    "EWS": Permission.EWS,
    "MAPI": Permission.MAPI,
    "WEB": Permission.WEB,
    "JMAP": Permission.JMAP,
}
_BY_NAME: dict[str, Permission] = {**_SINGLE, "ALL": Permission.ALL, "NONE": Permission.NONE}

_PROTOCOLS: dict[str, Permission] = {
    "imap": Permission.IMAP,
    "managesieve": Permission.IMAP,
    "sieve": Permission.IMAP,
    "pop3": Permission.POP3,
    "smtp": Permission.SMTP,
    "submission": Permission.SMTP,
    "dav": Permission.DAV,
    "caldav": Permission.DAV,
    "carddav": Permission.DAV,
    "activesync": Permission.ACTIVESYNC,
    "eas": Permission.ACTIVESYNC,
    "ews": Permission.EWS,
    "mapi": Permission.MAPI,
    "web": Permission.WEB,
    "jmap": Permission.JMAP,
}

# Shared mailboxes, rooms and equipment are opened by delegates, never logged into.
DEFAULT_PERMISSIONS: dict[str, Permission] = {
    "user": Permission.ALL,
    "shared": Permission.NONE,
    "room": Permission.NONE,
    "equipment": Permission.NONE,
}
