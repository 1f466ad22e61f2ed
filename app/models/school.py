"""An organisation's schools, who works in each (by address), and its leaders: staff accounts
who see a school's (or the whole organisation's) aggregates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.issuer import Issuer
from app.models.staff import StaffAccount
from app.models.types import UTCDateTime


class School(Base):
    """A school (or team, or site) of an organisation."""

    __tablename__ = "school"
    __table_args__ = (UniqueConstraint("issuer_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    issuer: Mapped[Issuer] = relationship()


class SchoolMember(Base):
    """An educator of a school, by address (districts know their staff's addresses before
    those educators have a Cairn account). An address is in at most one school of an
    organisation; the educator holding it, once verified, is that school's."""

    __tablename__ = "school_member"
    __table_args__ = (UniqueConstraint("issuer_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Kept beside ``school_id`` so the one-school-per-address rule is a constraint.
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    school: Mapped[School] = relationship()


class Leader(Base):
    """A staff account leading a school (``school_id`` set) or the whole organisation
    (``school_id`` None): they see aggregates and what educators chose to share."""

    __tablename__ = "leader"
    __table_args__ = (UniqueConstraint("issuer_id", "staff_id", "school_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_account.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    staff: Mapped[StaffAccount] = relationship()
    school: Mapped[School | None] = relationship()
