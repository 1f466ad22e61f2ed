"""Assessor pools: staff and invited peer assessors (who must hold the achievement), stages
assigned round-robin or by load, never to the submitter nor to their learning partner (either
way round), and reassigned to someone else when the due time passes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.extensions import db
from app.models import Educator, Enrolment, Issuer, StaffAccount, Submission
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict
from app.services.learning import assessors, authoring, reviews, stages
from app.services.learning.authoring import ModuleInput
from app.services.learning.stages import PlanInput
from app.services.org import staff
from app.wiring import service_env
from tests.app.portfolio_helpers import ACTOR, add_item, make_educator, portfolio_badge

MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def at(moment: datetime) -> ServiceEnv:
    return replace(service_env(), now=moment, clock=lambda: moment)


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer()


@pytest.fixture
def badge(issuer: Issuer, make_achievement: Callable[..., Any]) -> Any:
    found = portfolio_badge(issuer, make_achievement)
    stages.set_plan(
        found,
        PlanInput(enabled=True, completeness=False, approval=True),
        actor=ACTOR,
        env=service_env(),
    )
    return found


def reviewer(issuer: Issuer, make_staff: Callable[..., StaffAccount], email: str) -> StaffAccount:
    account = make_staff(email, name=email.split("@")[0].title())
    staff.set_role(issuer, account, "awarder", actor=ACTOR, env=service_env())
    db.session.commit()
    return account


def peer(issuer: Issuer, badge: Any, make_award: Callable[..., Any], email: str) -> Any:
    """An educator who holds the badge, invited and accepted as a peer assessor."""
    educator = make_educator(email, name=email.split("@")[0].title())
    make_award(issuer, badge, email)
    member = assessors.invite_peer(badge, educator, actor=ACTOR, env=service_env())
    assessors.accept(member, educator, service_env())
    return educator, member


def partner(issuer: Issuer, badge: Any, inviter: Any, invited_email: str) -> None:
    """``inviter`` asked ``invited_email`` to be their learning partner in some module."""
    module = authoring.create_module(issuer, ModuleInput(title=f"Module {inviter.id}", summary="S",
                                     achievement_public_id=badge.public_id), actor=ACTOR,
                                     env=service_env())  # fmt: skip
    db.session.add(Enrolment(module_id=module.id, educator_id=inviter.id, state="in_progress",
                             enrolled_at=MONDAY, enrolled_by="self", partner_name="P",
                             partner_email=invited_email, partner_invited_at=MONDAY))  # fmt: skip
    db.session.commit()


def submit(badge: Any, email: str, moment: datetime = MONDAY) -> Any:
    educator = make_educator(email, name=email.split("@")[0].title())
    item = add_item(educator)
    return reviews.submit(educator, badge, [item.public_id], "", at(moment))


def assignee(submission: Any) -> Any:
    stage = stages.current(submission)
    assert stage is not None
    return assessors.assignee_of(stage)


def test_peers_must_hold_the_achievement(badge: Any) -> None:
    stranger = make_educator("no.badge@school.example.org", name="No Badge")
    with pytest.raises(Conflict):
        assessors.invite_peer(badge, stranger, actor=ACTOR, env=service_env())


def test_a_peer_assessor_never_assesses_their_learning_partner(
    issuer: Issuer, badge: Any, make_staff: Any, make_award: Any
) -> None:
    sam = reviewer(issuer, make_staff, "sam@district7.example.org")
    assessors.add_staff(badge, sam, actor=ACTOR, env=service_env())
    _, pat_member = peer(issuer, badge, make_award, "pat.peer@school.example.org")
    # Ann asked Pat to be her learning partner; Pat asked Bea. Neither goes to Pat, ever.
    ann = make_educator("ann@school.example.org", name="Ann")
    partner(issuer, badge, ann, "PAT.PEER@school.example.org")
    bea = make_educator("bea@school.example.org", name="Bea")
    pat = pat_member.educator_id
    partner(issuer, badge, db.session.get(Educator, pat), "bea@school.example.org")
    for who in (ann, bea):
        item = add_item(who)
        submission = reviews.submit(who, badge, [item.public_id], "", at(MONDAY))
        assert not assessors.may_assess(pat_member, submission)
        assert assignee(submission).staff_id == sam.id
    # Someone else's goes to Pat in turn (Sam had the last two).
    other = submit(badge, "cal@school.example.org")
    assert assignee(other).id == pat_member.id
    # Pat never assesses their own submission either.
    assert not assessors.may_assess(pat_member, Submission(educator_id=pat))


def test_round_robin_and_by_load(issuer: Issuer, badge: Any, make_staff: Any) -> None:
    members = [
        assessors.add_staff(badge, reviewer(issuer, make_staff, f"r{n}@district7.example.org"),
                            actor=ACTOR, env=service_env())
        for n in (1, 2, 3)
    ]  # fmt: skip
    got = [assignee(submit(badge, f"e{n}@school.example.org")).id for n in range(5)]
    ids = [m.id for m in members]
    assert got == [ids[0], ids[1], ids[2], ids[0], ids[1]]
    # By load: the member with the fewest open stages (r3 has one, the others two).
    plan = stages.plan_of(badge)
    assert plan is not None
    assessors.set_assignment(plan, "load")
    db.session.commit()
    assert assignee(submit(badge, "e9@school.example.org")).id == ids[2]


def test_a_stage_past_its_due_time_goes_to_someone_else(
    issuer: Issuer, badge: Any, make_staff: Any
) -> None:
    first, second = (
        assessors.add_staff(badge, reviewer(issuer, make_staff, f"{n}@district7.example.org"),
                            actor=ACTOR, env=service_env())
        for n in ("first", "second")
    )  # fmt: skip
    submission = submit(badge, "late@school.example.org")
    stage = stages.current(submission)
    assert stage is not None and stage.assignee_id == first.id
    due = stage.due_at
    assert stages.reassign_overdue(at(due - timedelta(minutes=1))) == 0
    assert stages.reassign_overdue(at(due + timedelta(minutes=1))) == 1
    db.session.refresh(stage)
    assert stage.assignee_id == second.id and stage.due_at > due and stage.reminded_at is None
    # With nobody else left in the pool, it stays with the second.
    assessors.remove(first, actor=ACTOR, env=service_env())
    assert stages.reassign_overdue(at(stage.due_at + timedelta(minutes=1))) == 0
