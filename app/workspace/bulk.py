"""Bulk awards: upload a CSV file, preview a verdict per row, confirm, watch the progress, and
download the per-row results."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from flask import (
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from app.forms import refusal
from app.models import Achievement, BulkJob
from app.services._core.errors import required
from app.services.awarding import bulk
from app.services.org import achievements
from app.services.org import queries as org_queries
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from app.workspace.credentials import MAX_PAGE, int_arg

ROWS_PER_PAGE = 200
VERDICTS = ("ok", "invalid", "duplicate")
TEMPLATE_COLUMNS = ("email", "name", "narrative", "evidence_url", "evidence_narrative", "expiry")


def _csv_download(body: str | Iterable[str], filename: str) -> Response:
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<slug>/achievements/<public_id>/bulk", methods=["GET", "POST"])
@workspace_view("awarder")
def bulk_upload(slug: str, public_id: str) -> BaseResponse | str | tuple[str, int]:
    """Explain the file's columns and take the upload; the next page is the preview."""
    issuer = current_issuer()
    achievement = achievements.get(issuer, public_id)
    version = achievements.current_version(achievement)
    error = None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = "Choose a CSV file to upload."
        else:
            # Browsers send only a file's name, but some send a whole path; keep the name.
            filename = PurePosixPath(upload.filename.replace("\\", "/")).name
            with refusal() as refused:
                job = bulk.create_job(
                    issuer,
                    achievement,
                    filename=filename,
                    data=upload.read(),
                    actor=actor(),
                    env=service_env(),
                    max_rows=int(current_app.config["MAX_CSV_ROWS"]),
                )
            if refused:
                error = refused.message
            else:
                return redirect(url_for(".bulk_job", slug=issuer.slug, job_id=job.id))
    page = render_template(
        "workspace/bulk_upload.html",
        issuer=issuer,
        achievement=achievement,
        version=version,
        error=error,
        max_rows=int(current_app.config["MAX_CSV_ROWS"]),
        max_megabytes=int(current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024),
    )
    return (page, 400) if error else page


@bp.get("/<slug>/bulk-template.csv")
@workspace_view("awarder")
def bulk_template(slug: str) -> Response:
    """An empty file with the column headings, to fill in with a spreadsheet."""
    # Headings only: example rows would be issued if someone uploaded the file unchanged.
    return _csv_download(",".join(TEMPLATE_COLUMNS) + "\r\n", "cairn-bulk-award-template.csv")


@bp.get("/<slug>/jobs")
@workspace_view("viewer")
def bulk_jobs(slug: str) -> str:
    """The issuer's bulk award jobs, newest first."""
    issuer = current_issuer()
    names = {a.id: v.name for a, v in achievements.list_for(issuer, include_archived=True)}
    return render_template(
        "workspace/bulk_jobs.html", issuer=issuer, jobs=bulk.jobs_for(issuer), names=names
    )


def _job_achievement(job: BulkJob) -> tuple[Achievement, str]:
    achievement = required(
        org_queries.achievement(job.achievement_id), "There is no such achievement."
    )
    return achievement, achievements.current_version(achievement).name


@bp.get("/<slug>/jobs/<job_id>")
@workspace_view("viewer")
def bulk_job(slug: str, job_id: str) -> str:
    """The preview before confirming, the progress while running, the outcome when done."""
    issuer = current_issuer()
    job = bulk.get_job(issuer, job_id)
    achievement, name = _job_achievement(job)
    verdict = request.args.get("verdict", "")
    verdict = verdict if verdict in VERDICTS else ""
    counts = bulk.verdict_counts(job)
    shown = counts[verdict] if verdict else sum(counts.values())
    pages = max(1, -(-shown // ROWS_PER_PAGE))
    page = min(int_arg("page", 1, high=MAX_PAGE) or 1, pages)
    return render_template(
        "workspace/bulk_job.html",
        issuer=issuer,
        job=job,
        achievement=achievement,
        achievement_name=name,
        counts=counts,
        progress=bulk.progress(job),
        rows=bulk.rows(
            job, offset=(page - 1) * ROWS_PER_PAGE, limit=ROWS_PER_PAGE, verdict=verdict or None
        ),
        verdict=verdict,
        verdicts=VERDICTS,
        link_args={"verdict": verdict} if verdict else {},
        page=page,
        pages=pages,
        first_row=(page - 1) * ROWS_PER_PAGE,
        running=job.state in ("queued", "running"),
    )


@bp.get("/<slug>/jobs/<job_id>/progress.json")
@workspace_view("viewer")
def bulk_progress(slug: str, job_id: str) -> Response:
    """The counts the progress bar shows (polled every second while the job runs)."""
    response = jsonify(bulk.progress(bulk.get_job(current_issuer(), job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<slug>/jobs/<job_id>/results.csv")
@workspace_view("viewer")
def bulk_results(slug: str, job_id: str) -> Response:
    """Every row with its verdict, outcome and credential address, streamed as CSV."""
    job = bulk.get_job(current_issuer(), job_id)
    body = stream_with_context(bulk.results_csv(job, service_env()))
    return _csv_download(body, f"cairn-bulk-results-{job.id}.csv")


@bp.post("/<slug>/jobs/<job_id>/confirm")
@workspace_view("awarder")
def bulk_confirm(slug: str, job_id: str) -> BaseResponse:
    """Start issuing the rows the preview passed."""
    issuer = current_issuer()
    job = bulk.get_job(issuer, job_id)
    with refusal() as refused:
        bulk.confirm(job, actor=actor(), env=service_env())
    refused.flash()
    return redirect(url_for(".bulk_job", slug=issuer.slug, job_id=job_id))


@bp.post("/<slug>/jobs/<job_id>/cancel")
@workspace_view("awarder")
def bulk_cancel(slug: str, job_id: str) -> BaseResponse:
    """Discard a job that has not been confirmed."""
    issuer = current_issuer()
    job = bulk.get_job(issuer, job_id)
    with refusal() as refused:
        bulk.cancel(job, actor=actor(), env=service_env())
    refused.flash("Cancelled; nothing was issued.")
    return redirect(url_for(".bulk_job", slug=issuer.slug, job_id=job_id))
