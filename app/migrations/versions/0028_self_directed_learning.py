"""Self-directed learning: educators' requests for credit for learning done elsewhere, their
evidence files, and the achievement each organisation awards that credit as

Revision ID: 0028
Revises: 0029
Create Date: 2026-12-05 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0028"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "self_directed_setting",
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("achievement_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.ForeignKeyConstraint(["achievement_id"], ["achievement.id"]),
        sa.PrimaryKeyConstraint("issuer_id"),
    )
    op.create_table(
        "learning_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("educator_id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=200), nullable=True),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_hours", sa.Float(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["educator_id"], ["educator.id"]),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.ForeignKeyConstraint(["decided_by_id"], ["staff_account.id"]),
        sa.ForeignKeyConstraint(["credential_id"], ["issued_credential.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_id"),
    )
    op.create_index("ix_learning_request_educator_id", "learning_request", ["educator_id"])
    op.create_index("ix_learning_request_issuer_id", "learning_request", ["issuer_id"])
    op.create_index("ix_learning_request_state", "learning_request", ["state"])
    op.create_table(
        "learning_request_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["learning_request.id"]),
        sa.ForeignKeyConstraint(["file_id"], ["stored_file.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_id"),
    )
    op.create_index("ix_learning_request_file_request_id", "learning_request_file", ["request_id"])


def downgrade():
    op.drop_index("ix_learning_request_file_request_id", table_name="learning_request_file")
    op.drop_table("learning_request_file")
    op.drop_index("ix_learning_request_state", table_name="learning_request")
    op.drop_index("ix_learning_request_issuer_id", table_name="learning_request")
    op.drop_index("ix_learning_request_educator_id", table_name="learning_request")
    op.drop_table("learning_request")
    op.drop_table("self_directed_setting")
