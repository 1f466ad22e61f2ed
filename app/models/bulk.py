"""BulkJob and BulkRow: a CSV award run, from upload and preview to per-row results."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import UTCDateTime

#: previewed -> queued -> running -> done (or failed); cancelled from previewed.
JOB_STATES = ("previewed", "queued", "running", "done", "failed", "cancelled")


class BulkJob(Base):
    """One uploaded CSV file for one achievement."""

    __tablename__ = "bulk_job"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievement.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    #: Who confirmed the job: its awards and audit events are theirs, not the system's.
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    filename: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="previewed")
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    valid_rows: Mapped[int] = mapped_column(Integer, default=0)
    issued_rows: Mapped[int] = mapped_column(Integer, default=0)
    skipped_rows: Mapped[int] = mapped_column(Integer, default=0)
    failed_rows: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # The running worker's lease: only the holder may commit chunks (see services.bulk).
    lease: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BulkRow(Base):
    """One CSV row: what it asked for, the preview's verdict, and what happened to it.

    ``verdict``: ``ok``, ``invalid`` or ``duplicate`` (checked at preview and again when run);
    ``outcome``: ``pending``, ``issued``, ``skipped`` or ``failed``.
    """

    __tablename__ = "bulk_row"
    __table_args__ = (UniqueConstraint("job_id", "row_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("bulk_job.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    narrative: Mapped[str | None] = mapped_column(Text)
    evidence_url: Mapped[str | None] = mapped_column(String(2000))
    evidence_narrative: Mapped[str | None] = mapped_column(Text)
    expires: Mapped[str | None] = mapped_column(String(40))
    verdict: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    credential_id: Mapped[str | None] = mapped_column(ForeignKey("issued_credential.id"))
