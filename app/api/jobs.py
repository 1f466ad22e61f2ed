"""``GET /api/v1/jobs/<id>``: a bulk job's state, progress and per-row results."""

from __future__ import annotations

from typing import Any

from flask import url_for

from app.api.core import bp, current_issuer, requires
from app.api.schemas import JobArgs, JobOut
from app.extensions import db
from app.models import Achievement, BulkJob
from app.services.awarding import bulk

#: Rows shown with a job unless asked for fewer or more.
ROWS_LIMIT = 1000


def job_json(job: BulkJob, *, offset: int = 0, limit: int = ROWS_LIMIT) -> dict[str, Any]:
    """A job as the API shows it, with its rows from ``offset`` (at most ``limit``)."""
    progress = bulk.progress(job)
    achievement = db.session.get(Achievement, job.achievement_id)
    return {
        "id": job.id,
        "url": url_for("api.read_job", job_id=job.id, _external=True),
        "achievement": achievement.public_id if achievement else "",
        "state": job.state,
        "total_rows": job.total_rows,
        "to_issue": progress["to_issue"],
        "issued": job.issued_rows or 0,
        "skipped": job.skipped_rows or 0,
        "failed": job.failed_rows or 0,
        "percent": progress["percent"],
        "error": progress["error"],
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "rows": [
            {
                "row": row.row_number,
                "email": row.email,
                "name": row.name,
                "verdict": row.verdict,
                "message": row.message,
                "outcome": row.outcome,
                "credential": row.credential_id,
            }
            for row in bulk.rows(job, offset=offset, limit=limit)
        ],
        "rows_offset": offset,
    }


@bp.route("/jobs/<job_id>", methods=["GET"])
@requires("awards:write", "credentials:read")
@bp.arguments(JobArgs, location="query", as_kwargs=True)
@bp.response(200, JobOut)
def read_job(job_id: str, rows_offset: int, rows_limit: int) -> Any:
    """A bulk job of the token's organisation: its state (`previewed`, `queued`, `running`,
    `done`, `failed`, `cancelled`), progress and the result of each row, in file order (up to
    `rows_limit` rows from `rows_offset`; `total_rows` says how many there are)."""
    job = bulk.get_job(current_issuer(), job_id)
    return job_json(job, offset=rows_offset, limit=rows_limit)
