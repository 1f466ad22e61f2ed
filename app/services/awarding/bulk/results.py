"""What a bulk job shows: the issuer's jobs, a job's rows and verdict counts, its progress, and
the per-row results as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import func, select

from app.extensions import db
from app.models import BulkJob, BulkRow, IssuedCredential, Issuer
from app.services._core.env import ServiceEnv
from app.services._core.spreadsheets import safe_row
from app.services.awarding import issuing

RESULT_COLUMNS = ("row", "email", "name", "verdict", "outcome", "message", "credential_url")


def jobs_for(issuer: Issuer, *, limit: int = 100) -> list[BulkJob]:
    """The issuer's most recent jobs, newest first."""
    return list(
        db.session.scalars(
            select(BulkJob)
            .where(BulkJob.issuer_id == issuer.id)
            .order_by(BulkJob.created_at.desc(), BulkJob.id)
            .limit(limit)
        )
    )


def verdict_counts(job: BulkJob) -> dict[str, int]:
    """How many of a job's rows are ``ok``, ``invalid`` and ``duplicate``."""
    counts = dict.fromkeys(("ok", "invalid", "duplicate"), 0)
    for verdict, count in db.session.execute(
        select(BulkRow.verdict, func.count())
        .where(BulkRow.job_id == job.id)
        .group_by(BulkRow.verdict)
    ):
        counts[verdict] = count
    return counts


def rows(
    job: BulkJob, *, offset: int = 0, limit: int | None = None, verdict: str | None = None
) -> list[BulkRow]:
    """A job's rows in file order."""
    query = select(BulkRow).where(BulkRow.job_id == job.id)
    if verdict:
        query = query.where(BulkRow.verdict == verdict)
    query = query.order_by(BulkRow.row_number).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def progress(job: BulkJob) -> dict[str, object]:
    """Counts for the live progress bar."""
    done = (job.issued_rows or 0) + (job.failed_rows or 0)
    total = job.valid_rows or 0
    if job.state == "done":
        done = total
    return {
        "state": job.state,
        "total_rows": job.total_rows,
        "to_issue": total,
        "done": min(done, total),
        "issued": job.issued_rows,
        "failed": job.failed_rows,
        "skipped": job.skipped_rows,
        "percent": int(100 * min(done, total) / total) if total else 100,
        "error": job.error if job.state == "failed" else None,
    }


def results_csv(job: BulkJob, env: ServiceEnv) -> Iterator[str]:
    """Per-row results, streamed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(RESULT_COLUMNS)
    offset = 0
    while True:
        batch = rows(job, offset=offset, limit=1000)
        for row in batch:
            url = issuing.credential_url(row.credential_id, env) if row.credential_id else ""
            writer.writerow(
                safe_row(
                    [
                        row.row_number,
                        row.email,
                        row.name or "",
                        row.verdict,
                        row.outcome,
                        row.message or "",
                        url,
                    ]
                )
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(batch) < 1000:
            return
        offset += 1000


def issued_count(job: BulkJob) -> int:
    """Credentials actually stored for a job (a check on the counters)."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(IssuedCredential)
            .where(IssuedCredential.bulk_job_id == job.id)
        )
        or 0
    )
