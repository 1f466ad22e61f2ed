"""Credit rules for renewal: the cycle arithmetic and conversions, the workspace form (from a
preset, refused input, editing, deleting, audited), and an educator's progress across three
credentials in three units."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Achievement, AuditEvent, CreditRule, Issuer, StaffAccount
from app.services.learning import credit_rules
from app.services.org.audit import Actor
from app.wiring import service_env
from schemas.credit_rules import load_credit_rule
from tests.app.conftest import Web, sign_in_directly
from tests.app.educator.educator_helpers import make_educator, sign_in_as
from tests.app.public.conftest import page

EMAIL = "ann.lee@school.example.org"
HTML = {"Accept": "text/html"}


def rule_of(**fields: Any) -> CreditRule:
    data = {"name": "R", "cycle_years": 5, "cycle_start": "2025-07-01", "hours_required": 50,
            "ceu": 15, "points": 1, "micro_credential": 10} | fields  # fmt: skip
    loaded = load_credit_rule(data)
    return CreditRule(
        name=loaded["name"], cycle_years=loaded["cycle_years"], cycle_start=loaded["cycle_start"],
        hours_required=loaded["hours_required"], categories=loaded["categories"],
        conversions={k: loaded[k] for k in ("ceu", "points", "micro_credential")},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("today", "cycle"),
    [
        (date(2025, 7, 1), (date(2025, 7, 1), date(2030, 7, 1))),
        (date(2030, 6, 30), (date(2025, 7, 1), date(2030, 7, 1))),
        (date(2030, 7, 1), (date(2030, 7, 1), date(2035, 7, 1))),
        (date(2025, 6, 30), (date(2020, 7, 1), date(2025, 7, 1))),
        (date(2019, 1, 1), (date(2015, 7, 1), date(2020, 7, 1))),
    ],
)
def test_the_cycle_a_day_falls_in(app: Any, today: date, cycle: tuple[date, date]) -> None:
    assert credit_rules.cycle_of(rule_of(), today) == cycle


@pytest.mark.parametrize(
    ("credit", "unit", "kind", "hours"),
    [
        (6.0, None, "Badge", 6.0),
        (6.0, "clock_hours", "Badge", 6.0),
        (1.5, "ceu", "Badge", 22.5),
        (10.0, "points", "Badge", 10.0),
        (None, None, "MicroCredential", 10.0),
        (None, None, "Badge", 0.0),
    ],
)
def test_credit_turned_into_hours(
    app: Any, credit: float | None, unit: str | None, kind: str, hours: float
) -> None:
    assert credit_rules.hours_for(credit, unit, kind, rule_of()) == hours


@pytest.fixture
def owner(make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    return make_staff()


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer], owner: StaffAccount) -> Issuer:
    return make_issuer(owner=owner)


def audit_count(action: str) -> int:
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    return db.session.scalar(query) or 0


def test_editors_keep_rules_from_a_preset_through_the_form(
    web: Web,
    owner: StaffAccount,
    issuer: Issuer,
    make_achievement: Callable[..., Achievement],
) -> None:
    literacy = make_achievement(issuer, "Reading Conferences", credits_available=6)
    sign_in_directly(web.client, "staff", owner.id)
    base = f"/workspace/{issuer.slug}/credit-rules"
    assert "No credit rules yet" in page(web.get(base)).text
    new = f"{base}/new?preset=five-year-50"
    shown = web.get(new).get_data(as_text=True)
    assert 'value="Licence renewal: 50 clock hours in 5 years"' in shown
    assert 'value="Literacy"' in shown and 'value="15"' in shown
    form = {
        "name": "State licence renewal", "cycle_years": "5", "cycle_start": "2025-07-01",
        "hours_required": "50", "ceu": "15", "points": "1", "micro_credential": "10",
        "category-0-name": "Literacy", "category-0-minimum": "10",
        "category-0-achievements": literacy.public_id,
        "category-1-name": "", "category-1-minimum": "",
    }  # fmt: skip
    refused = web.submit(new, action=f"{base}/new", data=form | {"hours_required": "lots"})
    assert refused.status_code == 400
    assert "Enter a number" in refused.get_data(as_text=True)
    duplicate = form | {"category-1-name": "literacy", "category-1-minimum": "2"}
    assert web.submit(new, action=f"{base}/new", data=duplicate).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(CreditRule)) == 0

    saved = web.submit(new, action=f"{base}/new", data=form)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    rule = db.session.scalars(select(CreditRule)).one()
    assert (rule.name, rule.cycle_years, rule.cycle_start, rule.hours_required) == (
        "State licence renewal", 5, date(2025, 7, 1), 50.0,
    )  # fmt: skip
    assert rule.categories == [
        {"name": "Literacy", "minimum": 10.0, "achievements": [literacy.public_id]}
    ]
    assert rule.conversions == {"ceu": 15.0, "points": 1.0, "micro_credential": 10.0}
    listing = " ".join(page(web.get(base)).text.split())
    assert "at least 10 hours, from Reading Conferences" in listing
    assert "1 CEU = 15 hours · 1 PD point = 1 hour" in listing
    assert audit_count("credit_rule.create") == 1

    edit = f"{base}/{rule.public_id}"
    assert web.submit(edit, data=form | {"hours_required": "60"}).status_code == 302
    db.session.refresh(rule)
    assert rule.hours_required == 60.0 and audit_count("credit_rule.update") == 1
    gone = web.submit(edit, action=f"{edit}/delete", data={})
    assert gone.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(CreditRule)) == 0
    assert audit_count("credit_rule.delete") == 1


def test_an_achievement_of_another_organisation_is_refused(
    owner: StaffAccount,
    issuer: Issuer,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
) -> None:
    other = make_achievement(make_issuer("Elsewhere"), "Not yours")
    loaded = load_credit_rule({"name": "R", "cycle_years": 1, "cycle_start": "2026-01-01",
                               "hours_required": 10, "categories": [{"name": "X", "minimum": 1,
                               "achievements": [other.public_id]}]})  # fmt: skip
    with pytest.raises(credit_rules.Invalid):
        credit_rules.create(issuer, loaded, actor=Actor(owner), env=service_env())


def test_an_educator_reaches_the_total_across_three_credentials(
    web: Web,
    owner: StaffAccount,
    issuer: Issuer,
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., Any],
) -> None:
    hours = make_achievement(issuer, "Reading Conferences", credits_available=20)
    ceus = make_achievement(issuer, "Inclusive Classrooms", credits_available=1.5,
                            credit_unit="ceu")  # fmt: skip
    micro = make_achievement(issuer, "Data Teams", achievement_type="MicroCredential")
    today = credit_rules.now_date(service_env())
    rule = credit_rules.create(issuer, load_credit_rule({
        "name": "Licence renewal", "cycle_years": 5, "cycle_start": today.isoformat(),
        "hours_required": 50, "ceu": 15, "points": 1, "micro_credential": 10,
        "categories": [
            {"name": "Literacy", "minimum": 10, "achievements": [hours.public_id]},
            {"name": "Special education", "minimum": 20, "achievements": [ceus.public_id]},
        ],
    }), actor=Actor(owner), env=service_env())  # fmt: skip
    educator = make_educator(EMAIL)
    make_award(issuer, hours, EMAIL)
    progress = credit_rules.progress(educator, rule, service_env())
    assert (progress.total, progress.missing) == (20.0, 30.0)
    make_award(issuer, ceus, EMAIL)
    progress = credit_rules.progress(educator, rule, service_env())
    assert (progress.total, progress.missing) == (42.5, 7.5)
    # Enough hours in all is not enough while a category is short.
    strict = credit_rules.progress(educator, rule_of(hours_required=40, categories=[
        {"name": "Special education", "minimum": 25, "achievements": [ceus.public_id]}]),
        service_env())  # fmt: skip
    assert (strict.total, strict.missing) == (42.5, 2.5)
    make_award(issuer, micro, EMAIL)
    progress = credit_rules.progress(educator, rule, service_env())
    assert progress.total == 52.5 and progress.missing == 0 and progress.percent == 100
    by_name = {c.name: (c.hours, c.missing) for c in progress.categories}
    assert by_name == {"Literacy": (20.0, 0.0), "Special education": (22.5, 0.0)}

    sign_in_as(web, educator)
    assert "Progress toward renewal" in page(web.get("/me/", headers=HTML)).text
    shown = " ".join(page(web.get("/me/renewal", headers=HTML)).text.split())
    assert "52.5 of 50 hours" in shown
    assert "Special education 22.5 20 Met" in shown and "Complete" in shown
    assert "Inclusive Classrooms" in shown and "1.5 CEUs 22.5 Special education" in shown
