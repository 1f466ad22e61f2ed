"""Bulk awards from a CSV file: upload -> preview (a verdict per row) -> confirm -> background
run with progress -> per-row results as CSV.

Columns (a header row is required; names are case-insensitive, in any order):

``email`` (required), ``name``, ``narrative``, ``evidence_url`` (or ``evidence``),
``evidence_narrative``, ``expiry`` (``YYYY-MM-DD``, or ``never``; empty means the achievement's
default). UTF-8 (with or without BOM) or Windows-1252; comma or semicolon separated.

Safety: every row is checked before anything is issued; a recipient who already holds the
achievement, or appears twice in the file, is a ``duplicate`` and is skipped, so uploading the
same file again issues nothing twice. The run takes a lease on the job and commits each chunk
of credentials together with the rows it completes, so a worker that dies mid-job is resumed by
another without duplicates.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Achievement, BulkJob, BulkRow, IssuedCredential, Issuer
from app.services._core import addresses, events, jobs
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, NotFound, ServiceError, required
from app.services._core.spreadsheets import safe_row
from app.services.awarding import issuing, signing, status_lists
from app.services.awarding.issuing import AwardInput, EvidenceInput, Issuance
from app.services.mail import emails
from app.services.org import achievements, audit
from app.services.org.audit import SYSTEM, Actor

COLUMNS = {
    "email": ("email", "email address", "e-mail", "recipient", "recipient email"),
    "name": ("name", "full name", "recipient name"),
    "narrative": ("narrative",),
    "evidence_url": ("evidence_url", "evidence url", "evidence", "evidence link"),
    "evidence_narrative": ("evidence_narrative", "evidence narrative"),
    "expiry": ("expiry", "expires", "expiry date", "valid_until", "valid until"),
}
#: Column sizes of ``BulkRow`` (and of the credential's recipient name).
MAX_NAME, MAX_URL, MAX_EXPIRY = 200, 2000, 40
#: A worker that has not reported for this long is presumed dead; its job may be resumed.
#: The ``BULK_LEASE_SECONDS`` setting (``CAIRN_BULK_LEASE_SECONDS``) overrides it; it must stay
#: well above the time one chunk takes, or live workers would lose their jobs.
LEASE_SECONDS = 20


@dataclass(frozen=True)
class ParsedRow:
    """One row as read from the file, before checking."""

    row_number: int
    email: str
    name: str | None
    narrative: str | None
    evidence_url: str | None
    evidence_narrative: str | None
    expiry: str | None


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid("The file is not UTF-8 or Windows-1252 text.", "file")


def parse_csv(data: bytes, *, max_rows: int) -> list[ParsedRow]:
    """Read a CSV file into rows.

    :raises ServiceError: for a file that is not a CSV with an ``email`` column, is empty, or
        has more than ``max_rows`` rows.
    """
    text = _decode(data)
    if "\x00" in text:
        raise Invalid("That is not a CSV file.", "file")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        header = next(reader, None)
        if not header:
            raise Invalid("The file is empty.", "file")
        names = [h.strip().lower() for h in header]
        positions: dict[str, int] = {}
        for field, aliases in COLUMNS.items():
            for alias in aliases:
                if alias in names:
                    positions[field] = names.index(alias)
                    break
        if "email" not in positions:
            raise Invalid(
                "The first row must name the columns, including an 'email' column.", "file"
            )
        rows: list[ParsedRow] = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= max_rows:
                raise Invalid(f"The file has more than {max_rows:,} rows; split it.", "file")

            def cell(field: str, cells: list[str] = cells) -> str | None:
                position = positions.get(field)
                if position is None or position >= len(cells):
                    return None
                return cells[position].strip() or None

            rows.append(
                ParsedRow(
                    row_number=reader.line_num,
                    email=cell("email") or "",
                    name=cell("name"),
                    narrative=cell("narrative"),
                    evidence_url=cell("evidence_url"),
                    evidence_narrative=cell("evidence_narrative"),
                    expiry=cell("expiry"),
                )
            )
    except csv.Error as exc:
        raise Invalid(f"The CSV file is malformed: {exc}.", "file") from None
    if not rows:
        raise Invalid("The file has a header but no rows.", "file")
    return rows


def _check_row(row: ParsedRow, now: datetime) -> str | None:
    """What is wrong with a row, or None."""
    try:
        addresses.check_email(row.email)
    except ServiceError:
        return f"{row.email!r} is not an email address" if row.email else "the email is missing"
    if row.evidence_url:
        parts = urlsplit(row.evidence_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return "the evidence URL must start with https:// (or http://)"
    if row.expiry and row.expiry.lower() != "never":
        try:
            expiry = date.fromisoformat(row.expiry)
        except ValueError:
            return f"the expiry {row.expiry!r} is not a date like 2027-06-30 (or 'never')"
        if datetime.combine(expiry, time.max, UTC) <= now:
            return "the expiry date is in the past"
    # The same limits as the columns the row is stored in (PostgreSQL refuses longer values).
    if row.name and len(row.name) > MAX_NAME:
        return f"the name is longer than {MAX_NAME} characters"
    if row.evidence_url and len(row.evidence_url) > MAX_URL:
        return f"the evidence URL is longer than {MAX_URL:,} characters"
    for text in (row.narrative, row.evidence_narrative):
        if text and len(text) > 5000:
            return "a cell is longer than 5,000 characters"
    return None


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
    normalised = {r.row_number: _normalised(r.email) for r in rows}
    already = issuing.holders(issuer, achievement, [e for e in normalised.values() if e])
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
    seen: set[str] = set()
    counts = {"ok": 0, "invalid": 0, "duplicate": 0}
    for row in rows:
        problem = _check_row(row, env.now)
        email = normalised[row.row_number]
        if problem:
            verdict, message = "invalid", problem
        elif email in already:
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
    job.total_rows = len(rows)
    job.valid_rows = counts["ok"]
    audit.record(
        "bulk.upload",
        actor=actor,
        now=env.now,
        issuer_id=issuer.id,
        subject_type="bulk_job",
        subject_id=job.id,
        detail={
            "filename": job.filename,
            "sha256": job.file_sha256,
            "rows": len(rows),
            **counts,
            "achievement": achievement.public_id,
        },
    )
    db.session.commit()
    return job


def _normalised(email: str) -> str:
    try:
        return addresses.check_email(email)
    except ServiceError:
        return ""


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
    audit.record(
        "bulk.confirm",
        actor=actor,
        now=env.now,
        issuer_id=job.issuer_id,
        subject_type="bulk_job",
        subject_id=job.id,
        detail={"rows": job.valid_rows},
    )
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
    audit.record(
        "bulk.cancel",
        actor=actor,
        now=env.now,
        issuer_id=job.issuer_id,
        subject_type="bulk_job",
        subject_id=job.id,
    )
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


def _award_input(row: BulkRow) -> AwardInput:
    expiry = row.expires
    valid_until = None
    if expiry and expiry.lower() != "never":
        valid_until = datetime.combine(date.fromisoformat(expiry), time(23, 59, 59), UTC)
    return AwardInput(
        email=row.email,
        name=row.name,
        narrative=row.narrative,
        evidence=(
            (EvidenceInput(url=row.evidence_url, narrative=row.evidence_narrative),)
            if row.evidence_url or row.evidence_narrative
            else ()
        ),
        valid_until=valid_until,
        no_expiry=bool(expiry and expiry.lower() == "never"),
    )


def run_job(
    job_id: str,
    env: ServiceEnv,
    *,
    actor: Actor = SYSTEM,
    chunk_size: int = 250,
    processes: int = 0,
) -> BulkJob | None:
    """Issue every pending ``ok`` row of a job, a chunk per transaction.

    :param processes: sign each chunk on this many worker processes (0: in this process).

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
    # Re-check duplicates: someone may have awarded this achievement since the preview.
    holders = issuing.holders(
        issuer, achievement, [addresses.check_email(r.email) for r in pending]
    )
    to_issue = [r for r in pending if addresses.check_email(r.email) not in holders]
    row_ids = [r.id for r in pending]
    db.session.rollback()  # end the read transaction before allocating on another connection
    # The rollback expired the rows; reload them in one query, not one query per row.
    db.session.scalars(select(BulkRow).where(BulkRow.id.in_(row_ids))).all()
    indices = status_lists.allocate(issuer, len(to_issue), env) if to_issue else []
    issuance = Issuance(issuer, achievement, achievements.current_version(achievement), env)
    issued_ids: dict[int, str] = {}
    failures: dict[int, str] = {}
    built = []
    for row, index in zip(to_issue, indices, strict=True):
        credential_id = str(uuid.uuid4())
        try:
            award = _award_input(row)
            unsigned, valid_until = issuance.build(award, credential_id, index)
        except ServiceError as exc:
            failures[row.id] = exc.message
            continue
        built.append((row, award, credential_id, index, unsigned, valid_until))
    # Signing is the expensive part: spread it over the signing processes.
    signed = signing.sign_many(
        [item[4] for item in built],
        key=issuance.key,
        vm=issuance.verification_method,
        proof_format=issuance.proof_format,
        created=env.now,
        loader=env.loader,
        processes=processes,
    )
    documents = []
    for (row, award, credential_id, index, _, valid_until), result in zip(
        built, signed, strict=True
    ):
        if result.text is None:
            failures[row.id] = f"The credential could not be signed: {result.error}"
        else:
            documents.append((row, award, credential_id, index, result.text, valid_until))
    if not _renew_lease(job.id, token, env.now):
        db.session.rollback()
        return False
    stored: list[IssuedCredential] = []
    for row, award, credential_id, index, document, valid_until in documents:
        credential = issuing.store(
            issuance,
            award,
            credential_id=credential_id,
            index=index,
            document=document,
            valid_until=valid_until,
            actor=actor,
            bulk_job_id=job.id,
        )
        issued_ids[row.id] = credential_id
        stored.append(credential)
    db.session.flush()
    for row in pending:
        if row.id in issued_ids:
            row.outcome, row.credential_id = "issued", issued_ids[row.id]
        elif row.id in failures:
            row.outcome, row.message = "failed", failures[row.id]
        else:
            row.outcome, row.verdict, row.message = (
                "skipped",
                "duplicate",
                "already holds this achievement",
            )
    job.issued_rows = (job.issued_rows or 0) + len(issued_ids)
    job.failed_rows = (job.failed_rows or 0) + len(failures)
    job.skipped_rows = (job.skipped_rows or 0) + len(pending) - len(issued_ids) - len(failures)
    db.session.commit()
    events.publish(events.CredentialsAwarded(tuple(stored), env))
    return True


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
    audit.record(
        "bulk.finish",
        actor=actor,
        now=env.now,
        issuer_id=job.issuer_id,
        subject_type="bulk_job",
        subject_id=job.id,
        detail={"issued": job.issued_rows, "skipped": job.skipped_rows, "failed": job.failed_rows},
    )
    db.session.commit()


def _fail(job_id: str, token: str, message: str, env: ServiceEnv) -> None:
    db.session.execute(
        update(BulkJob)
        .where(BulkJob.id == job_id, BulkJob.lease == token)
        .values(state="failed", finished_at=env.now, error=message[:1000])
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


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


RESULT_COLUMNS = ("row", "email", "name", "verdict", "outcome", "message", "credential_url")


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
