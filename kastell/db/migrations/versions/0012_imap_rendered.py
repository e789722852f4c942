"""IMAP ENVELOPE and BODYSTRUCTURE rendered at ingest

Revision ID: 0012
Revises: 0011

FETCH ENVELOPE decoded the cached MIME structure and rendered it for every
message a process had not seen yet (about half of the time of ``FETCH 1:*
(FLAGS UID RFC822.SIZE ENVELOPE)``). Ingest now stores both renderings and
the renderer's version (``formats.mime.RENDER_VERSION``). Rows from before
this migration keep NULL and are rendered on demand, as before; nothing is
back-filled here, so the upgrade is instant on any mailbox size.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("items", sa.Column("imap_envelope", sa.LargeBinary(), nullable=True))
    op.add_column("items", sa.Column("imap_bodystructure", sa.LargeBinary(), nullable=True))
    op.add_column("items", sa.Column("imap_render", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("imap_render")
        batch.drop_column("imap_bodystructure")
        batch.drop_column("imap_envelope")
