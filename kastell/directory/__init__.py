"""The directory: organisations, domains, accounts, aliases, groups, admins, authentication.

Public names are re-exported here; import from ``kastell.directory``. Module map:

- ``service``: ``Directory``, the one object (assembled from ``accounts``,
  ``lists`` and ``admins`` on top of ``base``);
- ``resolve``: address resolution for delivery (``Resolution``);
- ``auth`` and ``throttle``: password login with brute-force throttling;
- ``addresses``, ``passwords``, ``permissions``, ``records``, ``errors``.
"""

from kastell.directory.addresses import normalise_address, normalise_domain
from kastell.directory.auth import Authenticator
from kastell.directory.errors import (
    AddressTaken,
    AdminExists,
    AlreadyExists,
    AuthFailed,
    AuthThrottled,
    DirectoryError,
    DomainExists,
    DomainInUse,
    InvalidAddress,
    InvalidValue,
    NoSuchAccount,
    NoSuchAdmin,
    NoSuchAlias,
    NoSuchDomain,
    NoSuchGroup,
    NoSuchMember,
    NoSuchOrganisation,
    NotFound,
    OrganisationExists,
)
from kastell.directory.passwords import Passwords
from kastell.directory.permissions import Permission
from kastell.directory.records import Account, Admin, Alias, Domain, Group, Organisation
from kastell.directory.resolve import LocalRecipient, Resolution
from kastell.directory.service import Directory
from kastell.directory.throttle import SlidingWindow, Throttle

__all__ = [
    "Account",
    "AddressTaken",
    "Admin",
    "AdminExists",
    "Alias",
    "AlreadyExists",
    "AuthFailed",
    "AuthThrottled",
    "Authenticator",
    "Directory",
    "DirectoryError",
    "Domain",
    "DomainExists",
    "DomainInUse",
    "Group",
    "InvalidAddress",
    "InvalidValue",
    "LocalRecipient",
    "NoSuchAccount",
    "NoSuchAdmin",
    "NoSuchAlias",
    "NoSuchDomain",
    "NoSuchGroup",
    "NoSuchMember",
    "NoSuchOrganisation",
    "NotFound",
    "Organisation",
    "OrganisationExists",
    "Passwords",
    "Permission",
    "Resolution",
    "SlidingWindow",
    "Throttle",
    "normalise_address",
    "normalise_domain",
]
