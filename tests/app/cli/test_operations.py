"""Instance commands of the `cairn` CLI, run in-process through ``app.cli.main`` against a throw-away SQLite instance described by CAIRN_* variables: db upgrade, issuers/achievements create, award, award-csv, revoke, demo, and one-line errors with exit status 2."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, inspect, select

from app.cli import main
from app.extensions import db
from app.models import AuditEvent, BulkJob, IssuedCredential, Issuer, StatusAllocation
from app.services.awarding import status_lists
from app.services.awarding.bulk import RESULT_COLUMNS
from app.services.org import issuers
from app.wiring import service_env
from credentials import DocumentLoader, schema_errors, verify_credential
from tests.app.guarantee_instance import BASE_URL, Instance, app_fetcher, preserved_logging

SLUG = "district-7"


class Cli:
    """Runs `cairn` in-process against one instance and reads what it left in the database."""

    def __init__(self, instance: Instance, capsys: pytest.CaptureFixture[str]) -> None:
        self.instance = instance
        self.capsys = capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        with preserved_logging():  # `db upgrade` runs Alembic's logging set-up in-process
            status = main(list(argv))
        out, err = self.capsys.readouterr()
        return status, out, err

    def ok(self, *argv: str) -> str:
        status, out, err = self(*argv)
        assert status == 0, (argv, err)
        return out

    def app(self) -> Flask:
        return self.instance.app()

    def count(self, model: type) -> int:
        application = self.app()
        with application.app_context():
            value = db.session.scalar(select(func.count()).select_from(model)) or 0
            db.engine.dispose()
        return value


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Cli]:
    """A fresh instance (SQLite file in a directory that does not exist yet) in the environment.

    Jobs and mail run inline; mail goes to a closed SMTP port. The Flask instance folder (demo
    sign-in note, development outbox, instance/config.py) is redirected to the test's directory,
    so nothing touches the repository's ``instance/``.
    """
    instance = Instance(
        tmp_path,
        f"sqlite:///{tmp_path / 'data' / 'cairn.sqlite3'}",
        extra={"CAIRN_JOBS_INLINE": "true"},
    )
    for name, value in instance.settings.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CAIRN_TEST_DATABASE_URL", raising=False)
    (tmp_path / "instance").mkdir()
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    yield Cli(instance, capsys)


@pytest.fixture
def ready(cli: Cli) -> tuple[Cli, str]:
    """An upgraded instance with one issuer and one achievement; yields the achievement id."""
    cli.ok("db", "upgrade")
    cli.ok("issuers", "create", "--name", "District 7 Professional Learning", "--slug", SLUG)
    achievement_id = cli.ok(
        "achievements", "create", "--issuer", SLUG, "--name", "Formative Assessment",
        "--description", "Completed the module.", "--criteria", "Complete every activity.",
    ).strip()  # fmt: skip
    return cli, achievement_id


def test_db_upgrade_creates_the_schema_on_an_empty_database(cli: Cli, tmp_path: Path) -> None:
    database = tmp_path / "data" / "cairn.sqlite3"
    assert not database.parent.exists()
    status, out, err = cli("db", "upgrade")
    assert (status, out) == (0, ""), err
    assert database.is_file()
    application = cli.app()
    with application.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) | {"alembic_version"} == tables
        from sqlalchemy import text

        version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        from tests.app.migrations.test_migrations import script_directory

        assert version == script_directory().get_current_head()
        db.session.remove()
        db.engine.dispose()
    # Upgrading an up-to-date database is a no-op.
    assert cli("db", "upgrade")[0] == 0


def test_issuers_and_achievements_create(cli: Cli) -> None:
    cli.ok("db", "upgrade")
    out = cli.ok(
        "issuers", "create", "--name", "District 7 Professional Learning", "--slug", SLUG,
        "--url", "https://district7.example.org", "--email", "pd@district7.example.org",
    )  # fmt: skip
    assert json.loads(out) == {"slug": SLUG, "did": f"did:web:badges.example.org:issuers:{SLUG}"}
    achievement_id = cli.ok(
        "achievements", "create", "--issuer", SLUG, "--name", "Coaching Cycle",
        "--description", "Led a coaching cycle.", "--criteria", "Three **cycles**.",
        "--outcome", "Plan a cycle", "--outcome", "Debrief", "--credits", "1.5", "--valid-days", "90",
    ).strip()  # fmt: skip
    application = cli.app()
    with application.app_context():
        issuer = issuers.get_by_slug(SLUG)
        assert sorted(k.key_type for k in issuer.keys) == ["ed25519", "p256"]
        assert status_lists.get_list(issuer, "revocation").version == 1
        served = application.test_client().get(f"/achievements/{achievement_id}/versions/1")
        assert served.status_code == 200
        body = served.get_json()
        assert body["name"] == "Coaching Cycle" and body["creditsAvailable"] == 1.5
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"issuer.create", "achievement.create"} <= actions
        actors = set(db.session.scalars(select(AuditEvent.actor)))
        assert actors == {"cli"}
        db.session.remove()
        db.engine.dispose()
    # A taken slug is refused in one line.
    status, out, err = cli("issuers", "create", "--name", "Another", "--slug", SLUG)
    assert (status, out) == (2, "") and err.count("\n") == 1 and "taken" in err


def test_award_json_prints_a_valid_signed_credential(ready: tuple[Cli, str]) -> None:
    cli, achievement_id = ready
    out = cli.ok(
        "award", "--issuer", SLUG, "--achievement", achievement_id,
        "--recipient", "teacher@school.example.org", "--name", "Ann Lee", "--json",
    )  # fmt: skip
    credential = json.loads(out)
    assert schema_errors(credential) == []
    assert credential["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    application = cli.app()
    report = verify_credential(
        out, loader=DocumentLoader(), now=_now(application), fetch=app_fetcher(application),
        recipient="teacher@school.example.org",
    )  # fmt: skip
    assert report.valid, report.as_json()["checks"]
    assert report.check("status").status == "pass" and report.check("issuer_key").status == "pass"
    # Without --json it prints the credential's URL. Both award emails were queued (and, with no
    # SMTP server listening, none was sent).
    url = cli.ok(
        "award", "--issuer", SLUG, "--achievement", achievement_id,
        "--recipient", "second@school.example.org",
    ).strip()  # fmt: skip
    assert url.startswith(f"{BASE_URL}/credentials/") and len(url.rsplit("/", 1)[1]) == 36
    with application.app_context():
        from app.models import EmailMessage

        messages = list(db.session.scalars(select(EmailMessage)))
        assert sorted(m.to_address for m in messages) == [
            "second@school.example.org",
            "teacher@school.example.org",
        ]
        assert all(m.sent_at is None for m in messages)
        db.session.remove()
        db.engine.dispose()


def _now(application: Flask) -> datetime:
    with application.app_context():
        return service_env().now + timedelta(seconds=1)


def test_award_csv_previews_issues_and_prints_results(
    ready: tuple[Cli, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli, achievement_id = ready
    path = tmp_path / "cohort.csv"
    path.write_text(
        "email,name,expiry\n"
        "ann@school.example.org,Ann Lee,\n"
        "not-an-email,Bad Row,\n"
        "bob@school.example.org,Bob Stone,never\n"
        "ANN@school.example.org,Ann Again,\n"
    )
    status, out, err = cli(
        "award-csv", "--issuer", SLUG, "--achievement", achievement_id, "--yes", str(path)
    )
    assert status == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == RESULT_COLUMNS
    by_row = {r[0]: dict(zip(RESULT_COLUMNS, r, strict=True)) for r in rows[1:]}
    assert {n: (r["verdict"], r["outcome"]) for n, r in by_row.items()} == {
        "2": ("ok", "issued"),
        "3": ("invalid", "skipped"),
        "4": ("ok", "issued"),
        "5": ("duplicate", "skipped"),
    }
    assert "row 3: invalid: 'not-an-email' is not an email address" in err
    assert "row 5: duplicate: appears earlier in this file" in err
    assert "4 rows: 1 duplicate, 1 invalid, 2 ok" in err
    issued_urls = {by_row["2"]["credential_url"], by_row["4"]["credential_url"]}
    application = cli.app()
    with application.app_context():
        stored = {
            f"{BASE_URL}/credentials/{c.id}": c
            for c in db.session.scalars(select(IssuedCredential))
        }
        assert set(stored) == issued_urls
        assert sorted(c.recipient_email for c in stored.values()) == [
            "ann@school.example.org",
            "bob@school.example.org",
        ]
        db.session.remove()
        db.engine.dispose()

    # The same file again issues nothing twice: every row is now a duplicate or invalid.
    status, out, err = cli(
        "award-csv", "--issuer", SLUG, "--achievement", achievement_id, "--yes", str(path)
    )
    assert (status, out) == (2, "")
    assert err.splitlines()[-1] == "cairn: no row can be issued"
    assert cli.count(IssuedCredential) == 2

    # Without --yes it asks; "n" cancels the job and issues nothing (exit 1).
    fresh = tmp_path / "fresh.csv"
    fresh.write_text("email\ncarol@school.example.org\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    status, out, err = cli(
        "award-csv", "--issuer", SLUG, "--achievement", achievement_id, str(fresh)
    )
    assert status == 1 and out == "" and "Issue 1 credentials?" in err
    assert cli.count(IssuedCredential) == 2
    with application.app_context():
        states = sorted(db.session.scalars(select(BulkJob.state)))
        assert states == ["cancelled", "cancelled", "done"]
        db.session.remove()
        db.engine.dispose()


def test_revoke_flips_the_bit_and_refuses_twice(ready: tuple[Cli, str]) -> None:
    cli, achievement_id = ready
    first = json.loads(cli.ok("award", "--issuer", SLUG, "--achievement", achievement_id,
                              "--recipient", "a@school.example.org", "--json", "--no-email"))  # fmt: skip
    second_url = cli.ok("award", "--issuer", SLUG, "--achievement", achievement_id,
                        "--recipient", "b@school.example.org", "--no-email").strip()  # fmt: skip
    first_id = first["id"].rsplit("/", 1)[1]
    status, out, err = cli("revoke", first_id, "--reason", "Awarded in error")
    assert (status, out, err) == (0, "", f"revoked {first_id}\n")
    # A credential may also be named by its public URL.
    status, _, err = cli("revoke", second_url, "--reason", "Duplicate award")
    assert status == 0 and err.strip() == f"revoked {second_url.rsplit('/', 1)[1]}"
    application = cli.app()
    with application.app_context():
        issuer = issuers.get_by_slug(SLUG)
        credentials = list(db.session.scalars(select(IssuedCredential)))
        assert all(c.revoked_at is not None for c in credentials)
        assert {c.revocation_reason for c in credentials} == {"Awarded in error", "Duplicate award"}
        assert all(status_lists.is_set(issuer, "revocation", c.status_index) for c in credentials)
        assert status_lists.get_list(issuer, "revocation").version == 3  # signed once per change
        db.session.remove()
        db.engine.dispose()
    report = verify_credential(
        first, loader=DocumentLoader(), now=_now(application), fetch=app_fetcher(application)
    )
    assert report.check("status").code == "revoked"
    status, out, err = cli("revoke", first_id, "--reason", "again")
    assert (status, out) == (2, "") and err.count("\n") == 1 and err.startswith("cairn: ")


def test_revoke_takes_a_public_reason_apart_from_the_internal_note(ready: tuple[Cli, str]) -> None:
    cli, achievement_id = ready
    award = ("award", "--issuer", SLUG, "--achievement", achievement_id, "--json", "--no-email")
    first = json.loads(cli.ok(*award, "--recipient", "a@school.example.org"))["id"]
    second = json.loads(cli.ok(*award, "--recipient", "b@school.example.org"))["id"]
    status, _, err = cli("revoke", first, "--reason", "Ticket 4411", "--public-reason", "other")
    assert status == 2 and "Write the reason the public will see." in err  # nothing revoked
    cli.ok("revoke", first, "--reason", "Ticket 4411", "--public-reason", "requirements")
    cli.ok("revoke", second, "--reason", "Roster mix-up", "--public-reason", "other",
           "--public-text", "Awarded to the wrong teacher")  # fmt: skip
    application = cli.app()
    with application.app_context():
        found = {c.recipient_email: c for c in db.session.scalars(select(IssuedCredential))}
        a, b = found["a@school.example.org"], found["b@school.example.org"]
        assert (a.revocation_reason, a.revocation_public_reason) == (
            "Ticket 4411",
            "No longer meets the requirements",
        )
        assert (b.revocation_reason, b.revocation_public_reason) == (
            "Roster mix-up",
            "Awarded to the wrong teacher",
        )
        db.session.remove()
        db.engine.dispose()


def test_demo_if_empty_seeds_once(cli: Cli, tmp_path: Path) -> None:
    cli.ok("db", "upgrade")
    status, _, err = cli("demo", "--if-empty")
    assert status == 0 and "Demo issuer 'District 7 Professional Learning Office' created" in err
    note = tmp_path / "instance" / "demo-sign-in.txt"
    assert note.is_file() and note.stat().st_mode & 0o777 == 0o600
    counts = {
        model: cli.count(model)
        for model in (Issuer, IssuedCredential, AuditEvent, StatusAllocation)
    }
    assert counts[Issuer] == 1 and counts[IssuedCredential] == 6
    status, out, err = cli("demo", "--if-empty")
    assert (status, out) == (0, "")
    assert err == "The instance already has issuers; no demo data added.\n"
    assert {model: cli.count(model) for model in counts} == counts
    application = cli.app()
    with application.app_context():
        revoked = db.session.scalar(
            select(func.count()).where(IssuedCredential.revoked_at.is_not(None))
        )
        assert revoked == 1
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["award", "--issuer", "nope", "--achievement", "{achievement}", "--recipient", "a@b.example.org"],
         "cairn: There is no issuer 'nope'."),
        (["award", "--issuer", SLUG, "--achievement", "missing", "--recipient", "a@b.example.org"],
         "cairn: There is no such achievement."),
        (["award", "--issuer", SLUG, "--achievement", "{achievement}", "--recipient", "not-an-email"],
         "cairn: 'not-an-email' is not an email address."),
        (["revoke", "{credential}"], "cairn: Missing option '--reason'."),
        (["revoke", "00000000-0000-0000-0000-000000000000", "--reason", "x"],
         "cairn: there is no credential 00000000-0000-0000-0000-000000000000"),
        (["award-csv", "--issuer", "nope", "--achievement", "{achievement}", "--yes", "{csv}"],
         "cairn: There is no issuer 'nope'."),
    ],
    ids=["unknown-issuer", "unknown-achievement", "bad-email", "missing-reason", "unknown-credential", "csv-unknown-issuer"],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line_and_stores_nothing(
    ready: tuple[Cli, str], tmp_path: Path, argv: list[str], expected: str
) -> None:
    cli, achievement_id = ready
    credential = json.loads(cli.ok("award", "--issuer", SLUG, "--achievement", achievement_id,
                                    "--recipient", "kept@school.example.org", "--json", "--no-email"))  # fmt: skip
    path = tmp_path / "one.csv"
    path.write_text("email\nz@school.example.org\n")
    values = {"achievement": achievement_id, "credential": credential["id"], "csv": str(path)}
    before = {model: cli.count(model) for model in (IssuedCredential, AuditEvent, BulkJob)}
    status, out, err = cli(*[a.format(**values) for a in argv])
    assert (status, out) == (2, "")
    assert err == expected + "\n"
    assert {model: cli.count(model) for model in before} == before


def test_award_csv_waits_for_its_job_without_inline_jobs_configured(
    ready: tuple[Cli, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A production instance runs jobs elsewhere (a thread pool or RQ); the command still issues
    # the rows itself before it prints their results.
    cli, achievement_id = ready
    monkeypatch.delenv("CAIRN_JOBS_INLINE")
    path = tmp_path / "cohort.csv"
    path.write_text("email,name\nann@school.example.org,Ann Lee\nbob@school.example.org,Bob\n")
    status, out, err = cli(
        "award-csv", "--issuer", SLUG, "--achievement", achievement_id, "--yes", str(path)
    )
    assert status == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    outcomes = [dict(zip(RESULT_COLUMNS, r, strict=True))["outcome"] for r in rows[1:]]
    assert outcomes == ["issued", "issued"]
