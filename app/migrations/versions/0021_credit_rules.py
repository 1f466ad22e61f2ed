"""Credit units (an achievement version's creditsAvailable in clock hours, CEUs or points) and
an organisation's credit rules for renewal

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 18:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("achievement_version") as batch:
        batch.add_column(sa.Column("credit_unit", sa.String(length=16), nullable=True))
    op.create_table(
        "credit_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("cycle_years", sa.Integer(), nullable=False),
        sa.Column("cycle_start", sa.Date(), nullable=False),
        sa.Column("hours_required", sa.Float(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("conversions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_id"),
    )
    op.create_index("ix_credit_rule_issuer_id", "credit_rule", ["issuer_id"])


def downgrade():
    op.drop_index("ix_credit_rule_issuer_id", table_name="credit_rule")
    op.drop_table("credit_rule")
    with op.batch_alter_table("achievement_version") as batch:
        batch.drop_column("credit_unit")
