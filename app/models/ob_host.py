"""The OB 3.0 hosts an educator connected Cairn to (Cairn as the API's client): the host's
endpoints, Cairn's registration there and the tokens, all secrets sealed, and what was pushed
and how it went."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.educator import Educator
from app.models.types import UTCDateTime

#: A connection waiting for the educator's consent at the host, connected, or whose grant the
#: host no longer honours (revoked or expired refresh token): the educator connects again.
HOST_CONNECTION_STATES = ("pending", "connected", "reconnect")
#: A push waiting for the job runner, done, or refused (with the host's reason).
HOST_PUSH_STATES = ("queued", "pushed", "failed")


class HostConnection(Base):
    """Cairn registered as a client at another OB 3.0 host for one educator. ``endpoints`` holds
    the URLs discovery named; ``client_secret``, ``access_token``, ``refresh_token`` and
    ``code_verifier`` are sealed (AES-GCM, bound to ``public_id``), never in clear."""

    __tablename__ = "ob_host_connection"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    educator_id: Mapped[int] = mapped_column(ForeignKey("educator.id"), index=True)
    discovery_url: Mapped[str] = mapped_column(String(2000))
    host_name: Mapped[str] = mapped_column(String(300))
    endpoints: Mapped[dict[str, Any]] = mapped_column(JSON)
    client_id: Mapped[str] = mapped_column(String(255))
    client_secret: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(1000))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    #: While the educator is at the host's consent page: the SHA-256 of ``state`` and the
    #: sealed PKCE verifier; both cleared once the code is exchanged.
    state_hash: Mapped[str | None] = mapped_column(String(64))
    code_verifier: Mapped[str | None] = mapped_column(Text)
    access_token: Mapped[str | None] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    problem: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    educator: Mapped[Educator] = relationship()
    pushes: Mapped[list[HostPush]] = relationship(
        back_populates="connection",
        cascade="all, delete-orphan",
        order_by="HostPush.id.desc()",
    )


class HostPush(Base):
    """One credential (or the profile) pushed to a host: what, when, and the host's answer.
    ``item`` names it: ``issued:<id>``, ``imported:<public id>`` or ``profile``."""

    __tablename__ = "ob_host_push"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(
        ForeignKey("ob_host_connection.id", ondelete="CASCADE"), index=True
    )
    item: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    http_status: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(String(1000))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    connection: Mapped[HostConnection] = relationship(back_populates="pushes")
