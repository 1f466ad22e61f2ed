"""Achievement and its immutable versions: editing an achievement adds a version, so every
credential keeps exactly the achievement it was issued for."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Base
from app.models.image import Image
from app.models.issuer import Issuer
from app.models.types import UTCDateTime


class Achievement(Base):
    """An achievement an issuer awards; its content lives in :class:`AchievementVersion`."""

    __tablename__ = "achievement"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuer.id"), index=True)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    issuer: Mapped[Issuer] = relationship()
    versions: Mapped[list[AchievementVersion]] = relationship(
        back_populates="achievement", order_by="AchievementVersion.version"
    )


class AchievementVersion(Base):
    """One version of an achievement, never changed after it is created.

    ``alignments`` holds ``{"target_name", "target_url", "target_framework", "target_code",
    "target_description", "target_type"}`` objects; ``learning_outcomes`` and ``tags`` are lists
    of strings; ``criteria_markdown`` is stored as written and sanitised when rendered.
    """

    __tablename__ = "achievement_version"
    __table_args__ = (UniqueConstraint("achievement_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievement.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    criteria_markdown: Mapped[str] = mapped_column(Text)
    criteria_url: Mapped[str | None] = mapped_column(String(500))
    learning_outcomes: Mapped[list[str]] = mapped_column(JSON, default=list)
    alignments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    achievement_type: Mapped[str] = mapped_column(String(64), default="Badge")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    credits_available: Mapped[float | None] = mapped_column(Float)
    #: The unit of ``credits_available`` (a key of ``credentials.CREDIT_UNITS``); none: hours,
    #: as versions made before units were recorded.
    credit_unit: Mapped[str | None] = mapped_column(String(16))
    default_validity_days: Mapped[int | None] = mapped_column(Integer)
    image_id: Mapped[int | None] = mapped_column(ForeignKey("image.id"))
    #: Rubric for reviewed awards, published as OB 3.0 ``resultDescription``s:
    #: ``[{"id", "name", "description", "levels": [{"id", "name", "description", "points"}]}]``.
    rubric: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: Educators may submit portfolio items for it (always reviewed by staff).
    accepts_submissions: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A pathway: holding ``pathway_required`` of ``pathway_members`` (achievement public ids)
    #: earns it, automatically or after review (``pathway_award_mode``).
    pathway_required: Mapped[int | None] = mapped_column(Integer)
    pathway_members: Mapped[list[str]] = mapped_column(JSON, default=list)
    pathway_award_mode: Mapped[str] = mapped_column(String(16), default="automatic")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))

    achievement: Mapped[Achievement] = relationship(back_populates="versions")
    image: Mapped[Image | None] = relationship()
