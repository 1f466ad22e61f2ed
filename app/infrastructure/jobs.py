"""Job runners: where a background job runs. Inline (tests: at once, in the caller's thread), a
small thread pool inside the web process (the default), or RQ workers fed through Redis
(``CAIRN_REDIS_URL``). ``app.wiring`` chooses one and says how a named job is run; services
only see :class:`JobRunner`.

Jobs are named and take JSON-able arguments, so the same call works for every runner.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

log = logging.getLogger(__name__)
QUEUE_NAME = "cairn"
#: What RQ workers import and call with the job's name and arguments.
RQ_ENTRY_POINT = "app.worker.perform_job"
#: A bulk job of tens of thousands of rows may take hours; RQ's default (3 minutes) would not do.
RQ_JOB_TIMEOUT = 6 * 3600

#: Runs the job ``name`` with ``args``; ``app.wiring`` supplies it.
Perform = Callable[[str, tuple[Any, ...]], Any]


class JobRunner(Protocol):
    """Runs named jobs in the background."""

    #: Whether the jobs run in this process (what a job will use, such as its signing
    #: processes, is then worth starting here before it runs).
    runs_here: bool

    def submit(self, name: str, *args: Any) -> None:
        """Run job ``name`` with ``args`` (JSON-able) in the background."""


class InlineRunner:
    """Tests: run the job at once, in the caller's thread and application context (its
    failure is the caller's)."""

    runs_here = True

    def __init__(self, perform: Perform) -> None:
        self.perform = perform

    def submit(self, name: str, *args: Any) -> None:
        self.perform(name, args)


class ThreadPoolRunner:
    """Without Redis: a pool of two threads in this process, started on first use. ``perform``
    must set up what a thread needs (an application context) and log a failure itself: an
    exception would otherwise vanish into the pool.

    A job submitted while the same job (name and arguments) waits, not yet started, in the queue
    is not queued twice: jobs are idempotent and read what to do when they start, so the
    waiting one does the work of both. Every award asks for ``deliver_email``; under load that
    was one mail run (a connection to the mail server, a transaction) per award, in the web
    process's own threads.
    """

    runs_here = True

    def __init__(self, perform: Perform, *, workers: int = 2) -> None:
        self.perform = perform
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._waiting: set[tuple[str, tuple[Any, ...]]] = set()

    def submit(self, name: str, *args: Any) -> None:
        job = (name, args)
        try:
            hash(job)
        except TypeError:  # arguments that cannot be compared cheaply: always queue
            job_key = None
        else:
            job_key = job
        with self._lock:
            if job_key is not None:
                if job_key in self._waiting:
                    return
                self._waiting.add(job_key)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.workers, thread_name_prefix="cairn-job"
                )
            pool = self._pool
        pool.submit(self._start, job_key, name, args)

    def _start(self, job_key: tuple[str, tuple[Any, ...]] | None, name: str, args: Any) -> Any:
        if job_key is not None:
            with self._lock:
                # Started: from now on a new submission may find work this run has passed.
                self._waiting.discard(job_key)
        return self.perform(name, args)


def waiting_key(name: str) -> str:
    """The Redis key that marks job ``name`` (one without arguments) as queued and not yet
    started; the worker deletes it as the job starts (``app.worker.perform_job``)."""
    return f"{QUEUE_NAME}:waiting:{name}"


class RqRunner:
    """Jobs go to Redis and run on ``cairn worker`` processes (RQ). When Redis does not answer,
    a job is handed to ``fallback`` (a thread pool of this process) instead of failing what
    submitted it: jobs are idempotent and leased, so running one here and, later, again on a
    worker (the maintenance loop resumes interrupted bulk jobs) never does the work twice.

    A job without arguments (mail, webhook deliveries) is not queued again while one waits
    unstarted: it reads what to do when it starts, so the waiting one does the work of both.
    Every batch of awards asks for ``deliver_email``; under load that is then one Redis call
    (``SET … NX``, answered "already waiting") rather than a job queued per batch. The marker
    expires after :attr:`WAITING_FOR` seconds, so a job lost with its queue (Redis flushed) does
    not silence that job for good; the workers' maintenance loop sends waiting mail anyway.
    """

    #: Seconds to wait for Redis before falling back.
    CONNECT_TIMEOUT = 2
    #: Seconds a job without arguments counts as waiting at most (see the class doc).
    WAITING_FOR = 60
    #: On ``cairn worker`` processes (its fallback, when Redis is down, is not counted on).
    runs_here = False

    def __init__(self, redis_url: str, *, fallback: JobRunner | None = None) -> None:
        self.redis_url = redis_url
        self.fallback = fallback
        self._lock = threading.Lock()
        self._connection: Any = None

    def connection(self) -> Any:
        """This process's Redis client (a pool of connections kept open: a connection per
        submission cost a TCP handshake and a Redis client set-up on every award)."""
        with self._lock:
            if self._connection is None:
                from redis import Redis  # imported only when Redis is configured

                self._connection = Redis.from_url(
                    self.redis_url,
                    socket_connect_timeout=self.CONNECT_TIMEOUT,
                    socket_timeout=self.CONNECT_TIMEOUT,
                )
            return self._connection

    def queue(self) -> Any:
        """The RQ queue."""
        from rq import Queue

        return Queue(QUEUE_NAME, connection=self.connection())

    def submit(self, name: str, *args: Any) -> None:
        from redis.exceptions import RedisError

        marked = False
        try:
            if not args:
                marked = bool(
                    self.connection().set(waiting_key(name), 1, nx=True, ex=self.WAITING_FOR)
                )
                if not marked:
                    return  # one waits unstarted already and will do this one's work
            self.queue().enqueue(RQ_ENTRY_POINT, name, *args, job_timeout=RQ_JOB_TIMEOUT)
        except (RedisError, OSError) as exc:
            if self.fallback is None:
                raise
            if marked:
                with contextlib.suppress(RedisError, OSError):
                    self.connection().delete(waiting_key(name))
            log.warning(
                "Redis is unavailable (%s: %s); job %s runs in this process instead",
                type(exc).__name__,
                exc,
                name,
            )
            self.fallback.submit(name, *args)
