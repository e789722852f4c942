"""The one schema, for SQLite and PostgreSQL alike.

SQLAlchemy Core tables only; queries elsewhere are built from these objects, so
no dialect-specific SQL leaks into the services. Changes to this file need a new
Alembic revision in ``kastell/db/migrations/versions`` (see docs/upgrade.md); a
test compares the migrated database with this metadata.

Conventions:
- Every directory and store row carries ``org_id``: tenancy is a column, and
  every store query filters on it.
- Times are integer seconds since the epoch (UTC); an offset in minutes sits
  beside a time where a protocol must reproduce the original zone.
- Addresses are stored lower-cased; ``addresses.address`` is unique across
  primary addresses, aliases and groups, so the database itself forbids one
  address meaning two things.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (fast, autoincrementing).
ID = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# --------------------------------------------------------------------------- directory

organisations = Table(
    "organisations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created", BigInteger, nullable=False),
)

domains = Table(
    "domains",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("name", String(255), nullable=False, unique=True),
    # An alias domain delivers to the same local parts of its target domain.
    Column("alias_of", ID, ForeignKey("domains.id"), nullable=True),
    # Address that receives mail for unknown local parts of this domain (optional).
    Column("catchall", String(320), nullable=True),
    Column("created", BigInteger, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("domain_id", ID, ForeignKey("domains.id"), nullable=False, index=True),
    # user | shared | room | equipment
    Column("kind", String(16), nullable=False),
    Column("address", String(320), nullable=False, unique=True),
    Column("display_name", String(255), nullable=False, server_default=""),
    # argon2id PHC string; NULL means no password login (shared mailboxes, resources).
    Column("password_hash", String(255), nullable=True),
    # active | suspended | disabled
    Column("status", String(16), nullable=False, server_default="active"),
    Column("quota_bytes", BigInteger, nullable=False, server_default="0"),  # 0 = unlimited
    Column("language", String(35), nullable=False, server_default="en"),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("permissions", Integer, nullable=False),  # bit set, see directory.permissions
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    CheckConstraint("kind in ('user', 'shared', 'room', 'equipment')", name="kind"),
    CheckConstraint("status in ('active', 'suspended', 'disabled')", name="status"),
)

groups = Table(
    "groups",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("domain_id", ID, ForeignKey("domains.id"), nullable=False, index=True),
    Column("address", String(320), nullable=False, unique=True),
    Column("display_name", String(255), nullable=False, server_default=""),
    Column("created", BigInteger, nullable=False),
)

group_members = Table(
    "group_members",
    metadata,
    Column("group_id", ID, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    # A member is an address: a local user, another group (nested lists) or an outside address.
    Column("address", String(320), primary_key=True),
)

addresses = Table(
    "addresses",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("domain_id", ID, ForeignKey("domains.id"), nullable=False, index=True),
    Column("address", String(320), nullable=False, unique=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("group_id", ID, ForeignKey("groups.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("is_primary", Boolean, nullable=False, server_default="0"),
    CheckConstraint("(account_id IS NULL) <> (group_id IS NULL)", name="one_target"),
)

admins = Table(
    "admins",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    # system | org | domain, with a read-only variant flag
    Column("role", String(16), nullable=False, server_default="system"),
    Column("read_only", Boolean, nullable=False, server_default="0"),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=True),
    Column("created", BigInteger, nullable=False),
)

# ------------------------------------------------------------------------------ store

mailboxes = Table(
    "mailboxes",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, unique=True),
    # The change clock: the last change number handed out in this mailbox.
    Column("last_change", BigInteger, nullable=False, server_default="0"),
    # Exact sum of items.size over the mailbox, kept in the same transactions.
    Column("quota_used", BigInteger, nullable=False, server_default="0"),
    Column("item_count", BigInteger, nullable=False, server_default="0"),
    Column("created", BigInteger, nullable=False),
    # Tombstones with change numbers up to this one may have been pruned (migration 0015):
    # the removals since an older change number are no longer all known.
    Column("tombstones_below", BigInteger, nullable=False, server_default="0"),
)

folders = Table(
    "folders",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, nullable=False),
    Column("mailbox_id", ID, ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False),
    Column("parent_id", ID, ForeignKey("folders.id"), nullable=True),
    # Full path with "/" between levels ("INBOX", "Archive/2024"); unique per mailbox.
    Column("path", String(1024), nullable=False),
    Column("folder_class", String(64), nullable=False),  # IPF.Note, IPF.Appointment, ...
    Column("role", String(16), nullable=True),  # inbox, drafts, sent, trash, junk, ...
    Column("uidvalidity", BigInteger, nullable=False),
    Column("uidnext", BigInteger, nullable=False, server_default="1"),
    Column("subscribed", Boolean, nullable=False, server_default="1"),
    Column("created_change", BigInteger, nullable=False),
    Column("change_num", BigInteger, nullable=False),  # last change of the folder itself
    Column("content_change", BigInteger, nullable=False),  # last change of any item in it
    Column("item_count", BigInteger, nullable=False, server_default="0"),
    Column("unseen_count", BigInteger, nullable=False, server_default="0"),
    Column("size", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("mailbox_id", "path"),
    UniqueConstraint("mailbox_id", "role"),
    Index("ix_folders_mailbox_change", "mailbox_id", "change_num"),
)

items = Table(
    "items",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, nullable=False),
    Column("mailbox_id", ID, ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False),
    Column("folder_id", ID, ForeignKey("folders.id"), nullable=False),
    Column("uid", BigInteger, nullable=False),
    Column("created_change", BigInteger, nullable=False),
    Column("change_num", BigInteger, nullable=False),
    # message | event | contact | task | note
    Column("kind", String(16), nullable=False, server_default="message"),
    # Resource name for DAV (``abc.ics``) or a client id; unique per folder when set.
    Column("name", String(512), nullable=True),
    Column("flags", Integer, nullable=False, server_default="0"),  # bit set, see store.flags
    Column("keywords", Text, nullable=False, server_default=""),  # " kw1 kw2 " (IMAP atoms never hold spaces)
    Column("internal_date", BigInteger, nullable=False),
    Column("internal_tz", SmallInteger, nullable=False, server_default="0"),  # minutes east of UTC
    Column("size", BigInteger, nullable=False),
    Column("blob_id", String(64), nullable=False),  # sha256 hex of the source bytes
    # Parsed once at ingest (formats.mime), so that listings never re-parse.
    Column("sent_date", BigInteger, nullable=True),
    Column("subject", Text, nullable=False, server_default=""),
    Column("from_addr", String(320), nullable=False, server_default=""),
    Column("from_name", Text, nullable=False, server_default=""),
    Column("to_addrs", Text, nullable=False, server_default=""),
    Column("cc_addrs", Text, nullable=False, server_default=""),
    Column("message_id", String(998), nullable=True),
    Column("in_reply_to", Text, nullable=False, server_default=""),
    Column("refs", Text, nullable=False, server_default=""),
    Column("has_attachments", Boolean, nullable=False, server_default="0"),
    Column("preview", Text, nullable=False, server_default=""),
    Column("structure", LargeBinary, nullable=True),  # formats.mime.dumps()
    # IMAP ENVELOPE and BODYSTRUCTURE rendered at ingest, valid only while
    # imap_render equals formats.mime.RENDER_VERSION (migration 0012).
    Column("imap_envelope", LargeBinary, nullable=True),
    Column("imap_bodystructure", LargeBinary, nullable=True),
    Column("imap_render", SmallInteger, nullable=True),
    # The size IMAP sends (bare LFs sent as CRLF); NULL: the same as size (migration 0014).
    Column("imap_size", BigInteger, nullable=True),
    # Groupware objects (events, tasks, contacts): the iCalendar/vCard UID, and the
    # span an event occupies (recurring: up to its last instance; NULL = unbounded),
    # so that time-range queries are index range scans (migration 0003).
    Column("object_uid", String(512), nullable=True),
    Column("start_time", BigInteger, nullable=True),
    Column("end_time", BigInteger, nullable=True),
    UniqueConstraint("folder_id", "uid"),
    UniqueConstraint("folder_id", "name"),
    Index("ix_items_mailbox_change", "mailbox_id", "change_num"),
    Index("ix_items_folder_change", "folder_id", "change_num"),
    Index("ix_items_folder_blob", "folder_id", "blob_id"),
    Index("ix_items_mailbox_message_id", "mailbox_id", "message_id"),
    Index("ix_items_blob", "blob_id"),
    Index("ix_items_folder_object_uid", "folder_id", "object_uid"),
    Index("ix_items_folder_start", "folder_id", "start_time"),
)

item_props = Table(
    "item_props",
    metadata,
    Column("item_id", ID, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    # A MAPI property tag ("0x1000001F") or a named property ("{GUID}/name"), or a protocol key.
    Column("name", String(255), primary_key=True),
    Column("value", Text, nullable=False),  # JSON
)

folder_props = Table(
    "folder_props",
    metadata,
    Column("folder_id", ID, ForeignKey("folders.id", ondelete="CASCADE"), primary_key=True),
    # A DAV property in Clark notation ("{DAV:}displayname") or a protocol key.
    Column("name", String(255), primary_key=True),
    Column("value", Text, nullable=False),  # JSON
)

tombstones = Table(
    "tombstones",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, nullable=False),
    Column("mailbox_id", ID, ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False),
    Column("change_num", BigInteger, nullable=False),
    Column("kind", String(8), nullable=False),  # item | folder
    Column("object_id", ID, nullable=False),  # items.id or folders.id that went away
    Column("folder_id", ID, nullable=True),  # the folder it left (items) or the folder itself
    Column("uid", BigInteger, nullable=True),
    Column("name", String(1024), nullable=True),  # DAV resource name, or folder path
    Column("created", BigInteger, nullable=True),  # unix time; pruned after store.tombstone_days
    Index("ix_tombstones_mailbox_change", "mailbox_id", "change_num"),
    Index("ix_tombstones_folder_change", "folder_id", "change_num"),
    Index("ix_tombstones_created", "created"),
)

# ------------------------------------------------------------------ full-text index

# The text of an item for SEARCH BODY/TEXT, extracted once at delivery
# (formats.mime.extract_text). Substring search is served by an index on it:
# on SQLite a word index (FTS5 tables of migration 0013, fed by the background
# indexer; there ``text`` holds the zlib-compressed text, store/fulltext.py),
# on PostgreSQL a pg_trgm GIN index (migration 0002). Neither is in this metadata.
item_text = Table(
    "item_text",
    metadata,
    Column("item_id", ID, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("mailbox_id", ID, nullable=False, index=True),
    Column("text", Text, nullable=False),
    # SQLite: 0 until the background indexer has put the row into the word index
    # (migration 0006); searches scan the few pending rows directly.
    Column("indexed", Boolean, nullable=False, server_default="1"),
    Index(
        "ix_item_text_pending", "item_id", sqlite_where=text("indexed = 0"), postgresql_where=text("indexed = false")
    ),
)

# ------------------------------------------------------------------ mail transport

dkim_keys = Table(
    "dkim_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("domain_id", ID, ForeignKey("domains.id", ondelete="CASCADE"), nullable=False),
    Column("selector", String(63), nullable=False),
    Column("algorithm", String(16), nullable=False),  # rsa-sha256 | ed25519-sha256
    Column("private_key", Text, nullable=False),  # PEM
    Column("public_key", Text, nullable=False),  # base64, as published in the p= tag
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("created", BigInteger, nullable=False),
    UniqueConstraint("domain_id", "selector"),
)

queue_messages = Table(
    "queue_messages",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, nullable=True),  # NULL for DSNs and other server-made mail
    Column("sender", String(320), nullable=False),  # envelope MAIL FROM; "" is the null sender
    Column("blob_id", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),  # give up (bounce) after this
    Column("envid", String(100), nullable=True),  # RFC 3461 ENVID
    Column("ret", String(4), nullable=True),  # RFC 3461 RET=FULL|HDRS
    Column("account_id", ID, nullable=True),  # who submitted it
    Column("delay_warned", Boolean, nullable=False, server_default="0"),
    Index("ix_queue_messages_blob", "blob_id"),
)

queue_recipients = Table(
    "queue_recipients",
    metadata,
    Column("id", ID, primary_key=True),
    Column("message_id", ID, ForeignKey("queue_messages.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("recipient", String(320), nullable=False),
    Column("domain", String(255), nullable=False),  # lower-cased, for per-destination concurrency
    # pending | delivered | failed | cancelled
    Column("status", String(12), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt", BigInteger, nullable=False),
    Column("last_attempt", BigInteger, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("remote", String(255), nullable=True),  # the MX host that answered last
    Column("notify", String(40), nullable=True),  # RFC 3461 NOTIFY
    Column("orcpt", String(500), nullable=True),  # RFC 3461 ORCPT
    Column("finished", BigInteger, nullable=True),
    Index("ix_queue_recipients_due", "status", "next_attempt"),
)

# ------------------------------------------------------------------ administration

# Who did what, when, from where: every administrative change (CLI, API, console).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", ID, primary_key=True),
    Column("at", BigInteger, nullable=False, index=True),
    Column("actor", String(320), nullable=False),  # admin name, user address, or "cli:<unix user>"
    Column("org_id", ID, nullable=True, index=True),  # the organisation concerned, for scoped views
    Column("action", String(64), nullable=False),  # "user.create", "domain.delete", ...
    Column("target", String(320), nullable=False, server_default=""),
    Column("detail", Text, nullable=False, server_default=""),  # JSON, never secrets
    Column("client", String(64), nullable=False, server_default=""),  # client address
)

# API tokens for scripts: only a hash of the token is kept.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("admin_id", ID, ForeignKey("admins.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex of the secret
    Column("created", BigInteger, nullable=False),
    Column("last_used", BigInteger, nullable=True),
    Column("expires", BigInteger, nullable=True),
)

# The domains a domain administrator holds (one or more, all of its organisation).
admin_domains = Table(
    "admin_domains",
    metadata,
    Column("admin_id", ID, ForeignKey("admins.id", ondelete="CASCADE"), primary_key=True),
    Column("domain_id", ID, ForeignKey("domains.id", ondelete="CASCADE"), primary_key=True, index=True),
)

# ------------------------------------------------------------------------ mail rules

# Sieve scripts (RFC 5228/5804): a user's own (account_id set) or a domain's global
# ones (account_id NULL). A domain script with phase "before"/"after" runs around
# every user's script of that domain; phase "" is only reachable by `include :global`.
sieve_scripts = Table(
    "sieve_scripts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True),
    Column("domain_id", ID, ForeignKey("domains.id", ondelete="CASCADE"), nullable=True),
    Column("name", String(255), nullable=False),
    Column("content", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default="0"),
    Column("phase", String(8), nullable=False, server_default=""),
    Column("updated", BigInteger, nullable=False),
    UniqueConstraint("account_id", "name"),
    UniqueConstraint("domain_id", "name"),
    CheckConstraint("(account_id IS NULL) <> (domain_id IS NULL)", name="owner"),
    CheckConstraint("phase in ('', 'before', 'after')", name="phase"),
)

# Out-of-office (one per account): written by the self-service page, the CLI and,
# later, ActiveSync/EWS; delivery applies it as a vacation rule beside the user's script.
out_of_office = Table(
    "out_of_office",
    metadata,
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("enabled", Boolean, nullable=False, server_default="0"),
    Column("start", BigInteger, nullable=True),  # epoch seconds; NULL = open-ended
    Column("end", BigInteger, nullable=True),
    Column("subject", String(255), nullable=False, server_default=""),
    Column("internal_message", Text, nullable=False, server_default=""),
    Column("external_message", Text, nullable=False, server_default=""),
    Column("internal_only", Boolean, nullable=False, server_default="0"),
    Column("updated", BigInteger, nullable=False),
)

# Forwarding of every incoming message (one per account), kept or not.
mail_forwards = Table(
    "mail_forwards",
    metadata,
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, index=True),
    Column("targets", Text, nullable=False),  # comma-separated addresses
    Column("keep", Boolean, nullable=False, server_default="1"),
    Column("updated", BigInteger, nullable=False),
)

# Per-account memory of the rules engine: vacation responses sent (RFC 5230 §4.2,
# one per sender and handle per period) and duplicate ids (RFC 7352). ``key`` is a
# sha256 hex of what is tracked; rows past ``expires`` are dead and get pruned.
sieve_tracking = Table(
    "sieve_tracking",
    metadata,
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), primary_key=True),  # vacation | duplicate
    Column("key", String(64), primary_key=True),
    Column("expires", BigInteger, nullable=False, index=True),
)

# ------------------------------------------------------------------------ folder sharing (IMAP ACL, METADATA)

# Rights on a folder (RFC 4314 letters, canonical order "lrswipkxtea"), one row per
# grantee: "account:<id>" (account_id set, so the grant goes with the account) or
# "anyone" (everyone of the folder's organisation; never another organisation).
# The owner's rights are implicit (all) and never stored.
folder_acl = Table(
    "folder_acl",
    metadata,
    Column("folder_id", ID, ForeignKey("folders.id", ondelete="CASCADE"), primary_key=True),
    Column("grantee", String(64), primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("rights", String(32), nullable=False),
    Index("ix_folder_acl_org_id_grantee", "org_id", "grantee"),
)

# A user's IMAP subscriptions to folders of other mailboxes (their own folders keep
# theirs in ``folders.subscribed``, which is the owner's).
shared_subscriptions = Table(
    "shared_subscriptions",
    metadata,
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("folder_id", ID, ForeignKey("folders.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False),
)

# Server entries of IMAP METADATA (RFC 5464 §3.2), per organisation: "/shared/..."
# entries under owner "shared", "/private/..." ones under "account:<id>" (account_id
# set). Mailbox entries live in ``folder_props`` (kastell.store.metadata).
server_metadata = Table(
    "server_metadata",
    metadata,
    Column("org_id", ID, ForeignKey("organisations.id"), primary_key=True),
    Column("owner", String(64), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("value", LargeBinary, nullable=False),
)

# ------------------------------------------------------------------------ LDAP / Active Directory

# One LDAP source per organisation (kastell.directory.ldap): where its users and
# groups come from, and whom logins of those users are passed through to. The
# service account's password is encrypted with the installation key ``ldap.key``
# (AES-GCM, never stored in clear); ``sync_interval`` 0 means manual sync only.
ldap_sources = Table(
    "ldap_sources",
    metadata,
    Column("id", ID, primary_key=True),
    Column("org_id", ID, ForeignKey("organisations.id"), nullable=False, unique=True),
    Column("url", String(1024), nullable=False),  # ldap://host[:port] or ldaps://host[:port]
    Column("starttls", Boolean, nullable=False, server_default="0"),
    Column("ca_cert", Text, nullable=True),  # PEM of the CA to trust (default: the system's)
    Column("bind_dn", String(1024), nullable=False, server_default=""),
    Column("bind_password", Text, nullable=False, server_default=""),  # base64 nonce+AES-GCM ciphertext
    Column("base_dn", String(1024), nullable=False),
    Column("user_filter", String(1024), nullable=False),
    Column("mail_attr", String(64), nullable=False),
    Column("name_attr", String(64), nullable=False),
    Column("id_attr", String(64), nullable=False),  # entryUUID (OpenLDAP), objectGUID (AD)
    Column("group_base", String(1024), nullable=True),  # NULL: the base DN
    Column("group_filter", String(1024), nullable=True),  # NULL: groups are not synced
    Column("member_attr", String(64), nullable=False),
    Column("sync_interval", Integer, nullable=False, server_default="0"),  # seconds, 0 = manual
    Column("enabled", Boolean, nullable=False, server_default="1"),
    Column("last_sync", BigInteger, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
)

# Accounts that came from an LDAP source: their entry (DN, immutable external id).
# An account linked here logs in by a bind to the directory, never with a local hash.
ldap_accounts = Table(
    "ldap_accounts",
    metadata,
    Column("account_id", ID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", ID, ForeignKey("ldap_sources.id", ondelete="CASCADE"), nullable=False),
    Column("dn", String(1024), nullable=False),
    Column("external_id", String(255), nullable=False),
    # The sync suspended it (its entry went away); the sync reactivates only these.
    Column("suspended_by_sync", Boolean, nullable=False, server_default="0"),
    UniqueConstraint("source_id", "external_id"),
)

ldap_groups = Table(
    "ldap_groups",
    metadata,
    Column("group_id", ID, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", ID, ForeignKey("ldap_sources.id", ondelete="CASCADE"), nullable=False),
    Column("dn", String(1024), nullable=False),
    Column("external_id", String(255), nullable=False),
    UniqueConstraint("source_id", "external_id"),
)
