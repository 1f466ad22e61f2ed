"""Assessor pools: lead assessors, peer training on a calibration set, double blind scoring

Revision ID: 0025
Revises: 0028
Create Date: 2026-12-05 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("assessment_plan", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("double_share", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("training_threshold", sa.Integer(), nullable=False, server_default="80")
        )
    with op.batch_alter_table("assessor_pool_member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lead", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("training_agreement", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("trained_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("assessment_stage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_by_member", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("second_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("disputed_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_assessment_stage_decided_by_member_assessor_pool_member"),
            "assessor_pool_member",
            ["decided_by_member"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_assessment_stage_second_id_assessor_pool_member"),
            "assessor_pool_member",
            ["second_id"],
            ["id"],
        )
    op.create_table(
        "blind_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("rated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["stage_id"], ["assessment_stage.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["assessor_pool_member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_blind_rating_stage_id", "blind_rating", ["stage_id"])
    op.create_table(
        "calibration_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("achievement_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.JSON(), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["achievement_id"], ["achievement.id"]),
        sa.ForeignKeyConstraint(["submission_id"], ["submission.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_calibration_item_achievement_id", "calibration_item", ["achievement_id"])
    op.create_table(
        "calibration_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("answered_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["calibration_item.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["assessor_pool_member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_calibration_answer_item_id", "calibration_answer", ["item_id"])
    op.create_index("ix_calibration_answer_member_id", "calibration_answer", ["member_id"])


def downgrade():
    op.drop_index("ix_calibration_answer_member_id", table_name="calibration_answer")
    op.drop_index("ix_calibration_answer_item_id", table_name="calibration_answer")
    op.drop_table("calibration_answer")
    op.drop_index("ix_calibration_item_achievement_id", table_name="calibration_item")
    op.drop_table("calibration_item")
    op.drop_index("ix_blind_rating_stage_id", table_name="blind_rating")
    op.drop_table("blind_rating")
    with op.batch_alter_table("assessment_stage", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_assessment_stage_second_id_assessor_pool_member"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_assessment_stage_decided_by_member_assessor_pool_member"),
            type_="foreignkey",
        )
        batch_op.drop_column("disputed_at")
        batch_op.drop_column("second_id")
        batch_op.drop_column("decided_by_member")
    with op.batch_alter_table("assessor_pool_member", schema=None) as batch_op:
        batch_op.drop_column("trained_at")
        batch_op.drop_column("training_agreement")
        batch_op.drop_column("lead")
    with op.batch_alter_table("assessment_plan", schema=None) as batch_op:
        batch_op.drop_column("training_threshold")
        batch_op.drop_column("double_share")
