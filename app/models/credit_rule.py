"""An organisation's credit rules for a place its educators renew a licence: the cycle, the
hours required, categories with minimums and the achievements counted in each, and conversion
rates from CEUs, points and micro-credentials."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.issuer import Issuer
from app.models.types import UTCDateTime


class CreditRule(Base):
    """One renewal's rules. ``categories`` is a list of ``{"name", "minimum", "achievements":
    [achievement public ids]}``; ``conversions`` maps ``ceu``, ``points`` and
    ``micro_credential`` to hours (the hours one of each counts for)."""

    __tablename__ = "credit_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    cycle_years: Mapped[int] = mapped_column(Integer)
    #: The first day of a cycle; cycles follow each other every ``cycle_years`` from it.
    cycle_start: Mapped[date] = mapped_column(Date)
    hours_required: Mapped[float] = mapped_column(Float)
    categories: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    conversions: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    issuer: Mapped[Issuer] = relationship()
