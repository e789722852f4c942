"""folder property bag (DAV displayname, colour, order, description, dead properties)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "folder_props",
        sa.Column("folder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["folder_id"], ["folders.id"], name=op.f("fk_folder_props_folder_id_folders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("folder_id", "name", name=op.f("pk_folder_props")),
    )


def downgrade() -> None:
    op.drop_table("folder_props")
