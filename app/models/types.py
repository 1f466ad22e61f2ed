"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite has no time zones, so values are stored
    as naive UTC and made aware again when read). Naive datetimes are refused on the way in."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def bind_processor(self, dialect: Dialect) -> Any:
        """The value as the driver gets it, remembered for the last datetime seen: the rows of a
        batch of awards carry the same moment (``env.now``) in several columns each, and on
        SQLite each was converted and then formatted as text anew (5% of a bulk job's
        process). Held by identity: the remembered value is referenced, so no other datetime
        can share its identity meanwhile; a (value, result) pair is replaced in one step, so
        threads sharing the processor never see one value with another's result."""
        convert = super().bind_processor(dialect)
        if convert is None:  # pragma: no cover - every dialect's processor is composed here
            return None
        last: list[tuple[object, Any]] = [(None, None)]

        def process(value: Any) -> Any:
            if value is None:
                return None
            remembered = last[0]
            if value is remembered[0]:
                return remembered[1]
            result = convert(value)
            last[0] = (value, result)
            return result

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
