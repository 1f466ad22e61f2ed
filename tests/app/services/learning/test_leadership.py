"""The leaders' dashboard from a known district (tests/app/leaders_helpers.py): participation,
credentials by standard and by achievement, PD hours (with and without credit rules), trends by
month, the filters (school, role, period), scope, and PD goals with their progress."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.services._core.errors import Forbidden, Invalid
from app.services.learning import credit_rules, lead_dashboard, leadership, pd_goals
from app.services.learning.leadership import Context
from app.services.org import schools
from app.services.org.audit import Actor
from app.wiring import service_env
from schemas.credit_rules import load_credit_rule
from tests.app.leaders_helpers import District, build_district, whole_year


@pytest.fixture
def district(make_staff, make_issuer, make_achievement, make_award) -> District:
    return build_district(make_staff, make_issuer, make_achievement, make_award)


def context(district: District, *, school=None, role=None, scope=None, **period) -> Context:
    scope = scope or schools.LeaderScope(whole_organisation=True, school_ids=frozenset())
    arguments = whole_year(district) | period
    filters = leadership.filters_for(scope, school=school, role=role, **arguments)
    return Context(district.issuer, filters, leadership.people_of(district.issuer), scope, school,
                   env=service_env())  # fmt: skip


def rows(panel: leadership.PanelData) -> dict[str, list]:
    return {row[0]: row[1:] for row in panel.rows}


def test_participation_by_school_with_the_whole_organisation(district: District) -> None:
    found = leadership.participation(context(district))
    # School: on roster, enrolled, active in the year's last 30 days, completed, finishers.
    assert rows(found) == {
        "Hill Elementary": [3, 2, 1, 1, 1],
        "Vale Middle": [2, 1, 0, 1, 1],
        leadership.NO_SCHOOL: ["", 1, 0, 0, 0],
        "All": [5, 4, 1, 2, 2],
    }
    assert found.chart is not None
    assert found.chart.series == [("On roster", 5), ("Enrolled", 4),
                                  ("Active in the last 30 days", 1), ("Completed a module", 2)]  # fmt: skip
    assert ("Modules completed", "2") in found.figures


def test_credentials_by_standard_and_by_achievement(district: District) -> None:
    ctx = context(district)
    standards = leadership.by_standard(ctx)
    assert standards.rows == [
        ["2.7 Analyst", "ISTE Standards for Educators", 4, 4],
        ["2.5 Designer", "ISTE Standards for Educators", 1, 1],
    ]
    assert standards.note == "1 credential of achievements aligned to no standard."
    achievements = leadership.by_achievement(ctx)
    # The revoked credential of ed is left out; hours without credit rules: clock hours only.
    assert achievements.rows == [
        ["Data Analyst", 3, 3, 30.0], ["Designer", 1, 1, 0.0], ["Learning Partner", 1, 1, 0.0]
    ]  # fmt: skip
    assert ("Credentials", "5") in achievements.figures


def test_pd_hours_with_and_without_credit_rules(district: District) -> None:
    assert rows(leadership.pd_hours(context(district))) == {
        "Hill Elementary": [20.0, 2, 10.0], "Vale Middle": [10.0, 1, 10.0], "All": [30.0, 3, 10.0]
    }  # fmt: skip
    credit_rules.create(district.issuer, load_credit_rule({"name": "Renewal", "cycle_years": 5,
                        "cycle_start": "2020-07-01", "hours_required": 50, "ceu": 15}),
                        actor=Actor(district.owner), env=service_env())  # fmt: skip
    found = leadership.pd_hours(context(district))
    # Bo's Designer badge (1 CEU) now counts 15 hours.
    assert rows(found) == {
        "Hill Elementary": [35.0, 3, 11.7], "Vale Middle": [10.0, 1, 10.0], "All": [45.0, 4, 11.2]
    }  # fmt: skip
    assert found.note is not None and "Renewal" in found.note


def test_trends_by_month_through_the_school_year(district: District) -> None:
    found = leadership.trends(context(district))
    by_month = {row[0][:3]: row[1:] for row in found.rows}
    assert len(found.rows) == 12 and found.rows[0][0] == f"Aug {district.year}"
    # Month: enrolments started, modules completed, credentials, hours.
    assert by_month["Sep"] == [2, 1, 3, 20.0]
    assert by_month["Oct"] == [1, 1, 2, 10.0]
    assert by_month["Jul"] == [1, 0, 0, 0.0]
    assert by_month["Dec"] == [0, 0, 0, 0.0]
    assert found.chart is not None and found.chart.series[1] == ("Sep", 3)


def test_a_period_and_a_role_narrow_every_figure(district: District) -> None:
    september = context(district, year=None, start=date(district.year, 9, 1),
                         end=date(district.year, 9, 30))  # fmt: skip
    assert [r[0] for r in leadership.by_achievement(september).rows] == [
        "Data Analyst", "Learning Partner"
    ]  # fmt: skip
    assert len(leadership.trends(september).rows) == 1
    teachers = context(district, role="Teacher")
    assert rows(leadership.participation(teachers))["All"] == [3, 3, 1, 2, 2]
    # cy (a coach) and fay (on no roster) are not teachers.
    assert leadership.by_standard(teachers).rows[0] == ["2.7 Analyst", ISTE_NAME, 3, 3]
    with pytest.raises(Invalid):
        context(district, start=date(district.year, 9, 30), end=date(district.year, 9, 1))


ISTE_NAME = "ISTE Standards for Educators"


def test_a_school_leader_sees_their_school_only(district: District, make_staff) -> None:
    actor, env = Actor(district.owner), service_env()
    principal = make_staff("principal@lakeside.example.org", name="Pam Principal")
    superintendent = make_staff("super@lakeside.example.org", name="Sam Super")
    schools.appoint(district.issuer, principal, district.hill, actor=actor, env=env)
    schools.appoint(district.issuer, superintendent, None, actor=actor, env=env)
    scope = schools.require_leader(principal, district.issuer, district.hill)
    with pytest.raises(Forbidden):
        schools.require_leader(principal, district.issuer, district.vale)
    with pytest.raises(Forbidden):
        schools.require_leader(principal, district.issuer)
    # With no school chosen, a school leader's figures are those of the schools they lead.
    mine = context(district, scope=scope)
    assert list(rows(leadership.participation(mine))) == ["Hill Elementary"]
    assert leadership.by_achievement(mine).rows == [["Data Analyst", 2, 2, 20.0],
                                                    ["Designer", 1, 1, 0.0]]  # fmt: skip
    wide = schools.require_leader(superintendent, district.issuer, district.vale)
    vale = context(district, scope=wide, school=district.vale)
    assert list(rows(leadership.participation(vale))) == ["Vale Middle"]
    everything = context(district, scope=wide)
    assert len(lead_dashboard.panels(everything)) == len(lead_dashboard.PANELS)


def test_goals_progress_from_real_enrolments_and_credentials(district: District) -> None:
    actor, env = Actor(district.owner), service_env()
    base = {"school_year": district.year, "need": "Little use of student data",
            "module_ids": [], "achievement_ids": [], "standards": []}  # fmt: skip
    share = pd_goals.create(district.issuer, base | {"goal": "Teachers analyse data",
                            "standards": ["2.7 analyst"], "measure": "percent_earned", "target": 60},
                            actor=actor, env=env)  # fmt: skip
    completions = pd_goals.create(district.issuer, base | {"goal": "Finish the module",
                                  "module_ids": [district.module.public_id],
                                  "measure": "enrolments_completed", "target": 4},
                                  actor=actor, env=env)  # fmt: skip
    designers = pd_goals.create(district.issuer, base | {"goal": "Design",
                                "achievement_ids": [district.designer.public_id],
                                "measure": "credentials_earned", "target": 2},
                                actor=actor, env=env)  # fmt: skip
    ctx = context(district)
    found = {p.goal.goal: p for p in pd_goals.progress_of(district.issuer, ctx, district.year)}
    # 4 of the 5 on the rosters earned a credential aligned to 2.7 (ann, cy, di; bo's Designer).
    assert (found[share.goal].value, found[share.goal].out_of, found[share.goal].met) == (
        80.0,
        5,
        True,
    )
    assert found[completions.goal].value == 2 and found[completions.goal].percent_of_target == 50
    assert found[designers.goal].value == 1 and not found[designers.goal].met
    hill = pd_goals.progress(share, context(district, school=district.hill))
    assert (hill.value, hill.out_of) == (100.0, 3)
    panel = lead_dashboard.panel(ctx, "goals")
    assert [r[0] for r in panel.rows] == ["Teachers analyse data", "Finish the module", "Design"]
    assert pd_goals.progress_of(district.issuer, ctx, district.year + 1) == []
    with pytest.raises(Invalid):
        pd_goals.create(district.issuer, base | {"goal": "x", "module_ids": ["not-ours"],
                        "measure": "enrolments_completed", "target": 1}, actor=actor, env=env)  # fmt: skip
    with pytest.raises(Invalid):
        pd_goals.create(district.issuer, base | {"goal": "x", "standards": ["2.7 Analyst"],
                        "measure": "percent_earned", "target": 120}, actor=actor, env=env)  # fmt: skip
    pd_goals.delete(designers, actor=actor, env=env)
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"pd_goal.create", "pd_goal.delete"} <= actions
