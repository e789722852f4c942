"""Domain errors of the mailbox store. Backends translate driver errors into these."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every store error; the message is fit for an operator or a protocol reply."""


class NoSuchMailbox(StoreError):
    """The account has no mailbox, or it belongs to another organisation."""


class NoSuchFolder(StoreError):
    """No folder with this id or path in this mailbox."""


class FolderExists(StoreError):
    """A folder with this path exists already."""


class InvalidFolderName(StoreError):
    """The folder path is empty, too long, or has an empty level."""


class FolderNotEmpty(StoreError):
    """The operation needs a folder without children."""


class SpecialFolder(StoreError):
    """The operation is not allowed on this folder (INBOX cannot be deleted)."""


class NoSuchItem(StoreError):
    """No item with this id or uid in this mailbox/folder."""


class QuotaExceeded(StoreError):
    """The mailbox would exceed its quota."""


class ItemTooLarge(StoreError):
    """The item is larger than the configured maximum."""
