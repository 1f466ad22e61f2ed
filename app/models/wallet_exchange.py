"""VcApiExchange: one VC-API exchange through which a wallet (the Learner Credential Wallet)
collects a copy of a credential bound to its DID; single use, for 15 minutes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import UTCDateTime

#: ``pending``: opened, the link shown to the owner; ``requested``: the wallet asked and was
#: sent a DID Authentication request (``challenge`` set); ``completed``: a copy was delivered.
#: An exchange past ``expires_at`` is expired whatever its state says (checked at each use).
EXCHANGE_STATES = ("pending", "requested", "completed")


class VcApiExchange(Base):
    """An exchange the credential's owner opened for their wallet. Its URL carries a secret
    (256 random bits) stored here only as its SHA-256; the challenge a wallet must sign is made
    when the wallet first asks. Completed once, by the first presentation that verifies."""

    __tablename__ = "vcapi_exchange"

    #: Public id (a UUID): how the audit log and the copy refer to it; not enough to use it.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    credential_id: Mapped[str] = mapped_column(ForeignKey("issued_credential.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Who opened it (the audit label of the owner: ``educator:<id>`` or ``earner``); the copy
    #: the wallet later collects is audited in their name.
    opened_by: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    challenge: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    wallet_copy_id: Mapped[int | None] = mapped_column(ForeignKey("wallet_copy.id"), default=None)
