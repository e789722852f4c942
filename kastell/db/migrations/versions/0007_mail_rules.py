"""mail rules: Sieve scripts, out-of-office, forwarding, response tracking

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sieve_scripts",
        sa.Column("id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=True),
        sa.Column("domain_id", ID, nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("phase", sa.String(length=8), server_default="", nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("(account_id IS NULL) <> (domain_id IS NULL)", name=op.f("ck_sieve_scripts_owner")),
        sa.CheckConstraint("phase in ('', 'before', 'after')", name=op.f("ck_sieve_scripts_phase")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_sieve_scripts_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domains.id"], name=op.f("fk_sieve_scripts_domain_id_domains"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_sieve_scripts_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sieve_scripts")),
        sa.UniqueConstraint("account_id", "name", name=op.f("uq_sieve_scripts_account_id_name")),
        sa.UniqueConstraint("domain_id", "name", name=op.f("uq_sieve_scripts_domain_id_name")),
    )
    op.create_index(op.f("ix_sieve_scripts_org_id"), "sieve_scripts", ["org_id"])
    op.create_table(
        "out_of_office",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=True),
        sa.Column("end", sa.BigInteger(), nullable=True),
        sa.Column("subject", sa.String(length=255), server_default="", nullable=False),
        sa.Column("internal_message", sa.Text(), server_default="", nullable=False),
        sa.Column("external_message", sa.Text(), server_default="", nullable=False),
        sa.Column("internal_only", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_out_of_office_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_out_of_office_org_id_organisations")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_out_of_office")),
    )
    op.create_index(op.f("ix_out_of_office_org_id"), "out_of_office", ["org_id"])
    op.create_table(
        "mail_forwards",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("org_id", ID, nullable=False),
        sa.Column("targets", sa.Text(), nullable=False),
        sa.Column("keep", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_mail_forwards_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_mail_forwards_org_id_organisations")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_mail_forwards")),
    )
    op.create_index(op.f("ix_mail_forwards_org_id"), "mail_forwards", ["org_id"])
    op.create_table(
        "sieve_tracking",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_sieve_tracking_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("account_id", "kind", "key", name=op.f("pk_sieve_tracking")),
    )
    op.create_index(op.f("ix_sieve_tracking_expires"), "sieve_tracking", ["expires"])


def downgrade() -> None:
    op.drop_table("sieve_tracking")
    op.drop_table("mail_forwards")
    op.drop_table("out_of_office")
    op.drop_table("sieve_scripts")
