"""The staff hours report's numbers, from a known set of credentials across two schools and two
categories: by school, by category and by period, converted by credit rules or as clock hours,
and the CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from app.extensions import db
from app.models import EducatorEmail, Issuer, StaffAccount
from app.services.awarding import revocation
from app.services.learning import credit_rules, hours_report
from app.services.org import schools
from app.services.org.audit import Actor
from app.wiring import service_env
from schemas.credit_rules import load_credit_rule
from tests.app.portfolio_helpers import make_educator

ACTOR = Actor(label="test")


@pytest.fixture
def known(
    make_staff: Callable[..., StaffAccount],
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Any],
    make_award: Callable[..., Any],
) -> dict[str, Any]:
    """Two schools (North: a, b; South: c, and e by a second address), d in none; literacy
    badges of 10 hours, technology badges of 1 CEU (15 hours by the rules), one of 3 hours in
    no category; one revoked, one before the range."""
    env = service_env()
    issuer = make_issuer("District 7", slug="district7", owner=make_staff())
    literacy = make_achievement(issuer, "Reading Workshop", credits_available=10,
                                credit_unit="clock_hours")  # fmt: skip
    technology = make_achievement(issuer, "AI in the Classroom", credits_available=1,
                                  credit_unit="ceu")  # fmt: skip
    other = make_achievement(issuer, "Staff Meeting Series", credits_available=3)
    north = schools.create(issuer, "North Elementary", actor=ACTOR, env=env)
    south = schools.create(issuer, "South High", actor=ACTOR, env=env)
    schools.set_members(north, ["a@d7.example.org", "b@d7.example.org"], actor=ACTOR, env=env)
    schools.set_members(south, ["c@d7.example.org", "e.school@d7.example.org"], actor=ACTOR,
                        env=env)  # fmt: skip
    # e's credential goes to a personal address; their verified school address is on a roster.
    educator = make_educator("e.home@example.org", "Eve")
    db.session.add(EducatorEmail(educator_id=educator.id, email="e.school@d7.example.org",
                                 verified_at=env.now, created_at=env.now))  # fmt: skip
    db.session.commit()
    rule = credit_rules.create(issuer, load_credit_rule({
        "name": "State renewal", "cycle_years": 5, "cycle_start": "2025-07-01",
        "hours_required": 100, "ceu": "15",
        "category-0-name": "Literacy", "category-0-minimum": "10",
        "category-1-name": "Technology", "category-1-minimum": "10",
    }), actor=ACTOR, env=env)  # fmt: skip
    rule.categories = [
        {"name": "Literacy", "minimum": 10, "achievements": [literacy.public_id]},
        {"name": "Technology", "minimum": 10, "achievements": [technology.public_id]},
    ]
    db.session.commit()

    def award(achievement: Any, email: str, day: date, **fields: Any) -> Any:
        credential = make_award(issuer, achievement, email, **fields)
        credential.issued_at = datetime(day.year, day.month, day.day, 15, tzinfo=UTC)
        db.session.commit()
        return credential

    award(literacy, "a@d7.example.org", date(2026, 1, 20))
    award(technology, "a@d7.example.org", date(2026, 2, 10))
    award(literacy, "b@d7.example.org", date(2026, 4, 2), credits_earned=4)
    award(technology, "c@d7.example.org", date(2026, 4, 30))
    award(other, "d@elsewhere.example.org", date(2026, 5, 5))
    award(literacy, "e.home@example.org", date(2026, 7, 1))
    revoked = award(literacy, "a@d7.example.org", date(2026, 3, 3))
    revocation.revoke(revoked, "Awarded by mistake", actor=ACTOR, env=env)
    award(literacy, "a@d7.example.org", date(2025, 12, 31))  # before the range
    return {"issuer": issuer, "rule": rule}


def test_hours_by_school_category_and_quarter_under_the_rules(known) -> None:
    report = hours_report.build(
        known["issuer"], date(2026, 1, 1), date(2026, 12, 31), "quarter", known["rule"]
    )
    assert report.total == 57
    assert report.totals("school") == [
        ("North Elementary", 29, 3), ("South High", 25, 2), ("No school", 3, 1),
    ]  # fmt: skip
    assert report.totals("category") == [
        ("Literacy", 24, 3), ("Technology", 30, 2), ("No category", 3, 1),
    ]  # fmt: skip
    assert report.totals("period") == [
        ("Q1 2026", 25, 2), ("Q2 2026", 22, 3), ("Q3 2026", 10, 1), ("Q4 2026", 0, 0),
    ]  # fmt: skip
    assert report.groups("school") == ["North Elementary", "South High", "No school"]
    assert report.cross("category")[1] == ("Q2 2026", [4, 15, 3], 22)
    assert report.left_out == 0


def test_without_rules_only_clock_hours_count(known) -> None:
    report = hours_report.build(known["issuer"], date(2026, 1, 1), date(2026, 12, 31), "year", None)
    assert report.total == 27 and report.left_out == 2
    assert report.totals("period") == [("2026", 27, 4)]
    assert report.categories == ["No category"]


def test_months_and_a_narrow_range(known) -> None:
    report = hours_report.build(
        known["issuer"], date(2026, 2, 1), date(2026, 4, 30), "month", known["rule"]
    )
    assert [(p, h) for p, h, _ in report.totals("period")] == [
        ("Feb 2026", 15), ("Mar 2026", 0), ("Apr 2026", 19),
    ]  # fmt: skip


def test_the_csv(known) -> None:
    report = hours_report.build(
        known["issuer"], date(2026, 1, 1), date(2026, 12, 31), "quarter", known["rule"]
    )
    rows = list(csv.DictReader(io.StringIO(hours_report.to_csv(report))))
    assert [(r["period"], r["school"], r["category"], r["hours"], r["credentials"]) for r in rows] == [
        ("Q1 2026", "North Elementary", "Literacy", "10", "1"),
        ("Q1 2026", "North Elementary", "Technology", "15", "1"),
        ("Q2 2026", "North Elementary", "Literacy", "4", "1"),
        ("Q2 2026", "South High", "Technology", "15", "1"),
        ("Q2 2026", "No school", "No category", "3", "1"),
        ("Q3 2026", "South High", "Literacy", "10", "1"),
    ]  # fmt: skip
    assert {r["converted_by"] for r in rows} == {"State renewal"}
    assert rows[0]["period_start"] == "2026-01-01"
