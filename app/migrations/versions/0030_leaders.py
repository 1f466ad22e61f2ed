"""Leaders: a roster's job roles, invitations to lead (a school or the whole organisation,
with no workspace role), and the organisation's PD goals for a school year

Revision ID: 0030
Revises: 0025
Create Date: 2026-12-05 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0030"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("school_member") as batch:
        batch.add_column(sa.Column("role", sa.String(length=60), nullable=True))
    with op.batch_alter_table("staff_invitation") as batch:
        batch.alter_column("role", existing_type=sa.String(length=16), nullable=True)
        batch.add_column(sa.Column("leader_scope", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("leader_school_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_staff_invitation_leader_school_id", "school", ["leader_school_id"], ["id"]
        )
    op.create_table(
        "pd_goal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("need", sa.Text(), nullable=False),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("standards", sa.JSON(), nullable=False),
        sa.Column("module_ids", sa.JSON(), nullable=False),
        sa.Column("achievement_ids", sa.JSON(), nullable=False),
        sa.Column("measure", sa.String(length=32), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["staff_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_id"),
    )
    op.create_index("ix_pd_goal_issuer_id", "pd_goal", ["issuer_id"])


def downgrade():
    op.drop_index("ix_pd_goal_issuer_id", table_name="pd_goal")
    op.drop_table("pd_goal")
    # Invitations to lead only have no workspace role to fall back on: they go.
    op.execute("DELETE FROM staff_invitation WHERE role IS NULL")
    with op.batch_alter_table("staff_invitation") as batch:
        batch.drop_constraint("fk_staff_invitation_leader_school_id", type_="foreignkey")
        batch.drop_column("leader_school_id")
        batch.drop_column("leader_scope")
        batch.alter_column("role", existing_type=sa.String(length=16), nullable=False)
    with op.batch_alter_table("school_member") as batch:
        batch.drop_column("role")
