"""Staged assessment: an achievement's plan of stages, each stage of a submission, coach referrals

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 18:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "assessment_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("achievement_id", sa.Integer(), nullable=False),
        sa.Column("completeness", sa.Boolean(), nullable=False),
        sa.Column("approval", sa.Boolean(), nullable=False),
        sa.Column("due_working_days", sa.Integer(), nullable=False),
        sa.Column("remind_working_days", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=True),
        sa.Column("coach_id", sa.Integer(), nullable=True),
        sa.Column("assignment", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["achievement_id"], ["achievement.id"]),
        sa.ForeignKeyConstraint(["coach_id"], ["staff_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("achievement_id", name=op.f("uq_assessment_plan_achievement_id")),
    )
    op.create_table(
        "assessor_pool_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("achievement_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("educator_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("invited_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["achievement_id"], ["achievement.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_account.id"]),
        sa.ForeignKeyConstraint(["educator_id"], ["educator.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_assessor_pool_member_achievement_id", "assessor_pool_member", ["achievement_id"]
    )
    op.create_table(
        "assessment_stage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("remind_at", sa.DateTime(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["submission_id"], ["submission.id"]),
        sa.ForeignKeyConstraint(["assignee_id"], ["assessor_pool_member.id"]),
        sa.ForeignKeyConstraint(["decided_by"], ["staff_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_assessment_stage_submission_id", "assessment_stage", ["submission_id"])
    op.create_index("ix_assessment_stage_state", "assessment_stage", ["state"])
    op.create_index("ix_assessment_stage_due_at", "assessment_stage", ["due_at"])
    op.create_table(
        "coach_referral",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("coach_id", sa.Integer(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("referred_at", sa.DateTime(), nullable=False),
        sa.Column("released_at", sa.DateTime(), nullable=True),
        sa.Column("released_by", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submission.id"]),
        sa.ForeignKeyConstraint(["coach_id"], ["staff_account.id"]),
        sa.ForeignKeyConstraint(["released_by"], ["staff_account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_coach_referral_submission_id", "coach_referral", ["submission_id"])


def downgrade():
    op.drop_index("ix_coach_referral_submission_id", table_name="coach_referral")
    op.drop_table("coach_referral")
    op.drop_index("ix_assessment_stage_due_at", table_name="assessment_stage")
    op.drop_index("ix_assessment_stage_state", table_name="assessment_stage")
    op.drop_index("ix_assessment_stage_submission_id", table_name="assessment_stage")
    op.drop_table("assessment_stage")
    op.drop_index("ix_assessor_pool_member_achievement_id", table_name="assessor_pool_member")
    op.drop_table("assessor_pool_member")
    op.drop_table("assessment_plan")
