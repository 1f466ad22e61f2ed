"""Copies of credentials delivered into wallets, bound to the wallet's DID

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 17:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "wallet_copy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("proof_format", sa.String(length=8), nullable=False),
        sa.Column("holder_did", sa.String(length=2000), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["credential_id"], ["issued_credential.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_wallet_copy_credential_id", "wallet_copy", ["credential_id"])


def downgrade():
    op.drop_index("ix_wallet_copy_credential_id", table_name="wallet_copy")
    op.drop_table("wallet_copy")
