"""Coaching: coaching types, plans with their educators and report recipients, session logs
and each educator's answer; recognition rules (coaching-cycle and learning-partner
achievements) and the learning-partner awards made

Revision ID: 0029
Revises: 0027
Create Date: 2026-12-05 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0029"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "coaching_type",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer_id", "name"),
    )
    op.create_index("ix_coaching_type_issuer_id", "coaching_type", ["issuer_id"])
    op.create_table(
        "coaching_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("team_name", sa.String(length=200), nullable=True),
        sa.Column("coach_id", sa.Integer(), nullable=False),
        sa.Column("coaching_type_id", sa.Integer(), nullable=False),
        sa.Column("face_to_face_agreed", sa.Integer(), nullable=False),
        sa.Column("virtual_agreed", sa.Integer(), nullable=False),
        sa.Column("achievement_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"]),
        sa.ForeignKeyConstraint(["coach_id"], ["staff_account.id"]),
        sa.ForeignKeyConstraint(["coaching_type_id"], ["coaching_type.id"]),
        sa.ForeignKeyConstraint(["achievement_id"], ["achievement.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_id"),
    )
    op.create_index("ix_coaching_plan_issuer_id", "coaching_plan", ["issuer_id"])
    op.create_index("ix_coaching_plan_coach_id", "coaching_plan", ["coach_id"])
    op.create_table(
        "coaching_participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("evidence_url", sa.String(length=500), nullable=True),
        sa.Column("evidence_note", sa.Text(), nullable=True),
        sa.Column("evidence_added_at", sa.DateTime(), nullable=True),
        sa.Column("evidence_confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("credential_id", sa.String(length=36), nullable=True),
        sa.Column("awarded_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["coaching_plan.id"]),
        sa.ForeignKeyConstraint(["credential_id"], ["issued_credential.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "email"),
    )
    op.create_index("ix_coaching_participant_plan_id", "coaching_participant", ["plan_id"])
    op.create_index("ix_coaching_participant_email", "coaching_participant", ["email"])
    op.create_table(
        "coaching_recipient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("report_format", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["coaching_plan.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "staff_id"),
    )
    op.create_index("ix_coaching_recipient_plan_id", "coaching_recipient", ["plan_id"])
    op.create_index("ix_coaching_recipient_staff_id", "coaching_recipient", ["staff_id"])
    op.create_table(
        "coaching_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("focus", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("private_notes", sa.Text(), nullable=False),
        sa.Column("next_steps", sa.Text(), nullable=False),
        sa.Column("evidence_links", sa.JSON(), nullable=False),
        sa.Column("logged_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["coaching_plan.id"]),
        sa.ForeignKeyConstraint(["logged_by_id"], ["staff_account.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("public_id"),
    )
    op.create_index("ix_coaching_session_plan_id", "coaching_session", ["plan_id"])
    op.create_table(
        "coaching_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["coaching_session.id"]),
        sa.ForeignKeyConstraint(["participant_id"], ["coaching_participant.id"]),
        sa.ForeignKeyConstraint(["answered_by_id"], ["educator.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "participant_id"),
    )
    op.create_index("ix_coaching_attendance_session_id", "coaching_attendance", ["session_id"])
    op.create_index(
        "ix_coaching_attendance_participant_id", "coaching_attendance", ["participant_id"]
    )
    op.create_table(
        "recognition_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_id", sa.Integer(), nullable=False),
        sa.Column("achievement_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("evidence_required", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["issuer.id"]),
        sa.ForeignKeyConstraint(["achievement_id"], ["achievement.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("achievement_id"),
    )
    op.create_index("ix_recognition_rule_issuer_id", "recognition_rule", ["issuer_id"])
    op.create_table(
        "partner_recognition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("achievement_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("awarded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["achievement_id"], ["achievement.id"]),
        sa.ForeignKeyConstraint(["credential_id"], ["issued_credential.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("achievement_id", "email"),
    )
    op.create_index(
        "ix_partner_recognition_achievement_id", "partner_recognition", ["achievement_id"]
    )


def downgrade():
    op.drop_index("ix_partner_recognition_achievement_id", table_name="partner_recognition")
    op.drop_table("partner_recognition")
    op.drop_index("ix_recognition_rule_issuer_id", table_name="recognition_rule")
    op.drop_table("recognition_rule")
    op.drop_index("ix_coaching_attendance_participant_id", table_name="coaching_attendance")
    op.drop_index("ix_coaching_attendance_session_id", table_name="coaching_attendance")
    op.drop_table("coaching_attendance")
    op.drop_index("ix_coaching_session_plan_id", table_name="coaching_session")
    op.drop_table("coaching_session")
    op.drop_index("ix_coaching_recipient_staff_id", table_name="coaching_recipient")
    op.drop_index("ix_coaching_recipient_plan_id", table_name="coaching_recipient")
    op.drop_table("coaching_recipient")
    op.drop_index("ix_coaching_participant_email", table_name="coaching_participant")
    op.drop_index("ix_coaching_participant_plan_id", table_name="coaching_participant")
    op.drop_table("coaching_participant")
    op.drop_index("ix_coaching_plan_coach_id", table_name="coaching_plan")
    op.drop_index("ix_coaching_plan_issuer_id", table_name="coaching_plan")
    op.drop_table("coaching_plan")
    op.drop_index("ix_coaching_type_issuer_id", table_name="coaching_type")
    op.drop_table("coaching_type")
