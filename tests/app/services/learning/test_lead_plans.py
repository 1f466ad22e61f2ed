"""The leaders' plan and coaching panels from a known district (tests/app/leaders_helpers.py):
plan goals by standard (shared plans only, completion from the plans service), coaching
sessions delivered against plan, by scope and filter; and who may read and comment on a
shared plan as a leader or a coach."""

from __future__ import annotations

import pytest

from app.models import PlanComment
from app.services._core.errors import Forbidden, NotFound
from app.services.learning import lead_dashboard, lead_plans, leadership
from app.services.learning.leadership import Context
from app.services.org import schools
from app.services.org.audit import Actor
from app.services.org.schools import LeaderScope
from app.wiring import service_env
from tests.app.leaders_helpers import (
    PLAN_SECRETS,
    District,
    Planning,
    add_plans,
    build_district,
    whole_year,
)

ISTE = "ISTE Standards for Educators"
WHOLE = LeaderScope(whole_organisation=True, school_ids=frozenset())


@pytest.fixture
def district(make_staff, make_issuer, make_achievement, make_award) -> District:
    return build_district(make_staff, make_issuer, make_achievement, make_award)


@pytest.fixture
def planning(district: District, make_staff) -> Planning:
    return add_plans(district, make_staff)


def context(district: District, *, school=None, role=None, scope=WHOLE, **period) -> Context:
    filters = leadership.filters_for(scope, school=school, role=role,
                                     **(whole_year(district) | period))  # fmt: skip
    return Context(district.issuer, filters, leadership.people_of(district.issuer), scope,
                   school, env=service_env())  # fmt: skip


def hill_scope(district: District) -> LeaderScope:
    return LeaderScope(whole_organisation=False, school_ids=frozenset({district.hill.id}))


def test_plan_goals_by_standard_for_the_whole_organisation(district, planning) -> None:
    found = lead_plans.plan_goals(context(district))
    # Standard, framework, goals, complete, % complete, educators. Bo's plan is not shared.
    assert found.rows == [
        ["Analyst", ISTE, 3, 2, "67%", 2],
        ["Designer", ISTE, 3, 0, "0%", 3],
    ]
    assert ("Shared plans", "3") in found.figures and ("Goals", "6") in found.figures
    assert ("Goals complete", "2") in found.figures
    assert found.note is not None and found.note.startswith("1 goal aligned to no standard")
    assert found.chart is not None and found.chart.series == [("Analyst", 3), ("Designer", 3)]


def test_plan_goals_follow_the_school_role_and_period(district, planning) -> None:
    hill = lead_plans.plan_goals(context(district, school=district.hill,
                                         scope=hill_scope(district)))  # fmt: skip
    assert hill.rows == [["Analyst", ISTE, 1, 1, "100%", 1], ["Designer", ISTE, 1, 0, "0%", 1]]
    teachers = lead_plans.plan_goals(context(district, role="teacher"))  # fay is on no roster
    assert teachers.rows == [["Analyst", ISTE, 3, 2, "67%", 2], ["Designer", ISTE, 2, 0, "0%", 2]]
    later = lead_plans.plan_goals(context(district, year=district.year + 1))
    assert later.rows == [] and ("Shared plans", "0") in later.figures


def test_coaching_delivered_against_plan_by_scope(district, planning) -> None:
    everything = lead_plans.coaching_delivery(context(district))
    assert everything.rows == [
        ["Hill Elementary: Instructional coaching", "Cora Coach", "Instructional coaching",
         4, 2, 2, 1, "50%"],
        ["Vale team: Leadership coaching", "Carl Coach", "Leadership coaching", 2, 0, 0, 0, "0%"],
    ]  # fmt: skip
    assert everything.chart is not None
    assert [v for _, v in everything.chart.series] == [50.0, 0.0]
    assert ("Sessions agreed", "8") in everything.figures
    assert ("Delivered", "3") in everything.figures
    hill = lead_plans.coaching_delivery(context(district, school=district.hill,
                                                scope=hill_scope(district)))  # fmt: skip
    assert [row[0] for row in hill.rows] == ["Hill Elementary: Instructional coaching"]
    vale = lead_plans.coaching_delivery(context(district, school=district.vale))
    assert vale.rows == []


def test_the_panels_show_no_plan_text_names_or_notes(district, planning) -> None:
    ctx = context(district)
    for data in lead_dashboard.panels(ctx, ["plan_goals", "coaching"]):
        text = repr((data.rows, data.figures, data.note, data.chart, data.description))
        for secret in (*PLAN_SECRETS, "SHARED-INSIGHT", "Ann Lee", "Di Park", "Fay Moss"):
            assert secret not in text, (data.key, secret)


def test_a_leader_reads_shared_plans_of_their_scope_only(district, planning) -> None:
    people = leadership.people_of(district.issuer)
    hill = hill_scope(district)
    assert [p.public_id for p, _, _ in lead_plans.shared_in_scope(district.issuer, hill, people)] \
        == [planning.ann_plan.public_id]  # fmt: skip
    assert len(lead_plans.shared_in_scope(district.issuer, WHOLE, people)) == 3
    found = lead_plans.get_for_leader(district.issuer, hill, people, planning.ann_plan.public_id)
    assert found.id == planning.ann_plan.id
    with pytest.raises(NotFound):  # Vale's educator
        lead_plans.get_for_leader(district.issuer, hill, people, planning.di_plan.public_id)
    with pytest.raises(NotFound):  # not shared
        lead_plans.get_for_leader(district.issuer, WHOLE, people, planning.bo_plan.public_id)
    nobody = LeaderScope(whole_organisation=False, school_ids=frozenset())
    with pytest.raises(NotFound):
        lead_plans.get_for_leader(district.issuer, nobody, people, planning.ann_plan.public_id)


def test_leader_and_coach_comments_carry_their_role(district, planning, make_staff) -> None:
    env = service_env()
    people = leadership.people_of(district.issuer)
    head = make_staff("head@hill.example.org", name="Hana Head")
    schools.appoint(district.issuer, head, district.hill, actor=Actor(district.owner), env=env)
    scope = schools.scope_of(head, district.issuer)
    comment = lead_plans.comment_as_leader(district.issuer, scope, people,
                                           planning.ann_plan.public_id, head,
                                           {"body": "Well argued."}, env)  # fmt: skip
    assert (comment.author_id, comment.author_role) == (head.id, "leader")
    coached = lead_plans.comment_as_coach(planning.hill_coaching, planning.coach,
                                          planning.ann_plan.public_id, {"body": "Onwards."}, env)  # fmt: skip
    assert (coached.author_id, coached.author_role) == (planning.coach.id, "coach")
    assert [p.id for p, _ in lead_plans.coached_plans(planning.hill_coaching)] \
        == [planning.ann_plan.id]  # fmt: skip
    with pytest.raises(Forbidden):  # not this plan's coach
        lead_plans.comment_as_coach(planning.hill_coaching, planning.other_coach,
                                    planning.ann_plan.public_id, {"body": "x"}, env)  # fmt: skip
    with pytest.raises(NotFound):  # di is not on Hill's coaching plan
        lead_plans.get_for_coach(planning.hill_coaching, planning.coach,
                                 planning.di_plan.public_id)  # fmt: skip
    with pytest.raises(NotFound):  # on the team plan, but bo's plan is not shared
        lead_plans.get_for_coach(planning.team_coaching, planning.other_coach,
                                 planning.bo_plan.public_id)  # fmt: skip
    assert len(planning.ann_plan.comments) == 2
    assert all(isinstance(c, PlanComment) for c in planning.ann_plan.comments)
