"""Bulk CSV jobs: reading files, row verdicts, and a run that survives dead and competing
workers without issuing anyone twice."""

from __future__ import annotations

import csv
import gc
import io
from datetime import timedelta
from typing import Any

import pytest
from marshmallow import ValidationError
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, BulkJob, BulkRow, IssuedCredential
from app.services._core.errors import Conflict, NotFound, ServiceError
from app.services.awarding import bulk, issuing
from app.services.awarding.bulk import runner
from app.services.org import achievements
from app.services.org.audit import Actor
from app.wiring import service_env

ACTOR = Actor(label="test")


# --- parse_csv ------------------------------------------------------------------------------


def test_columns_are_found_by_name_alias_and_case_in_any_order() -> None:
    data = (
        b"Expires , Evidence,E-Mail,Full Name,Narrative,Evidence Narrative,extra\r\n"
        b"2030-01-31,https://x.example.org/a, ann@school.example.org ,Ann Lee,Did it,Portfolio,zzz\r\n"
    )
    (row,) = bulk.parse_csv(data, max_rows=10)
    assert row == bulk.ParsedRow(
        row_number=2, email="ann@school.example.org", name="Ann Lee", narrative="Did it",
        evidence_url="https://x.example.org/a", evidence_narrative="Portfolio", expiry="2030-01-31",
    )  # fmt: skip


def test_blank_cells_are_none_short_rows_are_padded_and_blank_lines_skipped() -> None:
    data = b"email,name,narrative\n\nann@school.example.org\n ,  , \nbob@school.example.org,  ,x\n"
    rows = bulk.parse_csv(data, max_rows=10)
    assert [(r.row_number, r.email, r.name, r.narrative) for r in rows] == [
        (3, "ann@school.example.org", None, None),
        (5, "bob@school.example.org", None, "x"),
    ]


def test_quoted_cells_may_hold_commas_quotes_and_line_breaks() -> None:
    data = b'email,narrative\r\nann@school.example.org,"Led a ""data"" team,\r\nthen coached"\r\nbob@s.example.org,ok\r\n'
    first, second = bulk.parse_csv(data, max_rows=10)
    assert first.narrative == 'Led a "data" team,\r\nthen coached'
    assert (first.row_number, second.row_number) == (3, 4)  # the line each row ends on


@pytest.mark.parametrize(
    "data",
    [
        "email;name\r\nann@school.example.org;Zoë Müller\r\n".encode("utf-8-sig"),
        "email;name\r\nann@school.example.org;Zoë Müller\r\n".encode(),
        "email;name\r\nann@school.example.org;Zoë Müller\r\n".encode("cp1252"),
        "email,name\rann@school.example.org,Zoë Müller\r".encode("cp1252"),
    ],
    ids=["utf8-bom-semicolon", "utf8-semicolon", "cp1252-semicolon", "cp1252-old-mac-lines"],
)
def test_encodings_and_delimiters(data: bytes) -> None:
    (row,) = bulk.parse_csv(data, max_rows=10)
    assert (row.email, row.name) == ("ann@school.example.org", "Zoë Müller")


def test_the_row_limit_counts_rows_not_lines() -> None:
    data = b"email\n" + b"".join(b"p%d@s.example.org\n\n" % i for i in range(5))
    assert len(bulk.parse_csv(data, max_rows=5)) == 5
    with pytest.raises(ServiceError, match="more than 4 rows"):
        bulk.parse_csv(data, max_rows=4)


UNUSABLE = [
    "empty", "blank-lines", "bom-only", "header-only", "header-and-blanks", "no-email", "nul",
    "utf16", "undecodable", "open-quote", "stray-quote", "huge-cell",
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\n\n", "The file is empty."),
        (b"\xef\xbb\xbf", "The file is empty."),
        (b"email\n", "The file has a header but no rows."),
        (b"email\n\n  \n", "The file has a header but no rows."),
        (b"name,narrative\nAnn,x\n", "an 'email' column"),
        (b"email\x00name\nx", "That is not a CSV file."),
        ("email,name\n".encode("utf-16"), "That is not a CSV file."),
        (b"\x81\x8d\x8f\x90\x9d", "not UTF-8 or Windows-1252"),
        (b'email,name\n"ann@school.example.org,Ann\n', "The CSV file is malformed"),
        (b'email,name\nann@school.example.org,"Ann" Lee\n', "The CSV file is malformed"),
        (
            b"email,name\nann@school.example.org," + b"x" * 200_000 + b"\n",
            "The CSV file is malformed",
        ),
    ],
    ids=UNUSABLE,
)
def test_unusable_files_raise_a_service_error_for_the_file(data: bytes, message: str) -> None:
    with pytest.raises(ServiceError) as caught:
        bulk.parse_csv(data, max_rows=100)
    assert message in caught.value.message and caught.value.field == "file"


# --- create_job -----------------------------------------------------------------------------


def make_job(issuer: Any, achievement: Any, data: bytes, **kwargs: Any) -> BulkJob:
    return bulk.create_job(issuer, achievement, filename="awards.csv", data=data, actor=ACTOR,
                           env=service_env(), max_rows=kwargs.pop("max_rows", 1000), **kwargs)  # fmt: skip


def good_rows(count: int) -> bytes:
    return b"email,name\n" + b"".join(
        b"p%d@school.example.org,Person %d\n" % (i, i) for i in range(count)
    )


def test_every_row_gets_a_verdict(issuer, achievement, make_award) -> None:
    make_award(issuer, achievement, "holder@school.example.org")
    long_url = "https://x.example.org/" + "a" * 2000
    data = "\n".join([
        "email,name,evidence_url,expiry,narrative",
        "ok@school.example.org,Ok,https://x.example.org/e,2099-12-31,",
        "holder@school.example.org,,,,",
        "Ok@School.example.org,,,,",
        ",No Email,,,",
        "bad@,,,,",
        "url@school.example.org,,ftp://x.example.org,,",
        f"long-url@school.example.org,,{long_url},,",
        "date@school.example.org,,,31/12/2099,",
        f"long-date@school.example.org,,,{'9' * 100},",
        "past@school.example.org,,,2000-01-01,",
        f"long-name@school.example.org,{'n' * 201},,,",
        f"long-narrative@school.example.org,,,,{'n' * 5001}",
        "never@school.example.org,,,NEVER,",
    ]).encode()  # fmt: skip
    job = make_job(issuer, achievement, data)
    verdicts = [(r.row_number, r.verdict, r.message) for r in bulk.rows(job)]
    assert verdicts == [
        (2, "ok", None),
        (3, "duplicate", "already holds this achievement"),
        (4, "duplicate", "appears earlier in this file"),
        (5, "invalid", "the email is missing"),
        (6, "invalid", "'bad@' is not an email address"),
        (7, "invalid", "the evidence URL must start with https:// (or http://)"),
        (8, "invalid", "the evidence URL is longer than 2,000 characters"),
        (9, "invalid", "the expiry '31/12/2099' is not a date like 2027-06-30 (or 'never')"),
        (10, "invalid", f"the expiry '{'9' * 100}' is not a date like 2027-06-30 (or 'never')"),
        (11, "invalid", "the expiry date is in the past"),
        (12, "invalid", "the name is longer than 200 characters"),
        (13, "invalid", "a cell is longer than 5,000 characters"),
        (14, "ok", None),
    ]
    # Values longer than their columns are kept shortened (PostgreSQL would refuse them whole).
    stored = {r.row_number: r for r in bulk.rows(job)}
    assert len(stored[8].evidence_url or "") == 2000
    assert len(stored[10].expires or "") == 40 and len(stored[12].name or "") == 200
    assert (job.state, job.total_rows, job.valid_rows) == ("previewed", 13, 2)
    assert bulk.verdict_counts(job) == {"ok": 2, "invalid": 9, "duplicate": 2}
    assert [r.row_number for r in bulk.rows(job, verdict="duplicate")] == [3, 4]
    assert [r.row_number for r in bulk.rows(job, offset=2, limit=3)] == [4, 5, 6]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "bulk.upload")).one()
    assert event.detail | {"sha256": None} == {
        "filename": "awards.csv", "sha256": None, "rows": 13, "ok": 2, "invalid": 9,
        "duplicate": 2, "achievement": achievement.public_id,
    }  # fmt: skip
    assert db.session.scalar(select(func.count()).select_from(IssuedCredential)) == 1


def test_jobs_only_for_the_issuers_own_awardable_achievements(
    issuer, achievement, make_issuer, make_achievement
) -> None:
    foreign = make_achievement(make_issuer("Elsewhere"))
    with pytest.raises(NotFound):
        make_job(issuer, foreign, good_rows(1))
    achievements.set_archived(achievement, True, actor=ACTOR, env=service_env())
    with pytest.raises(Conflict):
        make_job(issuer, achievement, good_rows(1))
    assert db.session.scalar(select(func.count()).select_from(BulkJob)) == 0
    with pytest.raises(NotFound):
        bulk.get_job(issuer, "no-such-job")


def test_a_nul_byte_in_the_file_name_is_dropped(issuer, achievement) -> None:
    job = bulk.create_job(issuer, achievement, filename="a\x00b.csv", data=good_rows(1),
                          actor=ACTOR, env=service_env(), max_rows=10)  # fmt: skip
    assert job.filename == "ab.csv"
    with pytest.raises(NotFound):
        bulk.get_job(issuer, job.id + "\x00")


def test_jobs_for_lists_newest_first_and_only_the_issuers(
    issuer, achievement, make_issuer, make_achievement
) -> None:
    first = make_job(issuer, achievement, good_rows(1))
    second = make_job(issuer, achievement, good_rows(2))
    elsewhere = make_issuer("Elsewhere")
    make_job(elsewhere, make_achievement(elsewhere), good_rows(1))
    assert [j.id for j in bulk.jobs_for(issuer)] == [second.id, first.id]
    assert [j.id for j in bulk.jobs_for(issuer, limit=1)] == [second.id]


# --- running --------------------------------------------------------------------------------


def confirmed(issuer: Any, achievement: Any, data: bytes) -> BulkJob:
    job = make_job(issuer, achievement, data)
    return bulk.confirm(job, actor=ACTOR, env=service_env())


def issued_for(job_id: str) -> list[IssuedCredential]:
    return list(
        db.session.scalars(select(IssuedCredential).where(IssuedCredential.bulk_job_id == job_id))
    )


def assert_one_credential_per_ok_row(job_id: str, ok_rows: int) -> None:
    rows = list(
        db.session.scalars(select(BulkRow).where(BulkRow.job_id == job_id, BulkRow.verdict == "ok"))
    )
    credentials = issued_for(job_id)
    assert len(rows) == ok_rows and len(credentials) == ok_rows
    assert {r.outcome for r in rows} == {"issued"}
    assert sorted(r.credential_id or "" for r in rows) == sorted(c.id for c in credentials)
    assert len({c.recipient_email for c in credentials}) == ok_rows
    assert len({c.status_index for c in credentials}) == ok_rows
    job = db.session.get(BulkJob, job_id)
    assert job is not None and (job.state, job.issued_rows) == ("done", ok_rows)


def test_confirm_queues_and_a_run_issues_every_ok_row(issuer, achievement, queued) -> None:
    job = confirmed(issuer, achievement, good_rows(5) + b"bad,\np0@school.example.org,\n")
    assert queued == [("run_bulk_job", (job.id,))]
    assert job.state == "queued" and bulk.progress(job)["done"] == 0
    with pytest.raises(Conflict):
        bulk.confirm(job, actor=ACTOR, env=service_env())
    with pytest.raises(Conflict):
        bulk.cancel(job, actor=ACTOR, env=service_env())
    done = bulk.run_job(job.id, service_env(), chunk_size=2)
    assert done is not None
    assert_one_credential_per_ok_row(job.id, 5)
    assert (done.skipped_rows, done.failed_rows) == (2, 0)
    assert bulk.progress(done) == {
        "state": "done", "total_rows": 7, "to_issue": 5, "done": 5, "issued": 5, "failed": 0,
        "skipped": 2, "percent": 100, "error": None,
    }  # fmt: skip
    assert bulk.issued_count(done) == 5
    assert bulk.run_job(job.id, service_env()) is None  # a finished job is not run again
    assert len(issued_for(job.id)) == 5


def test_nothing_to_issue_cannot_be_confirmed(issuer, achievement, queued) -> None:
    job = make_job(issuer, achievement, b"email\nnot-an-email\n")
    with pytest.raises(Conflict, match="No row"):
        bulk.confirm(job, actor=ACTOR, env=service_env())
    assert queued == [] and job.state == "previewed"


def test_a_held_lease_keeps_a_second_worker_out(issuer, achievement, queued) -> None:
    job = confirmed(issuer, achievement, good_rows(3))
    env = service_env()
    job.state, job.lease, job.heartbeat_at = "running", "another-worker", env.now
    db.session.commit()
    assert bulk.run_job(job.id, env.at(env.now + timedelta(seconds=5))) is None
    assert issued_for(job.id) == []
    assert set(db.session.scalars(select(BulkRow.outcome).where(BulkRow.job_id == job.id))) == {
        "pending"
    }
    refreshed = db.session.get(BulkJob, job.id)
    assert refreshed is not None and refreshed.lease == "another-worker"
    assert bulk.run_job("no-such-job", env) is None


def test_a_job_whose_worker_stopped_reporting_is_resumed(
    issuer, achievement, queued, monkeypatch
) -> None:
    job = confirmed(issuer, achievement, good_rows(3))
    env = service_env()
    job.state, job.lease = "running", "dead-worker"
    job.heartbeat_at = env.now - timedelta(seconds=bulk.LEASE_SECONDS + 1)
    db.session.commit()
    queued.clear()
    assert bulk.resume_interrupted(env) == [job.id]
    assert queued == [("run_bulk_job", (job.id,))]
    assert bulk.run_job(job.id, env) is not None
    assert_one_credential_per_ok_row(job.id, 3)
    assert bulk.resume_interrupted(env.at(env.now + timedelta(hours=1))) == []


def test_a_queued_job_whose_submission_was_lost_is_resumed(issuer, achievement, queued) -> None:
    job = confirmed(issuer, achievement, good_rows(2))
    env = service_env()
    assert bulk.resume_interrupted(env) == []  # just queued: its worker may yet start
    later = env.at(env.now + timedelta(seconds=bulk.LEASE_SECONDS + 1))
    assert bulk.resume_interrupted(later) == [job.id]
    assert bulk.run_job(job.id, later) is not None
    assert_one_credential_per_ok_row(job.id, 2)


class WorkerKilled(BaseException):
    """What a worker process killed mid-chunk looks like from inside: nothing below it runs,
    not even the job's own ``except Exception`` (which would mark the job failed)."""


def test_a_job_runs_with_the_older_objects_frozen_and_unfreezes_them(
    issuer, achievement, queued, monkeypatch
) -> None:
    job = confirmed(issuer, achievement, good_rows(3))
    work = runner._work
    frozen: list[int] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        frozen.append(gc.get_freeze_count())
        return work(*args, **kwargs)

    monkeypatch.setattr(runner, "_work", counted)
    assert gc.get_freeze_count() == 0
    assert bulk.run_job(job.id, service_env(), chunk_size=2) is not None
    assert frozen and frozen[0] > 1000  # the application's objects, skipped while it ran
    assert gc.get_freeze_count() == 0  # and collected as usual afterwards
    assert_one_credential_per_ok_row(job.id, 3)


def test_a_job_leaves_a_process_that_froze_its_objects_frozen(issuer, achievement, queued) -> None:
    # ``cairn serve`` freezes the application's objects before it forks: a job must not
    # unfreeze them when it ends.
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        job = confirmed(issuer, achievement, good_rows(2))
        assert bulk.run_job(job.id, service_env(), chunk_size=2) is not None
        assert gc.get_freeze_count() > before // 2  # (frozen objects freed meanwhile leave it)
    finally:
        gc.unfreeze()


def test_a_job_that_fails_unfreezes_the_older_objects(
    issuer, achievement, queued, monkeypatch
) -> None:
    job = confirmed(issuer, achievement, good_rows(2))

    def breaks(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(issuing, "_credential_row", breaks)
    with pytest.raises(RuntimeError):
        bulk.run_job(job.id, service_env(), chunk_size=2)
    assert gc.get_freeze_count() == 0


def test_a_job_interrupted_after_one_chunk_resumes_without_duplicates(
    issuer, achievement, queued, monkeypatch
) -> None:
    job = confirmed(issuer, achievement, good_rows(5) + b"p1@school.example.org,again\n")
    real_store = issuing._credential_row  # storing one credential of a chunk
    calls = {"n": 0}

    def dies_in_the_second_chunk(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:  # chunk_size=2: the first store of the second chunk
            raise WorkerKilled
        return real_store(*args, **kwargs)

    monkeypatch.setattr(issuing, "_credential_row", dies_in_the_second_chunk)
    env = service_env()
    with pytest.raises(WorkerKilled):
        bulk.run_job(job.id, env, chunk_size=2)
    db.session.rollback()  # the dead worker's open transaction goes with its connection
    assert len(issued_for(job.id)) == 2
    outcomes = list(db.session.scalars(
        select(BulkRow.outcome).where(BulkRow.job_id == job.id).order_by(BulkRow.row_number)
    ))  # fmt: skip
    assert outcomes == ["issued", "issued", "pending", "pending", "pending", "pending"]
    stalled = db.session.get(BulkJob, job.id)
    assert stalled is not None and (stalled.state, stalled.issued_rows) == ("running", 2)
    assert bulk.progress(stalled)["done"] == 2 and bulk.progress(stalled)["percent"] == 40

    monkeypatch.setattr(issuing, "_credential_row", real_store)
    assert bulk.run_job(job.id, env, chunk_size=2) is None  # its lease is still fresh
    later = env.at(env.now + timedelta(seconds=bulk.LEASE_SECONDS + 5))
    assert bulk.resume_interrupted(later) == [job.id]
    assert bulk.run_job(job.id, later, chunk_size=2) is not None
    assert_one_credential_per_ok_row(job.id, 5)
    finished = db.session.get(BulkJob, job.id)
    assert finished is not None and finished.skipped_rows == 1 and finished.lease is None


def test_a_worker_that_lost_its_lease_commits_nothing(
    issuer, achievement, queued, monkeypatch
) -> None:
    job = confirmed(issuer, achievement, good_rows(3))
    # Another worker took the job over (this one stalled past the lease) just before it commits.
    monkeypatch.setattr(bulk.runner, "_renew_lease", lambda job_id, token, now: False)
    assert bulk.run_job(job.id, service_env()) is None
    assert issued_for(job.id) == []
    assert set(db.session.scalars(select(BulkRow.outcome).where(BulkRow.job_id == job.id))) == {
        "pending"
    }


def test_an_error_fails_the_job_and_keeps_what_was_committed(
    issuer, achievement, queued, monkeypatch
) -> None:
    job = confirmed(issuer, achievement, good_rows(4))
    real_store = issuing._credential_row  # storing one credential of a chunk
    calls = {"n": 0}

    def breaks(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return real_store(*args, **kwargs)

    monkeypatch.setattr(issuing, "_credential_row", breaks)
    with pytest.raises(RuntimeError):
        bulk.run_job(job.id, service_env(), chunk_size=2)
    failed = db.session.get(BulkJob, job.id)
    assert failed is not None
    assert (failed.state, failed.error, failed.issued_rows) == (
        "failed",
        "RuntimeError: disk full",
        2,
    )
    assert bulk.progress(failed)["error"] == "RuntimeError: disk full"
    assert len(issued_for(job.id)) == 2
    assert bulk.run_job(job.id, service_env()) is None  # a failed job is not picked up again


def test_on_sqlite_the_next_chunk_is_signed_while_the_one_before_is_stored(
    issuer, achievement, queued, monkeypatch
) -> None:
    # SQLite: a chunk is started (allocated, built, handed to the signing processes) before
    # the one before it is stored, so the processes sign while this thread stores. PostgreSQL
    # stores each chunk before claiming the next (its row locks end with its commit).
    job = confirmed(issuer, achievement, good_rows(5))
    steps: list[str] = []
    real_start, real_finish = issuing.start_many, issuing.StartedAwards.finish

    def start(*args: Any, **kwargs: Any) -> Any:
        steps.append(f"start {len(args[2])}")
        return real_start(*args, **kwargs)

    def finish(self: Any, **kwargs: Any) -> Any:
        outcomes = real_finish(self, **kwargs)
        steps.append(f"stored {len(outcomes)}")
        return outcomes

    monkeypatch.setattr(issuing, "start_many", start)
    monkeypatch.setattr(issuing.StartedAwards, "finish", finish)
    assert bulk.run_job(job.id, service_env(), chunk_size=2) is not None
    if db.engine.dialect.name == "sqlite":
        assert steps == ["start 2", "start 2", "stored 2", "start 1", "stored 2", "stored 1"]
    else:
        assert steps == ["start 2", "stored 2", "start 2", "stored 2", "start 1", "stored 1"]
    assert_one_credential_per_ok_row(job.id, 5)


def test_a_chunk_that_cannot_start_fails_the_job_after_the_one_before_is_stored(
    issuer, achievement, queued, monkeypatch
) -> None:
    job = confirmed(issuer, achievement, good_rows(5))
    real_start = issuing.start_many
    calls = {"n": 0}

    def second_fails(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("status lists unreachable")
        return real_start(*args, **kwargs)

    monkeypatch.setattr(issuing, "start_many", second_fails)
    with pytest.raises(RuntimeError):
        bulk.run_job(job.id, service_env(), chunk_size=2)
    failed = db.session.get(BulkJob, job.id)
    assert failed is not None
    assert (failed.state, failed.issued_rows) == ("failed", 2)
    assert len(issued_for(job.id)) == 2
    outcomes = list(db.session.scalars(
        select(BulkRow.outcome).where(BulkRow.job_id == job.id).order_by(BulkRow.row_number)
    ))  # fmt: skip
    assert outcomes == ["issued", "issued", "pending", "pending", "pending"]


def test_a_recipient_awarded_since_the_preview_is_skipped(
    issuer, achievement, queued, make_award
) -> None:
    job = confirmed(issuer, achievement, good_rows(3))
    make_award(issuer, achievement, "p1@school.example.org")
    done = bulk.run_job(job.id, service_env())
    assert done is not None and (done.issued_rows, done.skipped_rows) == (2, 1)
    row = db.session.scalars(
        select(BulkRow).where(BulkRow.job_id == job.id, BulkRow.row_number == 3)
    ).one()
    assert (row.verdict, row.outcome, row.message) == (
        "duplicate",
        "skipped",
        "already holds this achievement",
    )
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(IssuedCredential)
            .where(IssuedCredential.recipient_email == "p1@school.example.org")
        )
        == 1
    )


def test_results_csv_streams_every_row_in_batches(issuer, achievement) -> None:
    job = make_job(issuer, achievement, good_rows(1001), max_rows=2000)
    chunks = list(bulk.results_csv(job, service_env()))
    assert len(chunks) == 2
    table = list(csv.reader(io.StringIO("".join(chunks))))
    assert table[0] == list(bulk.RESULT_COLUMNS) and len(table) == 1002
    assert table[1] == ["2", "p0@school.example.org", "Person 0", "ok", "pending", "", ""]
    assert table[-1][0] == "1002"


def test_a_jobs_awards_are_by_the_staff_member_who_confirmed_it(
    issuer, achievement, queued, make_staff
) -> None:
    confirmer = make_staff("confirmer@district7.example.org", name="Cam Confirmer")
    job = bulk.confirm(
        make_job(issuer, achievement, good_rows(2)), actor=Actor(confirmer), env=service_env()
    )
    assert job.confirmed_by_id == confirmer.id
    bulk.run_job(job.id, service_env())  # the worker, which knows no one signed in
    assert {c.awarded_by_id for c in issued_for(job.id)} == {confirmer.id}
    actors = set(
        db.session.execute(
            select(AuditEvent.actor, AuditEvent.actor_id).where(
                AuditEvent.subject_type == "credential", AuditEvent.action == "credential.issue"
            )
        )
    )
    assert actors == {("confirmer@district7.example.org", confirmer.id)}
    finish = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "bulk.finish"))
    assert finish is not None and finish.actor_id == confirmer.id


def test_a_job_no_staff_member_confirmed_is_by_the_system(issuer, achievement, queued) -> None:
    job = confirmed(issuer, achievement, good_rows(1))  # confirmed by a system actor (the CLI)
    assert job.confirmed_by_id is None
    bulk.run_job(job.id, service_env())
    assert {c.awarded_by_id for c in issued_for(job.id)} == {None}
    assert bulk.confirmer(job).label == "system"


def _record_through_the_orm(
    row_ids: list[int], outcomes: dict[int, issuing.Outcome]
) -> tuple[int, int, int]:
    """How a chunk's outcomes were written before ``_record`` used Core: attribute by
    attribute on the rows' ORM objects, flushed at the commit (the reference below)."""
    issued = failed = 0
    for row_id in row_ids:
        row = db.session.get(BulkRow, row_id)
        assert row is not None
        outcome = outcomes.get(row.id)
        if outcome is None:
            row.outcome, row.verdict = "skipped", "duplicate"
            row.message = "already holds this achievement"
        elif outcome.credential is not None:
            row.outcome, row.credential_id = "issued", outcome.credential.id
            issued += 1
        else:
            row.outcome = "failed"
            row.message = outcome.refused.message if outcome.refused else None
            failed += 1
    return issued, failed, len(row_ids) - issued - failed


def test_row_outcomes_written_with_core_equal_the_orm_ones(
    issuer, make_achievement, queued, make_award, monkeypatch
) -> None:
    """Every column of every row of a job (issued, skipped as a duplicate found at run time,
    failed by a schema that changed since the preview; several pipelined chunks), and the job's
    counts, are what the rows' ORM objects wrote."""
    data = good_rows(7) + b"bad,\n"
    award = bulk.ParsedRow.award

    def changed_schema(row: bulk.ParsedRow) -> issuing.AwardInput:
        if row.email in ("p3@school.example.org", "p6@school.example.org"):
            raise ValidationError({"email": ["No longer accepted."]})
        return award(row)

    stored = {}
    for core in (True, False):
        achievement = make_achievement(issuer, f"Achievement {core}")
        job = confirmed(issuer, achievement, data)
        make_award(issuer, achievement, "p1@school.example.org")
        with monkeypatch.context() as patch:
            patch.setattr(bulk.ParsedRow, "award", changed_schema)  # since the preview
            if not core:
                patch.setattr(runner, "_record", _record_through_the_orm)
            done = bulk.run_job(job.id, service_env(), chunk_size=2)
        assert done is not None
        db.session.expire_all()
        email_of = {c.id: c.recipient_email for c in issued_for(job.id)}
        rows = db.session.scalars(
            select(BulkRow).where(BulkRow.job_id == job.id).order_by(BulkRow.row_number)
        ).all()
        stored[core] = (
            [
                {
                    column.key: (
                        email_of.get(getattr(row, column.key))
                        if column.key == "credential_id"
                        else getattr(row, column.key)
                    )
                    for column in BulkRow.__table__.columns
                    if column.key not in ("id", "job_id")
                }
                for row in rows
            ],
            (done.issued_rows, done.failed_rows, done.skipped_rows),
        )
    assert stored[True] == stored[False]
    outcomes = [row["outcome"] for row in stored[True][0]]
    assert outcomes.count("issued") == 4 and outcomes.count("failed") == 2
    assert outcomes.count("skipped") == 2  # the duplicate, and the invalid row
    assert stored[True][1] == (4, 2, 2)
