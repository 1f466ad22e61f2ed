"""Renewal statements: the lines, hours and totals of a period under an organisation's credit
rules, the signed CLR 2.0 document (each line's credential as signed, every one verifying on
its own), what is refused, and the audit of a staff statement."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Achievement, AuditEvent, IssuedCredential, Issuer, RenewalStatement
from app.services._core.errors import Invalid, NotFound
from app.services.awarding import revocation
from app.services.learning import credit_rules, statements
from app.services.org.audit import Actor
from app.services.verification import verifier
from app.wiring import service_env
from credentials import clr_schema_errors
from schemas.credit_rules import load_credit_rule
from tests.app.educator.educator_helpers import make_educator
from tests.app.pdfs import pdf_text

RITA = "rita.renewal@school.example.org"


@pytest.fixture
def district(make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer("District 7 Professional Learning", slug="district-7")


@pytest.fixture
def three(
    district: Issuer,
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> dict[str, Any]:
    """Three credentials in three units (20 clock hours, 1.5 CEUs, a micro-credential) and
    rules that count the first two in categories."""
    reading = make_achievement(district, "Reading Conferences", credits_available=20,
                               credit_unit="clock_hours")  # fmt: skip
    inclusive = make_achievement(district, "Inclusive Classrooms", credits_available=1.5,
                                 credit_unit="ceu")  # fmt: skip
    data = make_achievement(district, "Data Teams", achievement_type="MicroCredential")
    awarded = [make_award(district, a, RITA, name="Rita Renewal")
               for a in (reading, inclusive, data)]  # fmt: skip
    rule = credit_rules.create(district, load_credit_rule({
        "name": "Licence renewal", "cycle_years": 5, "cycle_start": "2025-07-01",
        "hours_required": 50, "ceu": 15, "points": 1, "micro_credential": 10,
        "categories": [
            {"name": "Literacy", "minimum": 10, "achievements": [reading.public_id]},
            {"name": "Special education", "minimum": 5, "achievements": [inclusive.public_id]},
        ],
    }), actor=Actor(label="test"), env=service_env())  # fmt: skip
    return {"credentials": awarded, "rule": rule}


def this_year() -> tuple[date, date]:
    today = service_env().now.date()
    return today - timedelta(days=30), today


def test_a_statement_counts_every_credential_of_the_period_by_the_rules(
    district: Issuer, three: dict[str, Any]
) -> None:
    start, end = this_year()
    made = statements.create(district, RITA, start, end, rule=three["rule"], made_by="educator",
                             actor=None, env=service_env())  # fmt: skip
    shown = statements.view(made, service_env())
    assert shown.holder == "Rita Renewal" and shown.issuer_name == district.name
    assert shown.rule_name == "Licence renewal" and (shown.start, shown.end) == (start, end)
    assert [(line.name, line.hours, line.category) for line in shown.lines] == [
        ("Reading Conferences", 20, "Literacy"),
        ("Inclusive Classrooms", 22.5, "Special education"),
        ("Data Teams", 10, None),
    ]
    assert [(c.name, c.hours, c.minimum) for c in shown.categories] == [
        ("Literacy", 20, 10), ("Special education", 22.5, 5)
    ]  # fmt: skip
    assert (shown.total, shown.hours_required, shown.missing, shown.uncategorised) == (
        52.5, 50, 0, 10
    )  # fmt: skip
    assert made.total_hours == 52.5 and made.made_by == "educator"
    # The educator's own statement is not in the organisation's audit trail.
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "renewal_statement.create")) == 0  # fmt: skip


def test_the_signed_statement_is_a_clr_holding_each_credential_as_signed(
    district: Issuer, three: dict[str, Any]
) -> None:
    env = service_env()
    start, end = this_year()
    made = statements.create(district, RITA, start, end, rule=three["rule"], made_by="staff",
                             actor=Actor(label="test"), env=env)  # fmt: skip
    document = json.loads(made.document)
    assert document["id"] == statements.statement_url(made.public_id, env)
    assert "ClrCredential" in document["type"] and clr_schema_errors(document) == []
    assert document["issuer"]["id"].endswith(":district-7")
    inside = document["credentialSubject"]["verifiableCredential"]
    assert inside == [json.loads(c.document) for c in three["credentials"]]
    evidence = document["evidence"]
    assert [e["genre"] for e in evidence] == ["Renewal statement line"] * 3 + [
        "Renewal statement totals"
    ]
    assert evidence[1]["name"] == "Inclusive Classrooms"
    assert evidence[1]["description"] == (
        "1.5 CEUs, counted as 22.5 hours; Special education; awarded "
        f"{three['credentials'][1].issued_at.date().isoformat()}."
    )
    assert evidence[3]["description"].startswith("52.5 hours from ")
    assert "of 50 hours required; Literacy: 20 hours (at least 10)" in evidence[3]["description"]
    assert made.summary["holder"] == "Rita Renewal" and made.summary["totalHours"] == 52.5
    assert [i["identityType"] for i in document["credentialSubject"]["identifier"]] == [
        "emailAddress"
    ]
    report = verifier.verify_record(made.document, env=env, fallback=None)
    assert report.record.valid and len(report.embedded) == 3
    assert all(inner.valid for inner in report.embedded)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "renewal_statement.create")
    ).one()
    assert event.subject_id == made.public_id and event.issuer_id == district.id
    assert event.detail["credentials"] == [c.id for c in three["credentials"]]
    assert [line["credential"] for line in made.summary["lines"]] == [c["id"] for c in inside]


def test_a_tampered_line_fails_on_its_own(district: Issuer, three: dict[str, Any]) -> None:
    env = service_env()
    start, end = this_year()
    made = statements.create(district, RITA, start, end, rule=three["rule"], made_by="cli",
                             actor=Actor(label="test"), env=env)  # fmt: skip
    document = json.loads(made.document)
    document["credentialSubject"]["verifiableCredential"][1]["validFrom"] = "2020-01-01T00:00:00Z"
    report = verifier.verify_record(json.dumps(document), env=env, fallback=None)
    assert not report.record.valid
    assert [inner.valid for inner in report.embedded] == [True, False, True]


def test_without_rules_the_hours_are_as_signed(district: Issuer, three: dict[str, Any]) -> None:
    start, end = this_year()
    made = statements.create(district, RITA, start, end, rule=None, made_by="educator",
                             actor=None, env=service_env())  # fmt: skip
    shown = statements.view(made, service_env())
    # 1 CEU = 15 hours; a micro-credential without credit counts nothing without rules.
    assert [line.hours for line in shown.lines] == [20, 22.5, 0]
    assert shown.hours_required is None and shown.categories == [] and shown.total == 42.5


def test_only_the_period_and_valid_credentials_count(
    district: Issuer, three: dict[str, Any]
) -> None:
    env = service_env()
    first = three["credentials"][0]
    revocation.revoke(first, reason="Awarded in error", actor=Actor(label="test"), env=env)
    start, end = this_year()
    made = statements.create(district, RITA, start, end, rule=three["rule"], made_by="educator",
                             actor=None, env=env)  # fmt: skip
    assert [line.name for line in statements.view(made, env).lines] == [
        "Inclusive Classrooms", "Data Teams"
    ]  # fmt: skip
    with pytest.raises(Invalid, match="No valid credential"):
        statements.create(district, RITA, date(2020, 1, 1), date(2020, 12, 31),
                          rule=three["rule"], made_by="educator", actor=None, env=env)  # fmt: skip


def test_bad_input_is_refused_and_nothing_is_kept(
    district: Issuer, three: dict[str, Any], make_issuer: Callable[..., Issuer]
) -> None:
    env = service_env()
    start, end = this_year()
    with pytest.raises(Invalid):
        statements.create(district, "not an address", start, end, rule=None, made_by="staff",
                          actor=Actor(label="test"), env=env)  # fmt: skip
    with pytest.raises(Invalid, match="after the last day"):
        statements.create(district, RITA, end, start, rule=None, made_by="staff",
                          actor=Actor(label="test"), env=env)  # fmt: skip
    with pytest.raises(NotFound):
        statements.create(district, "nobody@school.example.org", start, end, rule=None,
                          made_by="staff", actor=Actor(label="test"), env=env)  # fmt: skip
    other = make_issuer("Riverside Teaching Centre", slug="riverside")
    with pytest.raises(NotFound):  # another organisation's rules
        statements.create(other, RITA, start, end, rule=three["rule"], made_by="staff",
                          actor=Actor(label="test"), env=env)  # fmt: skip
    # Another organisation has awarded Rita nothing: it knows no such educator (whether she
    # has an account is not its business), and nothing of district's goes in.
    make_educator(RITA, "Rita Renewal")
    with pytest.raises(NotFound, match="Riverside"):
        statements.create(other, RITA, start, end, rule=None, made_by="staff",
                          actor=Actor(label="test"), env=env)  # fmt: skip
    assert db.session.scalar(select(func.count()).select_from(RenewalStatement)) == 0


def test_the_pdf_names_who_what_and_where_to_verify(
    district: Issuer, three: dict[str, Any]
) -> None:
    from app.services.learning.statement_pdf import statement_pdf

    env = service_env()
    start, end = this_year()
    made = statements.create(district, RITA, start, end, rule=three["rule"], made_by="educator",
                             actor=None, env=env)  # fmt: skip
    data = statement_pdf(statements.view(made, env))
    assert data.startswith(b"%PDF")
    text = pdf_text(data)
    for expected in ("RENEWAL STATEMENT", "Rita Renewal", "District 7 Professional Learning",
                     "Licence renewal", "Inclusive Classrooms", "1.5 CEUs", "22.5",
                     "Special education", "52.5", "Met", statements.statement_url(made.public_id, env)):  # fmt: skip
        assert expected in text, expected
    assert statement_pdf(statements.view(made, env)) == data  # the same bytes every time


def test_a_vc_jwt_credential_cannot_go_in_and_says_so(
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    jwt_issuer = make_issuer("JWT District", slug="jwt-district", proof_format="jwt")
    make_award(jwt_issuer, make_achievement(jwt_issuer, "Reading Conferences"), RITA)
    start, end = this_year()
    with pytest.raises(Invalid, match="VC-JWT"):
        statements.create(jwt_issuer, RITA, start, end, rule=None, made_by="staff",
                          actor=Actor(label="test"), env=service_env())  # fmt: skip
