"""The core services of one data directory, opened together.

``Kastell.open(settings)`` connects the database (running migrations), the
blob store, the change bus, the directory and the mailbox store; the CLI and
the server both start here, so there is one way to get at the core.
"""

from __future__ import annotations

import functools
import ssl

from kastell.blobs.filesystem import FilesystemBlobStore
from kastell.config import Settings, parse_size
from kastell.db import migrate
from kastell.db.engine import Database
from kastell.directory.auth import Authenticator
from kastell.directory.passwords import Passwords
from kastell.directory.service import Directory
from kastell.events import ChangeBus
from kastell.store.mailstore import MailStore
from kastell.tls import server_context


class Kastell:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.blobs = FilesystemBlobStore(settings.blob_dir)
        self.events = ChangeBus()
        self.store = MailStore(db, self.blobs, self.events)
        self.directory = Directory(
            db,
            on_account_created=self.store.provision,
            default_quota=parse_size(settings.config.store.default_quota),
            subaddress_separator=settings.config.directory.subaddress_separator,
            passwords=Passwords(cache_seconds=settings.config.auth.verified_cache_seconds),
        )
        auth = settings.config.auth
        self.auth = Authenticator(
            self.directory,
            account_failures=auth.account_failures,
            ip_failures=auth.ip_failures,
            window=auth.failure_window_seconds,
            failure_delay=auth.failure_delay_seconds,
        )

    @classmethod
    async def open(cls, settings: Settings) -> Kastell:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = settings.config.database
        db = Database(
            settings.database_url,
            synchronous=database.sqlite_synchronous,
            busy_timeout_ms=database.sqlite_busy_timeout_ms,
            read_pool_size=database.read_pool_size,
        )
        try:
            await migrate.upgrade(db)
        except BaseException:
            await db.close()
            raise
        return cls(settings, db)

    @functools.cached_property
    def tls_context(self) -> ssl.SSLContext:
        """The server TLS context of every listener (HTTPS, STARTTLS, implicit TLS)."""
        return server_context(self.settings.cert_path, self.settings.key_path)

    async def close(self) -> None:
        await self.db.close()
