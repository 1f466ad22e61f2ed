"""Staged assessment in the workspace and on the educator's submission page: editors turn
stages on; a submission goes through the completeness check, an assessment with a "not yet"
(feedback per criterion, emailed), a resubmission, and the approval that issues the credential;
both sides see every stage's due time and feedback; viewers cannot decide."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AssessmentStage, EmailMessage, IssuedCredential, Issuer, StaffAccount
from app.services.learning import reviews, stages
from app.wiring import service_env
from tests.app.conftest import BASE_URL, Web
from tests.app.portfolio_helpers import add_item, make_educator, portfolio_badge, sign_in_educator
from tests.app.workspace.test_achievements import add_member, sign_in
from tests.app.workspace.test_reviews import page, review_path

RATED = {
    "rating-evidence-of-impact": "demonstrated",
    "feedback-evidence-of-impact": "Clear effect on exit tickets.",
}


@pytest.fixture
def owner(make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    return make_staff()


@pytest.fixture
def issuer(owner: StaffAccount, make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer(owner=owner)


@pytest.fixture
def badge(issuer: Issuer, make_achievement: Callable[..., Any]) -> Any:
    return portfolio_badge(issuer, make_achievement)


def plan_path(issuer: Issuer, badge: Any) -> str:
    return f"/workspace/{issuer.slug}/achievements/{badge.public_id}/stages"


def test_editors_turn_stages_on_and_bad_days_are_refused(
    client: Any, web: Web, owner: StaffAccount, issuer: Issuer, badge: Any
) -> None:
    sign_in(client, owner)
    detail = page(web.get(f"/workspace/{issuer.slug}/achievements/{badge.public_id}"))
    assert plan_path(issuer, badge) in detail.hrefs()
    form = page(web.get(plan_path(issuer, badge)))
    assert form.unlabelled_inputs() == []
    refused = web.submit(plan_path(issuer, badge), data={"enabled": "1", "due_working_days": "0"})
    assert "Give between 1 and 60 working days." in page(refused, 400).text
    assert stages.plan_of(badge) is None
    refused = web.submit(
        plan_path(issuer, badge),
        data={"enabled": "1", "due_working_days": "3", "remind_working_days": "3"},
    )
    assert "fewer working days before the due time" in page(refused, 400).text
    saved = web.submit(
        plan_path(issuer, badge),
        data={"enabled": "1", "completeness": "1", "approval": "1", "due_working_days": "5",
              "remind_working_days": "1"},
    )  # fmt: skip
    assert saved.status_code == 303
    plan = stages.plan_of(badge)
    assert plan is not None and plan.stages() == ("completeness", "assessment", "approval")


def submit_for(badge: Any) -> tuple[Any, Any, Any]:
    ann = make_educator()
    item = add_item(ann, "Action research report", publish=True)
    return ann, item, reviews.submit(ann, badge, [item.public_id], "My study.", service_env())


def test_a_submission_through_every_stage_in_the_browser_forms(
    client: Any, web: Web, owner: StaffAccount, issuer: Issuer, badge: Any
) -> None:
    stages.set_plan(badge, stages.PlanInput(enabled=True, approval=True), actor=stages.Actor(owner),
                    env=service_env())  # fmt: skip
    ann, item, submission = submit_for(badge)
    sign_in(client, owner)
    queue = page(web.get(f"/workspace/{issuer.slug}/reviews"))
    assert "Completeness check:" in queue.text and "due" in queue.text
    path = review_path(issuer, submission)
    action = f"{path}/stage"
    shown = page(web.get(path))
    assert "Complete: send to assessment" in shown.text
    assert "Approve and issue the credential" not in shown.text  # not the single review
    assert shown.unlabelled_inputs() == []
    # The single review's form is refused too (the submission is in a stage).
    single = web.submit(path, data={"decision": "decline", "feedback": "No."})
    assert single.status_code == 409
    # A stale form (for another stage) changes nothing.
    stale = web.submit(path, action, data={"stage": "assessment", "decision": "rate", **RATED})
    assert stale.status_code == 409
    done = web.submit(path, action, data={"stage": "completeness", "decision": "complete"})
    assert done.status_code == 303 and done.headers["Location"].endswith(path)

    shown = page(web.get(path))
    assert "Record the ratings" in shown.text
    radios = {i["name"] for i in shown.inputs if i.get("type") == "radio"}
    assert radios == {"rating-evidence-of-impact", "rating-reflection"}
    missing = web.submit(path, action, data={"stage": "assessment", "decision": "rate",
                                             "rating-reflection": "not_yet", **RATED})  # fmt: skip
    refused = page(missing, 400)
    assert "Say what is still missing for “Reflection”" in refused.text
    assert any(i.get("value") == "not_yet" and "checked" in i for i in refused.inputs)
    not_yet = web.submit(path, action, data={"stage": "assessment", "decision": "rate",
                                             "rating-reflection": "not_yet",
                                             "feedback-reflection": "Say what you would change.",
                                             **RATED})  # fmt: skip
    assert not_yet.status_code == 303
    db.session.refresh(submission)
    assert submission.state == "changes_requested"
    mail = db.session.scalars(select(EmailMessage).where(EmailMessage.kind == "review")).one()
    assert "Say what you would change." in mail.body_text

    # The educator sees every stage, its due time and the feedback per criterion.
    sign_in_educator(client, ann)
    mine = page(web.get(f"/me/submissions/{submission.public_id}"))
    assert "Assessment stages" in mine.text and "Not yet" in mine.text
    assert "Say what you would change." in mine.text and "Demonstrated" in mine.text
    assert "Asa" not in mine.text  # assessors' names are not shown to the educator
    again = web.submit(f"/me/submissions/{submission.public_id}",
                       f"/me/submissions/{submission.public_id}/resubmit",
                       data={"items": [item.public_id], "publish": [item.public_id],
                             "statement": "Revised."})  # fmt: skip
    assert again.status_code == 303, again.get_data(as_text=True)[:500]
    mine = page(web.get(f"/me/submissions/{submission.public_id}"))
    assert "It is in the completeness check" in mine.text and "Round 2" in mine.text

    sign_in(client, owner)
    web.submit(path, action, data={"stage": "completeness", "decision": "complete"})
    web.submit(path, action, data={"stage": "assessment", "decision": "rate",
                                   "rating-reflection": "demonstrated", **RATED})  # fmt: skip
    shown = page(web.get(path))
    assert "Approve and issue the credential" in shown.text and "Round 2" in shown.text
    approved = web.submit(path, action, data={"stage": "approval", "decision": "approve"})
    assert approved.status_code == 303
    db.session.refresh(submission)
    assert submission.state == "approved"
    assert db.session.get(IssuedCredential, submission.credential_id) is not None
    states = db.session.scalars(select(AssessmentStage.state).order_by(AssessmentStage.id)).all()
    assert states == ["passed", "not_yet", "passed", "passed", "passed"]


def test_viewers_cannot_decide_a_stage_nor_change_the_plan(
    client: Any, web: Web, issuer: Issuer, badge: Any, owner: StaffAccount, make_staff: Any
) -> None:
    stages.set_plan(badge, stages.PlanInput(enabled=True), actor=stages.Actor(owner),
                    env=service_env())  # fmt: skip
    _, _, submission = submit_for(badge)
    viewer = make_staff("viewer@district7.example.org", name="Vera Viewer")
    add_member(viewer, issuer, "viewer")
    sign_in(client, viewer)
    token = web.csrf_token(f"/workspace/{issuer.slug}/")
    response = client.post(f"{review_path(issuer, submission)}/stage", base_url=BASE_URL,
                           data={"csrf_token": token, "stage": "completeness", "decision": "complete"})  # fmt: skip
    assert response.status_code == 403
    assert web.get(plan_path(issuer, badge)).status_code == 403
    response = client.post(plan_path(issuer, badge), base_url=BASE_URL,
                           data={"csrf_token": token, "enabled": ""})  # fmt: skip
    assert response.status_code == 403
    assert stages.plan_of(badge) is not None
    current = stages.current(submission)
    assert current is not None and current.stage == "completeness"


def test_the_coach_releases_a_locked_submission_and_the_educator_sees_the_lock(
    client: Any, web: Web, owner: StaffAccount, issuer: Issuer, badge: Any, make_staff: Any
) -> None:
    coach = make_staff("coach@district7.example.org", name="Cora Coach")
    add_member(coach, issuer, "awarder")
    awarder = make_staff("asa@district7.example.org", name="Asa Assessor")
    add_member(awarder, issuer, "awarder")
    sign_in(client, owner)
    saved = web.submit(plan_path(issuer, badge), data={"enabled": "1", "due_working_days": "5",
                                                       "remind_working_days": "1", "max_attempts": "1",
                                                       "coach_id": str(coach.id)})  # fmt: skip
    assert saved.status_code == 303
    ann, _, submission = submit_for(badge)
    path = review_path(issuer, submission)
    web.submit(path, f"{path}/stage", data={"stage": "assessment", "decision": "rate",
                                            "rating-reflection": "not_yet",
                                            "feedback-reflection": "Say more.", **RATED})  # fmt: skip
    assert stages.referral(submission) is not None
    queue = page(web.get(f"/workspace/{issuer.slug}/reviews?show=changes"))
    assert "With the coach" in queue.text

    sign_in_educator(client, ann)
    mine = page(web.get(f"/me/submissions/{submission.public_id}"))
    assert "It is with your coach, Cora Coach" in mine.text
    assert "Send for review again" not in mine.text

    # Another awarder sees the lock but no release form; their POST is refused.
    sign_in(client, awarder)
    shown = page(web.get(path))
    assert "Referred to Cora Coach after round 1" in shown.text
    assert "Release: they can send it again" not in shown.text
    refused = web.submit(path, f"{path}/release", data={"note": "Go."})
    assert refused.status_code == 403
    assert stages.referral(submission) is not None

    sign_in(client, coach)
    shown = page(web.get(path))
    assert shown.unlabelled_inputs() == []
    released = web.submit(path, f"{path}/release", data={"note": "We talked it through."})
    assert released.status_code == 303
    assert stages.referral(submission) is None
    assert "Released" in page(web.get(path)).text
    sign_in_educator(client, ann)
    mine = page(web.get(f"/me/submissions/{submission.public_id}"))
    assert "Send for review again" in mine.text and "1 attempt left" in mine.text
