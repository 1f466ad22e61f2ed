"""Self-directed learning: learning an educator did elsewhere (a conference, a book study, a
webinar...) recorded with its hours and evidence, and their request that an organisation award
credit for it; and the achievement each organisation awards such credit as."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.portfolio import StoredFile
from app.models.types import UTCDateTime

#: The kinds of learning, in the order the form offers them.
LEARNING_KINDS = (
    "conference",
    "book_study",
    "webinar",
    "community_of_practice",
    "chat_series",
    "other",
)
#: Where a request stands. ``draft`` and ``withdrawn`` are the educator's to edit and submit.
REQUEST_STATES = ("draft", "submitted", "approved", "declined", "withdrawn")


class SelfDirectedSetting(Base):
    """The achievement an organisation awards approved self-directed learning as (one per
    organisation; owners and editors choose it)."""

    __tablename__ = "self_directed_setting"

    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), primary_key=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievement.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LearningRequest(Base):
    """An educator's record of learning done elsewhere, and its request for credit from one
    organisation. ``links`` is a list of ``{"url", "name"}``; the hours the educator asked for
    stay in ``hours``, what staff approved in ``approved_hours``."""

    __tablename__ = "learning_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    educator_id: Mapped[int] = mapped_column(ForeignKey("educator.id"), index=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(200), default="")
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date] = mapped_column(Date)
    hours: Mapped[float] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text, default="")
    #: The credit rules' category the educator thinks it counts in (a name), if any.
    category: Mapped[str | None] = mapped_column(String(200))
    links: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    approved_hours: Mapped[float | None] = mapped_column(Float)
    #: The reviewer's note on approval, or the reason for declining (the educator sees it).
    decision_note: Mapped[str] = mapped_column(Text, default="")
    credential_id: Mapped[str | None] = mapped_column(ForeignKey("issued_credential.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    files: Mapped[list[LearningRequestFile]] = relationship(
        back_populates="request", order_by="LearningRequestFile.id"
    )


class LearningRequestFile(Base):
    """An evidence file uploaded with a request (kept as a :class:`StoredFile`)."""

    __tablename__ = "learning_request_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("learning_request.id"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"))

    request: Mapped[LearningRequest] = relationship(back_populates="files")
    file: Mapped[StoredFile] = relationship()
