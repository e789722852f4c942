"""Domain errors of the directory.

Every message is one line fit for an operator ("user alice@example.test exists
already"); the CLI prints it as is and protocols map the class to their own
reply. Driver errors (``sqlalchemy.exc.IntegrityError``) are translated inside
the service and never escape it.

Authentication errors are the exception to "say what went wrong": whatever the
cause, ``AuthFailed`` says only "authentication failed", so that a client cannot
tell an unknown user from a wrong password. The cause is in ``reason``, for
logs only.
"""

from __future__ import annotations


class DirectoryError(Exception):
    """Base of every directory error; the message is one line for an operator."""


class InvalidAddress(DirectoryError):
    """The text is not an e-mail address or domain name Kastell accepts."""


class InvalidValue(DirectoryError):
    """An argument other than an address is out of range or not allowed here."""


class NotFound(DirectoryError):
    """Base of the "no such thing" errors."""


class NoSuchOrganisation(NotFound):
    """No organisation of this name or id."""


class NoSuchDomain(NotFound):
    """The domain is not a local domain."""


class NoSuchAccount(NotFound):
    """No account (user, shared mailbox, room, equipment) with this address or id."""


class NoSuchAlias(NotFound):
    """The address is not an alias."""


class NoSuchGroup(NotFound):
    """No group with this address."""


class NoSuchMember(NotFound):
    """The address is not a member of the group."""


class NoSuchAdmin(NotFound):
    """No administrator of this name."""


class AlreadyExists(DirectoryError):
    """Base of the "this name is taken" errors."""


class AddressTaken(AlreadyExists):
    """The address is in use already, as a user, an alias or a group."""


class DomainExists(AlreadyExists):
    """The domain is a local domain already."""


class OrganisationExists(AlreadyExists):
    """An organisation of this name exists already."""


class AdminExists(AlreadyExists):
    """An administrator of this name exists already."""


class DomainInUse(DirectoryError):
    """The domain still has accounts, groups, aliases or alias domains."""


class AuthFailed(DirectoryError):
    """Authentication failed. The message is always the same; ``reason`` is for logs.

    ``reason`` is one of ``unknown-user``, ``no-password``, ``bad-password``,
    ``suspended``, ``disabled``, ``not-permitted``, ``invalid-address``,
    ``throttled-account``, ``throttled-ip``. Never show it to the client.
    """

    MESSAGE = "authentication failed"

    def __init__(self, reason: str) -> None:
        super().__init__(self.MESSAGE)
        self.reason = reason


class AuthThrottled(AuthFailed):
    """Too many recent failures for this account or client address.

    The password was not checked. ``retry_after`` is the number of seconds
    (> 0) until the next attempt can be considered.
    """

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
