"""``cairn statement``: an educator's renewal statement printed as the signed CLR 2.0 JSON, the
PDF beside it with ``--pdf``, audited as the command line's; bad input exits 2 with one line and
keeps nothing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, RenewalStatement
from credentials import DocumentLoader, clr_schema_errors, verify_clr
from tests.app.cli.test_operations import SLUG, Cli, _now, cli, ready  # noqa: F401
from tests.app.guarantee_instance import app_fetcher

RITA = "rita.renewal@school.example.org"


@pytest.fixture
def awarded(ready: tuple[Cli, str]) -> tuple[Cli, str]:  # noqa: F811
    """Two credentials of Rita's: 6 clock hours and 0.5 CEUs; yields this year's first day."""
    runner, _ = ready
    ceu = runner.ok(
        "achievements", "create", "--issuer", SLUG, "--name", "Inclusive Classrooms",
        "--description", "Completed the course.", "--criteria", "Took part.",
        "--credits", "0.5", "--credit-unit", "ceu",
    ).strip()  # fmt: skip
    hours = runner.ok(
        "achievements", "create", "--issuer", SLUG, "--name", "Reading Conferences",
        "--description", "Completed the course.", "--criteria", "Took part.",
        "--credits", "6", "--credit-unit", "clock_hours",
    ).strip()  # fmt: skip
    for achievement in (hours, ceu):
        runner.ok("award", "--issuer", SLUG, "--achievement", achievement, "--recipient", RITA,
               "--name", "Rita Renewal", "--no-email")  # fmt: skip
    return runner, f"{_now(runner.app()).year}-01-01"


def test_statement_prints_the_signed_statement_and_writes_the_pdf(
    awarded: tuple[Cli, str], tmp_path: Path
) -> None:
    runner, first_day = awarded
    pdf = tmp_path / "statement.pdf"
    out = runner.ok("statement", "--issuer", SLUG, "--educator", RITA, "--from", first_day,
                 "--to", f"{first_day[:4]}-12-31", "--pdf", str(pdf))  # fmt: skip
    statement = json.loads(out)
    assert "ClrCredential" in statement["type"] and clr_schema_errors(statement) == []
    assert len(statement["credentialSubject"]["verifiableCredential"]) == 2
    # No credit rules: hours as signed, 1 CEU = 15 hours.
    assert statement["evidence"][-1]["description"].startswith("13.5 hours from")
    application = runner.app()
    report = verify_clr(out, loader=DocumentLoader(), now=_now(application),
                        fetch=app_fetcher(application))  # fmt: skip
    assert report.record.valid and all(inner.valid for inner in report.embedded)
    assert pdf.read_bytes().startswith(b"%PDF")
    with application.app_context():
        kept = db.session.scalars(select(RenewalStatement)).one()
        assert kept.made_by == "cli" and json.loads(kept.document) == statement
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "renewal_statement.create")
        ).one()
        assert event.subject_id == kept.public_id
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["--issuer", "nowhere", "--educator", RITA, "--from", "{first}", "--to", "{last}"],
            "cairn: There is no issuer 'nowhere'.",
        ),
        (
            [
                "--issuer",
                SLUG,
                "--educator",
                "nobody@school.example.org",
                "--from",
                "{first}",
                "--to",
                "{last}",
            ],
            "cairn: District 7 Professional Learning knows no educator with that address.",
        ),
        (
            [
                "--issuer",
                SLUG,
                "--educator",
                "not-an-address",
                "--from",
                "{first}",
                "--to",
                "{last}",
            ],
            None,
        ),
        (
            ["--issuer", SLUG, "--educator", RITA, "--from", "2026-02-30", "--to", "{last}"],
            "cairn: Enter the first day as YYYY-MM-DD, like 2026-01-01.",
        ),
        (
            ["--issuer", SLUG, "--educator", RITA, "--from", "{last}", "--to", "{first}"],
            "cairn: The first day (from) is after the last day (to).",
        ),
        (
            ["--issuer", SLUG, "--educator", RITA, "--from", "2001-01-01", "--to", "2001-12-31"],
            "cairn: No valid credential from District 7 Professional Learning was awarded to that "
            "educator between 2001-01-01 and 2001-12-31.",
        ),
        (
            [
                "--issuer",
                SLUG,
                "--educator",
                RITA,
                "--from",
                "{first}",
                "--to",
                "{last}",
                "--rule",
                "Nothing like it",
            ],
            "cairn: District 7 Professional Learning has no credit rules named 'Nothing like it'",
        ),
        (
            [
                "--issuer",
                SLUG,
                "--educator",
                RITA,
                "--from",
                "{first}",
                "--to",
                "{last}",
                "--pdf",
                "/nonexistent-directory/statement.pdf",
            ],
            "cairn: cannot write /nonexistent-directory/statement.pdf: no such directory",
        ),
        (
            ["--issuer", SLUG, "--educator", RITA, "--from", "{first}"],
            "cairn: Missing option '--to'.",
        ),
    ],
)
def test_bad_input_exits_2_and_keeps_nothing(
    awarded: tuple[Cli, str], argv: list[str], expected: str | None
) -> None:
    runner, first_day = awarded
    values = {"first": first_day, "last": f"{first_day[:4]}-12-31"}
    status, out, err = runner("statement", *[a.format(**values) for a in argv])
    assert (status, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("cairn: ")
    if expected is not None:
        assert err == expected + "\n"
    assert runner.count(RenewalStatement) == 0
    assert date.fromisoformat(first_day).month == 1
