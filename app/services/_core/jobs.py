"""Background jobs: the names services submit, and one ``submit`` through the application's
job runner (``env.jobs``, chosen in ``app.wiring``: inline in tests, RQ workers with
``CAIRN_REDIS_URL``, otherwise a small thread pool in the web process; see
:mod:`app.infrastructure.jobs`). ``app.wiring`` maps each name to the function that runs it.

Jobs are named, take JSON-able arguments, and are idempotent: running one twice, or again after
a crash, never issues a credential twice (see ``bulk.run_job``).
"""

from __future__ import annotations

from typing import Any

from app.infrastructure.jobs import QUEUE_NAME, JobRunner
from app.services._core.env import ServiceEnv

__all__ = [
    "DELIVER_EMAIL",
    "DELIVER_WEBHOOKS",
    "EXPIRY_NOTICES",
    "PUSH_TO_HOST",
    "QUEUE_NAME",
    "RUN_BULK_JOB",
    "RUN_BULK_SHARE",
    "JobRunner",
    "runs_here",
    "submit",
]

#: Send the mail waiting in the queue (``emails.deliver_pending``).
DELIVER_EMAIL = "deliver_email"
#: Issue the rows of a confirmed bulk job (``bulk.run_job_by_id``; argument: the job's id).
RUN_BULK_JOB = "run_bulk_job"
#: Issue chunks of a running bulk job beside its coordinator, on PostgreSQL
#: (``bulk.run_share_by_id``; argument: the job's id).
RUN_BULK_SHARE = "run_bulk_share"
#: Queue "expiring soon" notices and deliver waiting mail (``expiry.send_notices``).
EXPIRY_NOTICES = "expiry_notices"
#: Try every webhook delivery that is due (``webhooks.deliveries.deliver_due``).
DELIVER_WEBHOOKS = "deliver_webhooks"
#: Send the queued pushes of an educator's connection to another OB 3.0 host
#: (``learning.hosts.run_pushes``; argument: the connection's id).
PUSH_TO_HOST = "push_to_host"


def submit(env: ServiceEnv, name: str, *args: Any) -> None:
    """Run job ``name`` in the background (or inline in tests)."""
    env.jobs.submit(name, *args)


def runs_here(env: ServiceEnv) -> bool:
    """Whether submitted jobs run in this process (the thread pool, inline in tests), not on
    ``cairn worker`` processes."""
    return env.jobs.runs_here
