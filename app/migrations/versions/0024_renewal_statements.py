"""Renewal statements: the signed statements an educator or staff made, kept for the public
address that verifies them

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 20:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "renewal_statement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("educator_id", sa.Integer(), nullable=True),
        sa.Column("recipient_email", sa.String(length=320), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("rule_public_id", sa.String(length=36), nullable=True),
        sa.Column("rule_name", sa.String(length=200), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("total_hours", sa.Float(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("made_by", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.ForeignKeyConstraint(["educator_id"], ["educator.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_id"),
    )
    op.create_index("ix_renewal_statement_issuer_id", "renewal_statement", ["issuer_id"])
    op.create_index("ix_renewal_statement_educator_id", "renewal_statement", ["educator_id"])


def downgrade():
    op.drop_index("ix_renewal_statement_educator_id", table_name="renewal_statement")
    op.drop_index("ix_renewal_statement_issuer_id", table_name="renewal_statement")
    op.drop_table("renewal_statement")
