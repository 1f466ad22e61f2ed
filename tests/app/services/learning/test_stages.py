"""Staged assessment: working days, the plan, a submission moving through the completeness
check, the assessment (with a "not yet"), a resubmission and the approval, the reminders, and
achievements without a plan keeping the single review."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AssessmentStage,
    Educator,
    EmailMessage,
    IssuedCredential,
    Issuer,
    StaffAccount,
)
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Forbidden, ServiceError
from app.services.learning import reviews, stage_decisions, stages
from app.services.learning.stages import PlanInput, StageDecision, add_working_days
from app.services.org import staff
from app.wiring import service_env
from tests.app.portfolio_helpers import ACTOR, add_item, make_educator, portfolio_badge

FRIDAY = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)


def at(moment: datetime) -> ServiceEnv:
    return replace(service_env(), now=moment, clock=lambda: moment)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (FRIDAY, 5, datetime(2026, 12, 11, 9, 30, tzinfo=UTC)),  # Friday to next Friday
        (FRIDAY, 1, datetime(2026, 12, 7, 9, 30, tzinfo=UTC)),  # over the weekend to Monday
        (datetime(2026, 12, 5, 12, 0, tzinfo=UTC), 1, datetime(2026, 12, 7, 12, 0, tzinfo=UTC)),
        (datetime(2026, 12, 7, 8, 0, tzinfo=UTC), 4, datetime(2026, 12, 11, 8, 0, tzinfo=UTC)),
        (FRIDAY, 0, FRIDAY),
    ],
)
def test_working_days_skip_saturday_and_sunday(
    start: datetime, days: int, expected: datetime
) -> None:
    assert add_working_days(start, days) == expected


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer()


@pytest.fixture
def reviewer(issuer: Issuer, make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    account = make_staff("assessor@district7.example.org", name="Asa Assessor")
    staff.set_role(issuer, account, "awarder", actor=ACTOR, env=service_env())
    db.session.commit()
    return account


@pytest.fixture
def badge(issuer: Issuer, make_achievement: Callable[..., Any]) -> Any:
    found = portfolio_badge(issuer, make_achievement)
    stages.set_plan(found, PlanInput(enabled=True, approval=True), actor=ACTOR, env=service_env())
    return found


def submit(badge: Any, moment: datetime = FRIDAY) -> Any:
    educator = make_educator()
    item = add_item(educator, publish=True)
    return reviews.submit(educator, badge, [item.public_id], "My study.", at(moment)), item


def rate(submission: Any, reviewer: StaffAccount, reflection: str, moment: datetime) -> Any:
    return stage_decisions.decide(
        submission,
        reviewer,
        StageDecision(
            stage="assessment",
            decision="rate",
            ratings={"evidence-of-impact": "demonstrated", "reflection": reflection},
            criterion_feedback={
                "evidence-of-impact": "Clear effect on exit tickets.",
                "reflection": "" if reflection == "demonstrated" else "Say what you would change.",
            },
        ),
        at(moment),
    )


def test_a_submission_moves_through_every_stage_with_a_not_yet_and_a_resubmission(
    badge: Any, reviewer: StaffAccount
) -> None:
    submission, item = submit(badge)
    first = stages.current(submission)
    assert first is not None and first.stage == "completeness" and first.attempt == 1
    assert first.due_at == datetime(2026, 12, 11, 9, 30, tzinfo=UTC)
    # The single review is refused while the submission is in a stage.
    with pytest.raises(Conflict):
        reviews.decide(submission, reviewer, "approve", "", {}, at(FRIDAY))

    monday = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    stage_decisions.decide(
        submission, reviewer, StageDecision("completeness", "complete"), at(monday)
    )
    assessment = stages.current(submission)
    assert assessment is not None and assessment.stage == "assessment"
    assert assessment.due_at == datetime(2026, 12, 14, 10, 0, tzinfo=UTC)

    # A "not yet" needs feedback on that criterion; nothing changes when it is missing.
    with pytest.raises(ServiceError) as refused:
        stage_decisions.decide(
            submission,
            reviewer,
            StageDecision(
                "assessment",
                "rate",
                ratings={"evidence-of-impact": "demonstrated", "reflection": "not_yet"},
            ),
            at(monday),
        )
    assert refused.value.field == "feedback-reflection"
    db.session.rollback()
    assert stages.current(submission) is not None

    rate(submission, reviewer, "not_yet", monday)
    assert submission.state == "changes_requested"
    assert stages.current(submission) is None
    told = db.session.scalars(select(EmailMessage).where(EmailMessage.kind == "review")).all()
    assert len(told) == 1 and "Say what you would change." in told[0].body_text

    # The educator sends it again: a second round starts at the completeness check.
    educator = submission.educator_id
    again = reviews.resubmit(
        submission,
        db.session.get(Educator, educator),
        [item.public_id],
        "Revised.",
        at(monday),
    )
    second = stages.current(again)
    assert second is not None and second.stage == "completeness" and second.attempt == 2
    stage_decisions.decide(again, reviewer, StageDecision("completeness", "complete"), at(monday))
    rate(again, reviewer, "demonstrated", monday)
    approval = stages.current(again)
    assert approval is not None and approval.stage == "approval"
    assert db.session.scalar(select(IssuedCredential)) is None

    stage_decisions.decide(
        again, reviewer, StageDecision("approval", "approve", "Well done."), at(monday)
    )
    assert again.state == "approved" and again.credential_id is not None
    history = [(s.attempt, s.stage, s.state) for s in stages.stages_of(again)]
    assert history == [
        (1, "completeness", "passed"),
        (1, "assessment", "not_yet"),
        (2, "completeness", "passed"),
        (2, "assessment", "passed"),
        (2, "approval", "passed"),
    ]
    assert stages.stages_of(again)[1].ratings["reflection"] == {
        "rating": "not_yet",
        "feedback": "Say what you would change.",
    }


def test_a_stage_is_decided_once_and_only_the_current_one(
    badge: Any, reviewer: StaffAccount
) -> None:
    submission, _ = submit(badge)
    with pytest.raises(Conflict):
        rate(submission, reviewer, "demonstrated", FRIDAY)  # still in the completeness check
    db.session.rollback()
    with pytest.raises(ServiceError) as refused:
        stage_decisions.decide(
            submission, reviewer, StageDecision("completeness", "return"), at(FRIDAY)
        )
    assert refused.value.field == "feedback"
    db.session.rollback()
    stage_decisions.decide(
        submission, reviewer, StageDecision("completeness", "return", "Add the plan."), at(FRIDAY)
    )
    assert submission.state == "changes_requested"
    with pytest.raises(Conflict):
        stage_decisions.decide(
            submission, reviewer, StageDecision("completeness", "complete"), at(FRIDAY)
        )


def test_reminders_go_once_to_the_reviewers_before_the_due_time(
    badge: Any, reviewer: StaffAccount
) -> None:
    submission, _ = submit(badge)
    stage = stages.current(submission)
    assert stage is not None
    # Due the next Friday at 09:30; reminded one working day before, on Thursday.
    assert stages.queue_reminders(at(datetime(2026, 12, 10, 9, 0, tzinfo=UTC))) == 0
    assert stages.queue_reminders(at(datetime(2026, 12, 10, 9, 30, tzinfo=UTC))) == 1
    assert stages.queue_reminders(at(datetime(2026, 12, 10, 10, 0, tzinfo=UTC))) == 0
    sent = db.session.scalars(
        select(EmailMessage).where(EmailMessage.kind == "stage_reminder")
    ).all()
    recipients = sorted(m.to_address for m in sent)
    assert "assessor@district7.example.org" in recipients
    assert all("Due soon: Completeness check" in m.subject for m in sent)
    assert "Friday 11 December 2026" in sent[0].body_text


def test_stages_cannot_be_turned_off_while_a_submission_is_in_one(
    badge: Any, reviewer: StaffAccount
) -> None:
    submit(badge)
    with pytest.raises(Conflict):
        stages.set_plan(badge, PlanInput(enabled=False), actor=ACTOR, env=service_env())
    db.session.rollback()
    assert stages.plan_of(badge) is not None
    with pytest.raises(ServiceError):
        stages.set_plan(
            badge, PlanInput(enabled=True, due_working_days=0), actor=ACTOR, env=service_env()
        )


def test_achievements_without_a_plan_keep_the_single_review(
    issuer: Issuer, make_achievement: Callable[..., Any], reviewer: StaffAccount
) -> None:
    plain = portfolio_badge(issuer, make_achievement, "Plain badge")
    submission, _ = submit(plain)
    assert stages.current(submission) is None
    reviews.decide(submission, reviewer, "request_changes", "More, please.", {}, service_env())
    assert submission.state == "changes_requested"
    assert db.session.scalars(select(AssessmentStage)).all() == []


@pytest.fixture
def coach(issuer: Issuer, make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    account = make_staff("coach@district7.example.org", name="Cora Coach")
    staff.set_role(issuer, account, "awarder", actor=ACTOR, env=service_env())
    db.session.commit()
    return account


def not_yet_round(submission: Any, reviewer: StaffAccount, moment: datetime) -> None:
    stage_decisions.decide(
        submission, reviewer, StageDecision("completeness", "complete"), at(moment)
    )
    rate(submission, reviewer, "not_yet", moment)


def test_after_the_last_not_yet_the_submission_locks_until_the_coach_releases_it(
    badge: Any, reviewer: StaffAccount, coach: StaffAccount
) -> None:
    stages.set_plan(badge, PlanInput(enabled=True, approval=True, max_attempts=3,
                                     coach_id=coach.id), actor=ACTOR, env=service_env())  # fmt: skip
    submission, item = submit(badge)
    educator = db.session.get(Educator, submission.educator_id)
    plan = stages.plan_of(badge)
    for attempt in (1, 2, 3):
        not_yet_round(submission, reviewer, FRIDAY)
        assert stages.attempts_left(submission, plan) == 3 - attempt
        if attempt < 3:
            assert stages.referral(submission) is None
            reviews.resubmit(submission, educator, [item.public_id], "Again.", at(FRIDAY))
    referral = stages.referral(submission)
    assert referral is not None and referral.coach_id == coach.id and referral.attempt == 3
    to_coach = db.session.scalars(
        select(EmailMessage).where(EmailMessage.kind == "coach_referral")
    ).one()
    assert to_coach.to_address == "coach@district7.example.org"
    last = db.session.scalars(
        select(EmailMessage).where(EmailMessage.kind == "review").order_by(EmailMessage.id.desc())
    ).first()
    assert last is not None and "This was your last attempt for now: Cora Coach" in last.body_text

    # Locked: the educator cannot send it again; a reviewer who is not the coach cannot release.
    with pytest.raises(Conflict):
        reviews.resubmit(submission, educator, [item.public_id], "Again.", at(FRIDAY))
    db.session.rollback()
    with pytest.raises(Forbidden):
        stages.release(submission, reviewer, "awarder", "", at(FRIDAY))
    db.session.rollback()
    stages.release(submission, coach, "awarder", "We met on Tuesday; try again.", at(FRIDAY))
    assert stages.referral(submission) is None
    told = db.session.scalars(
        select(EmailMessage).where(EmailMessage.kind == "coach_release")
    ).one()
    assert "We met on Tuesday" in told.body_text
    with pytest.raises(Conflict):
        stages.release(submission, coach, "awarder", "", at(FRIDAY))  # nothing to release
    db.session.rollback()

    # A fresh set of attempts: round 4 is the first after the release; a "not yet" there
    # does not refer it again.
    reviews.resubmit(submission, educator, [item.public_id], "After coaching.", at(FRIDAY))
    assert stages.attempts_left(submission, plan) == 2
    not_yet_round(submission, reviewer, FRIDAY)
    assert stages.referral(submission) is None
    assert [r.attempt for r in stages.referrals_of(submission)] == [3]


def test_a_limit_needs_a_coach_who_reviews_for_the_issuer(
    badge: Any, coach: StaffAccount, make_staff: Callable[..., StaffAccount]
) -> None:
    stranger = make_staff("stranger@elsewhere.example.org", name="Stan Stranger")
    for data, field in (
        (PlanInput(enabled=True, max_attempts=3), "coach_id"),
        (PlanInput(enabled=True, max_attempts=3, coach_id=stranger.id), "coach_id"),
        (PlanInput(enabled=True, max_attempts=0, coach_id=coach.id), "max_attempts"),
    ):
        with pytest.raises(ServiceError) as refused:
            stages.set_plan(badge, data, actor=ACTOR, env=service_env())
        assert refused.value.field == field
        db.session.rollback()
    saved = stages.set_plan(
        badge, PlanInput(enabled=True, max_attempts=3, coach_id=coach.id), actor=ACTOR,
        env=service_env(),
    )  # fmt: skip
    assert saved is not None and saved.max_attempts == 3 and saved.coach_id == coach.id
