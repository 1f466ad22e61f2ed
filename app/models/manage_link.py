"""ManageLink: the earner's secret link to one credential, kept only as a hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import UTCDateTime


class ManageLink(Base):
    """A link that lets whoever holds it manage one credential without signing in (make its
    page private or public, download it). Its token is random and only its SHA-256 is stored,
    so neither a database dump nor the secret key yields a working link; it expires, and the
    earner can revoke it."""

    __tablename__ = "manage_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[str] = mapped_column(ForeignKey("issued_credential.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
