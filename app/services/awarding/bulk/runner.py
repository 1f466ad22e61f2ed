"""Running a bulk job: confirm or cancel the preview, then issue its ``ok`` rows in the
background, a chunk per transaction, through :func:`issuing.issue_many`.

One worker holds the job's lease (:func:`run_job`, the job's coordinator): it renews the lease
in each chunk's transaction, so it can commit a chunk only while the job is still its own, and
it finishes the job. A worker that dies mid-job is resumed by another
(:func:`resume_interrupted`) without duplicates.

On PostgreSQL the job is shared: each chunk claims its rows with ``FOR UPDATE SKIP LOCKED`` and
holds them until it commits, so any number of workers can issue the same job at once, never the
same row twice. The coordinator queues ``BULK_SHARES`` helper jobs (:func:`run_share`) that
claim chunks beside it; a helper that dies releases its rows with its connection, at once, and
they are claimed again. SQLite has one writer and no row locks: there the coordinator works
alone.
"""

from __future__ import annotations

import gc
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from marshmallow import ValidationError
from sqlalchemy import CursorResult, Table, bindparam, func, select, update

from app.extensions import db
from app.models import Achievement, BulkJob, BulkRow, Issuer, StaffAccount
from app.services._core import addresses, events, jobs
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, required
from app.services.awarding import issuing, signing
from app.services.awarding.bulk.csv import ParsedRow
from app.services.awarding.bulk.preview import audit_step, in_words
from app.services.awarding.issuing import AwardInput, Outcome
from app.services.mail import emails
from app.services.org.audit import SYSTEM, Actor
from schemas.errors import flat_errors

#: A worker that has not reported for this long is presumed dead; its job may be resumed.
#: The ``BULK_LEASE_SECONDS`` setting (``CAIRN_BULK_LEASE_SECONDS``) overrides it; it must stay
#: well above the time one chunk takes, or live workers would lose their jobs.
LEASE_SECONDS = 20
#: How long the coordinator waits before looking again when every row left is claimed by a
#: helper's chunk (it finishes the job once they are committed).
SHARE_POLL_SECONDS = 0.2


class LeaseLost(Exception):
    """The job was taken over by another worker before this chunk committed."""


def confirm(job: BulkJob, *, actor: Actor, env: ServiceEnv) -> BulkJob:
    """Start issuing a previewed job in the background.

    :raises Conflict: when the job is not waiting for confirmation or has nothing to issue.
    """
    if job.state != "previewed":
        raise Conflict("This job has already been confirmed or cancelled.")
    if job.valid_rows == 0:
        raise Conflict("No row in this file can be issued.")
    job.state = "queued"
    job.queued_at = env.now
    job.confirmed_by_id = actor.staff_id
    audit_step("confirm", job, actor, env, {"rows": job.valid_rows})
    db.session.commit()
    jobs.submit(env, jobs.RUN_BULK_JOB, job.id)
    return job


def cancel(job: BulkJob, *, actor: Actor, env: ServiceEnv) -> None:
    """Discard a previewed job.

    :raises Conflict: once it has been confirmed.
    """
    if job.state != "previewed":
        raise Conflict("Only a job that has not been confirmed can be cancelled.")
    job.state = "cancelled"
    job.finished_at = env.now
    audit_step("cancel", job, actor, env)
    db.session.commit()


def lease_seconds(env: ServiceEnv) -> float:
    """The lease: the ``bulk_lease_seconds`` setting (``BULK_LEASE_SECONDS``)."""
    return env.settings.bulk_lease_seconds or LEASE_SECONDS


def _take_lease(job_id: str, token: str, env: ServiceEnv) -> bool:
    now = env.now
    stale = now - timedelta(seconds=lease_seconds(env))
    taken = db.session.execute(
        update(BulkJob)
        .where(BulkJob.id == job_id, BulkJob.state.in_(("queued", "running")))
        .where(
            (BulkJob.heartbeat_at.is_(None))
            | (BulkJob.heartbeat_at < stale)
            | (BulkJob.state == "queued")
        )
        .values(state="running", heartbeat_at=now, lease=token)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def _renew_lease(job_id: str, token: str, now: datetime) -> bool:
    """Renew the lease inside the chunk's transaction: if another worker took the job over,
    this updates nothing and the chunk is rolled back instead of committed."""
    renewed = db.session.execute(
        update(BulkJob)
        .where(BulkJob.id == job_id, BulkJob.lease == token)
        .values(heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(renewed.rowcount)  # type: ignore[attr-defined]


def run_job(
    job_id: str,
    env: ServiceEnv,
    *,
    actor: Actor | None = None,
    chunk_size: int = 250,
    processes: int = 0,
) -> BulkJob | None:
    """Coordinate a job: take its lease, issue every pending ``ok`` row (a chunk per
    transaction; with helpers on PostgreSQL), and finish it.

    :param processes: sign each chunk on this many worker processes (0: in this process).
    :param actor: who the awards are by; by default the staff member who confirmed the job
        (the system only when no one did, e.g. a job from the command line).

    :returns: the job, or None when another worker holds it.
    """
    token = secrets.token_hex(8)
    if not _take_lease(job_id, token, env):
        return None
    job = required(db.session.get(BulkJob, job_id), "There is no such bulk job.")
    if job.started_at is None:
        job.started_at = env.now
        db.session.commit()
    actor = actor or confirmer(job)
    # Started already when the job was previewed in this process; otherwise (a worker) they
    # start while the first chunk is claimed and checked.
    signing.start_processes(processes, min(job.valid_rows, chunk_size))
    try:
        if shared():
            for _ in range(env.settings.bulk_shares):
                jobs.submit(env, jobs.RUN_BULK_SHARE, job_id)
        with _collector_skips_older_objects():
            worked = _work(job, actor, env, chunk_size, processes, token)
        if not worked:
            return None  # another worker took over; it finishes the job
        _finish(job, token, actor, env.later())
    except Exception as exc:
        db.session.rollback()
        _fail(job_id, token, f"{type(exc).__name__}: {exc}", env.later())
        raise
    emails.deliver_soon(env)
    return job


def run_share(job_id: str, env: ServiceEnv, *, chunk_size: int = 250, processes: int = 0) -> bool:
    """Help with a running job on PostgreSQL: issue chunks of its rows beside the coordinator
    until none is left unclaimed (or the job stops running). Holds no lease: the row locks of
    each chunk are what keep workers apart.

    :returns: whether it did anything (False on SQLite, or when the job is not running).
    """
    job = db.session.get(BulkJob, job_id)
    if not shared() or job is None or job.state != "running":
        db.session.rollback()
        return False
    signing.start_processes(processes, min(job.valid_rows, chunk_size))
    with _collector_skips_older_objects():
        _work(job, confirmer(job), env, chunk_size, processes, None)
    db.session.rollback()
    emails.deliver_soon(env)
    return True


#: Jobs running in this process, and whether they froze the older objects (:func:`gc.freeze`).
_frozen = {"jobs": 0, "ours": False}
_frozen_lock = threading.Lock()


@contextmanager
def _collector_skips_older_objects() -> Iterator[None]:
    """While a job runs, the garbage collector's full collections skip the objects that were
    alive when it started (``gc.freeze``: the hundreds of thousands an application holds,
    modules, templates, JSON-LD caches). A job allocates enough to set off full collections,
    and each walked all those objects (0.3 s each in a 2,000-row job). They are unfrozen when
    the last job running in the process ends, so any of them that became garbage meanwhile is
    collected then. A process that froze its objects itself (``cairn serve`` does, before it
    forks) is left as it is: its application is out of the collector's reach already, and
    unfreezing would undo that."""
    with _frozen_lock:
        if not _frozen["jobs"]:
            _frozen["ours"] = gc.get_freeze_count() == 0
            if _frozen["ours"]:
                gc.freeze()
        _frozen["jobs"] += 1
    try:
        yield
    finally:
        with _frozen_lock:
            _frozen["jobs"] -= 1
            if not _frozen["jobs"] and _frozen["ours"]:
                gc.unfreeze()
                _frozen["ours"] = False


def shared() -> bool:
    """Whether several workers can issue one job at once: on PostgreSQL (row locks that other
    transactions skip), not on SQLite."""
    return db.engine.dialect.name == "postgresql"


def _work(
    job: BulkJob,
    actor: Actor,
    env: ServiceEnv,
    chunk_size: int,
    processes: int,
    token: str | None,
) -> bool:
    """Issue chunks of the job's pending rows, in row order, until there are none (the
    coordinator, ``token`` its lease) or none left unclaimed (a helper, ``token`` None).

    :returns: False when the coordinator lost its lease (nothing of that chunk committed).
    """
    issuer = required(db.session.get(Issuer, job.issuer_id), "The issuer is missing.")
    achievement = required(db.session.get(Achievement, job.achievement_id), "missing achievement")
    row_locks = shared()
    # This worker's view of the issuer's used status indices, kept across chunks so each
    # chunk does not read them all again (the insert still refuses an index taken meanwhile).
    used: set[int] = set()
    after = 0  # rows are claimed in order: the next chunk starts after this worker's last one
    # SQLite: the chunk whose credentials the signing processes sign while this thread stores
    # the one before it (its rows are still pending, behind the cursor). PostgreSQL stores each
    # chunk before claiming the next: its row locks last until its commit.
    in_flight: _Chunk | None = None
    while True:
        chunk_env = env.later()
        if token is None and not _running(job.id):
            return True
        pending = _claim(job.id, after, chunk_size, row_locks)
        if not pending and in_flight is not None:  # the last chunk
            if not _finish_chunk(job, in_flight, token, actor):
                return False
            in_flight = None
            continue  # the rows behind the cursor are looked for once it is committed
        if not pending:
            if after:  # rows behind the cursor: released by a worker that died, say
                after = 0
                continue
            if token is None or not row_locks:
                return True
            # Every row left is in another worker's chunk: wait for it to commit (or to die
            # and release its rows), keeping the lease fresh meanwhile.
            db.session.rollback()
            if not _pending_left(job.id):
                return True
            if not _renew_lease(job.id, token, chunk_env.now):
                db.session.rollback()
                return False
            db.session.commit()
            time.sleep(SHARE_POLL_SECONDS)
            continue
        after = pending[-1].row_number
        try:
            started = _start_chunk(
                issuer, achievement, pending, chunk_env, processes, row_locks, used
            )
        except Exception:
            # What was signed before this chunk failed is stored, as when chunks alternated.
            if in_flight is not None:
                _finish_chunk(job, in_flight, token, actor)
            raise
        if in_flight is not None and not _finish_chunk(job, in_flight, token, actor):
            return False
        in_flight = started
        if row_locks:
            if not _finish_chunk(job, in_flight, token, actor):
                return False
            in_flight = None


def _claim(job_id: str, after: int, chunk_size: int, row_locks: bool) -> list[BulkRow]:
    """The next chunk of pending rows after row ``after``; with ``row_locks``, locked until the
    chunk commits, skipping rows another worker's chunk holds."""
    query = (
        select(BulkRow)
        .where(
            BulkRow.job_id == job_id,
            BulkRow.outcome == "pending",
            BulkRow.verdict == "ok",
            BulkRow.row_number > after,
        )
        .order_by(BulkRow.row_number)
        .limit(chunk_size)
    )
    if row_locks:
        query = query.with_for_update(skip_locked=True)
    return list(db.session.scalars(query))


def _pending_left(job_id: str) -> bool:
    return (
        db.session.scalar(
            select(BulkRow.id)
            .where(BulkRow.job_id == job_id, BulkRow.outcome == "pending", BulkRow.verdict == "ok")
            .limit(1)
        )
        is not None
    )


def _running(job_id: str) -> bool:
    return db.session.scalar(select(BulkJob.state).where(BulkJob.id == job_id)) == "running"


@dataclass
class _Chunk:
    """A chunk of rows on its way: its credentials built and being signed, not yet stored."""

    #: the chunk's rows, by id, in row order
    row_ids: list[int]
    #: rows refused before signing (a changed schema), by row id
    refused: dict[int, Outcome]
    #: the row id of each award, in the order of :attr:`started`'s awards
    award_rows: list[int]
    started: issuing.StartedAwards
    env: ServiceEnv


def _start_chunk(
    issuer: Issuer,
    achievement: Achievement,
    pending: list[BulkRow],
    env: ServiceEnv,
    processes: int,
    row_locks: bool,
    used: set[int],
) -> _Chunk:
    """Check a chunk's rows, allocate, build and start signing its credentials (nothing is
    written to the session: the chunk before it may still be stored first)."""
    # Re-check duplicates: someone may have awarded this achievement since the preview.
    holders = issuing.holders(
        issuer, achievement, [addresses.check_email(r.email) for r in pending]
    )
    to_issue = [r for r in pending if addresses.check_email(r.email) not in holders]
    row_ids = [r.id for r in pending]
    # Read before the rollback below expires the rows: nothing after this reads them again
    # (their outcomes are written by id, :func:`_record`), so they are never reloaded.
    awards, refused = _awards(to_issue)
    if not row_locks:
        # SQLite: end the read transaction before allocating on another connection (one
        # writer). PostgreSQL keeps it open: it holds the chunk's row locks.
        db.session.rollback()
    started = issuing.start_many(
        issuer,
        achievement,
        list(awards.values()),
        env=env,
        processes=processes,
        used_indices=used,
    )
    return _Chunk(row_ids, refused, list(awards), started, env)


def _finish_chunk(job: BulkJob, chunk: _Chunk, token: str | None, actor: Actor) -> bool:
    """Store a chunk's credentials and record what became of each row, in one transaction.

    :returns: False when another worker took the job over (nothing was committed).
    """

    def record(issued: list[Outcome]) -> None:
        # The job's row is written last, so concurrent workers' chunks wait for each other's
        # lock on it (and on the audit chain) only for the moment before their commits.
        outcomes = chunk.refused | dict(zip(chunk.award_rows, issued, strict=True))
        counts = _record(chunk.row_ids, outcomes)
        if token is not None and not _renew_lease(job.id, token, chunk.env.now):
            raise LeaseLost()
        _count(job.id, *counts, now=chunk.env.now)

    try:
        chunk.started.finish(actor=actor, bulk_job_id=job.id, on_store=record)
    except LeaseLost:
        db.session.rollback()
        return False
    return True


def _awards(rows: list[BulkRow]) -> tuple[dict[int, AwardInput], dict[int, Outcome]]:
    """The award each row asks for, by row id; and the rows refused on the way."""
    awards: dict[int, AwardInput] = {}
    refused: dict[int, Outcome] = {}
    for row in rows:
        parsed = ParsedRow.stored(row)
        try:
            awards[row.id] = parsed.award()
        except ValidationError as error:  # valid at the preview: only a changed schema gets here
            refused[row.id] = Outcome(
                refused=Invalid(in_words(flat_errors(error, separator=".", first=True), parsed))
            )
    return awards, refused


def _record(row_ids: list[int], outcomes: dict[int, Outcome]) -> tuple[int, int, int]:
    """Mark each row of a chunk issued, failed or skipped (a row with no outcome: its
    recipient was found to hold the achievement already); return how many of each.

    Written by row id with one Core ``UPDATE`` (an ``executemany``) per kind of outcome, not
    through the rows' ORM objects (their attribute events and the flush cost more than the
    statement); those objects, if the session holds them, are stale until the commit expires
    them, and nothing reads them meanwhile."""
    issued: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for row_id in row_ids:
        outcome = outcomes.get(row_id)
        if outcome is None:
            skipped.append({"row_id": row_id})
        elif outcome.credential is not None:
            issued.append({"row_id": row_id, "row_credential": outcome.credential.id})
        else:
            message = outcome.refused.message if outcome.refused else None
            failed.append({"row_id": row_id, "row_message": message})
    table = cast(Table, BulkRow.__table__)
    by_id = update(table).where(table.c.id == bindparam("row_id"))
    connection = db.session.connection()
    if issued:
        connection.execute(
            by_id.values(outcome="issued", credential_id=bindparam("row_credential")), issued
        )
    if failed:
        connection.execute(by_id.values(outcome="failed", message=bindparam("row_message")), failed)
    if skipped:
        connection.execute(
            by_id.values(
                outcome="skipped", verdict="duplicate", message="already holds this achievement"
            ),
            skipped,
        )
    return len(issued), len(failed), len(skipped)


def _count(job_id: str, issued: int, failed: int, skipped: int, *, now: datetime) -> None:
    """Add a chunk's counts to the job's, in SQL: other workers add theirs at the same time.
    A helper's chunk is a heartbeat too: while any worker commits, the job is not presumed
    dead (and its coordinator, slow on a busy machine, not needlessly replaced)."""
    db.session.execute(
        update(BulkJob)
        .where(BulkJob.id == job_id)
        .values(
            heartbeat_at=now,
            issued_rows=func.coalesce(BulkJob.issued_rows, 0) + issued,
            failed_rows=func.coalesce(BulkJob.failed_rows, 0) + failed,
            skipped_rows=func.coalesce(BulkJob.skipped_rows, 0) + skipped,
        )
        .execution_options(synchronize_session=False)
    )


def _finish(job: BulkJob, token: str, actor: Actor, env: ServiceEnv) -> None:
    if not _renew_lease(job.id, token, env.now):
        db.session.rollback()
        return
    db.session.refresh(job)  # the counts the chunks added in SQL (its row is locked now)
    db.session.execute(
        update(BulkRow)
        .where(BulkRow.job_id == job.id, BulkRow.outcome == "pending", BulkRow.verdict != "ok")
        .values(outcome="skipped")
        .execution_options(synchronize_session=False)
    )
    job.skipped_rows = (
        db.session.scalar(
            select(func.count())
            .select_from(BulkRow)
            .where(BulkRow.job_id == job.id, BulkRow.outcome == "skipped")
        )
        or 0
    )
    job.state = "done"
    job.finished_at = env.now
    job.lease = None
    counts = {"issued": job.issued_rows, "skipped": job.skipped_rows, "failed": job.failed_rows}
    audit_step("finish", job, actor, env, counts)
    events.publish(events.JobFinished(job, env))
    db.session.commit()


def _fail(job_id: str, token: str, message: str, env: ServiceEnv) -> None:
    failed: CursorResult[Any] = db.session.execute(  # type: ignore[assignment]
        update(BulkJob)
        .where(BulkJob.id == job_id, BulkJob.lease == token)
        .values(state="failed", finished_at=env.now, error=message[:1000])
        .execution_options(synchronize_session=False)
    )
    if failed.rowcount == 1:  # this worker held the job: it announces the end
        job = db.session.get(BulkJob, job_id, populate_existing=True)
        if job is not None:
            events.publish(events.JobFinished(job, env))
    db.session.commit()


def confirmer(job: BulkJob) -> Actor:
    """The staff member who confirmed ``job``, as the actor of its awards; else the system."""
    account = (
        db.session.get(StaffAccount, job.confirmed_by_id)
        if job.confirmed_by_id is not None
        else None
    )
    return Actor(account) if account is not None else SYSTEM


def run_job_by_id(job_id: str, env: ServiceEnv) -> None:
    """The background entry point: run a job with the application's collaborators."""
    chunk, processes = env.settings.bulk_chunk_size, env.settings.signing_processes
    run_job(job_id, env, chunk_size=chunk, processes=processes)


def run_share_by_id(job_id: str, env: ServiceEnv) -> None:
    """The background entry point of a helper (:func:`run_share`)."""
    chunk, processes = env.settings.bulk_chunk_size, env.settings.signing_processes
    run_share(job_id, env, chunk_size=chunk, processes=processes)


def resume_interrupted(env: ServiceEnv) -> list[str]:
    """Jobs whose worker stopped reporting (it died): submit them again; return their ids."""
    stale = env.now - timedelta(seconds=lease_seconds(env))
    ids = list(
        db.session.scalars(
            select(BulkJob.id).where(
                (BulkJob.state == "running") & (BulkJob.heartbeat_at < stale)
                | (BulkJob.state == "queued") & (BulkJob.queued_at < stale)
            )
        )
    )
    for job_id in ids:
        jobs.submit(env, jobs.RUN_BULK_JOB, job_id)
    return ids
