"""IssuedCredential: a credential exactly as it was signed, plus what Cairn needs to manage it
(recipient, status-list index, revocation and suspension)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.achievement import AchievementVersion
from app.models.issuer import Issuer
from app.models.types import UTCDateTime


class StatusAllocation(Base):
    """A status-list index an issuer has handed out. The primary key makes allocation safe
    under concurrency: two awards can never take the same index, whichever process they run in.
    An index whose award was never stored (a crash between allocating and storing) stays used:
    a few unused bits are harmless, a reused one would not be."""

    __tablename__ = "status_allocation"

    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), primary_key=True)
    status_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    allocated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IssuedCredential(Base):
    """A signed credential, stored as issued: ``document`` is the exact JSON text (Data
    Integrity) or compact JWS that was signed, and is never rewritten."""

    __tablename__ = "issued_credential"
    __table_args__ = (
        UniqueConstraint("issuer_id", "status_index"),
        Index("ix_issued_credential_recipient", "issuer_id", "achievement_id", "recipient_email"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievement.id"), index=True)
    achievement_version_id: Mapped[int] = mapped_column(ForeignKey("achievement_version.id"))
    recipient_email: Mapped[str] = mapped_column(String(320))
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    document: Mapped[str] = mapped_column(Text)
    proof_format: Mapped[str] = mapped_column(String(8))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    status_index: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspension_reason: Mapped[str | None] = mapped_column(Text)
    replaced_by_id: Mapped[str | None] = mapped_column(ForeignKey("issued_credential.id"))
    awarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    bulk_job_id: Mapped[str | None] = mapped_column(ForeignKey("bulk_job.id"), index=True)
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Listed on the earner's public profile page (their choice, from the backpack).
    show_on_profile: Mapped[bool] = mapped_column(Boolean, default=False)
    expiry_notice_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    issuer: Mapped[Issuer] = relationship()
    achievement_version: Mapped[AchievementVersion] = relationship()
