"""Guarantee (c): two bulk jobs of 1,000 rows each, run at the same time by two processes on PostgreSQL, issue 2,000 credentials with 2,000 distinct status indices, none lost and none twice.

PostgreSQL only (skipped unless CAIRN_TEST_DATABASE_URL names a PostgreSQL server; CI sets it).
Slow-ish: about 15-30 s on a 2-core machine (2,000 signatures, two spawned Python processes).
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, BulkJob, BulkRow, IssuedCredential, Issuer, StatusAllocation
from app.services._core import jobs
from app.services.awarding import bulk
from app.services.awarding.status_lists import LIST_LENGTH
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.guarantee_instance import free_port, postgres_url, run_bulk_job_child

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        postgres_url() is None,
        reason="needs CAIRN_TEST_DATABASE_URL=postgresql+psycopg://... (CI sets it)",
    ),
]

ACTOR = Actor(label="test")
ROWS = 1000
CHUNK = 50  # small chunks: many interleaved allocations and commits
TIMEOUT = 240


def cohort(label: str) -> bytes:
    lines = [f"{label}{i:04d}@school.example.org,Teacher {label.upper()} {i}" for i in range(ROWS)]
    return ("email,name\n" + "\n".join(lines) + "\n").encode()


def test_two_concurrent_bulk_jobs_issue_every_row_once_with_unique_indices(
    app: Flask,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    submitted: list[tuple[Any, ...]] = []
    monkeypatch.setattr(jobs, "submit", lambda env, name, *args: submitted.append((name, *args)))
    env = service_env()
    job_ids = []
    expected_emails: dict[str, set[str]] = {}
    for label in ("a", "b"):
        job = bulk.create_job(issuer, achievement, filename=f"{label}.csv", data=cohort(label),
                              actor=ACTOR, env=env, max_rows=ROWS)  # fmt: skip
        assert job.valid_rows == ROWS
        bulk.confirm(job, actor=ACTOR, env=env)  # queued; submitting is captured, not run
        job_ids.append(job.id)
        expected_emails[job.id] = {f"{label}{i:04d}@school.example.org" for i in range(ROWS)}
    assert submitted == [("run_bulk_job", job_id) for job_id in job_ids]
    issuer_id = issuer.id
    db.session.remove()

    # Two processes, each with its own app and connections, like two workers on two machines.
    config = {
        "ENV": "testing",
        "DATABASE_URL": app.config["DATABASE_URL"],
        "KEYS_DIR": app.config["KEYS_DIR"],
        "KEY_PASSPHRASE": app.config["KEY_PASSPHRASE"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "BASE_URL": app.config["BASE_URL"],
        "JOBS_INLINE": True,
        "SMTP_HOST": "127.0.0.1",  # nothing listens: award mail fails fast, is kept queued
        "SMTP_PORT": free_port(),
        "SMTP_SECURITY": "none",
        "RATELIMIT_ENABLED": False,
    }
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    processes = [
        context.Process(target=run_bulk_job_child, args=(config, job_id, CHUNK, barrier, results))
        for job_id in job_ids
    ]
    try:
        for process in processes:
            process.start()
        outcomes = [results.get(timeout=TIMEOUT) for _ in processes]
        for process in processes:
            process.join(timeout=60)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
    assert [o.get("error") for o in outcomes] == [None, None], outcomes
    assert {o["state"] for o in outcomes} == {"done"}
    first, second = outcomes
    assert first["began"] < second["ended"] and second["began"] < first["ended"], "no overlap"

    # Both jobs finished cleanly, with the counts the rows bear out.
    for job_id in job_ids:
        job = db.session.get(BulkJob, job_id)
        assert job is not None
        assert (job.state, job.issued_rows, job.failed_rows, job.skipped_rows, job.lease) == (
            "done", ROWS, 0, 0, None,
        )  # fmt: skip

    credentials = list(db.session.scalars(select(IssuedCredential)))
    assert len(credentials) == 2 * ROWS
    assert len({c.id for c in credentials}) == 2 * ROWS
    indices = [c.status_index for c in credentials]
    assert len(set(indices)) == 2 * ROWS, "a status index was handed out twice"
    assert all(0 <= i < LIST_LENGTH for i in indices)
    # What was signed carries the stored index (no mix-up between the two processes).
    for credential in credentials:
        signed = json.loads(credential.document)
        assert signed["credentialStatus"]["statusListIndex"] == str(credential.status_index)
        assert signed["id"].endswith("/" + credential.id)

    # Every ok row has exactly one credential, for its own recipient and job; no credential
    # exists without a row.
    rows = list(db.session.scalars(select(BulkRow).where(BulkRow.job_id.in_(job_ids))))
    assert len(rows) == 2 * ROWS
    assert {(r.verdict, r.outcome) for r in rows} == {("ok", "issued")}
    per_credential = Counter(r.credential_id for r in rows)
    assert None not in per_credential and set(per_credential.values()) == {1}
    by_id = {c.id: c for c in credentials}
    assert set(per_credential) == set(by_id)
    for row in rows:
        credential = by_id[row.credential_id]
        assert (credential.recipient_email, credential.bulk_job_id) == (row.email, row.job_id)
    for job_id, emails in expected_emails.items():
        assert {c.recipient_email for c in credentials if c.bulk_job_id == job_id} == emails

    # Every index a credential uses was reserved; reservations may exceed credentials (never less).
    allocated = set(
        db.session.scalars(
            select(StatusAllocation.status_index).where(StatusAllocation.issuer_id == issuer_id)
        )
    )
    assert len(allocated) >= 2 * ROWS and set(indices) <= allocated

    # One audit event per credential, in the order the two jobs committed: interleaved.
    issued_events = list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "credential.issue")
            .order_by(AuditEvent.id)
        )
    )
    assert sorted(e.subject_id for e in issued_events) == sorted(by_id)
    order = [e.detail["job"] for e in issued_events]
    switches = sum(1 for x, y in itertools.pairwise(order) if x != y)
    assert switches >= 2, "the two jobs did not interleave"
    finishes = db.session.scalars(
        select(AuditEvent.subject_id).where(AuditEvent.action == "bulk.finish")
    )
    assert sorted(finishes) == sorted(job_ids)
