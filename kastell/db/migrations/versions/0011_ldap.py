"""LDAP / Active Directory sources per organisation, and the accounts and groups they brought

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ldap_sources",
        sa.Column("id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=False),
        sa.Column("starttls", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("ca_cert", sa.Text(), nullable=True),
        sa.Column("bind_dn", sa.String(length=1024), server_default="", nullable=False),
        sa.Column("bind_password", sa.Text(), server_default="", nullable=False),
        sa.Column("base_dn", sa.String(length=1024), nullable=False),
        sa.Column("user_filter", sa.String(length=1024), nullable=False),
        sa.Column("mail_attr", sa.String(length=64), nullable=False),
        sa.Column("name_attr", sa.String(length=64), nullable=False),
        sa.Column("id_attr", sa.String(length=64), nullable=False),
        sa.Column("group_base", sa.String(length=1024), nullable=True),
        sa.Column("group_filter", sa.String(length=1024), nullable=True),
        sa.Column("member_attr", sa.String(length=64), nullable=False),
        sa.Column("sync_interval", sa.Integer(), server_default="0", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("last_sync", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_ldap_sources_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ldap_sources")),
        sa.UniqueConstraint("org_id", name=op.f("uq_ldap_sources_org_id")),
    )
    op.create_table(
        "ldap_accounts",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("source_id", ID, nullable=False),
        sa.Column("dn", sa.String(length=1024), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("suspended_by_sync", sa.Boolean(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_ldap_accounts_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["ldap_sources.id"], name=op.f("fk_ldap_accounts_source_id_ldap_sources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_ldap_accounts")),
        sa.UniqueConstraint("source_id", "external_id", name=op.f("uq_ldap_accounts_source_id_external_id")),
    )
    op.create_table(
        "ldap_groups",
        sa.Column("group_id", ID, nullable=False),
        sa.Column("source_id", ID, nullable=False),
        sa.Column("dn", sa.String(length=1024), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_ldap_groups_group_id_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["ldap_sources.id"], name=op.f("fk_ldap_groups_source_id_ldap_sources"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_ldap_groups")),
        sa.UniqueConstraint("source_id", "external_id", name=op.f("uq_ldap_groups_source_id_external_id")),
    )


def downgrade() -> None:
    op.drop_table("ldap_groups")
    op.drop_table("ldap_accounts")
    op.drop_table("ldap_sources")
