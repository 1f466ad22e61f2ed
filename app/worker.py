"""RQ workers' entry point (``cairn worker``): run queued jobs in a Cairn application context,
and resume bulk jobs whose worker died."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)
_app: Flask | None = None
_lock = threading.Lock()
RESUME_INTERVAL = 10.0
#: Rounds between checks for credentials about to expire (about an hour).
EXPIRY_EVERY = 360
#: Seconds one process leaves between the start of a mail run and the end of its previous
#: one (see :func:`perform_job`).
MAIL_GATHER = 0.25
#: When this process's last mail run ended (``time.monotonic()``).
_mail_ended = float("-inf")


def application() -> Flask:
    """The worker process's application, created once from the environment."""
    global _app
    with _lock:
        if _app is None:
            from app import create_app

            _app = create_app()
        return _app


def perform_job(name: str, *args: Any) -> Any:
    """What RQ runs for every queued job."""
    global _mail_ended
    from app.services._core.jobs import DELIVER_EMAIL
    from app.wiring import perform

    mail = name == DELIVER_EMAIL and not args
    if mail:
        _gather_mail()
    if not args:
        # Started: from now on a new submission may find work this run has passed, so it
        # queues another (``RqRunner.submit`` skips one while this marker stands).
        from rq import get_current_job

        from app.infrastructure.jobs import waiting_key

        job = get_current_job()
        if job is not None:
            job.connection.delete(waiting_key(name))
    try:
        with application().app_context():
            return perform(name, *args)
    finally:
        if mail:
            _mail_ended = time.monotonic()


def _gather_mail() -> None:
    """Wait, before a mail run starts, until ``MAIL_GATHER`` seconds have passed since this
    process's previous run ended: under load every batch of awards asks for a run, and a run
    as soon as the last one ended took the mail of one batch (a few messages) for a whole
    run's cost (the job's own Redis round trips, a transaction, a connection to the mail
    server). While it waits its marker still stands, so the batches committed meanwhile queue
    nothing, and the run then takes all their mail at once. A run long after the last one (a
    sign-in link at a quiet moment) starts at once."""
    wait = _mail_ended + MAIL_GATHER - time.monotonic()
    if wait > 0:
        time.sleep(wait)


def resume_loop(app: Flask, stop: threading.Event) -> None:
    """Every few seconds, requeue bulk jobs whose worker stopped reporting (it was killed, or
    its machine went away), send mail still waiting (a failed delivery is retried here),
    start the webhook deliveries that are due, and pushes to other hosts whose job was lost.
    Runs beside the RQ worker, or in each web process without Redis, until ``stop`` is set."""
    from app.extensions import db
    from app.services._core import jobs
    from app.services.awarding import bulk, tally_shards
    from app.services.delivery import expiry
    from app.services.learning import hosts
    from app.services.mail import emails
    from app.services.org import account_sessions
    from app.services.wallets import vcapi
    from app.services.webhooks import deliveries as webhook_deliveries
    from app.wiring import service_env, utcnow

    rounds = 0
    while not stop.wait(RESUME_INTERVAL):
        with app.app_context():
            try:
                resumed = bulk.resume_interrupted(service_env())
                if resumed:
                    log.warning("resumed interrupted bulk jobs: %s", ", ".join(resumed))
                if rounds % EXPIRY_EVERY == 0:
                    # "Expiring soon" notices: each credential is claimed once, so several
                    # processes running this loop never send one twice.
                    env = service_env()
                    expiry.queue_notices(env, env.settings.expiry_warning_days)
                    # Ended and expired sign-in sessions (sign-in prunes them too).
                    account_sessions.prune(utcnow())
                    # Wallet exchanges that expired unused (each works 15 minutes).
                    vcapi.prune(utcnow())
                    db.session.commit()
                    # Pushes to another OB 3.0 host whose job was lost (a restart).
                    hosts.resume_stranded(service_env())
                    assessment_round(service_env())
                    # The report tally's shards of days before yesterday, folded into one row
                    # per key (the days still written stay spread: app/models/tallies.py).
                    tally_shards.fold(utcnow().date() - timedelta(days=1))
                if emails.pending_count():
                    emails.deliver_pending(service_env())
                env = service_env()
                if webhook_deliveries.due_count(env.now):
                    # Retries that came due: sent by the job runner, not this loop, so a slow
                    # receiver never holds up the rest of the maintenance.
                    jobs.submit(env, jobs.DELIVER_WEBHOOKS)
            except Exception:  # keep the loop alive; the next round retries
                log.exception("background maintenance failed; retrying in %ss", RESUME_INTERVAL)
            finally:
                db.session.remove()
        rounds += 1


def assessment_round(env: Any) -> tuple[int, int]:
    """The maintenance loop's staged-assessment round: reviewers are reminded once of stages
    coming due, then stages whose due time passed go to another assessor of the pool.
    Returns ``(reminded, reassigned)``."""
    from app.services.learning import stages

    return stages.queue_reminders(env), stages.reassign_overdue(env)


def start_maintenance(app: Flask) -> threading.Event:
    """Run :func:`resume_loop` on a daemon thread; return the event that stops it."""
    stop = threading.Event()
    threading.Thread(
        target=resume_loop, args=(app, stop), daemon=True, name="cairn-maintenance"
    ).start()
    return stop
