"""groupware objects: UID and time span columns on items

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch table rebuild): rebuilding `items` on SQLite would
    # drop the table, and its ON DELETE CASCADE children with it.
    op.add_column("items", sa.Column("object_uid", sa.String(length=512), nullable=True))
    op.add_column("items", sa.Column("start_time", sa.BigInteger(), nullable=True))
    op.add_column("items", sa.Column("end_time", sa.BigInteger(), nullable=True))
    op.create_index("ix_items_folder_object_uid", "items", ["folder_id", "object_uid"])
    op.create_index("ix_items_folder_start", "items", ["folder_id", "start_time"])


def downgrade() -> None:
    op.drop_index("ix_items_folder_start", table_name="items")
    op.drop_index("ix_items_folder_object_uid", table_name="items")
    with op.batch_alter_table("items") as batch_op:
        batch_op.drop_column("end_time")
        batch_op.drop_column("start_time")
        batch_op.drop_column("object_uid")
