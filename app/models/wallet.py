"""WalletCopy: a credential signed again bound to a wallet's DID and handed to that wallet."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base
from app.models.types import UTCDateTime

#: How a copy reached the wallet: a VC-API exchange (the Learner Credential Wallet) or the
#: OpenID for Verifiable Credential Issuance credential endpoint.
WALLET_PROTOCOLS = ("vcapi", "oid4vci")


class WalletCopy(Base):
    """One copy of a credential delivered into a wallet: the same award (same ``id``, dates and
    status entry) with ``credentialSubject.id`` set to the DID the wallet proved it controls,
    signed at delivery. Kept so the issuer can see where its credentials went and so a copy is
    never lost; revoking the original revokes every copy through the shared status entry."""

    __tablename__ = "wallet_copy"

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[str] = mapped_column(ForeignKey("issued_credential.id"), index=True)
    protocol: Mapped[str] = mapped_column(String(16))
    #: ``di`` (Data Integrity, OID4VCI's ``ldp_vc``) or ``jwt`` (VC-JWT, ``jwt_vc_json``).
    proof_format: Mapped[str] = mapped_column(String(8))
    holder_did: Mapped[str] = mapped_column(String(2000))
    #: The signed copy as delivered: compact JSON, or the compact JWS of a VC-JWT.
    document: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
