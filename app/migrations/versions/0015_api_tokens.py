"""API tokens and the stored answers of idempotent API requests

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 14:20:00.000000

A token is stored as the SHA-256 of its secret (shown once when made); ``hint`` keeps its
recognisable start for lists. The answers of creating requests sent with an
``Idempotency-Key`` are kept per token, so a retried request gets the first answer again.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=16), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=32), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff_account.id"],
            name=op.f("fk_api_token_created_by_id_staff_account"),
        ),
        sa.ForeignKeyConstraint(
            ["issuer_id"], ["issuer.id"], name=op.f("fk_api_token_issuer_id_issuer")
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["staff_account.id"],
            name=op.f("fk_api_token_revoked_by_id_staff_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("public_id", name=op.f("uq_api_token_public_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )  # fmt: skip
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_issuer_id"), ["issuer_id"], unique=False)
    op.create_table(
        "api_idempotent_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_token.id"], name=op.f("fk_api_idempotent_answer_token_id_api_token")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_idempotent_answer")),
        sa.UniqueConstraint("token_id", "key", name=op.f("uq_api_idempotent_answer_token_id")),
    )
    with op.batch_alter_table("api_idempotent_answer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_idempotent_answer_token_id"), ["token_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_api_idempotent_answer_created_at"), ["created_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("api_idempotent_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_idempotent_answer_created_at"))
        batch_op.drop_index(batch_op.f("ix_api_idempotent_answer_token_id"))
    op.drop_table("api_idempotent_answer")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_issuer_id"))
    op.drop_table("api_token")
