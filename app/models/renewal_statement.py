"""A renewal statement as it was signed: an organisation's credentials of one educator in a
period, with the hours each counts for under a credit rule, kept so that the address its QR code
prints verifies it for as long as the statement is wanted."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.issuer import Issuer
from app.models.types import UTCDateTime


class RenewalStatement(Base):
    """One signed statement. ``document`` is the signed CLR 2.0 credential, byte for byte as it
    was handed out; the other columns say what it covers, for lists and the audit trail."""

    __tablename__ = "renewal_statement"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The statement's part of its public address (``/statements/<public_id>``).
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    #: The educator's account, when the address belongs to one.
    educator_id: Mapped[int | None] = mapped_column(ForeignKey("educator.id"), index=True)
    recipient_email: Mapped[str] = mapped_column(String(320))
    holder_name: Mapped[str] = mapped_column(String(200))
    #: The credit rules the hours were counted by, as named then (rules may change or go).
    rule_public_id: Mapped[str | None] = mapped_column(String(36))
    rule_name: Mapped[str | None] = mapped_column(String(200))
    period_start: Mapped[date] = mapped_column(Date)
    #: The period's last day (included).
    period_end: Mapped[date] = mapped_column(Date)
    total_hours: Mapped[float] = mapped_column(Float)
    #: The figures signed into the statement's ``evidence``, as data: holder, period, rules,
    #: ``lines`` (credential, achievement, awarded, credit, hours, category), ``categories``.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    document: Mapped[str] = mapped_column(Text)
    #: ``educator`` (from their renewal page), ``staff`` or ``cli``.
    made_by: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    issuer: Mapped[Issuer] = relationship()
