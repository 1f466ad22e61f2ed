"""ApiToken: an issuer's key to the HTTP API (only the SHA-256 of the secret is stored), and
ApiIdempotentAnswer: the first answer to a creating request, replayed for the same key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.issuer import Issuer
from app.models.staff import StaffAccount
from app.models.types import UTCDateTime

#: Every scope a token may hold, in the order the workspace lists them.
API_SCOPES = (
    "achievements:read",
    "achievements:write",
    "awards:write",
    "credentials:read",
    "credentials:revoke",
    "staff:write",
    "audit:read",
)


class ApiToken(Base):
    """A bearer token for one issuer with some scopes, made by a staff member.

    The token never does more than its creator's current role allows (checked at every use),
    so a demoted or removed creator's tokens lose the power with them. ``hint`` is the start of
    the token, kept to recognise it in lists; ``token_hash`` is the SHA-256 of the whole token.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(32))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))

    issuer: Mapped[Issuer] = relationship()
    created_by: Mapped[StaffAccount] = relationship(foreign_keys=[created_by_id])

    def is_usable(self, now: datetime) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class ApiIdempotentAnswer(Base):
    """The answer to a creating request sent with an ``Idempotency-Key``, per token: the same
    key with the same body gets this answer again; with another body, a conflict."""

    __tablename__ = "api_idempotent_answer"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of the method, path and body, so a different request under the key is noticed.
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
