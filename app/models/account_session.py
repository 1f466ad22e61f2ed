"""Signed-in sessions of staff and educators, kept on the server so they can be ended there."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import UTCDateTime

#: The kinds of account a session can belong to (``account_id`` is a staff or educator id).
SESSION_KINDS = ("staff", "educator")


class AccountSession(Base):
    """One signed-in browser. The session cookie holds a random token; only its SHA-256 is
    stored, so a copy of this table signs nobody in. A session ends when ``revoked_at`` is set
    (sign-out, sign-out everywhere, a password change, a disabled account) or at
    ``expires_at``, which moves forward while the browser is in use."""

    __tablename__ = "account_session"
    __table_args__ = (Index("ix_account_session_account", "account_kind", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_kind: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: A short description of the browser ("Firefox on Windows"), for the sessions list.
    user_agent: Mapped[str] = mapped_column(String(120), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
