"""VC-API exchanges: a wallet collects a credential bound to its DID (single use, 15 minutes)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 18:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "vcapi_exchange",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("challenge", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("wallet_copy_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["credential_id"], ["issued_credential.id"]),
        sa.ForeignKeyConstraint(["wallet_copy_id"], ["wallet_copy.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_vcapi_exchange_token_hash")),
    )
    op.create_index("ix_vcapi_exchange_credential_id", "vcapi_exchange", ["credential_id"])


def downgrade():
    op.drop_index("ix_vcapi_exchange_credential_id", table_name="vcapi_exchange")
    op.drop_table("vcapi_exchange")
