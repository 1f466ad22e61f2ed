"""``cairn`` commands that work on an instance: serve, migrate, seed the demo, run workers, and
create issuers, achievements and awards (the same service functions as the web UI)."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from flask import Flask

from app.cli.errors import UsageProblem
from app.services._core.errors import ServiceError
from app.services._core.transaction import roll_back_refused
from app.services.org.audit import CLI
from credentials import CREDIT_UNITS

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def instance(*, jobs_inline: bool = False) -> Iterator[Flask]:
    """An application context for the instance the environment describes; with
    ``jobs_inline``, background jobs run in the command itself (it waits for them)."""
    from app import create_app
    from app.config import ConfigError

    try:
        # The job runner is chosen when the application is built, so this cannot be changed
        # on the application afterwards.
        app = create_app({"JOBS_INLINE": True} if jobs_inline else None)
    except ConfigError as exc:
        raise UsageProblem(str(exc).replace("\n", " ")) from None
    with app.app_context():
        try:
            yield app
        except ServiceError as exc:
            roll_back_refused()
            raise UsageProblem(exc.message) from None
        finally:
            # A command is a short-lived process: close its connections rather than leave them
            # to the garbage collector (PostgreSQL logs abandoned ones).
            from app.extensions import db

            db.session.remove()
            db.engine.dispose()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes")
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=click.IntRange(1, 64),
    help="threads per worker (requests one worker takes at once)",
)
def serve_command(host: str, port: int, workers: int, threads: int) -> int:
    """Serve the web application with gunicorn."""
    from gunicorn.app.base import BaseApplication

    from app import create_app, logs
    from app.cli import balancing
    from app.config import ConfigError
    from app.infrastructure import metrics
    from app.services.delivery import analytics
    from app.worker import start_maintenance

    # Each gunicorn worker counts its requests in a file of this folder, and /metrics adds them
    # up, whichever worker answers the scrape (prometheus_client's multiprocess mode).
    metrics.enable_multiprocess(metrics_folder())
    try:
        app = create_app()
    except ConfigError as exc:
        raise UsageProblem(str(exc).replace("\n", " ")) from None
    # What is loaded by now (modules, the application, its caches) lives as long as the
    # process: put it beyond the garbage collector's reach before gunicorn forks the workers.
    # Otherwise each full collection in a worker scans it all, stalling every thread of the
    # worker for about 100 ms, several times a minute under load.
    gc.collect()
    gc.freeze()

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            if not app.config.get("REDIS_URL"):
                # Without RQ workers, each web process resumes interrupted bulk jobs and
                # retries waiting mail itself (leases and claims keep that safe).
                self.cfg.set("post_fork", lambda server, worker_process: start_maintenance(app))
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            # Python runs one thread of a process at a time; more threads overlap database
            # waits, and concurrent awards of one achievement are issued together
            # (awarding/grouping.py), so a worker that takes more at once batches more.
            self.cfg.set("threads", threads)
            # gthread, but the workers take turns accepting connections, so that kept-alive
            # connections do not all land on one worker and leave the other cores idle.
            self.cfg.set("worker_class", balancing.worker_class(workers))
            self.cfg.set("timeout", 120)
            # A worker that exits leaves its counts in the metrics folder; its gauges go.
            self.cfg.set("child_exit", lambda server, worker: metrics.process_exited(worker.pid))
            # The page views a worker still holds in memory are written before it exits
            # (atexit would too; this runs even when a worker is stopped by gunicorn itself).
            self.cfg.set("worker_exit", lambda server, worker: analytics.flush_pending())
            # No gunicorn access log: Cairn logs each request itself (app/ops.py), with the
            # route's template rather than the path, which may hold a secret link's token;
            # gunicorn's own lines go out in Cairn's format (CAIRN_LOG_FORMAT).
            self.cfg.set("logconfig_dict", logs.gunicorn_logconfig(app.config))
            # ... and none of its work either: gunicorn counts its access log as on whenever
            # a logging configuration is given, and then builds every request's log fields (a
            # dict of the environ and headers, a formatted date) and a log record no handler
            # takes: about a tenth of the CPU of a credential's JSON (bench/README.md).
            self.cfg.set("logger_class", logs.gunicorn_logger_class())
            # gunicorn's control socket is one path per user ($HOME/.gunicorn/gunicorn.ctl), so
            # two instances on a machine would take each other's; Cairn does not use it.
            self.cfg.set("control_socket_disable", True)

        def load(self) -> Flask:
            return app

    click.echo(f"Cairn is serving {app.config['BASE_URL']} on http://{host}:{port}", err=True)
    Server().run()
    return 0


def metrics_folder() -> str:
    """``PROMETHEUS_MULTIPROC_DIR`` emptied of a previous run's counts, else a new temporary
    folder: one folder per ``cairn serve``, never shared by two."""
    import os
    import tempfile

    configured = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not configured:
        return tempfile.mkdtemp(prefix="cairn-metrics-")
    folder = Path(configured)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    return str(folder)


@click.group("db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command("upgrade")
def db_upgrade_command() -> int:
    """Apply every migration (creates the database on first use)."""
    from flask_migrate import upgrade

    from app import MIGRATIONS

    with instance() as app:
        if app.config["DATABASE_URL"].startswith("sqlite:///"):
            Path(app.config["DATABASE_URL"][len("sqlite:///") :]).parent.mkdir(
                parents=True, exist_ok=True
            )
        upgrade(directory=MIGRATIONS)
    return 0


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when any issuer exists.")
def demo_command(if_empty: bool) -> int:
    """Seed a demo issuer (a district PD office) with achievements and awards."""
    from app.services import demo
    from app.wiring import service_env

    with instance() as app:
        created = demo.seed(service_env(), if_empty=if_empty)
        if created is None:
            click.echo("The instance already has issuers; no demo data added.", err=True)
        else:
            click.echo(created, err=True)
            try:
                path = Path(app.instance_path) / "demo-sign-in.txt"
                path.write_text(created + "\n")
                path.chmod(0o600)
            except OSError:
                pass
    return 0


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit when the queue is empty (for scripts).")
def worker_command(burst: bool) -> int:
    """Run background jobs from Redis (needs CAIRN_REDIS_URL)."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    from app import worker
    from app.services._core.jobs import QUEUE_NAME

    with instance() as app:
        url = app.config.get("REDIS_URL")
        if not url:
            raise UsageProblem(
                "set CAIRN_REDIS_URL to run workers (without it jobs run in the web process)"
            )
        connection = Redis.from_url(url)
        stop = worker.start_maintenance(app)
        try:
            # Jobs run in this process (SimpleWorker), never in a forked "work horse": the
            # maintenance thread may hold SQLite's or the connection pool's lock at the moment
            # RQ would fork, and the child would then wait on that lock for ever. Signing
            # already runs in spawned processes, so a job gains nothing from a fork.
            SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(
                burst=burst
            )
        finally:
            stop.set()
    return 0


@click.group("issuers")
def issuers_group() -> None:
    """Issuer (organisation) commands."""


@issuers_group.command("create")
@click.option("--name", required=True)
@click.option("--slug", help="Short name used in URLs and the DID (default: from the name).")
@click.option("--url", help="The organisation's website.")
@click.option("--email", help="A contact address.")
@click.option("--description")
@click.option("--owner", help="Email of an existing staff account to make owner.")
@click.option(
    "--format", "proof_format", type=click.Choice(["di", "jwt"]), default="di", show_default=True
)
def issuers_create_command(
    name: str,
    slug: str | None,
    url: str | None,
    email: str | None,
    description: str | None,
    owner: str | None,
    proof_format: str,
) -> int:
    """Create an issuer with its keys, DID and status lists."""
    from app.services.org import issuers, staff
    from app.services.org.issuers import IssuerProfileInput
    from app.wiring import service_env

    with instance():
        owner_account = staff.get_by_email(owner) if owner else None
        issuer = issuers.create_issuer(
            IssuerProfileInput(
                name=name, url=url, email=email, description=description, proof_format=proof_format
            ),
            slug=slug,
            owner=owner_account,
            actor=CLI,
            env=service_env(),
        )
        env = service_env()
        click.echo(
            json.dumps({"slug": issuer.slug, "did": issuers.issuer_did(issuer, env)}, indent=2)
        )
    return 0


@click.group("achievements")
def achievements_group() -> None:
    """Achievement commands."""


@achievements_group.command("create")
@click.option("--issuer", "slug", required=True)
@click.option("--name", required=True)
@click.option("--description", required=True)
@click.option("--criteria", required=True, help="What earns it (markdown).")
@click.option("--type", "achievement_type", default="Badge", show_default=True)
@click.option("--outcome", "outcomes", multiple=True, help="A learning outcome (repeatable).")
@click.option("--tag", "tags", multiple=True)
@click.option("--credits", type=float, help="Credit (creditsAvailable), in --credit-unit.")
@click.option(
    "--credit-unit",
    type=click.Choice(tuple(CREDIT_UNITS)),
    help="What --credits counts (none: hours, unit not stated).",
)
@click.option("--valid-days", type=int, help="Default validity in days (none: no expiry).")
def achievements_create_command(
    slug: str,
    name: str,
    description: str,
    criteria: str,
    achievement_type: str,
    outcomes: tuple[str, ...],
    tags: tuple[str, ...],
    credits: float | None,
    credit_unit: str | None,
    valid_days: int | None,
) -> int:
    """Create an achievement and print its id."""
    from app.services.org import achievements, issuers
    from app.services.org.achievements import AchievementInput
    from app.wiring import service_env

    with instance():
        issuer = issuers.get_by_slug(slug)
        achievement = achievements.create_achievement(
            issuer,
            AchievementInput(
                name=name,
                description=description,
                criteria_markdown=criteria,
                achievement_type=achievement_type,
                learning_outcomes=outcomes,
                tags=tags,
                credits_available=credits,
                credit_unit=credit_unit,
                default_validity_days=valid_days,
            ),
            actor=CLI,
            env=service_env(),
        )
        click.echo(achievement.public_id)
    return 0


@click.command("award")
@click.option("--issuer", "slug", required=True)
@click.option("--achievement", "achievement_id", required=True)
@click.option("--recipient", required=True, help="The recipient's email address.")
@click.option("--name", help="The recipient's name.")
@click.option("--narrative", help="How the recipient earned it (markdown).")
@click.option("--evidence", "evidence_urls", multiple=True, help="An evidence URL (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the signed credential.")
@click.option("--no-email", is_flag=True, help="Do not email the recipient.")
def award_command(
    slug: str,
    achievement_id: str,
    recipient: str,
    name: str | None,
    narrative: str | None,
    evidence_urls: tuple[str, ...],
    as_json: bool,
    no_email: bool,
) -> int:
    """Award a credential to one recipient."""
    from app.services.awarding import issuing
    from app.services.awarding.issuing import AwardInput, EvidenceInput
    from app.services.org import achievements, issuers
    from app.wiring import service_env

    with instance():
        issuer = issuers.get_by_slug(slug)
        achievement = achievements.get(issuer, achievement_id)
        credential = issuing.award(
            issuer,
            achievement,
            AwardInput(
                email=recipient,
                name=name,
                narrative=narrative,
                evidence=tuple(EvidenceInput(url=u) for u in evidence_urls),
            ),
            actor=CLI,
            env=service_env(),
            notify=not no_email,
        )
        if as_json:
            document = credential.document
            click.echo(
                json.dumps(json.loads(document), ensure_ascii=False, indent=2)
                if document.startswith("{")
                else document
            )
        else:
            click.echo(issuing.credential_url(credential.id, service_env()))
    return 0


@click.command("award-csv")
@click.option("--issuer", "slug", required=True)
@click.option("--achievement", "achievement_id", required=True)
@click.option("--yes", is_flag=True, help="Issue without asking after the preview.")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
def award_csv_command(slug: str, achievement_id: str, yes: bool, csv_file: str) -> int:
    """Award from a CSV file (columns: email, name, narrative, evidence_url, expiry): preview,
    confirm, issue, and print the per-row results as CSV."""
    from app.services.awarding import bulk
    from app.services.org import achievements, issuers
    from app.wiring import service_env

    with instance(jobs_inline=True) as app:  # the command waits for its own job
        issuer = issuers.get_by_slug(slug)
        achievement = achievements.get(issuer, achievement_id)
        data = Path(csv_file).read_bytes()
        job = bulk.create_job(
            issuer,
            achievement,
            filename=Path(csv_file).name,
            data=data,
            actor=CLI,
            env=service_env(),
            max_rows=int(app.config["MAX_CSV_ROWS"]),
        )
        counts: dict[str, int] = {}
        for row in bulk.rows(job):
            counts[row.verdict] = counts.get(row.verdict, 0) + 1
            if row.verdict != "ok":
                click.echo(f"row {row.row_number}: {row.verdict}: {row.message}", err=True)
        click.echo(
            f"{job.total_rows} rows: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())),
            err=True,
        )
        if job.valid_rows == 0:
            bulk.cancel(job, actor=CLI, env=service_env())
            raise UsageProblem("no row can be issued")
        if not yes and not click.confirm(f"Issue {job.valid_rows} credentials?", err=True):
            bulk.cancel(job, actor=CLI, env=service_env())
            return 1
        bulk.confirm(job, actor=CLI, env=service_env())
        for chunk in bulk.results_csv(job, service_env()):
            sys.stdout.write(chunk)
    return 0


@click.command("revoke")
@click.argument("credential_id")
@click.option("--reason", required=True, help="The internal note: staff and the audit log only.")
@click.option(
    "--public-reason",
    "public_choice",
    type=click.Choice(["issued_in_error", "requirements", "replaced", "other"]),
    help="The reason its public page shows (none without it); 'other' takes --public-text.",
)
@click.option("--public-text", default="", help="The public reason, written for the public.")
def revoke_command(
    credential_id: str, reason: str, public_choice: str | None, public_text: str
) -> int:
    """Revoke a credential (its id, or its public URL)."""
    from app.services.awarding import revocation
    from app.services.delivery import queries
    from app.wiring import service_env

    with instance():
        credential = queries.find_credential(credential_id.rstrip("/").rsplit("/", 1)[-1])
        if credential is None:
            raise UsageProblem(f"there is no credential {credential_id}")
        public = (
            revocation.public_reason("revocation", public_choice, public_text)
            if public_choice
            else None
        )
        revocation.revoke(credential, reason, actor=CLI, env=service_env(), public=public)
        click.echo(f"revoked {credential.id}", err=True)
    return 0


@click.group("staff")
def staff_group() -> None:
    """Staff account commands."""


@staff_group.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--admin",
    is_flag=True,
    help="An instance administrator: may create organisations and disable staff accounts.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (else: prompt).")
def staff_create_command(email: str, name: str, admin: bool, password_stdin: bool) -> int:
    """Create a staff account."""
    from app.services.org import staff
    from app.wiring import service_env

    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    )
    with instance():
        account = staff.create_account(
            email=email, name=name, password=password, is_admin=admin, actor=CLI, env=service_env()
        )
        click.echo(account.email, err=True)
    return 0


@click.command("send-expiry-notices")
def expiry_command() -> int:
    """Queue and send "expiring soon" emails (run daily, e.g. from cron)."""
    from app.services.delivery import expiry
    from app.wiring import service_env

    with instance(jobs_inline=True):
        click.echo(f"{expiry.send_notices(service_env())} notices", err=True)
    return 0


@click.command("deliver-webhooks")
def deliver_webhooks_command() -> int:
    """Send the webhook deliveries that are due (retries included; run every few minutes from
    cron when no worker runs)."""
    from app.services.webhooks import deliveries
    from app.wiring import service_env

    with instance(jobs_inline=True):
        done = deliveries.deliver_due(service_env())
        click.echo(
            f"{done.delivered} delivered, {done.retrying} to retry, {done.failed} given up",
            err=True,
        )
    return 0


COMMANDS = [
    serve_command,
    db_group,
    demo_command,
    worker_command,
    issuers_group,
    achievements_group,
    award_command,
    award_csv_command,
    revoke_command,
    staff_group,
    expiry_command,
    deliver_webhooks_command,
]
