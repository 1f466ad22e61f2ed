"""Issuer (an organisation that awards credentials, published as an OB 3.0 Profile) and the
public half of its signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.image import Image
from app.models.types import UTCDateTime

#: Proof formats an issuer can choose for new credentials.
PROOF_FORMATS = ("di", "jwt")
#: The printable certificate's layouts an issuer can choose.
CERTIFICATE_TEMPLATES = ("classic", "modern", "minimal")
#: The certificate's accent colours, by name. A fixed palette rather than any colour: each
#: one keeps text on white at a contrast of at least 4.5:1, and the page's stylesheet can
#: name each as a class (the content security policy allows no inline styles).
CERTIFICATE_COLOURS = {
    "teal": "#2f6f6a",
    "navy": "#1f3a68",
    "burgundy": "#7a2335",
    "forest": "#2e5e2b",
    "plum": "#5b2c6f",
    "charcoal": "#33393d",
}
#: The certificate's paper: ``auto`` is US Letter for readers in a Letter region (by their
#: browser's language), A4 for everyone else.
CERTIFICATE_PAPERS = ("auto", "a4", "letter")


class Issuer(Base):
    """An organisation that issues credentials (``did:web:<host>:issuers:<slug>``).

    The slug is part of the DID, so it never changes once created.
    """

    __tablename__ = "issuer"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(320))
    description: Mapped[str | None] = mapped_column(Text)
    image_id: Mapped[int | None] = mapped_column(ForeignKey("image.id"))
    proof_format: Mapped[str] = mapped_column(String(8), default="di")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The certificate's design: not part of any signed credential, so a change applies to
    # every certificate printed from then on.
    certificate_template: Mapped[str] = mapped_column(
        String(16), default="classic", server_default="classic"
    )
    certificate_colour: Mapped[str] = mapped_column(
        String(16), default="teal", server_default="teal"
    )
    certificate_paper: Mapped[str] = mapped_column(String(8), default="auto", server_default="auto")
    signatory_name: Mapped[str | None] = mapped_column(String(200))
    signatory_title: Mapped[str | None] = mapped_column(String(200))
    signature_image_id: Mapped[int | None] = mapped_column(ForeignKey("image.id"))

    image: Mapped[Image | None] = relationship(foreign_keys=[image_id])
    signature_image: Mapped[Image | None] = relationship(foreign_keys=[signature_image_id])
    keys: Mapped[list[IssuerKey]] = relationship(
        back_populates="issuer", order_by="IssuerKey.created_at"
    )


class IssuerKey(Base):
    """The public half of one of an issuer's keys; the private half is in the key store."""

    __tablename__ = "issuer_key"
    __table_args__ = (UniqueConstraint("issuer_id", "kid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    kid: Mapped[str] = mapped_column(String(64))
    key_type: Mapped[str] = mapped_column(String(16))
    algorithm: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    public_key_multibase: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    issuer: Mapped[Issuer] = relationship(back_populates="keys")
