"""Rate-limit counters kept in the database, so every worker of a deployment shares them."""

from __future__ import annotations

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Base

#: The longest key stored as it is; longer ones are stored as a hash (see ``app.rate_limits``).
KEY_LENGTH = 500


class RateLimitCounter(Base):
    """One fixed window of one limit: ``hits`` so far, until ``expires_at`` (Unix seconds; a
    float, because the limiter counts in wall-clock seconds, not in the app's clock)."""

    __tablename__ = "rate_limit_counter"

    limit_key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
