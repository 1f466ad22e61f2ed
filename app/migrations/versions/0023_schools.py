"""An organisation's schools, their members by address, and leaders of a school or of the
whole organisation

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 20:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "school",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_id"),
        sa.UniqueConstraint("issuer_id", "name"),
    )
    op.create_index("ix_school_issuer_id", "school", ["issuer_id"])
    op.create_table(
        "school_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer_id", "email"),
    )
    op.create_index("ix_school_member_school_id", "school_member", ["school_id"])
    op.create_index("ix_school_member_email", "school_member", ["email"])
    op.create_table(
        "leader",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_account.id"]),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer_id", "staff_id", "school_id"),
    )
    op.create_index("ix_leader_issuer_id", "leader", ["issuer_id"])
    op.create_index("ix_leader_staff_id", "leader", ["staff_id"])


def downgrade():
    op.drop_index("ix_leader_staff_id", table_name="leader")
    op.drop_index("ix_leader_issuer_id", table_name="leader")
    op.drop_table("leader")
    op.drop_index("ix_school_member_email", table_name="school_member")
    op.drop_index("ix_school_member_school_id", table_name="school_member")
    op.drop_table("school_member")
    op.drop_index("ix_school_issuer_id", table_name="school")
    op.drop_table("school")
