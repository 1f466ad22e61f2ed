"""Staged assessment of portfolio evidence: an achievement's plan (which stages, how many
working days each may take) and each stage a submission goes through, with its due time,
decision and per-criterion feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import UTCDateTime

#: The stages, in the order a submission meets them (``completeness`` and ``approval`` are
#: optional per achievement; ``assessment`` always happens).
STAGES = ("completeness", "assessment", "approval")
#: Where a stage stands: waiting for its reviewer, passed on, or sent back to the educator.
STAGE_STATES = ("open", "passed", "returned", "not_yet")
#: An assessor's rating of one rubric criterion.
RATINGS = ("demonstrated", "not_yet")


class AssessmentPlan(Base):
    """The stages an achievement's submissions go through (one row per achievement that opts
    in; achievements without one keep the single review)."""

    __tablename__ = "assessment_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievement.id"), unique=True)
    completeness: Mapped[bool] = mapped_column(Boolean, default=True)
    approval: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Working days (Monday to Friday) each stage may take, and how many before the due time
    #: the reminder goes out.
    due_working_days: Mapped[int] = mapped_column(Integer, default=5)
    remind_working_days: Mapped[int] = mapped_column(Integer, default=1)
    #: Rounds an educator may have assessed before a "not yet" refers them to the coach
    #: (``None``: no limit), and the staff member who coaches them.
    max_attempts: Mapped[int | None] = mapped_column(Integer)
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    #: How stages are given to the assessor pool: ``round_robin`` or ``load`` (fewest open).
    assignment: Mapped[str] = mapped_column(String(16), default="round_robin")
    #: Percent of assessments scored by two assessors blind (0: none), and the percent
    #: agreement with a calibration set's reference ratings a peer needs to become active.
    double_share: Mapped[int] = mapped_column(Integer, default=0)
    training_threshold: Mapped[int] = mapped_column(Integer, default=80)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def stages(self) -> tuple[str, ...]:
        """The stages of this plan, in order."""
        return tuple(
            s
            for s in STAGES
            if (s != "completeness" or self.completeness) and (s != "approval" or self.approval)
        )


ASSIGNMENTS = ("round_robin", "load")
#: ``training``: a peer who accepted and is rating the calibration set before taking work.
POOL_STATES = ("invited", "training", "active", "removed")


class AssessorPoolMember(Base):
    """Someone who assesses an achievement's submissions: a staff member of its issuer, or an
    educator who holds the achievement (a peer assessor, invited, active once they accept)."""

    __tablename__ = "assessor_pool_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievement.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    educator_id: Mapped[int | None] = mapped_column(ForeignKey("educator.id"))
    state: Mapped[str] = mapped_column(String(16), default="active")
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A lead assessor decides the assessments two assessors disagreed on (staff only).
    lead: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Percent agreement with the calibration set's reference ratings, once a peer has rated it.
    training_agreement: Mapped[int | None] = mapped_column(Integer)
    trained_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AssessmentStage(Base):
    """One stage of one round of a submission: opened when the submission reaches it, due
    some working days later, decided by a staff member. ``ratings`` maps rubric criterion ids
    to ``{"rating": "demonstrated" | "not_yet", "feedback": "..."}`` (assessment only)."""

    __tablename__ = "assessment_stage"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    #: The round: 1 for the first submission, one more each time it is sent again.
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    remind_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    feedback: Mapped[str] = mapped_column(Text, default="")
    ratings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The pool member the stage is assigned to (``None``: any of the issuer's reviewers).
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("assessor_pool_member.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The pool member who decided it (a peer assessor has no staff account).
    decided_by_member: Mapped[int | None] = mapped_column(ForeignKey("assessor_pool_member.id"))
    #: Calibration: a second assessor scores the same stage blind (``None``: a single score);
    #: ``disputed_at`` is set when their ratings differ, and a lead assessor decides.
    second_id: Mapped[int | None] = mapped_column(ForeignKey("assessor_pool_member.id"))
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BlindRating(Base):
    """One assessor's ratings of a stage scored by two (neither sees the other's until both are
    in); ``ratings`` has the shape of :attr:`AssessmentStage.ratings`."""

    __tablename__ = "blind_rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("assessment_stage.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("assessor_pool_member.id"))
    ratings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    feedback: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalibrationItem(Base):
    """A past submission staff chose to train peer assessors on, with its reference rating of
    each rubric criterion (criterion id to ``demonstrated`` or ``not_yet``)."""

    __tablename__ = "calibration_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievement.id"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"))
    reference: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CalibrationAnswer(Base):
    """A peer assessor's ratings of one calibration item (criterion id to rating)."""

    __tablename__ = "calibration_answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("calibration_item.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("assessor_pool_member.id"), index=True)
    ratings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CoachReferral(Base):
    """A submission referred to a coach after its last allowed "not yet": it stays locked (the
    educator cannot send it again) until the coach releases it."""

    __tablename__ = "coach_referral"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    #: The round whose "not yet" referred it: rounds after a release count afresh from here.
    attempt: Mapped[int] = mapped_column(Integer)
    referred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    note: Mapped[str] = mapped_column(Text, default="")
