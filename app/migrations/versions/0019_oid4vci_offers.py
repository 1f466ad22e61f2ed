"""OpenID4VCI credential offers (pre-authorized code flow) and spent key-proof nonces

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 18:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "oid4vci_offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("uri_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("configurations", sa.JSON(), nullable=False),
        sa.Column("tx_code_hash", sa.String(length=64), nullable=True),
        sa.Column("tx_failures", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(), nullable=True),
        sa.Column("delivered", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["credential_id"], ["issued_credential.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uri_hash"),
        sa.UniqueConstraint("code_hash"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_oid4vci_offer_credential_id", "oid4vci_offer", ["credential_id"])
    op.create_table(
        "oid4vci_used_nonce",
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("nonce_hash"),
    )
    op.create_index("ix_oid4vci_used_nonce_expires_at", "oid4vci_used_nonce", ["expires_at"])


def downgrade():
    op.drop_index("ix_oid4vci_used_nonce_expires_at", table_name="oid4vci_used_nonce")
    op.drop_table("oid4vci_used_nonce")
    op.drop_index("ix_oid4vci_offer_credential_id", table_name="oid4vci_offer")
    op.drop_table("oid4vci_offer")
