"""Individual learning plans: plans, their goals, reflections and staff comments, and each
organisation's plan-completion achievement

Revision ID: 0027
Revises: 0024
Create Date: 2026-12-05 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0027"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "learning_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("educator_id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.String(length=9), nullable=False),
        sa.Column("vision", sa.Text(), nullable=False),
        sa.Column("research_question", sa.Text(), nullable=True),
        sa.Column("shared_at", sa.DateTime(), nullable=True),
        sa.Column("showcase_slug", sa.String(length=120), nullable=True),
        sa.Column("showcase_published_at", sa.DateTime(), nullable=True),
        sa.Column("showcase_intro", sa.Text(), nullable=False),
        sa.Column("showcase_items", sa.JSON(), nullable=False),
        sa.Column("showcase_credentials", sa.JSON(), nullable=False),
        sa.Column("completion_state", sa.String(length=16), nullable=True),
        sa.Column("completion_requested_at", sa.DateTime(), nullable=True),
        sa.Column("completion_decided_at", sa.DateTime(), nullable=True),
        sa.Column("completion_decided_by_id", sa.Integer(), nullable=True),
        sa.Column("completion_reason", sa.Text(), nullable=True),
        sa.Column("completion_credential_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["educator_id"], ["educator.id"]),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.ForeignKeyConstraint(["completion_decided_by_id"], ["staff_account.id"]),
        sa.ForeignKeyConstraint(["completion_credential_id"], ["issued_credential.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_id"),
        sa.UniqueConstraint("showcase_slug"),
        sa.UniqueConstraint("educator_id", "school_year"),
    )
    op.create_index("ix_learning_plan_educator_id", "learning_plan", ["educator_id"])
    op.create_index("ix_learning_plan_issuer_id", "learning_plan", ["issuer_id"])
    op.create_table(
        "plan_goal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("standards", sa.JSON(), nullable=False),
        sa.Column("modules", sa.JSON(), nullable=False),
        sa.Column("achievements", sa.JSON(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["learning_plan.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_goal_plan_id", "plan_goal", ["plan_id"])
    op.create_table(
        "plan_reflection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=True),
        sa.Column("written_on", sa.Date(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("on_showcase", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["learning_plan.id"]),
        sa.ForeignKeyConstraint(["goal_id"], ["plan_goal.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_reflection_plan_id", "plan_reflection", ["plan_id"])
    op.create_table(
        "plan_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("author_role", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["learning_plan.id"]),
        sa.ForeignKeyConstraint(["author_id"], ["staff_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_comment_plan_id", "plan_comment", ["plan_id"])
    op.create_index("ix_plan_comment_author_id", "plan_comment", ["author_id"])
    op.create_table(
        "plan_completion_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("achievement_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.ForeignKeyConstraint(["achievement_id"], ["achievement.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer_id"),
    )


def downgrade():
    op.drop_table("plan_completion_setting")
    op.drop_index("ix_plan_comment_author_id", table_name="plan_comment")
    op.drop_index("ix_plan_comment_plan_id", table_name="plan_comment")
    op.drop_table("plan_comment")
    op.drop_index("ix_plan_reflection_plan_id", table_name="plan_reflection")
    op.drop_table("plan_reflection")
    op.drop_index("ix_plan_goal_plan_id", table_name="plan_goal")
    op.drop_table("plan_goal")
    op.drop_index("ix_learning_plan_issuer_id", table_name="learning_plan")
    op.drop_index("ix_learning_plan_educator_id", table_name="learning_plan")
    op.drop_table("learning_plan")
