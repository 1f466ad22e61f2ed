"""The preview of a bulk upload: the job and its rows, each with a verdict (``ok``, ``invalid``
or ``duplicate``) and, when it will not be issued, why, in words for the preview table.

A row is valid when the same award would be accepted from the award form: it loads through
the award schema, and the issuing service's own check (an email address, an expiry in the
future) passes. A recipient who already holds the achievement, or appears earlier in the file,
is a ``duplicate``, so uploading the same file again issues nothing twice.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select

from app.extensions import db
from app.models import Achievement, BulkJob, BulkRow, Issuer
from app.services._core import addresses, jobs
from app.services._core.env import ServiceEnv
from app.services._core.errors import NotFound, ServiceError
from app.services.awarding import issuing, signing
from app.services.awarding.bulk.csv import ParsedRow, parse_csv
from app.services.org import achievements, audit
from app.services.org.audit import Actor
from schemas.awards import MAX_NAME, MAX_TEXT, MAX_URL, too_long
from schemas.errors import flat_errors

#: Column size of ``BulkRow.expires`` (the name and evidence URL columns are the schema's sizes).
MAX_EXPIRY = 40


def in_words(problems: Mapping[str, str], row: ParsedRow) -> str:
    """The first of a row's problems (the award schema's or the issuing service's, by field)
    as the preview says it: in lower case, naming the cell."""
    url = problems.get("evidence.0.url")
    if "email" in problems:
        return f"{row.email!r} is not an email address" if row.email else "the email is missing"
    if url is not None and url != too_long(MAX_URL):
        return "the evidence URL must start with https:// (or http://)"
    if "expiry_date" in problems:
        return f"the expiry {row.expiry!r} is not a date like 2027-06-30 (or 'never')"
    if "valid_until" in problems:
        return "the expiry date is in the past"
    if "name" in problems:
        return f"the name is longer than {MAX_NAME} characters"
    if url is not None:
        return f"the evidence URL is longer than {MAX_URL:,} characters"
    if "narrative" in problems or "evidence.0.narrative" in problems:
        return f"a cell is longer than {MAX_TEXT:,} characters"
    return next(iter(problems.values()))  # nothing else in a row can be wrong today


def problem(row: ParsedRow, env: ServiceEnv) -> str | None:
    """What is wrong with a row, in the preview's words, or None."""
    try:
        issuing.check(row.award(), env.now)
    except ValidationError as error:
        return in_words(flat_errors(error, separator=".", first=True), row)
    except ServiceError as error:
        return in_words({error.field or "_schema": error.message}, row)
    return None


def audit_step(
    step: str, job: BulkJob, actor: Actor, env: ServiceEnv, detail: dict[str, Any] | None = None
) -> None:
    """Record a step of a job (``upload``, ``confirm``, ``cancel``, ``finish``) in the audit
    trail as ``bulk.<step>``."""
    audit.record(
        f"bulk.{step}",
        actor=actor,
        now=env.now,
        issuer_id=job.issuer_id,
        subject_type="bulk_job",
        subject_id=job.id,
        detail=detail,
    )


def _normalised(email: str) -> str:
    try:
        return addresses.check_email(email)
    except ServiceError:
        return ""


def _checked_rows(
    job: BulkJob, rows: list[ParsedRow], holders: set[str], env: ServiceEnv
) -> dict[str, int]:
    """Add the job's rows, each with its verdict, to the session; return the verdict counts."""
    seen: set[str] = set()
    counts = {"ok": 0, "invalid": 0, "duplicate": 0}
    for row in rows:
        wrong = problem(row, env)
        email = _normalised(row.email)
        if wrong:
            verdict, message = "invalid", wrong
        elif email in holders:
            verdict, message = "duplicate", "already holds this achievement"
        elif email in seen:
            verdict, message = "duplicate", "appears earlier in this file"
        else:
            verdict, message = "ok", None
        if email:
            seen.add(email)
        counts[verdict] += 1
        db.session.add(
            BulkRow(
                job_id=job.id,
                row_number=row.row_number,
                email=row.email[:320],
                # Only an invalid row can be longer than its column; it is kept shortened,
                # for the preview, and never issued.
                name=row.name[:MAX_NAME] if row.name else None,
                narrative=row.narrative,
                evidence_url=row.evidence_url[:MAX_URL] if row.evidence_url else None,
                evidence_narrative=row.evidence_narrative,
                expires=row.expiry[:MAX_EXPIRY] if row.expiry else None,
                verdict=verdict,
                message=message,
                outcome="pending",
            )
        )
    return counts


def create_job(
    issuer: Issuer,
    achievement: Achievement,
    *,
    filename: str,
    data: bytes,
    actor: Actor,
    env: ServiceEnv,
    max_rows: int,
) -> BulkJob:
    """Read and check an uploaded file; store the job and its rows for preview.

    :raises ServiceError: when the file cannot be used at all.
    """
    if achievement.issuer_id != issuer.id:
        raise NotFound("There is no such achievement.")
    achievements.require_awardable(achievement)
    rows = parse_csv(data, max_rows=max_rows)
    emails = [e for e in (_normalised(r.email) for r in rows) if e]
    holders = issuing.holders(issuer, achievement, emails)
    job = BulkJob(
        id=str(uuid.uuid4()),
        issuer_id=issuer.id,
        achievement_id=achievement.id,
        created_by_id=actor.staff_id,
        # A NUL byte is the one character PostgreSQL cannot store in text.
        filename=filename.replace("\x00", "")[:255] or "upload.csv",
        file_sha256=hashlib.sha256(data).hexdigest(),
        state="previewed",
        created_at=env.now,
    )
    db.session.add(job)
    counts = _checked_rows(job, rows, holders, env)
    job.total_rows = len(rows)
    job.valid_rows = counts["ok"]
    detail = {"filename": job.filename, "sha256": job.file_sha256, "rows": len(rows)}
    audit_step(
        "upload", job, actor, env, {**detail, **counts, "achievement": achievement.public_id}
    )
    db.session.commit()
    if job.valid_rows and jobs.runs_here(env):
        # The job will run in this process once confirmed: its signing processes start while
        # the preview is read, so its first chunk does not wait for them.
        chunk = min(job.valid_rows, env.settings.bulk_chunk_size)
        signing.start_processes(env.settings.signing_processes, chunk)
    return job


def get_job(issuer: Issuer, job_id: str) -> BulkJob:
    """One of the issuer's jobs.

    :raises NotFound: when it does not exist or belongs to another issuer.
    """
    if not issuing.ID_PATTERN.fullmatch(job_id):
        raise NotFound("There is no such bulk job.")
    job = db.session.scalar(
        select(BulkJob).where(BulkJob.id == job_id, BulkJob.issuer_id == issuer.id)
    )
    if job is None:
        raise NotFound("There is no such bulk job.")
    return job
