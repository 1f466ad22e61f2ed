"""Portfolios: the items an educator owns (responses, files, links, narratives), submissions of
items for a portfolio badge, staff reviews, and credentials imported from other issuers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.types import UTCDateTime

ITEM_KINDS = ("response", "file", "link", "narrative")
SUBMISSION_STATES = ("submitted", "changes_requested", "approved", "declined", "withdrawn")
DECISIONS = ("approve", "request_changes", "decline")


class StoredFile(Base):
    """An uploaded evidence file (type- and size-checked), kept in the database."""

    __tablename__ = "stored_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    media_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PortfolioItem(Base):
    """Something an educator made or collected. It is private to them until they agree to
    publish it (``publish``), which is what lets a credential point at its public page."""

    __tablename__ = "portfolio_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    educator_id: Mapped[int] = mapped_column(ForeignKey("educator.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(2000))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_file.id"))
    publish: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    file: Mapped[StoredFile | None] = relationship()


class Submission(Base):
    """Portfolio items an educator submits for an achievement, and where review stands."""

    __tablename__ = "submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    educator_id: Mapped[int] = mapped_column(ForeignKey("educator.id"), index=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievement.id"), index=True)
    state: Mapped[str] = mapped_column(String(24), default="submitted")
    statement: Mapped[str] = mapped_column(Text, default="")
    #: Where it came from: ``portfolio``, ``module`` (a module in review mode), ``pathway``.
    origin: Mapped[str] = mapped_column(String(16), default="portfolio")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    credential_id: Mapped[str | None] = mapped_column(ForeignKey("issued_credential.id"))

    items: Mapped[list[SubmissionItem]] = relationship(back_populates="submission")
    reviews: Mapped[list[Review]] = relationship(back_populates="submission", order_by="Review.id")


class SubmissionItem(Base):
    """One portfolio item in a submission."""

    __tablename__ = "submission_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("portfolio_item.id"))

    submission: Mapped[Submission] = relationship(back_populates="items")
    item: Mapped[PortfolioItem] = relationship()


class Review(Base):
    """A reviewer's decision on a submission: rubric levels, written feedback, and approve,
    request changes or decline. ``results`` maps rubric criterion ids to level ids."""

    __tablename__ = "review"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("staff_account.id"))
    decision: Mapped[str] = mapped_column(String(24))
    feedback: Mapped[str] = mapped_column(Text, default="")
    results: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    submission: Mapped[Submission] = relationship(back_populates="reviews")


class ImportedCredential(Base):
    """A credential from another issuer an educator keeps in their backpack, with the result
    of verifying it when it was imported."""

    __tablename__ = "imported_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    educator_id: Mapped[int] = mapped_column(ForeignKey("educator.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    issuer_name: Mapped[str] = mapped_column(String(300))
    format: Mapped[str] = mapped_column(String(16))
    document: Mapped[str] = mapped_column(Text)
    valid: Mapped[bool] = mapped_column(Boolean)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    show_on_profile: Mapped[bool] = mapped_column(Boolean, default=False)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime)
