"""Educators (earners) and their email addresses, with single-use sign-in links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.types import UTCDateTime


class Educator(Base):
    """Someone who earns credentials: a teacher, coach or administrator.

    ``profile_slug`` names the public profile page (``/people/<slug>``), shown only when
    ``profile_public`` is set, and then only the credentials the educator chose to show.
    """

    __tablename__ = "educator"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What Cairn calls them (pages, mail to partners); never made from an address.
    name: Mapped[str] = mapped_column(String(200))
    #: The name signed into their credentials, exactly as they confirmed it; None until they
    #: have (then nothing is issued in their own name: they are asked first).
    credential_name: Mapped[str | None] = mapped_column(String(200))
    profile_slug: Mapped[str] = mapped_column(String(64), unique=True)
    profile_public: Mapped[bool] = mapped_column(Boolean, default=False)
    bio: Mapped[str | None] = mapped_column(Text)
    #: The confirmed address mail goes to (None, or no longer confirmed: the first confirmed).
    primary_email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    emails: Mapped[list[EducatorEmail]] = relationship(
        back_populates="educator", order_by="EducatorEmail.id"
    )


class EducatorEmail(Base):
    """An address of an educator. Credentials awarded to any *verified* address are theirs;
    school addresses come and go, personal ones last."""

    __tablename__ = "educator_email"

    id: Mapped[int] = mapped_column(primary_key=True)
    educator_id: Mapped[int] = mapped_column(ForeignKey("educator.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    educator: Mapped[Educator] = relationship(back_populates="emails")


class MagicLink(Base):
    """A single-use, short-lived sign-in (or address-confirmation) link; only its SHA-256 is
    stored. ``purpose``: ``sign_in`` or ``verify_email``."""

    __tablename__ = "magic_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    educator_id: Mapped[int | None] = mapped_column(ForeignKey("educator.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
