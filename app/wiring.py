"""Composition root: builds the collaborators services receive (key store, JSON-LD loader,
clock, fetcher, mail transport, job runner) from the configuration, once per application, and
names the function behind each background job."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app

from app import logs
from app.extensions import db
from app.fetch import SafeFetcher
from app.infrastructure.jobs import InlineRunner, JobRunner, RqRunner, ThreadPoolRunner
from app.infrastructure.mail import (
    MailTransport,
    OutboxTransport,
    SmtpSettings,
    SmtpTransport,
    UnconfiguredTransport,
)
from app.services import subscriptions
from app.services._core import jobs
from app.services._core.env import ServiceEnv, ServiceSettings
from app.services._core.formatting import DEFAULT_LOCALE
from app.services.awarding import bulk
from app.services.delivery import analytics, expiry
from app.services.learning import hosts
from app.services.mail import emails
from app.services.webhooks import deliveries as webhook_deliveries
from credentials import DocumentLoader
from keys import DEFAULT_KDF, TEST_ONLY_KDF, CachingKeyStore, EncryptedFileStore, KeyStore

_KEY = "cairn.wiring"
log = logging.getLogger(__name__)
job_log = logging.getLogger("cairn.job")


class Wiring:
    """The collaborators of one application."""

    def __init__(self, app: Flask) -> None:
        config = app.config
        keys_dir = Path(config["KEYS_DIR"])
        if config.get("KEYSTORE") is not None:
            # Tests may hand in a store of their own (e.g. an in-memory one).
            self.keystore: KeyStore = config["KEYSTORE"]
        else:
            # check_config allows the cheap parameters only in testing.
            kdf = TEST_ONLY_KDF if config.get("KEY_KDF_FOR_TESTS") else DEFAULT_KDF
            self.keystore = CachingKeyStore(
                EncryptedFileStore(keys_dir, config["KEY_PASSPHRASE"].encode("utf-8"), kdf=kdf)
            )
        self.loader = DocumentLoader()
        self.base_url: str = config["BASE_URL"].rstrip("/")
        self.fetcher = SafeFetcher()
        self.clock = config.get("CLOCK") or (lambda: datetime.now(UTC))
        self.mail = mail_transport(app)
        self.jobs = job_runner(app)


def outbox_dir(app: Flask) -> Path:
    """Where development mail is written: ``OUTBOX_DIR``, else ``instance/outbox``."""
    configured = app.config.get("OUTBOX_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "outbox"


def mail_transport(app: Flask) -> MailTransport:
    """SMTP when ``SMTP_HOST`` is set; else, in production, none (mail stays queued; check_config
    refuses to start like that); else the development outbox folder."""
    config = app.config
    if config.get("SMTP_HOST"):
        return SmtpTransport(
            SmtpSettings(
                host=config["SMTP_HOST"],
                port=int(config.get("SMTP_PORT") or 587),
                security=config.get("SMTP_SECURITY") or "starttls",
                username=config.get("SMTP_USERNAME") or None,
                password=config.get("SMTP_PASSWORD") or None,
                timeout=float(config.get("SMTP_TIMEOUT") or 10),
                ca_file=config.get("SMTP_CA_FILE") or None,
                local_hostname=urlsplit(config.get("BASE_URL") or "").hostname or "localhost",
            )
        )
    if config["ENV"] == "production":
        return UnconfiguredTransport()
    return OutboxTransport(outbox_dir(app))


def reconfigure_mail(app: Flask) -> None:
    """Choose the mail transport again, after a change of the mail settings (tests)."""
    app.extensions[_KEY].mail = mail_transport(app)


#: The function behind each background job's name (they run in an application context).
JOBS: dict[str, Callable[..., Any]] = {
    jobs.DELIVER_EMAIL: lambda: emails.deliver_pending(service_env()),
    jobs.RUN_BULK_JOB: lambda job_id: bulk.run_job_by_id(job_id, service_env()),
    jobs.RUN_BULK_SHARE: lambda job_id: bulk.run_share_by_id(job_id, service_env()),
    jobs.EXPIRY_NOTICES: lambda: expiry.send_notices(service_env()),
    jobs.DELIVER_WEBHOOKS: lambda: webhook_deliveries.deliver_due(service_env()),
    jobs.PUSH_TO_HOST: lambda connection_id: hosts.run_pushes(connection_id, service_env()),
}


def perform(name: str, *args: Any) -> Any:
    """Run a job in the current application context (an RQ worker's, a pool thread's), and
    hand its database session back afterwards."""
    job = JOBS.get(name)
    if job is None:
        raise LookupError(f"unknown job {name!r}")
    # Each run gets an id of its own on its log lines (as a request does; app/logs.py).
    run_id = logs.new_request_id()
    token = logs.request_id.set(run_id)
    started = time.perf_counter()
    outcome = "failed"
    job_log.info(
        "job %s started",
        name,
        extra={"request_id": run_id, "event": "job", "job": name, "outcome": "started"},
    )
    try:
        result = job(*args)
        outcome = "done"
        return result
    finally:
        db.session.remove()
        job_log.log(
            logging.INFO if outcome == "done" else logging.ERROR,
            "job %s %s",
            name,
            outcome,
            extra={
                "request_id": run_id,
                "event": "job",
                "job": name,
                "outcome": outcome,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                # A bulk job's id (a UUID) is not personal; other jobs take no argument worth
                # logging, and an educator's connection id says nothing either.
                "job_id": (
                    str(args[0])
                    if name in (jobs.RUN_BULK_JOB, jobs.RUN_BULK_SHARE) and args
                    else None
                ),
            },
        )
        logs.request_id.reset(token)


def job_runner(app: Flask) -> JobRunner:
    """Inline with ``JOBS_INLINE`` (tests), RQ with ``REDIS_URL``, else a thread pool."""
    config = app.config
    if config.get("JOBS_INLINE"):
        # In the caller's context and session: the test sees the job's work at once.
        return InlineRunner(lambda name, args: JOBS[name](*args))

    def in_thread(name: str, args: tuple[Any, ...]) -> None:
        with app.app_context():
            try:
                perform(name, *args)
            except Exception:  # a job's failure must not kill the pool thread; it is logged
                log.exception("background job %s%r failed", name, args)

    if config.get("REDIS_URL"):
        # Redis down: the job runs on this process's threads rather than being lost.
        return RqRunner(config["REDIS_URL"], fallback=ThreadPoolRunner(in_thread))
    return ThreadPoolRunner(in_thread)


def init_app(app: Flask) -> None:
    """Build the wiring for ``app``, and connect the domains' event handlers."""
    app.extensions[_KEY] = Wiring(app)
    subscriptions.register()


def wiring() -> Wiring:
    """The current application's wiring."""
    found: Wiring = current_app.extensions[_KEY]
    return found


def keystore() -> KeyStore:
    """The key store (decrypted keys cached in memory)."""
    return wiring().keystore


def utcnow() -> datetime:
    """Now, timezone-aware (tests can fix the clock with the ``CLOCK`` setting)."""
    now: datetime = wiring().clock()
    return now


def base_url() -> str:
    """The public origin, without a trailing slash."""
    return wiring().base_url


def service_env() -> ServiceEnv:
    """The collaborators for one service call, at the current time."""
    state = wiring()
    config = current_app.config
    return ServiceEnv(
        keystore=state.keystore,
        loader=state.loader,
        base_url=state.base_url,
        now=state.clock(),
        clock=state.clock,
        mail=state.mail,
        jobs=state.jobs,
        # Read at each call: tests change settings of a running app.
        settings=service_settings(config),
    )


def service_settings(config: Mapping[str, Any]) -> ServiceSettings:
    """The settings services read, from the configuration."""
    return ServiceSettings(
        secret_key=str(config["SECRET_KEY"]),
        mail_from=config.get("MAIL_FROM"),
        manage_link_days=int(config.get("MANAGE_LINK_DAYS") or 90),
        partner_link_days=int(config.get("PARTNER_LINK_DAYS") or 30),
        expiry_warning_days=int(config.get("EXPIRY_WARNING_DAYS") or 30),
        bulk_chunk_size=int(config.get("BULK_CHUNK_SIZE") or 250),
        bulk_lease_seconds=float(config.get("BULK_LEASE_SECONDS") or 20),
        signing_processes=signing_processes(config),
        bulk_shares=bulk_shares(config),
        webhook_allowed_hosts=webhook_allowed_hosts(config),
        ob_hosts_allowed=webhook_allowed_hosts(config, "OB_HOSTS_ALLOWED"),
        # The application's default locale (Flask-Babel's), which mail and jobs write dates in.
        locale=str(config.get("BABEL_DEFAULT_LOCALE") or DEFAULT_LOCALE),
    )


def webhook_allowed_hosts(
    config: Mapping[str, Any], name: str = "WEBHOOK_ALLOWED_HOSTS"
) -> tuple[str, ...]:
    """``WEBHOOK_ALLOWED_HOSTS`` (or the allow-list ``name``, e.g. ``OB_HOSTS_ALLOWED``): hosts
    that may be private or plain http (a list, or text separated by commas or spaces); none by
    default."""
    configured = config.get(name) or ()
    if isinstance(configured, str):
        configured = configured.replace(",", " ").split()
    return tuple(str(host).strip() for host in configured if str(host).strip())


def bulk_shares(config: Mapping[str, Any]) -> int:
    """How many helper jobs a bulk job queues for other workers: ``BULK_SHARES``, else 7 with
    RQ workers (a helper that finds no work left ends at once) and none without Redis (the
    web process's two job threads share one interpreter: a helper there would not be faster) or
    with jobs run inline (tests: a helper would run inside its coordinator's transaction)."""
    configured = config.get("BULK_SHARES")
    if configured is not None:
        return int(configured)
    return 7 if config.get("REDIS_URL") and not config.get("JOBS_INLINE") else 0


def signing_processes(config: Mapping[str, Any]) -> int:
    """How many processes sign bulk chunks: ``SIGNING_PROCESSES``, else one per core (none in
    tests, where starting interpreters would cost more than it saves)."""
    configured = config.get("SIGNING_PROCESSES")
    if configured is not None:
        return int(configured)
    if config["ENV"] == "testing":
        return 0
    return _CORES


#: The machine's cores, read once: ``os.cpu_count()`` was half the cost of every
#: ``service_env()`` (several a request).
_CORES = os.cpu_count() or 1


def fetcher() -> Any:
    """The fetcher for untrusted URLs (status lists, DID documents of other issuers)."""
    return wiring().fetcher


_TALLY_KEY = "cairn.view_tally"


def view_tally(app: Flask | None = None) -> analytics.ViewTally:
    """The application's page-view tally (made on first use, on the application's engine)."""
    target = app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]
    found: analytics.ViewTally | None = target.extensions.get(_TALLY_KEY)
    if found is None:
        with target.app_context():
            found = target.extensions.setdefault(_TALLY_KEY, analytics.ViewTally(db.engine))
    return found


def clock_of(app: Flask) -> Callable[[], datetime]:
    """The application's clock (tests can fix it with the ``CLOCK`` setting, or move it), read
    outside a request."""
    wired: Wiring = app.extensions[_KEY]
    return wired.clock


def close_view_tally(app: Flask) -> None:
    """Write the application's pending page views and stop its tally (when it has one): an
    application done with, such as a test's."""
    found: analytics.ViewTally | None = app.extensions.pop(_TALLY_KEY, None)
    if found is not None:
        found.close()
