"""EmailMessage: mail Cairn has to send, kept until it is delivered (or has failed for good)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.issued_credential import IssuedCredential
from app.models.types import UTCDateTime


class EmailMessage(Base):
    """One message. Queued in the same transaction as what caused it, so an award is never
    stored without its notification (or the other way round); delivered afterwards."""

    __tablename__ = "email_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("issuer.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    #: The secret links of a message not sent yet, encrypted (AES-GCM, bound to ``to_address``);
    #: the bodies hold a marker in their place. Emptied once the message is sent or given up on,
    #: so a dump or backup never holds a usable link (see ``app.services.mail.emails``).
    secret: Mapped[str | None] = mapped_column(Text)
    credential_id: Mapped[str | None] = mapped_column(ForeignKey("issued_credential.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    # Declared so the unit of work inserts the credential before the message that names it.
    credential: Mapped[IssuedCredential | None] = relationship()
