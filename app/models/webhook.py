"""Webhooks: an issuer's endpoints (what they subscribe to, their sealed signing secret), each
message to deliver, and every attempt to deliver it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.types import UTCDateTime

#: The events an endpoint may subscribe to (names fixed: receivers outside Cairn match on them).
WEBHOOK_EVENT_TYPES = (
    "credential.issued",
    "credential.claimed",
    "credential.revoked",
    "credential.suspended",
    "credential.unsuspended",
    "job.finished",
)
#: pending (waiting for its next attempt) -> delivered, or failed once the retries ran out.
DELIVERY_STATES = ("pending", "delivered", "failed")


class WebhookEndpoint(Base):
    """A URL of an issuer's that receives the events it subscribed to, signed with its secret.

    ``secret`` holds the ``whsec_`` secret sealed (AES-256-GCM, see
    :mod:`app.services.webhooks.endpoints`): a dump of the database cannot forge deliveries.
    ``event_types`` is the space-separated list of subscribed events.
    """

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    event_types: Mapped[str] = mapped_column(String(400))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    secret: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def events(self) -> tuple[str, ...]:
        """The subscribed event types, in the order of :data:`WEBHOOK_EVENT_TYPES`."""
        chosen = set(self.event_types.split())
        return tuple(kind for kind in WEBHOOK_EVENT_TYPES if kind in chosen)


class WebhookDelivery(Base):
    """One message for one endpoint: the exact body sent (and signed) on every attempt, under
    the same ``webhook-id`` (``public_id``), so a receiver can tell a retry from a new event.

    ``next_attempt_at`` is when the sweep tries it next (none once delivered or given up on);
    ``failures`` counts failed attempts since it was queued or redelivered, and picks the wait.
    """

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    endpoint: Mapped[WebhookEndpoint] = relationship()


class WebhookAttempt(Base):
    """One try at delivering a message: when, how long it took, what the receiver answered (its
    status and the start of its body) or why there was no answer."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(String(500))
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
