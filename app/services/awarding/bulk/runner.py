"""Running a bulk job: confirm or cancel the preview, then issue its ``ok`` rows in the
background, a chunk per transaction, through :func:`issuing.issue_many`.

The run takes a lease on the job and renews it inside each chunk's transaction, so only the
lease holder can commit a chunk, together with the rows it completes; a worker that dies
mid-job is resumed by another (:func:`resume_interrupted`) without duplicates.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import CursorResult, func, select, update

from app.extensions import db
from app.models import Achievement, BulkJob, BulkRow, Issuer, StaffAccount
from app.services._core import addresses, events, jobs
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, required
from app.services.awarding import issuing
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
    """Issue every pending ``ok`` row of a job, a chunk per transaction.

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
    issuer = required(db.session.get(Issuer, job.issuer_id), "The issuer is missing.")
    achievement = required(db.session.get(Achievement, job.achievement_id), "missing achievement")
    actor = actor or confirmer(job)
    try:
        while True:
            chunk_env = env.later()
            pending = list(
                db.session.scalars(
                    select(BulkRow)
                    .where(
                        BulkRow.job_id == job_id,
                        BulkRow.outcome == "pending",
                        BulkRow.verdict == "ok",
                    )
                    .order_by(BulkRow.row_number)
                    .limit(chunk_size)
                )
            )
            if not pending:
                break
            if not _run_chunk(
                job, issuer, achievement, pending, token, actor, chunk_env, processes
            ):
                return None  # another worker took over; it finishes the job
        _finish(job, token, actor, env.later())
    except Exception as exc:
        db.session.rollback()
        _fail(job_id, token, f"{type(exc).__name__}: {exc}", env.later())
        raise
    emails.deliver_soon(env)
    return job


def _run_chunk(
    job: BulkJob,
    issuer: Issuer,
    achievement: Achievement,
    pending: list[BulkRow],
    token: str,
    actor: Actor,
    env: ServiceEnv,
    processes: int,
) -> bool:
    """Issue one chunk of rows and record what became of each, in one transaction.

    :returns: False when another worker took the job over (nothing was committed).
    """
    # Re-check duplicates: someone may have awarded this achievement since the preview.
    holders = issuing.holders(
        issuer, achievement, [addresses.check_email(r.email) for r in pending]
    )
    to_issue = [r for r in pending if addresses.check_email(r.email) not in holders]
    row_ids = [r.id for r in pending]
    db.session.rollback()  # end the read transaction before allocating on another connection
    # The rollback expired the rows; reload them in one query, not one query per row.
    db.session.scalars(select(BulkRow).where(BulkRow.id.in_(row_ids))).all()
    awards, outcomes = _awards(to_issue)
    ids = list(awards)

    def record(issued: list[Outcome]) -> None:
        _record(job, pending, outcomes | dict(zip(ids, issued, strict=True)))

    return (
        issuing.issue_many(
            issuer,
            achievement,
            list(awards.values()),
            actor=actor,
            env=env,
            processes=processes,
            bulk_job_id=job.id,
            still_ours=lambda: _renew_lease(job.id, token, env.now),
            on_store=record,
        )
        is not None
    )


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


def _record(job: BulkJob, pending: list[BulkRow], outcomes: dict[int, Outcome]) -> None:
    """Mark each row of a chunk issued, failed or skipped (a row with no outcome: its
    recipient was found to hold the achievement already), and count them on the job."""
    issued = failed = 0
    for row in pending:
        outcome = outcomes.get(row.id)
        if outcome is None:
            row.outcome, row.verdict = "skipped", "duplicate"
            row.message = "already holds this achievement"
        elif outcome.credential is not None:
            row.outcome, row.credential_id = "issued", outcome.credential.id
            issued += 1
        else:
            row.outcome = "failed"
            row.message = outcome.refused.message if outcome.refused else None
            failed += 1
    job.issued_rows = (job.issued_rows or 0) + issued
    job.failed_rows = (job.failed_rows or 0) + failed
    job.skipped_rows = (job.skipped_rows or 0) + len(pending) - issued - failed


def _finish(job: BulkJob, token: str, actor: Actor, env: ServiceEnv) -> None:
    if not _renew_lease(job.id, token, env.now):
        db.session.rollback()
        return
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
    run_job(
        job_id,
        env,
        chunk_size=env.settings.bulk_chunk_size,
        processes=env.settings.signing_processes,
    )


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
