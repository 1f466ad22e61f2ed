"""Assessor pools in the workspace: editors add staff, invite a peer (who is emailed and
accepts at /me/assessing), choose the assignment and the double-scored share, build the
calibration set; an assessment scored by two stays blind on the review page until a lead sees
both ratings of a disagreement; the leads' figures and their CSV; bad input is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AssessorPoolMember, EmailMessage, Issuer, StaffAccount
from app.services.learning import assessors, reviews, stages
from app.services.learning.stages import PlanInput
from app.wiring import service_env
from tests.app.conftest import BASE_URL, Web
from tests.app.portfolio_helpers import ACTOR, add_item, make_educator, portfolio_badge
from tests.app.workspace.test_achievements import add_member, sign_in
from tests.app.workspace.test_reviews import page, review_path


@pytest.fixture
def owner(make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    return make_staff()


@pytest.fixture
def issuer(owner: StaffAccount, make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer(owner=owner)


@pytest.fixture
def badge(issuer: Issuer, make_achievement: Callable[..., Any]) -> Any:
    found = portfolio_badge(issuer, make_achievement)
    stages.set_plan(found, PlanInput(enabled=True, completeness=False, approval=True),
                    actor=ACTOR, env=service_env())  # fmt: skip
    return found


def pool_path(issuer: Issuer, badge: Any, tail: str = "") -> str:
    return f"/workspace/{issuer.slug}/achievements/{badge.public_id}/assessors{tail}"


def test_editors_manage_the_pool_and_bad_input_is_refused(
    client: Any, web: Web, owner: StaffAccount, issuer: Issuer, badge: Any, make_staff: Any,
    make_award: Any,
) -> None:  # fmt: skip
    sign_in(client, owner)
    detail = page(web.get(f"/workspace/{issuer.slug}/achievements/{badge.public_id}"))
    assert pool_path(issuer, badge) in detail.hrefs()
    form = page(web.get(pool_path(issuer, badge)))
    assert form.unlabelled_inputs() == []
    path = pool_path(issuer, badge)
    # Add the owner as a staff assessor; an unknown id is refused with a message.
    assert (
        web.submit(path, pool_path(issuer, badge, "/staff"), data={"staff_id": "x"}).status_code
        == 303
    )
    assert "Choose one from the list." in page(web.get(path)).text
    web.submit(path, pool_path(issuer, badge, "/staff"), data={"staff_id": str(owner.id)})
    assert [m.staff_id for m in assessors.pool(badge)] == [owner.id]
    # Invite: someone who does not hold the badge is refused; a holder is invited and emailed.
    make_educator("nohold@school.example.org", name="No Hold")
    web.submit(
        path, pool_path(issuer, badge, "/invite"), data={"email": "nohold@school.example.org"}
    )
    assert "must hold this achievement" in page(web.get(path)).text
    holder = make_educator("holder@school.example.org", name="Hana Holder")
    make_award(issuer, badge, "holder@school.example.org")
    web.submit(
        path, pool_path(issuer, badge, "/invite"), data={"email": "holder@school.example.org"}
    )
    member = db.session.scalar(
        select(AssessorPoolMember).where(AssessorPoolMember.educator_id == holder.id)
    )
    assert member is not None and member.state == "invited"
    invite = db.session.scalar(select(EmailMessage).where(EmailMessage.kind == "assessor_invite"))
    assert invite is not None and invite.to_address == "holder@school.example.org"
    # Turning the approval off is refused while a peer is in the pool.
    refused = web.submit(f"/workspace/{issuer.slug}/achievements/{badge.public_id}/stages",
                         data={"enabled": "1", "due_working_days": "5", "remind_working_days": "1"})  # fmt: skip
    assert "keep the final approval" in page(refused, 400).text
    # Settings: bad share refused, then saved.
    web.submit(path, pool_path(issuer, badge, "/settings"),
               data={"assignment": "load", "double_share": "140", "training_threshold": "80"})  # fmt: skip
    assert "Give a percentage from 0 to 100." in page(web.get(path)).text
    web.submit(path, pool_path(issuer, badge, "/settings"),
               data={"assignment": "load", "double_share": "50", "training_threshold": "70"})  # fmt: skip
    plan = stages.plan_of(badge)
    assert plan is not None and (plan.assignment, plan.double_share, plan.training_threshold) == (
        "load",
        50,
        70,
    )
    # Lead, then remove; a member of another pool is not found.
    owner_member = assessors.pool(badge)[0]
    web.submit(
        path,
        pool_path(issuer, badge, "/member"),
        data={"member_id": owner_member.id, "action": "lead"},
    )
    db.session.refresh(owner_member)
    assert owner_member.lead
    web.submit(
        path, pool_path(issuer, badge, "/member"), data={"member_id": "99999", "action": "remove"}
    )
    assert "There is no such assessor in this pool." in page(web.get(path)).text
    web.submit(
        path, pool_path(issuer, badge, "/member"), data={"member_id": member.id, "action": "remove"}
    )
    db.session.refresh(member)
    assert member.state == "removed"


def test_a_double_scored_assessment_stays_blind_until_a_lead_sees_the_disagreement(
    client: Any, web: Web, owner: StaffAccount, issuer: Issuer, badge: Any, make_staff: Any
) -> None:
    ada = make_staff("ada@district7.example.org", name="Ada Assessor")
    add_member(ada, issuer, "awarder")
    ben = make_staff("ben@district7.example.org", name="Ben Assessor")
    add_member(ben, issuer, "awarder")
    for account in (ada, ben):
        assessors.add_staff(badge, account, actor=ACTOR, env=service_env())
    plan = stages.plan_of(badge)
    assert plan is not None
    assessors.set_settings(plan, assignment="round_robin", double_share=100,
                           training_threshold=80, actor=ACTOR, env=service_env())  # fmt: skip
    educator = make_educator("sub@school.example.org", name="Sue Submitter")
    submission = reviews.submit(educator, badge, [add_item(educator).public_id], "", service_env())
    path = review_path(issuer, submission)
    action = path + "/stage"
    rating = {"stage": "assessment", "decision": "rate",
              "rating-evidence-of-impact": "demonstrated", "rating-reflection": "not_yet",
              "feedback-reflection": "SECRET-ADA: say what changed."}  # fmt: skip
    sign_in(client, ada)
    assert "Scored by two assessors, blind" in page(web.get(path)).text
    assert web.submit(path, action, data=rating).status_code == 303
    assert "Recorded blind" in page(web.get(path)).text
    sign_in(client, ben)
    seen = page(web.get(path)).text
    assert "SECRET-ADA" not in seen and "1 of 2 ratings are in" in seen
    web.submit(path, action, data={**rating, "rating-reflection": "demonstrated",
                                   "feedback-reflection": ""})  # fmt: skip
    # They disagreed: Ben (not a lead) still sees no rating; the owner (a lead) sees both.
    seen = page(web.get(path)).text
    assert "They disagreed" in seen and "SECRET-ADA" not in seen
    assert web.submit(path, action, data=rating).status_code == 403
    sign_in(client, owner)
    seen = page(web.get(path)).text
    assert "SECRET-ADA" in seen and "Ada Assessor (staff)" in seen
    decided = web.submit(path, action, data={**rating, "rating-reflection": "demonstrated",
                                             "feedback-reflection": ""})  # fmt: skip
    assert decided.status_code == 303
    current = stages.current(submission)
    assert current is not None and current.stage == "approval"
    # The figures: one pair, one of two criteria agreed; the CSV says the same.
    answered = web.get(f"/workspace/{issuer.slug}/achievements/{badge.public_id}/assessment-report")
    assert "percent agreement" in page(answered).text
    assert "<svg" in answered.get_data(as_text=True)
    csv = web.get(
        f"/workspace/{issuer.slug}/achievements/{badge.public_id}/assessment-report.csv?table=assessors"
    )
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "Ada Assessor (staff),2,1,50" in csv.get_data(as_text=True)
    bad = web.get(
        f"/workspace/{issuer.slug}/achievements/{badge.public_id}/assessment-report.csv?table=x"
    )
    assert bad.status_code == 400
    queue = page(web.get(f"/workspace/{issuer.slug}/assessing"))
    assert "Nothing waits for you." in queue.text
    assert BASE_URL
