"""folder sharing: ACL rights (RFC 4314), subscriptions to shared folders, server METADATA (RFC 5464)

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "folder_acl",
        sa.Column("folder_id", ID, nullable=False),
        sa.Column("grantee", sa.String(length=64), nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=True),
        sa.Column("rights", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["folder_id"], ["folders.id"], name=op.f("fk_folder_acl_folder_id_folders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_folder_acl_org_id_organisations")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_folder_acl_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("folder_id", "grantee", name=op.f("pk_folder_acl")),
    )
    op.create_index(op.f("ix_folder_acl_account_id"), "folder_acl", ["account_id"])
    op.create_index("ix_folder_acl_org_id_grantee", "folder_acl", ["org_id", "grantee"])
    op.create_table(
        "shared_subscriptions",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("folder_id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_shared_subscriptions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["folder_id"], ["folders.id"], name=op.f("fk_shared_subscriptions_folder_id_folders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name=op.f("fk_shared_subscriptions_org_id_organisations")
        ),
        sa.PrimaryKeyConstraint("account_id", "folder_id", name=op.f("pk_shared_subscriptions")),
    )
    op.create_index(op.f("ix_shared_subscriptions_folder_id"), "shared_subscriptions", ["folder_id"])
    op.create_table(
        "server_metadata",
        sa.Column("org_id", ID, nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("account_id", ID, nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_server_metadata_org_id_organisations")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_server_metadata_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "owner", "name", name=op.f("pk_server_metadata")),
    )
    op.create_index(op.f("ix_server_metadata_account_id"), "server_metadata", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_server_metadata_account_id"), table_name="server_metadata")
    op.drop_table("server_metadata")
    op.drop_index(op.f("ix_shared_subscriptions_folder_id"), table_name="shared_subscriptions")
    op.drop_table("shared_subscriptions")
    op.drop_index("ix_folder_acl_org_id_grantee", table_name="folder_acl")
    op.drop_index(op.f("ix_folder_acl_account_id"), table_name="folder_acl")
    op.drop_table("folder_acl")
