"""Guarantee (d): an RQ worker (`cairn worker`) SIGKILLed in the middle of a bulk job, and a new worker started, finishes the job with exactly one credential per row: no duplicates, no gaps, distinct status indices.

Needs a real Redis: CAIRN_TEST_REDIS_URL (flushed before and after), else the first empty database
of 14..1 on 127.0.0.1:6379, claimed for the test and flushed afterwards. Skipped, with the
reason, only when Redis is unreachable. The database
is a throw-away PostgreSQL database when CAIRN_TEST_DATABASE_URL names one, else a SQLite file.

Slow: about 20-40 s (`cairn` start-ups, and the new worker's resume loop looks for dead jobs every
10 s; the lease is shortened to 3 s with CAIRN_BULK_LEASE_SECONDS).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, BulkJob, BulkRow, IssuedCredential, StatusAllocation
from app.services.awarding import bulk
from app.services.org import issuers
from app.services.org.audit import Actor
from app.wiring import service_env, wiring
from tests.app.guarantee_instance import (
    Instance,
    RedisUnavailable,
    kill_tree,
    redis_database,
    scratch_database,
    wait_for,
)

ACTOR = Actor(label="test")
SLUG = "district-7"
ROWS = 1000
CHUNK = 25


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database of the test's own (see ``redis_database``), flushed afterwards."""
    try:
        with redis_database() as url:
            yield url
    except RedisUnavailable as exc:
        pytest.skip(str(exc))


def job_state(instance_app: Any, job_id: str) -> dict[str, Any]:
    """The job's counters and what is really stored, read in a transaction of its own."""
    with instance_app.app_context():
        try:
            job = db.session.get(BulkJob, job_id)
            assert job is not None
            credentials = db.session.scalar(
                select(func.count())
                .select_from(IssuedCredential)
                .where(IssuedCredential.bulk_job_id == job_id)
            )
            issued_rows = db.session.scalar(
                select(func.count())
                .select_from(BulkRow)
                .where(BulkRow.job_id == job_id, BulkRow.outcome == "issued")
            )
            return {"state": job.state, "issued": job.issued_rows or 0, "credentials": credentials,
                    "issued_rows": issued_rows}  # fmt: skip
        finally:
            db.session.remove()


def test_a_killed_worker_is_resumed_without_duplicates(tmp_path: Path, redis_url: str) -> None:
    with scratch_database(tmp_path, "cairn_worker") as url:
        instance = Instance(
            tmp_path,
            url,
            extra={
                "CAIRN_REDIS_URL": redis_url,
                "CAIRN_BULK_CHUNK_SIZE": str(CHUNK),
                "CAIRN_BULK_LEASE_SECONDS": "3",
            },
        )
        instance.cairn_ok("db", "upgrade")
        instance.cairn_ok("issuers", "create", "--name", "District 7", "--slug", SLUG)
        achievement_id = instance.cairn_ok(
            "achievements", "create", "--issuer", SLUG, "--name", "Formative Assessment",
            "--description", "Completed the module.", "--criteria", "Every activity.",
        ).strip()  # fmt: skip

        # Upload and confirm as the web UI does: confirming enqueues the job on Redis.
        application = instance.app()
        assert (
            application.config["REDIS_URL"] == redis_url and not application.config["JOBS_INLINE"]
        )
        emails = {f"t{i:04d}@school.example.org" for i in range(ROWS)}
        data = (
            "email,name\n" + "".join(f"{e},Teacher {e[1:5]}\n" for e in sorted(emails))
        ).encode()
        with application.app_context():
            issuer = issuers.get_by_slug(SLUG)
            from app.services.org import achievements

            achievement = achievements.get(issuer, achievement_id)
            job = bulk.create_job(issuer, achievement, filename="cohort.csv", data=data, actor=ACTOR,
                                  env=service_env(), max_rows=ROWS)  # fmt: skip
            job_id = job.id
            bulk.confirm(job, actor=ACTOR, env=service_env())
            queued = wiring().jobs.queue()
            assert queued.count == 1
            assert queued.jobs[0].args == ("run_bulk_job", job_id)
            db.session.remove()

        first = second = None
        try:
            first = instance.start("worker", log=tmp_path / "worker-1.log")
            # Kill it (and its work horse) once some chunks are committed, mid-job.
            wait_for(
                lambda: job_state(application, job_id)["issued"] >= CHUNK,
                timeout=120, interval=0.02, what="the first worker to commit a chunk",
            )  # fmt: skip
            kill_tree(first)
            at_kill = job_state(application, job_id)
            log = (tmp_path / "worker-1.log").read_text()
            assert at_kill["state"] == "running", (at_kill, log[-3000:])
            assert CHUNK <= at_kill["issued"] < ROWS, at_kill
            # Chunks commit whole: counters, rows and credentials agree even after a SIGKILL.
            assert at_kill["issued"] == at_kill["credentials"] == at_kill["issued_rows"], at_kill

            second = instance.start("worker", log=tmp_path / "worker-2.log")
            wait_for(
                lambda: job_state(application, job_id)["state"] in ("done", "failed"),
                timeout=120, interval=0.2, what="the new worker to resume and finish the job",
            )  # fmt: skip
        finally:
            for process in (first, second):
                if process is not None:
                    kill_tree(process)
        second_log = (tmp_path / "worker-2.log").read_text()
        assert f"resumed interrupted bulk jobs: {job_id}" in second_log, second_log[-3000:]

        with application.app_context():
            job = db.session.get(BulkJob, job_id)
            assert job is not None
            assert (job.state, job.issued_rows, job.failed_rows, job.skipped_rows) == (
                "done",
                ROWS,
                0,
                0,
            )
            credentials = list(
                db.session.scalars(
                    select(IssuedCredential).where(IssuedCredential.bulk_job_id == job_id)
                )
            )
            assert len(credentials) == ROWS
            assert Counter(c.recipient_email for c in credentials) == Counter(emails)  # each once
            indices = [c.status_index for c in credentials]
            assert len(set(indices)) == ROWS
            for credential in credentials:
                assert json.loads(credential.document)["credentialStatus"][
                    "statusListIndex"
                ] == str(credential.status_index)
            rows = list(db.session.scalars(select(BulkRow).where(BulkRow.job_id == job_id)))
            assert {(r.verdict, r.outcome) for r in rows} == {("ok", "issued")}
            assert sorted(r.credential_id for r in rows) == sorted(c.id for c in credentials)
            allocated = set(db.session.scalars(select(StatusAllocation.status_index)))
            assert set(indices) <= allocated  # the killed chunk's reservations stay unused
            issue_events = db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "credential.issue")
            )
            assert issue_events == ROWS  # nothing the killed worker had not committed
            db.session.remove()
            db.engine.dispose()
