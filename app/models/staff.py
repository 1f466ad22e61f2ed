"""Staff accounts, their per-issuer roles, one-time tokens for password reset, and invitations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.issuer import Issuer
from app.models.types import UTCDateTime

#: Roles, each including the powers of those after it.
ROLES = ("owner", "editor", "awarder", "viewer")


class StaffAccount(Base):
    """Someone who works in issuer workspaces. ``is_admin`` may create organisations."""

    __tablename__ = "staff_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    memberships: Mapped[list[Membership]] = relationship(back_populates="staff")


class Membership(Base):
    """A staff account's role in one issuer."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("staff_id", "issuer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_account.id"), index=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    staff: Mapped[StaffAccount] = relationship(back_populates="memberships")
    issuer: Mapped[Issuer] = relationship()


class AccountToken(Base):
    """A single-use token (only its SHA-256 is stored) for a password reset or an invitation."""

    __tablename__ = "account_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff: Mapped[StaffAccount] = relationship()


class StaffInvitation(Base):
    """An owner's invitation for an email address to work in an issuer with a role.

    Nobody becomes a member until the invitation is accepted: by choosing a password (an
    address with no account yet) or, signed in as the account the address belongs to, with the
    accept button. Only the SHA-256 of the emailed token is stored. An invitation is pending
    until it is accepted, declined, revoked or replaced by a newer one (then its token changes),
    and it expires at ``expires_at``.
    """

    __tablename__ = "staff_invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    #: The name the owner gave, used only if the invitation creates an account (an existing
    #: account keeps its own name, which the inviting owner never sees before acceptance).
    name: Mapped[str] = mapped_column(String(200))
    #: The workspace role given on acceptance; None for an invitation to lead only (a leader
    #: needs no workspace membership).
    role: Mapped[str | None] = mapped_column(String(16))
    #: An invitation to lead: ``organisation`` (the whole organisation) or ``school`` (the
    #: school ``leader_school_id``; None once that school was removed, and then the invitation
    #: is withdrawn); None for an ordinary staff invitation.
    leader_scope: Mapped[str | None] = mapped_column(String(16))
    leader_school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The account that accepted (the one the address belongs to).
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    issuer: Mapped[Issuer] = relationship()

    @property
    def is_open(self) -> bool:
        """Neither accepted, declined nor revoked (it may still have expired)."""
        return self.accepted_at is None and self.declined_at is None and self.revoked_at is None
