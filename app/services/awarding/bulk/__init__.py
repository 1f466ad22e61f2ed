"""Bulk awards from a CSV file: upload -> preview (a verdict per row) -> confirm -> background
run with progress -> per-row results as CSV.

One file per step: :mod:`.csv` reads the upload (columns and their aliases), :mod:`.preview`
creates the job and checks its rows through the award schema, :mod:`.runner` confirms and runs
it (leases, chunks, resuming a dead worker's job) through ``issuing.issue_many``, and
:mod:`.results` answers what a job shows. Callers use the names below as ``bulk.<name>``.

Safety: every row is checked before anything is issued; a recipient who already holds the
achievement, or appears twice in the file, is a ``duplicate`` and is skipped, so uploading the
same file again issues nothing twice. The run takes a lease on the job and commits each chunk
of credentials together with the rows it completes, so a worker that dies mid-job is resumed by
another without duplicates. On PostgreSQL other workers help with the same job, claiming chunks
of rows with row locks (see :mod:`.runner`).
"""

from app.services.awarding.bulk.csv import COLUMNS, ParsedRow, parse_csv
from app.services.awarding.bulk.preview import create_job, get_job
from app.services.awarding.bulk.results import (
    RESULT_COLUMNS,
    issued_count,
    jobs_for,
    progress,
    results_csv,
    rows,
    verdict_counts,
)
from app.services.awarding.bulk.runner import (
    LEASE_SECONDS,
    cancel,
    confirm,
    confirmer,
    lease_seconds,
    resume_interrupted,
    run_job,
    run_job_by_id,
    run_share,
    run_share_by_id,
    shared,
)

__all__ = [
    "COLUMNS",
    "LEASE_SECONDS",
    "RESULT_COLUMNS",
    "ParsedRow",
    "cancel",
    "confirm",
    "confirmer",
    "create_job",
    "get_job",
    "issued_count",
    "jobs_for",
    "lease_seconds",
    "parse_csv",
    "progress",
    "results_csv",
    "resume_interrupted",
    "rows",
    "run_job",
    "run_job_by_id",
    "run_share",
    "run_share_by_id",
    "shared",
    "verdict_counts",
]
