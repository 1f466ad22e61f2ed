"""One bulk job issued by several workers at once (PostgreSQL: chunks claim their rows with
``FOR UPDATE SKIP LOCKED``), the coordinator's helpers, and what stays as it was on SQLite (one
worker per job); the used status indices a job keeps between chunks."""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import BulkJob, BulkRow, StatusAllocation
from app.services.awarding import bulk, status_lists
from app.services.awarding.bulk import runner
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.services.awarding.test_bulk import (
    assert_one_credential_per_ok_row,
    confirmed,
    good_rows,
    issued_for,
)

ACTOR = Actor(label="test")


def postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


needs_postgres = pytest.mark.skipif(
    not os.environ.get("CAIRN_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="row locks that other transactions skip: PostgreSQL only",
)


def with_shares(shares: int) -> Any:
    env = service_env()
    return dataclasses.replace(env, settings=dataclasses.replace(env.settings, bulk_shares=shares))


def running(job: BulkJob, lease: str = "coordinator") -> None:
    """As if a coordinator held the job (its lease fresh)."""
    job.state, job.lease, job.heartbeat_at = "running", lease, service_env().now
    db.session.commit()


def lock_rows(job_id: str, row_numbers: list[int]) -> Any:
    """Another worker's chunk: its rows locked on a connection of their own until released."""
    connection = db.engine.connect()
    transaction = connection.begin()
    locked = connection.execute(
        select(BulkRow.id)
        .where(BulkRow.job_id == job_id, BulkRow.row_number.in_(row_numbers))
        .with_for_update()
    ).all()
    assert len(locked) == len(row_numbers)
    return connection, transaction


def outcomes(job_id: str) -> dict[int, str]:
    db.session.expire_all()
    return dict(
        db.session.execute(
            select(BulkRow.row_number, BulkRow.outcome).where(BulkRow.job_id == job_id)
        ).all()
    )


def test_the_coordinator_queues_helpers_only_where_workers_can_share(
    issuer, achievement, queued
) -> None:
    job = confirmed(issuer, achievement, good_rows(3))
    done = bulk.run_job(job.id, with_shares(3))
    assert done is not None and done.state == "done"
    helpers = [("run_bulk_share", (job.id,))] * (3 if postgres() else 0)
    assert [q for q in queued if q[0] != "deliver_email"] == [("run_bulk_job", (job.id,)), *helpers]
    assert_one_credential_per_ok_row(job.id, 3)


def test_a_helper_does_nothing_unless_the_job_is_running_on_postgresql(
    issuer, achievement, queued
) -> None:
    job = confirmed(issuer, achievement, good_rows(2))  # queued, not yet taken
    assert bulk.run_share(job.id, service_env()) is False
    assert bulk.run_share("no-such-job", service_env()) is False
    running(job)
    assert bulk.run_share(job.id, service_env()) is postgres()
    # SQLite has no row locks: a job there is only ever issued by its coordinator.
    assert len(issued_for(job.id)) == (2 if postgres() else 0)


@needs_postgres
def test_a_helper_skips_rows_another_worker_holds_and_takes_them_once_released(
    issuer, achievement, queued
) -> None:
    job = confirmed(issuer, achievement, good_rows(6))
    running(job)
    connection, transaction = lock_rows(job.id, [2, 3])  # the first rows (1 is the header)
    try:
        assert bulk.run_share(job.id, service_env(), chunk_size=2) is True
        assert outcomes(job.id) == {2: "pending", 3: "pending"} | dict.fromkeys(
            range(4, 8), "issued"
        )
        job = db.session.get(BulkJob, job.id, populate_existing=True)
        assert job is not None and (job.state, job.issued_rows, job.lease) == (
            "running",
            4,
            "coordinator",
        )  # a helper adds its counts, and neither takes the lease nor finishes the job
    finally:
        transaction.rollback()  # that worker died: its rows are free again
        connection.close()
    assert bulk.run_share(job.id, service_env(), chunk_size=2) is True
    assert set(outcomes(job.id).values()) == {"issued"}
    # The coordinator's lease has run out (it died too): a new one finishes the job.
    env = service_env()
    later = env.at(env.now + timedelta(seconds=2 * bulk.lease_seconds(env)))
    finished = bulk.run_job(job.id, later, chunk_size=2)
    assert finished is not None and finished.state == "done" and finished.lease is None
    assert_one_credential_per_ok_row(job.id, 6)


@needs_postgres
@pytest.mark.parametrize("helper", ["dies", "commits"])
def test_the_coordinator_waits_for_a_helpers_chunk_and_finishes_after_it(
    helper: str, issuer, achievement, queued, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = confirmed(issuer, achievement, good_rows(4))  # rows 2-5
    connection, transaction = lock_rows(job.id, [4, 5])
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        # The coordinator issued rows 2-3 and found only the helper's locked rows left: it
        # waits. Now the helper's chunk ends: it dies (its rows are free again, and the
        # coordinator issues them) or it commits (they are no longer pending).
        waits.append(seconds)
        if transaction.is_active:
            if helper == "commits":
                connection.execute(
                    BulkRow.__table__.update()
                    .where(BulkRow.job_id == job.id, BulkRow.row_number.in_([4, 5]))
                    .values(outcome="failed", message="the helper's own chunk")
                )
                transaction.commit()
            else:
                transaction.rollback()
            connection.close()

    monkeypatch.setattr(runner.time, "sleep", sleep)
    done = bulk.run_job(job.id, service_env(), chunk_size=2)
    assert waits and done is not None and done.state == "done"
    if helper == "dies":
        assert_one_credential_per_ok_row(job.id, 4)
    else:
        assert outcomes(job.id) == {2: "issued", 3: "issued", 4: "failed", 5: "failed"}
        assert len(issued_for(job.id)) == 2


@needs_postgres
def test_a_coordinator_that_lost_its_lease_while_waiting_stops(
    issuer, achievement, queued, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = confirmed(issuer, achievement, good_rows(2))
    connection, transaction = lock_rows(job.id, [2, 3])
    try:
        monkeypatch.setattr(runner, "_renew_lease", lambda job_id, token, now: False)
        assert bulk.run_job(job.id, service_env(), chunk_size=2) is None
        assert issued_for(job.id) == []
    finally:
        transaction.rollback()
        connection.close()


def test_a_job_keeps_its_view_of_used_indices_between_chunks(
    issuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = service_env()
    known: set[int] = set()
    first = status_lists.allocate(issuer, 40, env, known)
    assert set(first) <= known and len(set(first)) == 40
    # Another worker takes indices this one does not know of: the insert refuses them anyway.
    other = status_lists.allocate(issuer, 40, env)
    reads: list[int] = []
    real = status_lists._used_indices
    monkeypatch.setattr(
        status_lists, "_used_indices", lambda issuer: reads.append(1) or real(issuer)
    )
    monkeypatch.setattr(status_lists.secrets, "randbelow", _guesses([*other, *range(2000, 2100)]))
    second = status_lists.allocate(issuer, 40, env, known)
    assert reads == []  # not read again
    assert not set(second) & (set(first) | set(other)) and len(set(second)) == 40
    stored = set(db.session.scalars(select(StatusAllocation.status_index)))
    assert set(first) | set(other) | set(second) <= stored


def _guesses(values: list[int]) -> Any:
    """``randbelow`` answering ``values`` in turn (the taken ones first)."""
    remaining = iter(values)
    return lambda bound: next(remaining)


def test_helpers_are_not_queued_by_tests_or_without_redis() -> None:
    from app.wiring import bulk_shares

    assert bulk_shares({"REDIS_URL": "redis://x/1"}) == 7
    assert bulk_shares({"REDIS_URL": "redis://x/1", "JOBS_INLINE": True}) == 0
    assert bulk_shares({}) == 0
    assert bulk_shares({"BULK_SHARES": "2"}) == 2


def test_a_chunk_claims_pending_ok_rows_in_order_after_the_cursor(
    issuer, achievement, queued
) -> None:
    job = confirmed(issuer, achievement, good_rows(4) + b"not-an-email,\n")
    claimed = runner._claim(job.id, 2, 2, row_locks=bulk.shared())  # rows 2-5 hold people
    assert [r.row_number for r in claimed] == [3, 4]
    assert [r.row_number for r in runner._claim(job.id, 4, 10, row_locks=False)] == [5]
