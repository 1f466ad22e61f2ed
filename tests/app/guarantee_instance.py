"""Throw-away Cairn instances for the guarantee tests: environment, `cairn` subprocesses, PostgreSQL databases, Redis, process control."""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BASE_URL = "https://badges.example.org"
ROOT = Path(__file__).resolve().parents[2]
#: Redis databases the worker test may claim (an empty one), unless CAIRN_TEST_REDIS_URL names one.
REDIS_CANDIDATES = [f"redis://127.0.0.1:6379/{n}" for n in range(14, 0, -1)]
_CLAIM = "cairn-tests:claimed"


def postgres_url() -> str | None:
    """CAIRN_TEST_DATABASE_URL when it names a PostgreSQL server, else None."""
    url = os.environ.get("CAIRN_TEST_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty, uniquely named PostgreSQL database on the test server; dropped afterwards
    (with any connection a killed process left behind)."""
    base = postgres_url()
    if base is None:
        raise RuntimeError("CAIRN_TEST_DATABASE_URL does not name a PostgreSQL server")
    target = make_url(base)
    name = f"{prefix}_{secrets.token_hex(6)}"
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield target.set(database=name).render_as_string(hide_password=False)
        finally:
            with server.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        server.dispose()


@contextmanager
def scratch_database(directory: Path, prefix: str) -> Iterator[str]:
    """A PostgreSQL database of its own when the suite runs on PostgreSQL, else a SQLite file."""
    if postgres_url():
        with fresh_postgres_database(prefix) as url:
            yield url
    else:
        yield f"sqlite:///{directory / 'cairn.sqlite3'}"


class RedisUnavailable(Exception):
    """No Redis server answers, or it has no free database."""


@contextmanager
def redis_database() -> Iterator[str]:
    """A Redis database of the caller's own, flushed when done.

    CAIRN_TEST_REDIS_URL, when set, is used as it is (and flushed before and after). Otherwise
    the first of databases 14..1 that is empty is claimed with an atomic marker key, so parallel
    test runs on one machine never share a queue, and nobody else's data is ever flushed.

    :raises RedisUnavailable: when no server answers or every candidate is in use.
    """
    from redis import Redis
    from redis.exceptions import RedisError

    explicit = os.environ.get("CAIRN_TEST_REDIS_URL")
    for url in [explicit] if explicit else REDIS_CANDIDATES:
        connection = Redis.from_url(url, socket_connect_timeout=2)
        try:
            try:
                if explicit:
                    connection.flushdb()
                elif not connection.set(_CLAIM, "1", nx=True, ex=1800):
                    continue
                elif connection.dbsize() != 1:  # someone else's data: leave it alone
                    connection.delete(_CLAIM)
                    continue
            except RedisError as exc:
                raise RedisUnavailable(f"Redis is unreachable at {url}: {exc}") from None
            try:
                yield url
            finally:
                connection.flushdb()
            return
        finally:
            connection.close()
    raise RedisUnavailable("every Redis database 1-14 is in use; set CAIRN_TEST_REDIS_URL")


def free_port() -> int:
    """A TCP port nothing listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cairn_command() -> list[str]:
    """The installed ``cairn`` console script of this virtualenv."""
    script = Path(sys.executable).with_name("cairn")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from app.cli import run; run()"]


@dataclass
class Instance:
    """A Cairn instance described only by ``CAIRN_*`` variables, as an operator would run it.

    Mail goes to an SMTP port nothing listens on, so a delivery attempt fails at once and is
    recorded on the message; no test writes into the repository's ``instance/outbox``.
    """

    root: Path
    database_url: str
    extra: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.settings = {
            "CAIRN_ENV": "testing",
            "CAIRN_DATABASE_URL": self.database_url,
            "CAIRN_KEYS_DIR": str(self.root / "keys"),
            "CAIRN_BASE_URL": BASE_URL,
            "CAIRN_SECRET_KEY": secrets.token_urlsafe(32),
            "CAIRN_KEY_PASSPHRASE": secrets.token_urlsafe(32),
            "CAIRN_SMTP_HOST": "127.0.0.1",
            "CAIRN_SMTP_PORT": str(free_port()),
            "CAIRN_SMTP_SECURITY": "none",
            **self.extra,
        }

    def environ(self) -> dict[str, str]:
        """The process environment for a ``cairn`` subprocess: ours, no inherited CAIRN_*."""
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
        return {**inherited, **self.settings, "PYTHONPATH": str(ROOT)}

    def cairn(
        self, *args: str, timeout: float = 120, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``cairn ARGS`` to completion (the caller checks the exit status)."""
        return subprocess.run(
            [*cairn_command(), *args],
            env=self.environ(),
            cwd=self.root,
            capture_output=True,
            text=True,
            input=stdin,
            timeout=timeout,
            check=False,
        )

    def cairn_ok(self, *args: str, timeout: float = 120) -> str:
        """Run ``cairn ARGS``; fail loudly unless it exits 0; return stdout."""
        completed = self.cairn(*args, timeout=timeout)
        if completed.returncode != 0:
            raise AssertionError(
                f"cairn {' '.join(args)} exited {completed.returncode}: {completed.stderr[-2000:]}"
            )
        return completed.stdout

    def start(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        """Start ``cairn ARGS`` in the background, output to ``log``."""
        with log.open("ab") as handle:
            return subprocess.Popen(
                [*cairn_command(), *args],
                env=self.environ(),
                cwd=self.root,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def config(self) -> dict[str, Any]:
        """The same settings as ``create_app`` overrides (for an in-process app), parsed as
        Flask parses ``CAIRN_*`` variables (JSON when it is JSON, else the string)."""
        config: dict[str, Any] = {}
        for name, value in self.settings.items():
            try:
                config[name[len("CAIRN_") :]] = json.loads(value)
            except ValueError:
                config[name[len("CAIRN_") :]] = value
        return config

    def app(self, **overrides: Any) -> Flask:
        """An in-process application over the same database and keys."""
        from app import create_app

        return create_app({**self.config(), "RATELIMIT_ENABLED": False, **overrides})


def app_fetcher(application: Flask) -> Callable[[str], bytes]:
    """A fetcher that answers ``https://badges.example.org/...`` from ``application`` itself
    (the DID document, status lists), and refuses every other URL: nothing leaves the machine."""
    client = application.test_client()

    def fetch(url: str) -> bytes:
        if not url.startswith(BASE_URL + "/"):
            raise OSError(f"not a local URL: {url}")
        with application.app_context():
            response = client.get(url[len(BASE_URL) :], base_url=BASE_URL)
        if response.status_code != 200:
            raise OSError(f"{url} answered {response.status_code}")
        return bytes(response.data)

    return fetch


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (RQ's work horse puts itself in a process group of its
    own, so killing the worker's group would miss it)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process and all its descendants (as if its machine had died), and reap it."""
    if process.poll() is None:
        family = descendants(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        for pid in family:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    process.wait(timeout=30)


def wait_for(
    condition: Callable[[], Any], *, timeout: float, interval: float = 0.05, what: str
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


@contextmanager
def preserved_logging() -> Iterator[None]:
    """Undo the logging set-up Alembic's ``fileConfig`` does when migrations run in-process
    (it replaces the root handlers with one bound to the stderr of that moment)."""
    names = ["", "sqlalchemy.engine", "alembic", "flask_migrate"]
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (logger.level, list(logger.handlers), logger.propagate, logger.disabled)
    try:
        yield
    finally:
        for name, (level, handlers, propagate, disabled) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate = propagate
            logger.disabled = disabled


def run_bulk_job_child(
    config: dict[str, Any], job_id: str, chunk_size: int, barrier: Any, results: Any
) -> None:
    """Run one bulk job in a process of its own (a ``multiprocessing`` target): its own app,
    engine and connections, as a second worker machine would have. Waits at ``barrier`` so the
    jobs start together, and reports on ``results``."""
    try:
        from app import create_app
        from app.extensions import db
        from app.services.awarding import bulk
        from app.wiring import service_env

        application = create_app(config)
        with application.app_context():
            barrier.wait(timeout=120)
            began = time.time()
            job = bulk.run_job(job_id, service_env(), chunk_size=chunk_size)
            ended = time.time()
            state = job.state if job is not None else None
            db.session.remove()
            db.engine.dispose()
        results.put({"job": job_id, "state": state, "began": began, "ended": ended})
    except BaseException as exc:
        results.put({"job": job_id, "error": f"{type(exc).__name__}: {exc}"})
        raise
