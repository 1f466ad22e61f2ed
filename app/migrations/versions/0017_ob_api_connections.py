"""The OB 3.0 hosts educators connect Cairn to, and what was pushed to them

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 15:30:00.000000

Client secrets, tokens and PKCE verifiers are stored sealed (AES-GCM), never in clear.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ob_host_connection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("educator_id", sa.Integer(), nullable=False),
        sa.Column("discovery_url", sa.String(length=2000), nullable=False),
        sa.Column("host_name", sa.String(length=300), nullable=False),
        sa.Column("endpoints", sa.JSON(), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(length=1000), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=True),
        sa.Column("code_verifier", sa.Text(), nullable=True),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("access_expires_at", sa.DateTime(), nullable=True),
        sa.Column("problem", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("connected_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["educator_id"], ["educator.id"],
            name=op.f("fk_ob_host_connection_educator_id_educator"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ob_host_connection")),
        sa.UniqueConstraint("public_id", name=op.f("uq_ob_host_connection_public_id")),
    )  # fmt: skip
    with op.batch_alter_table("ob_host_connection", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ob_host_connection_educator_id"), ["educator_id"], unique=False
        )
    op.create_table(
        "ob_host_push",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("message", sa.String(length=1000), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"], ["ob_host_connection.id"],
            name=op.f("fk_ob_host_push_connection_id_ob_host_connection"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ob_host_push")),
    )  # fmt: skip
    with op.batch_alter_table("ob_host_push", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ob_host_push_connection_id"), ["connection_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("ob_host_push", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ob_host_push_connection_id"))
    op.drop_table("ob_host_push")
    with op.batch_alter_table("ob_host_connection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ob_host_connection_educator_id"))
    op.drop_table("ob_host_connection")
