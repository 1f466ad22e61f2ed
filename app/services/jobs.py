"""Background jobs: one ``submit`` for every kind of runner.

* Tests (``JOBS_INLINE``) run a job at once, in the caller's thread.
* With ``CAIRN_REDIS_URL`` jobs go to Redis and run on ``cairn worker`` processes (RQ).
* Otherwise they run on a small thread pool inside the web process.

Jobs are named, take JSON-able arguments, and are idempotent: running one twice, or again after
a crash, never issues a credential twice (see ``bulk.run_job``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask, current_app

from app.extensions import db

log = logging.getLogger(__name__)
QUEUE_NAME = "cairn"
_POOL_KEY = "cairn.jobs.pool"


def _current_app() -> Flask:
    """The real application object behind ``current_app`` (threads need the object itself)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return app


def _registry() -> dict[str, Callable[..., Any]]:
    from app.services import bulk, emails, expiry
    from app.wiring import utcnow

    return {
        "deliver_email": lambda: emails.deliver_pending(_current_app(), now=utcnow()),
        "run_bulk_job": bulk.run_job_by_id,
        "expiry_notices": expiry.send_notices,
    }


def perform(name: str, *args: Any) -> Any:
    """Run a job in the current application context."""
    job = _registry().get(name)
    if job is None:
        raise LookupError(f"unknown job {name!r}")
    try:
        return job(*args)
    finally:
        db.session.remove()


def _in_pool(app: Flask, name: str, args: tuple[Any, ...]) -> None:
    with app.app_context():
        try:
            perform(name, *args)
        except Exception:  # a job's failure must not kill the pool thread; it is logged
            log.exception("background job %s%r failed", name, args)


def queue() -> Any:
    """The RQ queue (only when Redis is configured)."""
    from redis import Redis
    from rq import Queue

    return Queue(QUEUE_NAME, connection=Redis.from_url(current_app.config["REDIS_URL"]))


def submit(name: str, *args: Any) -> None:
    """Run job ``name`` in the background (or inline in tests)."""
    app = _current_app()
    if app.config.get("JOBS_INLINE"):
        job = _registry()[name]
        job(*args)
        return
    if app.config.get("REDIS_URL"):
        queue().enqueue("app.worker.perform_job", name, *args, job_timeout=6 * 3600)
        return
    pool = app.extensions.get(_POOL_KEY)
    if pool is None:
        pool = app.extensions[_POOL_KEY] = ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="cairn-job"
        )
    pool.submit(_in_pool, app, name, args)
