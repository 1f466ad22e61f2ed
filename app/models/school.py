"""An organisation's schools, who works in each (by address), and its leaders: staff accounts
who see a school's (or the whole organisation's) aggregates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.issuer import Issuer
from app.models.staff import StaffAccount
from app.models.types import UTCDateTime


class School(Base):
    """A school (or team, or site) of an organisation."""

    __tablename__ = "school"
    __table_args__ = (UniqueConstraint("issuer_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    issuer: Mapped[Issuer] = relationship()


class SchoolMember(Base):
    """An educator of a school, by address (districts know their staff's addresses before
    those educators have a Cairn account). An address is in at most one school of an
    organisation; the educator holding it, once verified, is that school's."""

    __tablename__ = "school_member"
    __table_args__ = (UniqueConstraint("issuer_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Kept beside ``school_id`` so the one-school-per-address rule is a constraint.
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    #: The educator's job role at the school as the roster gave it (teacher, coach,
    #: administrator…), lower-case; None when the roster said nothing. Leaders filter by it.
    role: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    school: Mapped[School] = relationship()


class Leader(Base):
    """A staff account leading a school (``school_id`` set) or the whole organisation
    (``school_id`` None): they see aggregates and what educators chose to share."""

    __tablename__ = "leader"
    __table_args__ = (UniqueConstraint("issuer_id", "staff_id", "school_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_account.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    staff: Mapped[StaffAccount] = relationship()
    school: Mapped[School | None] = relationship()


#: How a PD goal's evaluation is measured: the share of the educators in scope who earned one
#: of its achievements (a percentage), credentials of its achievements earned, or enrolments in
#: its modules completed (counts).
GOAL_MEASURES = ("percent_earned", "credentials_earned", "enrolments_completed")


class PdGoal(Base):
    """One of an organisation's professional-learning goals for a school year: the need it
    answers, the goal and the standards it aligns to, the activities (modules and achievements)
    that serve it, and how it is evaluated (a measure and its target). Progress is computed
    from enrolments and credentials, never stored."""

    __tablename__ = "pd_goal"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    #: The calendar year the school year starts in (2026: the school year 2026-27).
    school_year: Mapped[int] = mapped_column(Integer)
    need: Mapped[str] = mapped_column(Text)
    goal: Mapped[str] = mapped_column(Text)
    #: Standards the goal aligns to, as people name them ("ISTE 2.7 Analyst").
    standards: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The activities: module and achievement public ids of the organisation.
    module_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    achievement_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    measure: Mapped[str] = mapped_column(String(32))
    target: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))

    def as_dict(self) -> dict[str, Any]:
        """The goal's fields as its form shows them."""
        return {
            "school_year": self.school_year, "need": self.need, "goal": self.goal,
            "standards": list(self.standards), "module_ids": list(self.module_ids),
            "achievement_ids": list(self.achievement_ids), "measure": self.measure,
            "target": self.target,
        }  # fmt: skip
