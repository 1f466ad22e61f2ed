"""Learning modules: activities with reflection prompts, enrolments, responses, and the
learning partner who confirms completion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.types import UTCDateTime

#: How a module's badge is given once its completion rules are met.
AWARD_MODES = ("automatic", "review")
#: Who may join: anyone signed in (``open``) or only those staff enrol (``cohort``).
ENROLMENT_MODES = ("open", "cohort")
#: in_progress -> (partner confirms) -> complete -> awarded, or in_review -> awarded/returned.
ENROLMENT_STATES = ("in_progress", "in_review", "awarded", "returned", "withdrawn")


class Module(Base):
    """A professional-learning module leading to an achievement."""

    __tablename__ = "module"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievement.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    learning_outcomes: Mapped[list[str]] = mapped_column(JSON, default=list)
    enrolment_mode: Mapped[str] = mapped_column(String(16), default="open")
    requires_partner: Mapped[bool] = mapped_column(Boolean, default=True)
    award_mode: Mapped[str] = mapped_column(String(16), default="automatic")
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    activities: Mapped[list[Activity]] = relationship(
        back_populates="module", order_by="Activity.position"
    )


class Activity(Base):
    """One step of a module: directions, resource links and reflection prompts."""

    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    directions: Mapped[str] = mapped_column(Text, default="")
    #: ``[{"title": str, "url": str}]``
    resources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    module: Mapped[Module] = relationship(back_populates="activities")
    prompts: Mapped[list[Prompt]] = relationship(
        back_populates="activity", order_by="Prompt.position"
    )


class Prompt(Base):
    """A reflection prompt the educator answers (markdown)."""

    __tablename__ = "prompt"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)

    activity: Mapped[Activity] = relationship(back_populates="prompts")


class Enrolment(Base):
    """An educator working through a module, with their learning partner."""

    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("module_id", "educator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("module.id"), index=True)
    educator_id: Mapped[int] = mapped_column(ForeignKey("educator.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="in_progress")
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    enrolled_by: Mapped[str] = mapped_column(String(16), default="self")
    partner_name: Mapped[str | None] = mapped_column(String(200))
    partner_email: Mapped[str | None] = mapped_column(String(320))
    partner_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    partner_invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the partner's link stops working (``PARTNER_LINK_DAYS`` after the invitation), and
    #: when the educator or staff withdrew it; either way the page says so and how to go on.
    partner_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    partner_revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    partner_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The thank-you note the educator sent their partner ("recognise your partner").
    partner_note: Mapped[str | None] = mapped_column(Text)
    partner_thanked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    credential_id: Mapped[str | None] = mapped_column(ForeignKey("issued_credential.id"))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"))

    module: Mapped[Module] = relationship()


class Response(Base):
    """An educator's answer to a prompt; also a portfolio item of theirs (``item``)."""

    __tablename__ = "response"
    __table_args__ = (UniqueConstraint("enrolment_id", "prompt_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompt.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("portfolio_item.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EnrolmentItem(Base):
    """Evidence an educator attached to an enrolment: one of their portfolio items (a file, a
    link or a narrative). Answers to prompts are linked through ``Response`` instead."""

    __tablename__ = "enrolment_item"
    __table_args__ = (UniqueConstraint("enrolment_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("portfolio_item.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
