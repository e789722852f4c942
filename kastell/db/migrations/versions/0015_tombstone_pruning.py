"""tombstones are pruned after a retention time

Revision ID: 0015
Revises: 0014

Every deleted or moved item left a tombstone forever (QRESYNC's VANISHED,
sync-collection's 404s read them), so a busy mailbox's tombstone table only
grew. From here on a tombstone records when it was made (``created``), the
server deletes those older than ``store.tombstone_days``, and each mailbox
remembers the highest change number whose tombstones may be gone
(``tombstones_below``): a client asking for changes since before it gets what
the protocol offers for an expired state (QRESYNC: VANISHED computed from the
UIDs that are left; sync-collection: 403 valid-sync-token, a full resync).
Tombstones from before this migration count as made now.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tombstones", sa.Column("created", sa.BigInteger(), nullable=True))
    op.execute(sa.text("UPDATE tombstones SET created = :now").bindparams(now=int(time.time())))
    op.add_column("mailboxes", sa.Column("tombstones_below", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_index("ix_tombstones_created", "tombstones", ["created"])


def downgrade() -> None:
    op.drop_index("ix_tombstones_created", table_name="tombstones")
    with op.batch_alter_table("mailboxes") as batch:
        batch.drop_column("tombstones_below")
    with op.batch_alter_table("tombstones") as batch:
        batch.drop_column("created")
