"""StatusList: an issuer's revocation or suspension bitstring and its signed list credential."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import UTCDateTime

PURPOSES = ("revocation", "suspension")


class StatusList(Base):
    """The bits (``bits``, MSB-first) and the ``BitstringStatusListCredential`` signed when a bit
    last changed (``document``). ``version`` counts changes and makes the ETag."""

    __tablename__ = "status_list"
    __table_args__ = (UniqueConstraint("issuer_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    length: Mapped[int] = mapped_column(Integer)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(Integer, default=1)
    document: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
