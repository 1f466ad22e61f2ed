"""CredentialActivity: how often a credential was looked at and shared, a counter per day and
kind. No person is recorded: no address, no browser, no cookie; only that it happened."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base

#: What is counted: the public page shown, a verification of it (the Verify page or
#: ``/api/verify``), a click on "Add to LinkedIn", a file downloaded (badge, JSON, certificate),
#: a copy delivered into a wallet (LCW or OID4VCI).
ACTIVITY_KINDS = ("view", "verify", "linkedin", "download", "wallet")


class CredentialActivity(Base):
    """How many times ``kind`` happened to one credential on one day (UTC)."""

    __tablename__ = "credential_activity"

    credential_id: Mapped[str] = mapped_column(ForeignKey("issued_credential.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
