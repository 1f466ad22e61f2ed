"""Coaching (an organisation's coaching types, coaching plans with their educators and the
leaders who receive reports, the coach's session logs and each educator's confirmation) and
the achievements an organisation awards for coaching cycles and for being a learning partner."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.issuer import Issuer
from app.models.school import School
from app.models.staff import StaffAccount
from app.models.types import UTCDateTime

#: How a session was held.
SESSION_MODES = ("face_to_face", "virtual")
#: What each leader named on a plan receives: ``summary`` (date, mode, focus, next steps) or
#: ``full`` (the same and the session notes). Never the coach's private notes.
REPORT_FORMATS = ("summary", "full")
#: An educator's answer to a logged session.
ANSWER_STATES = ("pending", "confirmed", "disputed")
#: What a recognition rule counts: confirmed coaching sessions on a plan, or colleagues'
#: checklists confirmed as their learning partner.
RULE_KINDS = ("coaching", "partner")


class CoachingType(Base):
    """One of an organisation's kinds of coaching (a plan's focus). Retired, never deleted:
    plans keep the type they were made with."""

    __tablename__ = "coaching_type"
    __table_args__ = (UniqueConstraint("issuer_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CoachingPlan(Base):
    """A coach working with some educators of a school (or a named team) on one focus, for an
    agreed number of face-to-face and virtual sessions."""

    __tablename__ = "coaching_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    #: The school, or (None) a team named in ``team_name``.
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))
    team_name: Mapped[str | None] = mapped_column(String(200))
    coach_id: Mapped[int] = mapped_column(ForeignKey("staff_account.id"), index=True)
    coaching_type_id: Mapped[int] = mapped_column(ForeignKey("coaching_type.id"))
    face_to_face_agreed: Mapped[int] = mapped_column(Integer, default=0)
    virtual_agreed: Mapped[int] = mapped_column(Integer, default=0)
    #: The coaching-cycle achievement the plan leads to (one with a ``coaching`` rule), if any.
    achievement_id: Mapped[int | None] = mapped_column(ForeignKey("achievement.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    issuer: Mapped[Issuer] = relationship()
    school: Mapped[School | None] = relationship()
    coach: Mapped[StaffAccount] = relationship()
    coaching_type: Mapped[CoachingType] = relationship()
    participants: Mapped[list[CoachingParticipant]] = relationship(
        back_populates="plan", order_by="CoachingParticipant.email"
    )
    recipients: Mapped[list[CoachingRecipient]] = relationship(
        back_populates="plan", order_by="CoachingRecipient.id"
    )


class CoachingParticipant(Base):
    """An educator of a plan, by address (the roster may name people before they have a Cairn
    account), with the evidence they added and the cycle achievement once awarded."""

    __tablename__ = "coaching_participant"
    __table_args__ = (UniqueConstraint("plan_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("coaching_plan.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    #: Evidence of the cycle the educator added (a link and a note).
    evidence_url: Mapped[str | None] = mapped_column(String(500))
    evidence_note: Mapped[str | None] = mapped_column(Text)
    evidence_added_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The coach's word that the cycle's evidence is there (instead of, or besides, the above).
    evidence_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The cycle achievement's credential, set once (the award is made exactly once).
    credential_id: Mapped[str | None] = mapped_column(ForeignKey("issued_credential.id"))
    awarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    plan: Mapped[CoachingPlan] = relationship(back_populates="participants")


class CoachingRecipient(Base):
    """A leader (a staff account leading the plan's school or the whole organisation) who
    receives the plan's session reports, in the format they want."""

    __tablename__ = "coaching_recipient"
    __table_args__ = (UniqueConstraint("plan_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("coaching_plan.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_account.id"), index=True)
    report_format: Mapped[str] = mapped_column(String(16), default="summary")

    plan: Mapped[CoachingPlan] = relationship(back_populates="recipients")
    staff: Mapped[StaffAccount] = relationship()


class CoachingSession(Base):
    """One session the coach logged. ``private_notes`` are the coach's own: never shown to
    leaders or educators, never in a report. ``evidence_links`` holds ``{"url", "label"}``."""

    __tablename__ = "coaching_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("coaching_plan.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    mode: Mapped[str] = mapped_column(String(16))
    focus: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    private_notes: Mapped[str] = mapped_column(Text, default="")
    next_steps: Mapped[str] = mapped_column(Text, default="")
    evidence_links: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    logged_by_id: Mapped[int] = mapped_column(ForeignKey("staff_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    plan: Mapped[CoachingPlan] = relationship()
    attendees: Mapped[list[CoachingAttendance]] = relationship(
        back_populates="session", order_by="CoachingAttendance.id"
    )


class CoachingAttendance(Base):
    """An educator of the plan who took part in a session, and their answer: confirmed, or
    "did not happen as logged" with a comment."""

    __tablename__ = "coaching_attendance"
    __table_args__ = (UniqueConstraint("session_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("coaching_session.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("coaching_participant.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("educator.id"))

    session: Mapped[CoachingSession] = relationship(back_populates="attendees")
    participant: Mapped[CoachingParticipant] = relationship()


class RecognitionRule(Base):
    """What earns an achievement automatically: ``coaching`` (``count`` confirmed sessions on
    a plan leading to it, and evidence when ``evidence_required``) or ``partner`` (``count``
    colleagues' checklists confirmed as their learning partner)."""

    __tablename__ = "recognition_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievement.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer)
    evidence_required: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PartnerRecognition(Base):
    """A learning-partner achievement awarded to a partner (by the address they confirmed
    with); the unique pair makes the award happen once."""

    __tablename__ = "partner_recognition"
    __table_args__ = (UniqueConstraint("achievement_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievement.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    credential_id: Mapped[str] = mapped_column(ForeignKey("issued_credential.id"))
    awarded_at: Mapped[datetime] = mapped_column(UTCDateTime)
