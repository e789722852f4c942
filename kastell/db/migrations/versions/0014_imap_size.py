"""IMAP size of messages stored with bare LFs

Revision ID: 0014
Revises: 0013

Kastell stores a message's bytes as received; IMAP sends them with CRLF line
ends, as Dovecot does, so a message with bare LFs is larger on the wire than
in the store. Ingest records that size in ``items.imap_size`` (RFC822.SIZE);
NULL means "the same as ``size``", which is every other message and every row
from before this migration (those keep being served as stored).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("items", sa.Column("imap_size", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("imap_size")
