"""UTC datetime columns: aware values stored as UTC and read back aware on every database; the
bind processor's memory of the last value never hands one value another's result."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from app.models.types import UTCDateTime

NOW = datetime(2026, 12, 6, 21, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_rows_sharing_a_moment_and_rows_with_their_own_are_stored_exactly(database: str) -> None:
    url = "sqlite://" if database == "sqlite" else os.environ.get("CAIRN_TEST_DATABASE_URL")
    if url is None:
        pytest.skip("PostgreSQL's run needs CAIRN_TEST_DATABASE_URL")
    metadata = MetaData()
    table = Table(
        "utc_datetime_probe",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime),
    )
    engine = create_engine(url)
    east = timezone(timedelta(hours=5, minutes=30))
    values = [
        NOW,
        NOW,  # the same object again: remembered
        NOW + timedelta(microseconds=1),
        datetime(2026, 12, 6, 21, 0, 0, 123456, tzinfo=UTC),  # equal, another object
        NOW,
        None,
        NOW.astimezone(east),  # the same moment elsewhere
        NOW,
    ]
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(
                insert(table), [{"id": n, "at": value} for n, value in enumerate(values)]
            )
            stored = connection.execute(select(table.c.at).order_by(table.c.id)).scalars().all()
        assert stored == [v.astimezone(UTC) if v is not None else None for v in values]
        assert all(v is None or v.tzinfo is UTC for v in stored)
        with engine.begin() as connection, pytest.raises(Exception, match="naive datetime"):
            connection.execute(
                insert(table), [{"id": 99, "at": NOW}, {"id": 100, "at": NOW.replace(tzinfo=None)}]
            )
    finally:
        metadata.drop_all(engine)
        engine.dispose()


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_threads_sharing_the_processor_get_their_own_values(dialect: object) -> None:
    process = UTCDateTime().bind_processor(dialect)  # type: ignore[arg-type]
    plain = UTCDateTime().process_bind_param
    moments = [NOW + timedelta(seconds=n) for n in range(8)]
    expected = {id(m): UTCDateTime().bind_processor(dialect)(m) for m in moments}  # type: ignore[arg-type]
    assert all(expected[id(m)] is not None for m in moments)
    wrong: list[object] = []

    def convert(offset: int) -> None:
        for n in range(20_000):
            moment = moments[(n + offset) % len(moments)] if n % 3 else moments[offset]
            if process(moment) != expected[id(moment)]:
                wrong.append(moment)

    threads = [threading.Thread(target=convert, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    assert plain(NOW, dialect) == NOW.replace(tzinfo=None)  # type: ignore[arg-type]
