"""IssuedCredential: a credential exactly as it was signed, plus what Cairn needs to manage it
(recipient, status-list index, revocation and suspension)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import (
    DDL,
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    case,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.achievement import AchievementVersion
from app.models.issuer import Issuer
from app.models.types import UTCDateTime

#: What a credential is at a moment, as Cairn's own records say (the one definition every list,
#: filter, count and report uses): revoked beats suspended beats expired; otherwise valid.
CredentialStatus = Literal["valid", "revoked", "suspended", "expired"]
#: The statuses in the order lists, filters and reports show them.
CREDENTIAL_STATUSES: tuple[CredentialStatus, ...] = ("valid", "revoked", "suspended", "expired")
#: The word people see for each status, on every page.
STATUS_LABELS: dict[CredentialStatus, str] = {
    "valid": "Valid",
    "revoked": "Revoked",
    "suspended": "Suspended",
    "expired": "Expired",
}


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
        # The workspace list's order (newest first, then by id, both read backwards): its first
        # page, its cursor pages and its capped count read this index alone, however many
        # credentials there are.
        # On PostgreSQL it also carries the status columns (INCLUDE, not keys), so the expired
        # and valid filters test each entry in the index and never read the 1.5 GB heap for
        # the rows they skip (most rows of a large issuer are expired).
        Index(
            "ix_issued_credential_list",
            "issuer_id",
            "issued_at",
            "id",
            postgresql_include=["valid_until", "revoked_at", "suspended_at"],
        ),
        # The API's exact recipient (`?recipient=`) across achievements: the recipient index
        # has the achievement between the issuer and the address, so it cannot seek by both.
        Index("ix_issued_credential_email", "issuer_id", "recipient_email"),
        # The revoked and suspended filters (1% of a large issuer's credentials, spread over
        # years): small partial indexes in the list's order, instead of a walk of every row.
        *(
            Index(
                f"ix_issued_credential_{status}",
                "issuer_id",
                "issued_at",
                "id",
                sqlite_where=text(f"{status}_at IS NOT NULL"),
                postgresql_where=text(f"{status}_at IS NOT NULL"),
            )
            for status in ("revoked", "suspended")
        ),
        # Search by part of an address or a name (ILIKE '%term%') on PostgreSQL: trigram
        # indexes (pg_trgm, created with them). SQLite has no such index and scans; there they
        # are empty (WHERE 0), so one schema serves both and SQLite's writes pay nothing.
        *(
            Index(
                f"ix_issued_credential_{short}_trgm",
                f"recipient_{short}",
                postgresql_using="gin",
                postgresql_ops={f"recipient_{short}": "gin_trgm_ops"},
                sqlite_where=text("0"),
            )
            for short in ("email", "name")
        ),
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
    #: The internal note staff wrote on revoking (staff and the audit log only, never public).
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    #: The reason shown on the public pages, chosen or written for the public (or none).
    revocation_public_reason: Mapped[str | None] = mapped_column(Text)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The internal note on suspending (staff and the audit log only).
    suspension_reason: Mapped[str | None] = mapped_column(Text)
    #: The suspension's reason for the public pages (or none).
    suspension_public_reason: Mapped[str | None] = mapped_column(Text)
    replaced_by_id: Mapped[str | None] = mapped_column(ForeignKey("issued_credential.id"))
    awarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    bulk_job_id: Mapped[str | None] = mapped_column(ForeignKey("bulk_job.id"), index=True)
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Listed on the earner's public profile page (their choice, from the backpack).
    show_on_profile: Mapped[bool] = mapped_column(Boolean, default=False)
    expiry_notice_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the recipient accepted it into their backpack (signed in by the award email's
    #: claim link, confirmed their name, chose its visibility); None: not yet claimed.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The credit as signed (``creditsEarned`` when recorded, else the achievement's
    #: ``creditsAvailable``) and its unit (``None``: hours, unit not stated), stored when it is
    #: issued so the hours report sums them in SQL (and the tallies by trigger) instead of
    #: parsing every document.
    credit: Mapped[float | None] = mapped_column(Float)
    credit_unit: Mapped[str | None] = mapped_column(String(16))

    issuer: Mapped[Issuer] = relationship()
    achievement_version: Mapped[AchievementVersion] = relationship()

    def status_at(self, now: datetime) -> CredentialStatus:
        """The credential's status at ``now``; :meth:`status_sql` says the same in SQL. It
        expires after its ``valid_until`` (at that very moment it is still valid), as the
        verifier has it."""
        if self.revoked_at is not None:
            return "revoked"
        if self.suspended_at is not None:
            return "suspended"
        if self.valid_until is not None and self.valid_until < now:
            return "expired"
        return "valid"

    @classmethod
    def status_sql(cls, now: datetime) -> ColumnElement[str]:
        """:meth:`status_at` as a SQL expression, for filters, counts and grouping."""
        return case(
            (cls.revoked_at.is_not(None), "revoked"),
            (cls.suspended_at.is_not(None), "suspended"),
            (and_(cls.valid_until.is_not(None), cls.valid_until < now), "expired"),
            else_="valid",
        )


# The trigram indexes need pg_trgm; the migration creates it, and this does for schemas made
# with ``create_all`` (tests).
event.listen(
    IssuedCredential.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),  # type: ignore[no-untyped-call]
)
