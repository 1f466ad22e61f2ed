"""Resilience: a bulk job whose RQ workers are SIGKILLed at random points, and restarted, loses
nothing: exactly one verifying credential per recipient, every status entry distinct.

Run with ``.venv/bin/python bench/resilience.py`` (``--help`` for options; about 5 minutes for
the default 10,000 rows and 5 kills on a 2-core machine). It builds a throw-away instance (a new
PostgreSQL database on the ``--postgres`` server, a temporary key directory, the ``--redis``
database, which it FLUSHES before and after), uploads a CSV of distinct recipients, starts
``--workers`` ``cairn worker`` processes and confirms the job. At ``--kills`` random points of
its progress (drawn from ``--seed``) it SIGKILLs either every worker or the one running the job
(each with the signing processes it started), as a machine dying would, and starts them again;
the survivors' and the new workers' maintenance loop resumes the job once its lease has run out.

When the job is done it checks what is stored, and prints each check: exactly ``--rows``
credentials, each recipient once, no two credentials sharing a status list and index, the job's
counters equal to its rows and credentials, one award email and one audit event per credential,
and every credential verifying with Cairn's verifier (signature, issuer key and status, every
other check too) against the instance's own DID document and status lists, nothing fetched from
outside the process. Exit status 0 only when every check holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script this directory is on the path already; imported (by a test), it goes last
# so its modules never shadow anything.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent))

from _instance import (
    DEFAULT_POSTGRES,
    DEFAULT_REDIS,
    BenchError,
    cairn,
    cohort_csv,
    create_job,
    environ,
    job_states,
    make_issuer_and_achievement,
    postgres_database,
    settings,
)
from flask import Flask
from sqlalchemy.engine import make_url

from tests.app.guarantee_instance import app_fetcher, kill_tree

#: Rows per chunk (one transaction each): small enough that a kill usually lands mid-chunk.
CHUNK = 100
#: The longest a kill waits, once its point is reached, for a random moment inside a chunk.
MAX_KILL_DELAY = 1.5
#: The job's lease (``CAIRN_BULK_LEASE_SECONDS``), shortened from 20 s as the worker guarantee
#: test does, so a killed job is resumed within lease + one maintenance round (10 s).
LEASE_SECONDS = 10
#: Give up when the job has not moved for this long (a job that is never resumed is a failure).
STALL_SECONDS = 180
#: The label of the CSV's recipients (``r000000@school.example.org``...).
LABEL = "r"


@dataclass
class Kill:
    """One kill: where it was aimed, what it hit, and how long the job took to move again."""

    number: int
    target: int
    issued: int
    seconds: float
    victims: list[int]
    mode: str
    resumed_after: float | None = None


@dataclass
class Stored:
    """What the database holds for the job, read once it is done."""

    job: dict[str, Any]
    #: ``(id, recipient_email, status_index, document)`` of each credential of the job.
    credentials: list[tuple[str, str, int, str]]
    #: How many of the job's rows ended with each outcome.
    row_outcomes: dict[str | None, int]
    #: ``credential_id`` of each of the job's rows that was issued.
    row_credentials: list[str | None]
    #: ``(credential_id, to_address)`` of each award email queued for the job's credentials.
    award_emails: list[tuple[str | None, str]]
    #: The credential each ``credential.issue`` audit event of the job's credentials names.
    issue_events: list[str | None]


@dataclass
class Result:
    """One check: its name, whether it held, and what was found."""

    name: str
    ok: bool
    detail: str


@dataclass
class Run:
    """Everything the report prints."""

    seed: int
    rows: int
    kills: list[Kill] = field(default_factory=list)
    job_seconds: float = 0.0
    wall_seconds: float = 0.0
    verify_seconds: float = 0.0
    results: list[Result] = field(default_factory=list)
    logs: Path | None = None


# --- the checks (pure: they only look at what they are given) ------------------------------------


def _few(items: Iterable[Any], n: int = 3) -> str:
    items = list(items)
    shown = ", ".join(str(i) for i in items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")


def check_stored(stored: Stored, rows: int, emails: set[str]) -> list[Result]:
    """Every check on the stored job except the verifier's."""
    results = []
    credentials = stored.credentials
    results.append(
        Result(
            f"exactly {rows:,} credentials for the job",
            len(credentials) == rows,
            f"{len(credentials):,} stored",
        )
    )

    by_email = Counter(email for _, email, _, _ in credentials)
    duplicates = sorted(e for e, n in by_email.items() if n > 1)
    missing = sorted(emails - set(by_email))
    strangers = sorted(set(by_email) - emails)
    results.append(
        Result(
            "each recipient exactly once (no duplicate email)",
            not duplicates and not missing and not strangers,
            f"{len(by_email):,} distinct emails; duplicated: {_few(duplicates) or 'none'}; "
            f"missing: {_few(missing) or 'none'}; not in the CSV: {_few(strangers) or 'none'}",
        )
    )

    entries: Counter[tuple[str, str]] = Counter()
    mismatched = []
    for credential_id, _, index, document in credentials:
        status = json.loads(document).get("credentialStatus") or {}
        entry = (str(status.get("statusListCredential")), str(status.get("statusListIndex")))
        entries[entry] += 1
        if entry[1] != str(index):
            mismatched.append(credential_id)
    shared = [e for e, n in entries.items() if n > 1]
    indices = Counter(index for _, _, index, _ in credentials)
    results.append(
        Result(
            "distinct status entries (no two credentials share a list + index)",
            not shared and not mismatched and len(indices) == len(credentials),
            f"{len(entries):,} distinct (list, index) pairs on {len({e[0] for e in entries})} "
            f"list(s), {len(indices):,} distinct stored indices; shared: "
            f"{_few(shared) or 'none'}; document index differs from the stored one: "
            f"{_few(mismatched) or 'none'}",
        )
    )

    job = stored.job
    ids = sorted(c[0] for c in credentials)
    issued_rows = stored.row_outcomes.get("issued", 0)
    expected = {
        "state": "done",
        "total_rows": rows,
        "valid_rows": rows,
        "issued_rows": len(credentials),
        "skipped_rows": stored.row_outcomes.get("skipped", 0),
        "failed_rows": stored.row_outcomes.get("failed", 0),
    }
    wrong = {k: (job.get(k), v) for k, v in expected.items() if job.get(k) != v}
    counted = (
        issued_rows == len(credentials)
        and sorted(c or "" for c in stored.row_credentials) == ids
        and expected["skipped_rows"] == expected["failed_rows"] == 0
    )
    results.append(
        Result(
            "the job's counters equal what is stored",
            not wrong and counted,
            f"state {job.get('state')}, issued {job.get('issued_rows')}, skipped "
            f"{job.get('skipped_rows')}, failed {job.get('failed_rows')}; rows issued "
            f"{issued_rows:,}, each naming its own credential: "
            f"{sorted(c or '' for c in stored.row_credentials) == ids}"
            + (f"; (stored, expected): {wrong}" if wrong else ""),
        )
    )

    email_of = {c[0]: c[1] for c in credentials}
    mails = Counter(credential_id for credential_id, _ in stored.award_emails)
    misaddressed = [c for c, to in stored.award_emails if email_of.get(c or "") != to]
    results.append(
        Result(
            "one award email queued per credential",
            set(mails) == set(email_of) and set(mails.values()) <= {1} and not misaddressed,
            f"{len(stored.award_emails):,} emails for {len(mails):,} credentials; "
            f"misaddressed: {_few(misaddressed) or 'none'}",
        )
    )
    events = Counter(stored.issue_events)
    results.append(
        Result(
            "one 'credential.issue' audit event per credential",
            set(events) == set(email_of) and set(events.values()) <= {1},
            f"{len(stored.issue_events):,} events for {len(events):,} credentials",
        )
    )
    return results


def check_verified(failures: list[tuple[str, str]], checked: int, seconds: float) -> Result:
    """The verifier's result, from the ``(credential id, reason)`` of each failure."""
    return Result(
        "every credential verifies (signature, issuer key, status, every check)",
        not failures and checked > 0,
        f"{checked - len(failures):,} of {checked:,} valid in {seconds:.1f} s"
        + (f"; failed: {_few(f'{c}: {why}' for c, why in failures)}" if failures else ""),
    )


# --- reading and verifying -----------------------------------------------------------------------


def read_stored(application: Flask, job_id: str) -> Stored:
    """The job, its rows, credentials, award emails and issue events, as stored."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import AuditEvent, BulkJob, BulkRow, EmailMessage, IssuedCredential

    with application.app_context():
        try:
            job = db.session.get(BulkJob, job_id)
            if job is None:
                raise BenchError("the job is gone")
            counters = {
                k: getattr(job, k)
                for k in (
                    "state",
                    "total_rows",
                    "valid_rows",
                    "issued_rows",
                    "skipped_rows",
                    "failed_rows",
                )
            }
            credentials = [
                (c.id, c.recipient_email, c.status_index, c.document)
                for c in db.session.execute(
                    select(
                        IssuedCredential.id,
                        IssuedCredential.recipient_email,
                        IssuedCredential.status_index,
                        IssuedCredential.document,
                    ).where(IssuedCredential.bulk_job_id == job_id)
                )
            ]
            outcomes: dict[str | None, int] = dict(
                db.session.execute(
                    select(BulkRow.outcome, func.count())
                    .where(BulkRow.job_id == job_id)
                    .group_by(BulkRow.outcome)
                ).all()
            )
            row_credentials = list(
                db.session.scalars(
                    select(BulkRow.credential_id).where(
                        BulkRow.job_id == job_id, BulkRow.outcome == "issued"
                    )
                )
            )
            ids = select(IssuedCredential.id).where(IssuedCredential.bulk_job_id == job_id)
            emails = [
                (m.credential_id, m.to_address)
                for m in db.session.execute(
                    select(EmailMessage.credential_id, EmailMessage.to_address).where(
                        EmailMessage.credential_id.in_(ids)
                    )
                )
            ]
            events = list(
                db.session.scalars(
                    select(AuditEvent.subject_id).where(
                        AuditEvent.action == "credential.issue", AuditEvent.subject_id.in_(ids)
                    )
                )
            )
            return Stored(counters, credentials, outcomes, row_credentials, emails, events)
        finally:
            db.session.remove()


def verify_all(
    application: Flask, credentials: list[tuple[str, str, int, str]]
) -> tuple[list[tuple[str, str]], float]:
    """Run Cairn's verifier on each stored document, for its recipient, offline: the DID
    document and status lists come from the instance itself (fetched once each)."""
    from credentials import DocumentLoader, verify_credential

    local = app_fetcher(application)
    cache: dict[str, bytes] = {}

    def fetch(url: str) -> bytes:
        if url not in cache:
            cache[url] = local(url)
        return cache[url]

    loader = DocumentLoader()
    now = datetime.now(UTC)
    failures = []
    started = time.monotonic()
    for credential_id, email, _, document in credentials:
        report = verify_credential(document, loader=loader, now=now, fetch=fetch, recipient=email)
        needed = [report.check(name) for name in ("proof", "issuer_key", "status", "recipient")]
        if not report.valid or any(c is None or c.status != "pass" for c in needed):
            bad = [c.id for c in report.checks if c.status not in ("pass", "skip")]
            failures.append((credential_id, f"{report.outcome} ({', '.join(bad) or 'skipped'})"))
    return failures, time.monotonic() - started


# --- the run -------------------------------------------------------------------------------------


def kill_points(rng: random.Random, rows: int, kills: int) -> list[int]:
    """``kills`` distinct progress points (issued rows), in order, in the part of the job that
    leaves room after the last one for the kill to land before the job ends."""
    last = max(2, rows - max(3 * CHUNK, rows // 10))
    return sorted(rng.sample(range(1, last), min(kills, last - 1)))


def chunk_seconds(progress: list[tuple[float, int]], workers: int) -> float:
    """How long one worker's chunk takes while the job moves (the median pace between
    consecutive looks that saw rows issued, so the pauses after kills do not count), at most
    :data:`MAX_KILL_DELAY`."""
    paces = sorted(
        (n2 - n1) / (t2 - t1)
        for (t1, n1), (t2, n2) in itertools.pairwise(progress)
        if n2 > n1 and 0 < t2 - t1 < 0.5
    )
    if not paces:
        return MAX_KILL_DELAY
    return min(MAX_KILL_DELAY, CHUNK * workers / paces[len(paces) // 2])


def busy_pids(connection: Any) -> set[int]:
    """The process ids of the RQ workers running a job right now."""
    from rq import Worker

    workers = Worker.all(connection=connection)
    return {w.pid for w in workers if w.pid is not None and w.get_state() == "busy"}


def past(target: int, floor: int) -> Callable[[str, int], bool]:
    """The job has reached ``target`` rows, and committed something since ``floor``."""
    return lambda _state, issued: issued >= target and issued > floor


def wait_until(
    application: Flask,
    job_id: str,
    condition: Callable[[str, int], bool],
    on_poll: Callable[[int], None],
) -> tuple[str, int]:
    """Poll the job until ``condition(state, issued)``; fail if it stops moving."""
    last, moved = -1, time.monotonic()
    while True:
        state, issued = job_states(application, [job_id])[job_id]
        on_poll(issued)
        if condition(state, issued) or state in ("done", "failed"):
            return state, issued
        if issued != last:
            last, moved = issued, time.monotonic()
        elif time.monotonic() - moved > STALL_SECONDS:
            raise BenchError(f"the job has not moved for {STALL_SECONDS} s (at {issued} rows)")
        time.sleep(0.1)


def stop(workers: dict[int, subprocess.Popen[bytes]]) -> None:
    """SIGKILL every worker still running, with its signing processes."""
    for process in workers.values():
        with suppress(Exception):
            kill_tree(process)


def run(args: argparse.Namespace, run_: Run, logs: Path) -> None:
    """Build the instance, run and kill the workers, then check (results go into ``run_``)."""
    from redis import Redis
    from rq import Worker

    from app import create_app
    from app.extensions import db
    from app.models import BulkJob
    from app.services.awarding import bulk
    from app.services.org.audit import Actor
    from app.wiring import service_env

    rng = random.Random(run_.seed)  # noqa: S311 (reproducible kill points, not secrets)
    points = kill_points(rng, args.rows, args.kills)
    connection = Redis.from_url(args.redis)
    connection.flushdb()
    workdir = Path(tempfile.mkdtemp(prefix="cairn-resilience-"))
    workers: dict[int, subprocess.Popen[bytes]] = {}
    try:
        with ExitStack() as stack:
            url = stack.enter_context(postgres_database(args.postgres))
            # Unwound first: no worker is left writing while the database is dropped.
            stack.callback(stop, workers)
            config = settings(
                url,
                workdir / "keys",
                REDIS_URL=args.redis,
                BULK_CHUNK_SIZE=CHUNK,
                BULK_LEASE_SECONDS=LEASE_SECONDS,
                # Mail goes to a port nothing listens on: each award email stays queued.
                SMTP_HOST="127.0.0.1",
                SMTP_PORT=9,
                SMTP_SECURITY="none",
            )
            env = environ(config)
            if cairn("db", "upgrade", env=env, log=logs / "upgrade.log").wait(timeout=300):
                raise BenchError(f"cairn db upgrade failed; see {logs / 'upgrade.log'}")
            application = create_app(config)

            def start(n: int) -> None:
                workers[n] = cairn("worker", env=env, log=logs / f"worker-{n}.log")

            with application.app_context():
                issuer, achievement = make_issuer_and_achievement(application)
                job_id = create_job(application, issuer, achievement, args.rows, LABEL)
                for n in range(args.workers):
                    start(n)
                deadline = time.monotonic() + 120
                while len(Worker.all(connection=connection)) < args.workers:
                    if time.monotonic() > deadline or any(
                        p.poll() is not None for p in workers.values()
                    ):
                        raise BenchError(f"the workers did not start; see {logs}")
                    time.sleep(0.1)
                started_at, started = datetime.now(UTC), time.monotonic()
                bulk.confirm(
                    bulk.get_job(issuer, job_id), actor=Actor(label="bench"), env=service_env()
                )
                db.session.remove()

            progress: list[tuple[float, int]] = []  # (when, issued rows) at each look

            def note_progress(issued: int) -> None:
                progress.append((time.monotonic(), issued))
                for kill in run_.kills:
                    if kill.resumed_after is None and issued > kill.issued:
                        kill.resumed_after = time.monotonic() - started - kill.seconds

            issued_at_last_kill = 0
            for number, target in enumerate(points, 1):
                # Aimed at a random point of the progress, and only once the restarted workers
                # have committed something since the last kill (else it would hit start-up).
                state, _ = wait_until(
                    application, job_id, past(target, issued_at_last_kill), note_progress
                )
                if state in ("done", "failed"):
                    break
                # Somewhere inside the chunks being issued: a chunk takes a tenth of a second
                # or so now, and a fixed pause of up to 1.5 s let the job outrun the kills.
                time.sleep(rng.uniform(0, chunk_seconds(progress, args.workers)))
                mode = rng.choice(("every worker", "the busy worker"))
                busy = busy_pids(connection)
                victims = [n for n, p in workers.items() if mode == "every worker" or p.pid in busy]
                if not victims:  # between two jobs at that instant: kill them all
                    mode, victims = "every worker (none was busy)", list(workers)
                if job_states(application, [job_id])[job_id][0] in ("done", "failed"):
                    break
                for n in victims:
                    kill_tree(workers[n])
                seconds = time.monotonic() - started
                issued = job_states(application, [job_id])[job_id][1]
                run_.kills.append(Kill(number, target, issued, seconds, victims, mode))
                print(
                    f"  kill {number}: {mode} ({', '.join(f'worker {n}' for n in victims)}) at "
                    f"{issued:,}/{args.rows:,} rows ({100 * issued / args.rows:.0f}%, aimed at "
                    f"{target:,}), {seconds:.1f} s in; restarted",
                    flush=True,
                )
                issued_at_last_kill = issued
                for n in victims:
                    start(n)
            state, issued = wait_until(
                application, job_id, lambda s, _i: s in ("done", "failed"), note_progress
            )
            run_.wall_seconds = time.monotonic() - started
            with application.app_context():
                job = db.session.get(BulkJob, job_id)
                finished = job.finished_at if job is not None else None
                db.session.remove()
            run_.job_seconds = (finished - started_at).total_seconds() if finished else 0.0
            for process in workers.values():
                kill_tree(process)
            stored = read_stored(application, job_id)
            emails = {
                line.split(",")[0]
                for line in cohort_csv(args.rows, LABEL).decode().splitlines()[1:]
            }
            run_.results = check_stored(stored, args.rows, emails)
            print(
                f"  job {state} with {issued:,} rows; verifying "
                f"{len(stored.credentials):,} credentials",
                flush=True,
            )
            failures, run_.verify_seconds = verify_all(application, stored.credentials)
            run_.results.append(
                check_verified(failures, len(stored.credentials), run_.verify_seconds)
            )
            with application.app_context():
                db.engine.dispose()
    finally:
        stop(workers)
        connection.flushdb()
        connection.close()
        shutil.rmtree(workdir, ignore_errors=True)


def resumptions(logs: Path | None) -> int:
    """How often the workers' logs say a bulk job was re-queued after its worker stopped."""
    if logs is None:
        return 0
    return sum(
        log.read_text(errors="replace").count("resumed interrupted bulk jobs")
        for log in logs.glob("worker-*.log")
    )


def report(run_: Run, args: argparse.Namespace) -> str:
    """The printed summary: kills, times and every check."""
    lines = [
        "",
        f"{len(run_.kills)} kill(s) of {args.kills} planned (seed {run_.seed}):",
    ]
    for kill in run_.kills:
        resumed = (
            f"moved again {kill.resumed_after:.1f} s later"
            if kill.resumed_after is not None
            else "did not move again"
        )
        lines.append(
            f"  {kill.number}. at {kill.issued:,} rows ({100 * kill.issued / run_.rows:.1f}%), "
            f"{kill.seconds:.1f} s after confirming: {kill.mode} "
            f"({', '.join(f'worker {n}' for n in kill.victims)}); {resumed}"
        )
    if len(run_.kills) < args.kills:
        lines.append(f"  (the job finished before kill {len(run_.kills) + 1})")
    lines += [
        "",
        f"job: {run_.rows:,} rows in {run_.job_seconds:.1f} s from confirm to done "
        f"(job clock; {run_.wall_seconds:.1f} s observed), kills and resumptions included",
        f"resumptions: the workers' maintenance loops re-queued the job {resumptions(run_.logs)} "
        "time(s) (each live worker's loop that finds the lease expired re-queues it, so up to "
        "one per worker per kill; a surplus run finds the job leased again and stops at once)",
        f"verification: {run_.verify_seconds:.1f} s",
        "",
        "checks:",
    ]
    for result in run_.results:
        lines.append(f"  [{'PASS' if result.ok else 'FAIL'}] {result.name}: {result.detail}")
    verdict = run_.results and all(r.ok for r in run_.results) and len(run_.kills) == args.kills
    lines.append("")
    lines.append("ALL CHECKS PASSED" if verdict else "SOME CHECKS FAILED")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="recipients in the job (10,000)")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs during the job (5)")
    parser.add_argument("--workers", type=int, default=2, help="`cairn worker` processes (2)")
    parser.add_argument("--seed", type=int, help="seed of the random kill points (printed)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("CAIRN_TEST_DATABASE_URL") or DEFAULT_POSTGRES,
        help="a PostgreSQL URL; a throw-away database is made on its server",
    )
    parser.add_argument(
        "--redis", default=DEFAULT_REDIS, help=f"Redis database to use and FLUSH ({DEFAULT_REDIS})"
    )
    args = parser.parse_args(argv)
    if args.rows < 2 or args.kills < 0 or args.workers < 1:
        parser.error("--rows must be at least 2, --kills at least 0, --workers at least 1")
    if not args.postgres.startswith("postgresql"):
        parser.error("--postgres must be a postgresql:// URL")
    # A plain SIGTERM would skip the clean-up (the database, the worker processes).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    logs = Path(tempfile.mkdtemp(prefix="cairn-resilience-logs-"))
    run_ = Run(seed=seed, rows=args.rows, logs=logs)
    print(
        f"resilience: {args.rows:,} rows, {args.kills} kill(s), {args.workers} worker(s), "
        f"seed {seed}; PostgreSQL {make_url(args.postgres).host}, Redis {args.redis}; "
        f"chunk {CHUNK}, lease {LEASE_SECONDS} s; {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.2f}; worker logs in {logs}",
        flush=True,
    )
    try:
        run(args, run_, logs)
    except BenchError as exc:
        print(report(run_, args))
        print(f"bench/resilience.py: {exc}", file=sys.stderr)
        return 1
    print(report(run_, args))
    ok = run_.results and all(r.ok for r in run_.results) and len(run_.kills) == args.kills
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
