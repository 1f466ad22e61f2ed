"""Bulk-award speed and memory, end to end, on SQLite and on PostgreSQL with RQ (on demand).

Run with ``.venv/bin/python bench/bulk.py`` (``--help`` for options). Each scenario builds a
throw-away instance (temporary SQLite file or PostgreSQL database, temporary key directory), an
issuer and an achievement, uploads a CSV of distinct recipients (``bulk.create_job``), then times
from ``bulk.confirm`` to the job's ``done`` state: sign, allocate status indices, store the
credential, its audit event and its queued email, per chunk. Mail delivery is switched off (the
award emails are still queued in the database; sending them is not part of the figure).

Benchmarks report; they never fail on slow numbers. Exit status 1 only when something breaks.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
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
    children_of,
    create_job,
    environ,
    job_states,
    make_issuer_and_achievement,
    postgres_database,
    settings,
)
from flask import Flask
from sqlalchemy.engine import make_url

PAGE = os.sysconf("SC_PAGE_SIZE")


# --- helpers -------------------------------------------------------------------------------------


def rss_mb(pid: int | str = "self") -> float:
    """Current resident set size of a process, in MiB."""
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * PAGE / 2**20


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time a process has used so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hwm_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of a live process, in MiB."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


#: Signing processes per run (``--signing-processes``; production default: one per core).
SIGNING_PROCESSES = os.cpu_count() or 1
#: Issue 16's targets: 10,000 rows on SQLite (default settings) in under this many seconds;
#: one job on PostgreSQL, two workers at least this many times one worker's rate.
SQLITE_TARGET_SECONDS = 6.0
SCALE_TARGET = 1.8
#: How often the runs look at the jobs' states (and, on PostgreSQL, the workers' CPU and
#: memory). The bench shares the machine with what it measures: at four looks a second it took
#: about 3% of a core, which a single worker's run hardly feels and a two-worker run on 2 cores
#: pays for.
POLL_SECONDS = 1.0


def seconds_since(application: Flask, job_ids: list[str], since: datetime) -> float:
    """From ``since`` to the last job's recorded ``finished_at``: the job's own clock, so how
    often the bench polls (it sleeps between polls) does not change the figure."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import BulkJob

    with application.app_context():
        finished = db.session.scalar(
            select(func.max(BulkJob.finished_at)).where(BulkJob.id.in_(job_ids))
        )
        db.session.remove()
    if finished is None:
        raise BenchError("no finish time recorded")
    return (finished - since).total_seconds()


def check_issued(application: Flask, job_ids: list[str], rows: int) -> None:
    """The run really issued what it should: one credential per row, distinct indices."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import IssuedCredential

    with application.app_context():
        count, distinct = db.session.execute(
            select(func.count(), func.count(func.distinct(IssuedCredential.status_index))).where(
                IssuedCredential.bulk_job_id.in_(job_ids)
            )
        ).one()
        db.session.remove()
    if count != rows or distinct != rows:
        raise BenchError(f"expected {rows} credentials, distinct indices; got {count}/{distinct}")


# --- SQLite, in-process runner (a child process per size, so peaks are its own) -------------------


def sqlite_child(rows: int, profile: bool) -> dict[str, Any]:
    """Runs in a fresh process: one job of ``rows`` rows on SQLite with the in-process runner."""
    from app import create_app
    from app.extensions import db
    from app.services.awarding import bulk
    from app.services.awarding.bulk import runner
    from app.services.mail import emails
    from app.services.org.audit import Actor
    from app.wiring import service_env

    workdir = Path(tempfile.mkdtemp(prefix="cairn-bench-"))
    try:
        application = create_app(
            # Profiled, jobs run inline, in this thread, so the profiler sees them (the pool runs
            # the same code); the job runner is chosen when the application is made.
            settings(
                f"sqlite:///{workdir / 'cairn.sqlite3'}",
                workdir / "keys",
                signing_processes=SIGNING_PROCESSES,
                JOBS_INLINE=profile,
            )
        )
        emails.deliver_soon = lambda env: None  # award mail stays queued; sending is not timed
        samples: list[tuple[int, float]] = []
        original = runner._finish_chunk

        def measured_chunk(*args: Any, **kwargs: Any) -> bool:
            done: bool = original(*args, **kwargs)
            job = args[0]
            samples.append((job.issued_rows or 0, rss_mb()))
            return done

        runner._finish_chunk = measured_chunk  # type: ignore[assignment]
        with application.app_context():
            db.create_all()
            issuer, achievement = make_issuer_and_achievement(application)
            job_id = create_job(application, issuer, achievement, rows, "t")
            job = bulk.get_job(issuer, job_id)
            rss_before = rss_mb()
            profiler = cProfile.Profile() if profile else None
            started, cpu_before = datetime.now(UTC), cpu_seconds()
            if profiler is not None:
                profiler.enable()
                bulk.confirm(job, actor=Actor(label="bench"), env=service_env())
                profiler.disable()
            else:
                bulk.confirm(job, actor=Actor(label="bench"), env=service_env())
                while job_states(application, [job_id])[job_id][0] not in ("done", "failed"):
                    time.sleep(POLL_SECONDS)  # in the job's own process: look seldom
            cpu = cpu_seconds() - cpu_before
            # The signing processes are this process's children, started by the preview just
            # before the clock (bulk.create_job), alive until exit: all their CPU is the run's.
            signing_cpu = sum(cpu_seconds(child) for child in children_of(os.getpid()))
            seconds = seconds_since(application, [job_id], started)
            state = job_states(application, [job_id])[job_id]
            if state != ("done", rows):
                raise BenchError(f"the job ended as {state}")
            check_issued(application, [job_id], rows)
            db.session.remove()
            db.engine.dispose()
        result: dict[str, Any] = {
            "rows": rows,
            "seconds": seconds,
            "rss_before": rss_before,
            "samples": samples,
            "cpu": cpu,
            "signing_cpu": signing_cpu,
            "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        if profiler is not None:
            result["profile"] = profile_summary(profiler, seconds)
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


#: Where the time of a chunk goes, by function (cumulative time; these do not nest in each other
#: except where the label says "of which").
PROFILE_PARTS = [
    ("build (Issuance.build)", "app/services/awarding/issuing.py", "build"),
    ("  of which build the credential", "credentials/build.py", "build_credential"),
    ("sign (signing.sign_many, in process)", "app/services/awarding/signing.py", "sign_many"),
    ("  of which canonicalise (RDFC-1.0)", "credentials/jsonld/canonize.py", "canonize"),
    ("  of which Ed25519 sign", "keys/signing_key.py", "sign"),
    ("allocate status indices", "app/services/awarding/status_lists.py", "allocate"),
    ("store (ORM objects, audit, email)", "app/services/awarding/issuing.py", "_store_all"),
    ("  of which award email and its links", "app/services/delivery/notices.py", "queue_award"),
    ("    of which render (text, HTML)", "app/services/mail/emails.py", "render_slotted"),
    ("    of which manage link", "app/services/delivery/visibility.py", "issue_manage_link"),
    ("    of which claim link", "app/services/delivery/visibility.py", "issue_claim_link"),
    ("    of which queue (seal links)", "app/services/mail/emails.py", "queue"),
    ("  of which webhooks (none subscribed)", "app/services/webhooks/reactions.py", "_credential"),
    ("  of which audit events (record_all)", "app/services/org/audit.py", "record_all"),
    (
        "  of which the rows beside it (Core inserts)",
        "app/services/_core/plain_rows.py",
        "insert_new",
    ),
    ("  of which flush (SQL)", "sqlalchemy/orm/session.py", "flush"),
    ("duplicate re-check (holders)", "app/services/awarding/issuing.py", "holders"),
    ("prepare Issuance (per chunk)", "app/services/awarding/issuing.py", "__init__"),
    ("commit / flush (SQL)", "sqlalchemy/orm/session.py", "commit"),
]


def profile_summary(profiler: cProfile.Profile, seconds: float) -> list[tuple[str, float]]:
    stats = pstats.Stats(profiler)
    totals: dict[str, float] = {}
    for (filename, _, name), (_, _, _, cumulative, _) in stats.stats.items():
        for label, path, function in PROFILE_PARTS:
            if filename.endswith(path) and name == function:
                totals[label] = totals.get(label, 0.0) + cumulative
    return [(label, totals.get(label, 0.0)) for label, _, _ in PROFILE_PARTS]


def run_sqlite(rows: int, profile: bool = False) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child-sqlite",
        str(rows),
        "--signing-processes",
        str(SIGNING_PROCESSES),
    ]
    if profile:
        command.append("--profile")
    completed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=3600)
    if completed.returncode != 0:
        raise BenchError(f"the SQLite run of {rows} rows failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def rss_at(samples: list[tuple[int, float]], rows: int) -> float | None:
    """The RSS after the first chunk that brought the job to ``rows`` issued rows or more."""
    return next((rss for done, rss in samples if done >= rows), None)


# --- PostgreSQL with RQ workers ------------------------------------------------------------------


def run_postgres(
    server_url: str,
    redis_url: str,
    *,
    workers: int,
    jobs: int,
    rows: int,
    logs: Path,
    signing_processes: int,
) -> dict[str, Any]:
    """``jobs`` jobs sharing ``rows`` rows, run by ``workers`` `cairn worker` processes, each
    signing on ``signing_processes`` processes (0: in its own process)."""
    from redis import Redis
    from rq import Worker

    from app import create_app
    from app.extensions import db
    from app.services._core.jobs import QUEUE_NAME
    from app.services.awarding import bulk
    from app.services.org.audit import Actor
    from app.wiring import service_env

    connection = Redis.from_url(redis_url)
    connection.flushdb()
    workdir = Path(tempfile.mkdtemp(prefix="cairn-bench-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with postgres_database(server_url) as url:
            # Mail goes to a port nothing listens on: delivery jobs fail fast and are not timed.
            config = settings(
                url,
                workdir / "keys",
                signing_processes=signing_processes,
                REDIS_URL=redis_url,
                SMTP_HOST="127.0.0.1",
                SMTP_PORT=9,
                SMTP_SECURITY="none",
            )
            env = environ(config)
            upgrade = cairn("db", "upgrade", env=env, log=logs / "upgrade.log")
            if upgrade.wait(timeout=300) != 0:
                raise BenchError(f"cairn db upgrade failed; see {logs / 'upgrade.log'}")
            application = create_app(config)
            with application.app_context():
                issuer, achievement = make_issuer_and_achievement(application)
                job_ids = [
                    create_job(application, issuer, achievement, rows // jobs, f"j{n}")
                    for n in range(jobs)
                ]
                processes = [
                    cairn("worker", env=env, log=logs / f"worker-{n}.log") for n in range(workers)
                ]
                deadline = time.monotonic() + 120
                while len(Worker.all(connection=connection)) < workers:
                    if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                        raise BenchError(f"the workers did not start; see {logs}")
                    time.sleep(0.1)
                peak: dict[int, float] = {}
                cpu: dict[int, float] = {}
                # `cairn worker` runs jobs in its own process (RQ's SimpleWorker, no work
                # horse): its CPU from here on, plus its signing processes' (its children).
                idle = {p.pid: cpu_seconds(p.pid) for p in processes}
                started = datetime.now(UTC)
                for job_id in job_ids:
                    bulk.confirm(
                        bulk.get_job(issuer, job_id), actor=Actor(label="bench"), env=service_env()
                    )
                db.session.remove()
                while True:
                    states = job_states(application, job_ids)
                    for process in processes:
                        with suppress(OSError):
                            peak[process.pid] = hwm_mb(process.pid)
                            cpu[process.pid] = cpu_seconds(process.pid) - idle[process.pid]
                            # Looking for children reads every process's stat: only when
                            # there are signing processes to find.
                            for child in children_of(process.pid) if signing_processes else ():
                                cpu[child] = cpu_seconds(child)
                    if all(s[0] in ("done", "failed") for s in states.values()):
                        break
                    # The run's time is the job's own (its finished_at): polling more often
                    # would not sharpen it, only take CPU from the workers on a small machine.
                    time.sleep(POLL_SECONDS)
                seconds = seconds_since(application, job_ids, started)
                if any(s != ("done", rows // jobs) for s in states.values()):
                    raise BenchError(f"jobs ended as {states}")
                check_issued(application, job_ids, rows // jobs * jobs)
                db.session.remove()
                db.engine.dispose()
            return {
                "seconds": seconds,
                "rows": rows // jobs * jobs,
                "worker_peak": max(peak.values(), default=0.0),
                "worker_cpu": sum(cpu.values()),
                "queue": QUEUE_NAME,
            }
    finally:
        for process in processes:
            for pid in [*children_of(process.pid), process.pid]:
                with suppress(ProcessLookupError):
                    os.kill(pid, 9)
            process.wait(timeout=30)
        connection.flushdb()
        connection.close()
        shutil.rmtree(workdir, ignore_errors=True)


# --- report --------------------------------------------------------------------------------------


def header() -> list[str]:
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
    ]
    return lines


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        out.append(
            "  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(row)
            )
        )
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows of the main run (10,000)")
    parser.add_argument(
        "--small", type=int, default=2_000, help="rows of the memory comparison run"
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("CAIRN_TEST_DATABASE_URL") or DEFAULT_POSTGRES,
        help="a PostgreSQL URL; a throw-away database is made on its server",
    )
    parser.add_argument(
        "--redis", default=DEFAULT_REDIS, help=f"Redis database to use and FLUSH ({DEFAULT_REDIS})"
    )
    parser.add_argument(
        "--profile", action="store_true", help="also profile a SQLite run (where the time goes)"
    )
    parser.add_argument(
        "--signing-processes",
        type=int,
        default=SIGNING_PROCESSES,
        help=f"processes that sign each chunk (default: one per core, {SIGNING_PROCESSES})",
    )
    parser.add_argument(
        "--big",
        type=int,
        default=100_000,
        help="rows of the PostgreSQL job run by 1, then 2 workers (100,000)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="PostgreSQL runs of each kind, alternating 1, 2, 2, 1, ... workers (1); the ratio "
        "is of the rates over all of them",
    )
    parser.add_argument(
        "--worker-signing-processes",
        type=int,
        default=0,
        help="signing processes per RQ worker in the PostgreSQL runs (default 0: each worker "
        "signs in its own process, one core, so 2 workers can be compared with 1)",
    )
    parser.add_argument("--child-sqlite", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    globals()["SIGNING_PROCESSES"] = args.signing_processes
    # A plain SIGTERM would skip the clean-up (temporary databases, worker processes).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.child_sqlite:
        print(json.dumps(sqlite_child(args.child_sqlite, args.profile)))
        return 0
    if not args.postgres.startswith("postgresql"):
        args.postgres = DEFAULT_POSTGRES
    try:
        return report(args)
    except BenchError as exc:
        print(f"bench/bulk.py: {exc}", file=sys.stderr)
        return 1


def report_sqlite(args: argparse.Namespace) -> None:
    print(
        f"\nSQLite, in-process runner (thread pool), chunk 250, "
        f"{SIGNING_PROCESSES} signing process(es): {args.small:,} and {args.rows:,} rows\n"
    )
    results = [run_sqlite(args.small), run_sqlite(args.rows)]
    rows = [
        [
            "rows",
            "wall s",
            "rows/s",
            "CPU s",
            "signing CPU s",
            "rows/CPU-s (both)",
            "RSS before",
            "RSS @1k",
            "RSS @5k",
            f"RSS @{args.rows // 1000}k",
            "growth 1k->end",
            "peak RSS",
        ]
    ]
    for result in results:
        n = result["rows"]
        at = [rss_at(result["samples"], k) for k in (1000, 5000, n)]
        end = result["samples"][-1][1]
        first = at[0] if at[0] is not None else end
        rows.append(
            [
                f"{n:,}",
                f"{result['seconds']:.1f}",
                f"{n / result['seconds']:.0f}",
                f"{result['cpu']:.1f}",
                f"{result['signing_cpu']:.1f}",
                f"{n / (result['cpu'] + result['signing_cpu']):.0f}",
                f"{result['rss_before']:.0f} MiB",
            ]
            + [f"{v:.0f} MiB" if v is not None else "-" for v in at]
            + [f"{end - first:+.1f} MiB", f"{result['maxrss']:.0f} MiB"]
        )
    print(table(rows))
    main_run = results[1]
    verdict = "PASS" if main_run["seconds"] < SQLITE_TARGET_SECONDS else "FAIL"
    print(
        f"\n{verdict}: {args.rows:,} rows in under {SQLITE_TARGET_SECONDS:.0f} s on SQLite, "
        f"default settings: {main_run['seconds']:.1f} s wall-clock "
        f"({main_run['cpu']:.1f} CPU-s in the job's process, "
        f"{main_run['signing_cpu']:.1f} in its signing processes), "
        f"{main_run['seconds'] / SQLITE_TARGET_SECONDS:.2f}x the target"
        + ("" if args.rows == 10_000 else " (the target is for 10,000 rows)")
    )
    if SIGNING_PROCESSES > 1:
        print(
            f"CPU s is the job's own process during the run; signing CPU s is its "
            f"{SIGNING_PROCESSES} signing processes' whole life (started by the preview just "
            "before the clock: their start-up, a few tenths of a second of imports each, is "
            "included); rows/CPU-s divides by both."
        )
    busy = os.getloadavg()[0] > (os.cpu_count() or 1)
    if busy:
        print(
            "The machine is busy (load average above its CPU count): wall-clock times are "
            "inflated by other processes; CPU-s is what the run itself used, about its "
            "wall-clock time on an idle core."
        )
    if args.profile:
        profiled = run_sqlite(args.small, profile=True)
        print(
            f"\nWhere the time goes (cProfile, {args.small:,} rows inline, "
            f"{profiled['seconds']:.1f} s under the profiler, cumulative):\n"
        )
        print(
            table(
                [["part", "seconds", "share"]]
                + [
                    [label, f"{s:.2f}", f"{100 * s / profiled['seconds']:.0f}%"]
                    for label, s in profiled["profile"]
                ]
            )
        )


def report(args: argparse.Namespace) -> int:
    print("\n".join(header()))
    if not args.no_sqlite:
        report_sqlite(args)
    if args.no_postgres:
        return 0
    print(
        f"\nPostgreSQL ({make_url(args.postgres).host}), one job of {args.big:,} rows, "
        f"1 worker vs 2 workers (RQ `cairn worker`, Redis {args.redis}, "
        f"{args.worker_signing_processes} signing process(es) per worker)\n"
    )
    logs = Path(tempfile.mkdtemp(prefix="cairn-bench-logs-"))
    rows = [
        ["workers", "jobs", "rows", "wall s", "rows/s", "worker CPU-s", "rows/CPU-s", "worker RSS"]
    ]
    seconds: dict[int, float] = {1: 0.0, 2: 0.0}
    done: dict[int, int] = {1: 0, 2: 0}
    # Rounds alternate 1, 2, 2, 1, ...: a machine that speeds up or slows down over the run
    # (this one's CPU time for the same work moves by 10% from minute to minute) then weighs
    # on both sides alike, and the ratio is of the rates over all rounds.
    order = [w for n in range(args.rounds) for w in ((1, 2) if n % 2 == 0 else (2, 1))]
    for workers in order:
        result = run_postgres(
            args.postgres,
            args.redis,
            workers=workers,
            jobs=1,
            rows=args.big,
            logs=logs,
            signing_processes=args.worker_signing_processes,
        )
        seconds[workers] += result["seconds"]
        done[workers] += result["rows"]
        rows.append(
            [
                str(workers),
                f"1 x {args.big:,}",
                f"{result['rows']:,}",
                f"{result['seconds']:.1f}",
                f"{result['rows'] / result['seconds']:.0f}",
                f"{result['worker_cpu']:.1f}",
                f"{result['rows'] / result['worker_cpu']:.0f}" if result["worker_cpu"] else "-",
                f"{result['worker_peak']:.0f} MiB",
            ]
        )
    print(table(rows))
    ratio = (done[2] / seconds[2]) / (done[1] / seconds[1])
    verdict = "PASS" if ratio >= SCALE_TARGET else "FAIL"
    rounds = f" over {args.rounds} rounds" if args.rounds > 1 else ""
    print(
        f"\n{verdict}: one job of {args.big:,} rows, 2 workers at {ratio:.2f}x the rate of 1"
        f"{rounds} (target at least {SCALE_TARGET}x"
        + ("" if args.big >= 100_000 else "; the target is for 100,000 rows")
        + ")"
    )
    print(f"\n(worker logs: {logs}; load average now {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
