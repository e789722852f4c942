"""administration: the domains a domain administrator holds

Revision ID: 0008
Revises: 0007

Before this revision a domain administrator was scoped to its whole
organisation. So that an upgrade takes nobody's work away, each existing
domain administrator is bound to every (non-alias) domain of its organisation;
the operator narrows that down afterwards.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "admin_domains",
        sa.Column("admin_id", ID, nullable=False),
        sa.Column("domain_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["admin_id"], ["admins.id"], name=op.f("fk_admin_domains_admin_id_admins"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["domains.id"], name=op.f("fk_admin_domains_domain_id_domains"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("admin_id", "domain_id", name=op.f("pk_admin_domains")),
    )
    op.create_index(op.f("ix_admin_domains_domain_id"), "admin_domains", ["domain_id"])
    op.execute(
        "INSERT INTO admin_domains (admin_id, domain_id) "
        "SELECT admins.id, domains.id FROM admins JOIN domains ON domains.org_id = admins.org_id "
        "WHERE admins.role = 'domain' AND domains.alias_of IS NULL"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_admin_domains_domain_id"), table_name="admin_domains")
    op.drop_table("admin_domains")
