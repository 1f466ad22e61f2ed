"""Helpers the benchmarks share: a throw-away Cairn instance (settings, PostgreSQL database,
`cairn` subprocesses), an issuer, an achievement and bulk jobs of distinct recipients."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

BASE_URL = "https://badges.example.org"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
#: The benchmarks' Redis database (flushed before and after a run); the test suite claims 14..1.
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
#: One signing process per core, as a production instance signs.
CORES = os.cpu_count() or 1


class BenchError(Exception):
    """Something broke (as opposed to something being slow)."""


def children_of(pid: int) -> list[int]:
    """The live child processes of ``pid`` (an RQ worker's work horse, when it has one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def cohort_csv(rows: int, label: str = "t") -> bytes:
    """A CSV of ``rows`` distinct recipients (``{label}000000@school.example.org``...)."""
    lines = (f"{label}{i:06d}@school.example.org,Teacher {label.upper()} {i}" for i in range(rows))
    return ("email,name\n" + "\n".join(lines) + "\n").encode()


def settings(
    database_url: str, keys_dir: Path, *, signing_processes: int = CORES, **extra: Any
) -> dict[str, Any]:
    """Instance settings (``create_app`` spelling)."""
    return {
        "ENV": "testing",
        "DATABASE_URL": database_url,
        "KEYS_DIR": str(keys_dir),
        "BASE_URL": BASE_URL,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "KEY_PASSPHRASE": secrets.token_urlsafe(32),
        "RATELIMIT_ENABLED": False,
        # As a production instance signs: chunks spread over one process per core.
        "SIGNING_PROCESSES": signing_processes,
        **extra,
    }


def environ(config: dict[str, Any]) -> dict[str, str]:
    """The same settings as CAIRN_* variables for a ``cairn`` subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAIRN_")}
    env.update({f"CAIRN_{k}": str(v) for k, v in config.items() if k != "RATELIMIT_ENABLED"})
    env["PYTHONPATH"] = str(ROOT)
    return env


def cairn(*args: str, env: dict[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``cairn ARGS`` in the background (output to ``log``, else discarded)."""
    script = Path(sys.executable).with_name("cairn")
    command = [str(script)]
    if not script.exists():
        command = [sys.executable, "-c", "from app.cli import run; run()"]
    output = log.open("ab") if log else subprocess.DEVNULL
    return subprocess.Popen([*command, *args], env=env, stdout=output, stderr=subprocess.STDOUT)


def make_issuer_and_achievement(application: Flask) -> tuple[Any, Any]:
    """An issuer and an achievement, made through the services as the UI makes them."""
    from app.services.org import achievements, issuers
    from app.services.org.achievements import AchievementInput
    from app.services.org.audit import Actor
    from app.services.org.issuers import IssuerProfileInput
    from app.wiring import service_env

    actor = Actor(label="bench")
    issuer = issuers.create_issuer(
        IssuerProfileInput(
            name="District 7 Professional Learning", url="https://district7.example.org"
        ),
        slug=None,
        owner=None,
        actor=actor,
        env=service_env(),
    )
    achievement = achievements.create_achievement(
        issuer,
        AchievementInput(
            name="Formative Assessment in Practice",
            description="Completed the module.",
            criteria_markdown="Complete every activity and a **reflection**.",
            learning_outcomes=("Design exit tickets",),
            credits_available=2.5,
            default_validity_days=365,
        ),
        actor=actor,
        env=service_env(),
    )
    return issuer, achievement


def create_job(application: Flask, issuer: Any, achievement: Any, rows: int, label: str) -> str:
    """Upload a CSV of ``rows`` distinct recipients (not confirmed yet); return the job id."""
    from app.services.awarding import bulk
    from app.services.org.audit import Actor
    from app.wiring import service_env

    job = bulk.create_job(
        issuer,
        achievement,
        filename=f"{label}.csv",
        data=cohort_csv(rows, label),
        actor=Actor(label="bench"),
        env=service_env(),
        max_rows=max(rows, 20_000),
    )
    if job.valid_rows != rows:
        raise BenchError(f"expected {rows} valid rows, got {job.valid_rows}")
    return str(job.id)


def job_states(application: Flask, job_ids: list[str]) -> dict[str, tuple[str, int]]:
    """Each job's ``(state, issued_rows)``, read in a session of its own."""
    from app.extensions import db
    from app.models import BulkJob

    with application.app_context():
        try:
            jobs = db.session.query(BulkJob).filter(BulkJob.id.in_(job_ids)).all()
            return {j.id: (j.state, j.issued_rows or 0) for j in jobs}
        finally:
            db.session.remove()


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A throw-away database on the server of ``server_url``; dropped afterwards (with any
    connection a killed process left behind)."""
    target = make_url(server_url)
    name = f"cairn_bench_{secrets.token_hex(4)}"
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield target.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()
