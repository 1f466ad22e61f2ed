"""Individual learning plans: an educator's plan for a school year within one organisation
(vision, two to four goals aligned to the organisation's standards, chosen modules and badges),
their dated reflections, staff comments, the showcase they publish, and the organisation's
plan-completion achievement."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.issuer import Issuer
from app.models.staff import StaffAccount
from app.models.types import UTCDateTime

#: Where a plan's request for the plan-completion badge stands (none: not asked).
COMPLETION_STATES = ("requested", "approved", "declined")
#: A plan has at least two goals to be shared, showcased or completed, and never more than four.
MIN_GOALS = 2
MAX_GOALS = 4


class LearningPlan(Base):
    """An educator's plan for one school year (``2026-2027``), planned with one organisation's
    framework. Private to the educator until ``shared_at`` (the organisation's staff see it,
    without the reflections kept private) or a published showcase (only what was selected)."""

    __tablename__ = "learning_plan"
    __table_args__ = (UniqueConstraint("educator_id", "school_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    educator_id: Mapped[int] = mapped_column(ForeignKey("educator.id"), index=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    school_year: Mapped[str] = mapped_column(String(9))
    vision: Mapped[str] = mapped_column(Text, default="")
    research_question: Mapped[str | None] = mapped_column(Text)
    shared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The showcase's public address ``/showcase/<slug>``: the educator's name, the year and 48
    #: random bits, so it reads well and cannot be guessed. Kept after unpublishing.
    showcase_slug: Mapped[str | None] = mapped_column(String(120), unique=True)
    showcase_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    showcase_intro: Mapped[str] = mapped_column(Text, default="")
    #: What the educator selected for the showcase: portfolio item public ids, credential ids.
    showcase_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    showcase_credentials: Mapped[list[str]] = mapped_column(JSON, default=list)
    completion_state: Mapped[str | None] = mapped_column(String(16))
    completion_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completion_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completion_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    #: Why staff declined (shown to the educator).
    completion_reason: Mapped[str | None] = mapped_column(Text)
    completion_credential_id: Mapped[str | None] = mapped_column(ForeignKey("issued_credential.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    issuer: Mapped[Issuer] = relationship()
    goals: Mapped[list[PlanGoal]] = relationship(
        back_populates="plan", order_by="PlanGoal.position", cascade="all, delete-orphan"
    )
    reflections: Mapped[list[PlanReflection]] = relationship(
        back_populates="plan",
        order_by=lambda: (PlanReflection.written_on.desc(), PlanReflection.id.desc()),
        cascade="all, delete-orphan",
    )
    comments: Mapped[list[PlanComment]] = relationship(
        back_populates="plan", order_by="PlanComment.id", cascade="all, delete-orphan"
    )


class PlanGoal(Base):
    """One goal of a plan. ``standards`` holds ``{"target_name", "target_framework",
    "target_url"}`` objects copied from the organisation's alignments (so a goal keeps its
    standard if the achievement changes); ``modules`` and ``achievements`` are public ids of
    the organisation's; ``items`` public ids of the educator's portfolio items."""

    __tablename__ = "plan_goal"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("learning_plan.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    standards: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    modules: Mapped[list[str]] = mapped_column(JSON, default=list)
    achievements: Mapped[list[str]] = mapped_column(JSON, default=list)
    items: Mapped[list[str]] = mapped_column(JSON, default=list)
    evidence: Mapped[str] = mapped_column(Text, default="")
    target_date: Mapped[date | None] = mapped_column(Date)

    plan: Mapped[LearningPlan] = relationship(back_populates="goals")


class PlanReflection(Base):
    """A dated reflection of the educator's. Private unless ``shared`` (the organisation's
    staff see it) or ``on_showcase`` (the public showcase shows it)."""

    __tablename__ = "plan_reflection"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("learning_plan.id"), index=True)
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("plan_goal.id", ondelete="SET NULL"))
    written_on: Mapped[date] = mapped_column(Date)
    body: Mapped[str] = mapped_column(Text)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    on_showcase: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    plan: Mapped[LearningPlan] = relationship(back_populates="reflections")
    goal: Mapped[PlanGoal | None] = relationship()


class PlanComment(Base):
    """A comment on a shared plan by a staff account of its organisation (a reviewer now; a
    coach or leader, who are staff accounts too, later). The educator sees every comment."""

    __tablename__ = "plan_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("learning_plan.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_account.id"), index=True)
    #: What the author is to the educator when commenting (``staff``; ``coach``, ``leader``).
    author_role: Mapped[str] = mapped_column(String(16), default="staff")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    plan: Mapped[LearningPlan] = relationship(back_populates="comments")
    author: Mapped[StaffAccount] = relationship()


class PlanCompletionSetting(Base):
    """The achievement an organisation awards for a completed plan, on approval."""

    __tablename__ = "plan_completion_setting"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), unique=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievement.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
