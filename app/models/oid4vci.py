"""OpenID for Verifiable Credential Issuance: credential offers (pre-authorized code flow) and the
key-proof nonces already spent. Codes, tokens and nonces are stored only as their SHA-256."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import UTCDateTime


class OpenIdOffer(Base):
    """One credential offer the credential's owner made for a wallet: the secret in its
    ``credential_offer_uri`` (``uri_hash``), the pre-authorized code derived from it
    (``code_hash``, single use: ``used_at``), the optional transaction code sent by email
    (``tx_code_hash``, ``tx_failures`` wrong tries so far), the access token the code became
    (``token_hash``, ``token_expires_at``) and the configurations delivered with it."""

    __tablename__ = "oid4vci_offer"

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[str] = mapped_column(ForeignKey("issued_credential.id"), index=True)
    uri_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Credential configuration ids the offer names (``credential_configuration_ids``).
    configurations: Mapped[list[str]] = mapped_column(JSON)
    tx_code_hash: Mapped[str | None] = mapped_column(String(64))
    tx_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Configuration ids already delivered on the token (each at most once).
    delivered: Mapped[list[Any]] = mapped_column(JSON, default=list)


class OpenIdNonce(Base):
    """A ``c_nonce`` a key proof has used (nonces are issued without storing anything: they
    carry their expiry and a MAC; only spending one writes, so each works once). Rows past
    ``expires_at`` prove nothing any more and are pruned."""

    __tablename__ = "oid4vci_used_nonce"

    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
