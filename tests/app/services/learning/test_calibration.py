"""Calibration: two assessors scoring blind (agreement figures from a known set of scores, a
disagreement going to a lead), peers trained on a calibration set before taking work, a peer
who may not assess their learning partner's submission even by calling the service, and the
maintenance round that reassigns stages whose due time passed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from app.extensions import db
from app.models import AssessorPoolMember, Educator, Issuer, StaffAccount
from app.services._core.errors import Conflict, Forbidden, NotFound
from app.services.learning import (
    assessing,
    assessment_reports,
    assessors,
    calibration,
    reviews,
    stage_decisions,
    stages,
)
from app.services.learning.stages import PlanInput, StageDecision
from app.wiring import service_env
from app.worker import assessment_round
from tests.app.portfolio_helpers import ACTOR, add_item, make_educator, portfolio_badge
from tests.app.services.learning.test_assessors import (
    MONDAY,
    at,
    partner,
    peer,
    reviewer,
    submit,
)

CRITERIA = ("evidence-of-impact", "reflection")


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer()


@pytest.fixture
def badge(issuer: Issuer, make_achievement: Callable[..., Any]) -> Any:
    found = portfolio_badge(issuer, make_achievement)
    stages.set_plan(found, PlanInput(enabled=True, completeness=False, approval=True),
                    actor=ACTOR, env=service_env())  # fmt: skip
    return found


def rate(submission: Any, who: StaffAccount | None, ratings: tuple[str, str],
         member: AssessorPoolMember | None = None) -> Any:  # fmt: skip
    """Rate the assessment: ``ratings`` per criterion, "not yet" with feedback."""
    return stage_decisions.decide(
        submission,
        who,
        StageDecision(
            stage="assessment",
            decision="rate",
            ratings=dict(zip(CRITERIA, ratings, strict=True)),
            criterion_feedback={
                c: "Add more" for c, r in zip(CRITERIA, ratings, strict=True) if r == "not_yet"
            },
        ),
        at(MONDAY + timedelta(hours=1)),
        peer=member,
    )


def two_staff(issuer: Issuer, badge: Any, make_staff: Callable[..., StaffAccount]) -> list[Any]:
    found = []
    for name in ("ada", "ben"):
        account = reviewer(issuer, make_staff, f"{name}@district7.example.org")
        found.append((account, assessors.add_staff(badge, account, actor=ACTOR, env=service_env())))
    return found


def double_everything(badge: Any) -> None:
    plan = stages.plan_of(badge)
    assert plan is not None
    assessors.set_settings(plan, assignment="round_robin", double_share=100,
                           training_threshold=80, actor=ACTOR, env=service_env())  # fmt: skip


def test_agreement_figures_from_a_known_set_of_scores(
    issuer: Issuer,
    badge: Any,
    make_staff: Any,
) -> None:
    (ada, ada_m), (ben, ben_m) = two_staff(issuer, badge, make_staff)
    double_everything(badge)
    D, N = "demonstrated", "not_yet"
    # Four double-scored submissions: (Ada's ratings, Ben's ratings) per criterion.
    scores = [((D, D), (D, D)), ((D, N), (D, D)), ((N, N), (N, D)), ((D, D), (D, D))]
    for n, (first, second) in enumerate(scores):
        submission = submit(badge, f"e{n}@school.example.org")
        stage = stages.current(submission)
        assert stage is not None and {stage.assignee_id, stage.second_id} == {ada_m.id, ben_m.id}
        # Blind: the first rating decides nothing and shows nowhere on the stage.
        assert rate(submission, ada, first).state == "open"
        assert stage.ratings == {} and stage.disputed_at is None
        with pytest.raises(Conflict):
            rate(submission, ada, first)  # one rating each
        decided = rate(submission, ben, second)
        if first == second:
            assert decided.state == "passed"  # agreed: on to the approval stage
        else:
            assert decided.state == "open" and decided.disputed_at is not None
    version = reviews.achievement_of(submission)[1]
    criteria, members = calibration.agreement(badge, version)
    # Evidence of impact: all four agree; reflection: two of four (the 2nd and 3rd differ).
    assert [(a.label, a.compared, a.agreed, a.percent) for a in criteria] == [
        ("Evidence of impact", 4, 4, 100),
        ("Reflection", 4, 2, 50),
    ]
    assert [(a.compared, a.agreed, a.percent) for a in members] == [(8, 6, 75), (8, 6, 75)]
    weekly = assessment_reports.report(badge, MONDAY + timedelta(days=1)).agreement
    assert weekly[-1][1:] == (8, 6, 75)
    csv_text = assessment_reports.csv_of("criteria", badge, version, MONDAY)
    assert "Reflection,4,2,50" in csv_text


def test_a_disagreement_goes_to_a_lead_assessor(
    issuer: Issuer,
    badge: Any,
    make_staff: Any,
) -> None:
    (ada, ada_m), (ben, _) = two_staff(issuer, badge, make_staff)
    double_everything(badge)
    submission = submit(badge, "split@school.example.org")
    rate(submission, ada, ("demonstrated", "not_yet"))
    rate(submission, ben, ("demonstrated", "demonstrated"))
    # Ada is an awarder, not a lead: she may not settle it; made lead, she may.
    with pytest.raises(Forbidden):
        rate(submission, ada, ("demonstrated", "demonstrated"))
    assert [r.submission.id for r in assessing.disputed(ada, issuer)] == []
    assessors.set_lead(ada_m, True, actor=ACTOR, env=service_env())
    assert [r.submission.id for r in assessing.disputed(ada, issuer)] == [submission.id]
    assert rate(submission, ada, ("demonstrated", "demonstrated")).state == "passed"


def test_peers_train_on_the_calibration_set_before_taking_work(
    issuer: Issuer,
    badge: Any,
    make_staff: Any,
    make_award: Any,
) -> None:
    (ada, _), _ = two_staff(issuer, badge, make_staff)
    D, N = "demonstrated", "not_yet"
    past = []
    for n, given in enumerate(((D, D), (D, N))):
        submission = submit(badge, f"past{n}@school.example.org")
        stage = stages.current(submission)
        assert stage is not None
        # Single-scored: whichever staff assessor has it decides.
        rate(submission, ada, given)
        past.append(submission)
    for submission in past:
        calibration.add_item(badge, submission.public_id, actor=ACTOR, env=service_env())
    assert len(calibration.items(badge)) == 2
    educator = make_educator("pat.peer@school.example.org", name="Pat")
    make_award(issuer, badge, "pat.peer@school.example.org")
    member = assessors.invite_peer(badge, educator, actor=ACTOR, env=service_env())
    assessors.accept(member, educator, service_env())
    assert member.state == "training"
    version = reviews.achievement_of(past[0])[1]
    first, second = calibration.items(badge)
    # Only a peer in training for the badge opens a calibration submission.
    assert calibration.training_item(educator, first.id)[1] == first
    stranger = make_educator("stranger@school.example.org", name="Stranger")
    with pytest.raises(NotFound):
        calibration.training_item(stranger, first.id)
    # 2 of 4 reference ratings matched: 50 % is below 80 %, so Pat rates the set again.
    assert calibration.answer(member, first, {CRITERIA[0]: N, CRITERIA[1]: N}, version,
                              service_env()) is None  # fmt: skip
    assert calibration.answer(member, second, dict(zip(CRITERIA, (D, N), strict=True)), version,
                              service_env()) == 50  # fmt: skip
    assert member.state == "training" and calibration.next_item(member) == first
    calibration.answer(member, first, dict(zip(CRITERIA, (D, D), strict=True)), version,
                       service_env())  # fmt: skip
    assert calibration.answer(member, second, {CRITERIA[0]: D, CRITERIA[1]: D}, version,
                              service_env()) == 75  # fmt: skip
    assert member.state == "training"
    calibration.answer(member, first, dict(zip(CRITERIA, (D, D), strict=True)), version,
                       service_env())  # fmt: skip
    assert calibration.answer(member, second, dict(zip(CRITERIA, (D, N), strict=True)), version,
                              service_env()) == 100  # fmt: skip
    assert member.state == "active" and member.training_agreement == 100


def test_a_peer_may_not_assess_their_partners_submission_even_through_the_service(
    issuer: Issuer,
    badge: Any,
    make_award: Any,
) -> None:
    pat, pat_m = peer(issuer, badge, make_award, "pat.peer@school.example.org")
    ann = make_educator("ann@school.example.org", name="Ann")
    item = add_item(ann)
    submission = reviews.submit(ann, badge, [item.public_id], "", at(MONDAY))
    # Given to Pat (the only one in the pool)...
    stage = stages.current(submission)
    assert stage is not None and stage.assignee_id == pat_m.id
    assert [r.submission.id for r in assessing.peer_queue(pat)] == [submission.id]
    # ...until Ann asks Pat to be her learning partner: it leaves Pat's queue, and neither
    # the page nor the service lets Pat rate it.
    partner(issuer, badge, ann, "pat.peer@school.example.org")
    assert assessing.peer_queue(pat) == []
    with pytest.raises(NotFound):
        assessing.peer_submission(pat, submission.public_id)
    with pytest.raises(NotFound):
        rate(submission, None, ("demonstrated", "demonstrated"), member=pat_m)
    db.session.refresh(stage)
    assert stage.state == "open"


def test_a_peer_rates_from_their_queue_and_a_staff_member_signs_off(
    issuer: Issuer,
    badge: Any,
    make_award: Any,
    make_staff: Any,
) -> None:
    pat, pat_m = peer(issuer, badge, make_award, "pat.peer@school.example.org")
    submission = submit(badge, "cal@school.example.org")
    assert rate(submission, None, ("demonstrated", "demonstrated"), member=pat_m).state == "passed"
    stage = stages.current(submission)
    assert stage is not None and stage.stage == "approval" and stage.assignee_id is None
    decided = stages.stages_of(submission)[0]
    assert decided.decided_by is None and decided.decided_by_member == pat_m.id
    # A peer never holds the approval: it is not in their queue, and the service refuses.
    assert assessing.peer_queue(pat) == []
    with pytest.raises(NotFound):
        stage_decisions.decide(submission, None, StageDecision(stage="approval",
                               decision="approve"), service_env(), peer=pat_m)  # fmt: skip


def test_the_maintenance_round_reassigns_stages_past_their_due_time(
    issuer: Issuer,
    badge: Any,
    make_staff: Any,
) -> None:
    (_, ada_m), (_, ben_m) = two_staff(issuer, badge, make_staff)
    submission = submit(badge, "late@school.example.org")
    stage = stages.current(submission)
    assert stage is not None and stage.assignee_id == ada_m.id
    assert assessment_round(at(stage.due_at - timedelta(minutes=1)))[1] == 0
    assert assessment_round(at(stage.due_at + timedelta(minutes=1)))[1] == 1
    db.session.refresh(stage)
    assert stage.assignee_id == ben_m.id
    assert db.session.get(Educator, submission.educator_id) is not None


def test_a_double_scored_stage_past_its_due_time_moves_the_assessor_who_has_not_rated(
    issuer: Issuer, badge: Any, make_staff: Any
) -> None:
    (ada, ada_m), (_, ben_m) = two_staff(issuer, badge, make_staff)
    cal = reviewer(issuer, make_staff, "cal@district7.example.org")
    cal_m = assessors.add_staff(badge, cal, actor=ACTOR, env=service_env())
    double_everything(badge)
    submission = submit(badge, "slow@school.example.org")
    stage = stages.current(submission)
    assert stage is not None and (stage.assignee_id, stage.second_id) == (ada_m.id, ben_m.id)
    rate(submission, ada, ("demonstrated", "demonstrated"))  # Ada's is in; Ben's is late
    assert stages.reassign_overdue(at(stage.due_at + timedelta(minutes=1))) == 1
    db.session.refresh(stage)
    assert (stage.assignee_id, stage.second_id) == (ada_m.id, cal_m.id)
    # Cal's rating completes the pair (Ada's stays blind meanwhile).
    assert [r.stage.id for r in assessing.staff_queue(cal, issuer)] == [stage.id]
    assert assessing.staff_queue(ada, issuer) == []
    assert rate(submission, cal, ("demonstrated", "demonstrated")).state == "passed"


def test_peers_are_invited_by_email_and_reminded_with_the_link_to_their_queue(
    issuer: Issuer, badge: Any, make_award: Any
) -> None:
    from sqlalchemy import select

    from app.models import EmailMessage

    _, pat_m = peer(issuer, badge, make_award, "pat.peer@school.example.org")
    invite = db.session.scalar(select(EmailMessage).where(EmailMessage.kind == "assessor_invite"))
    assert invite is not None and invite.to_address == "pat.peer@school.example.org"
    submission = submit(badge, "ann@school.example.org")
    stage = stages.current(submission)
    assert stage is not None and stage.assignee_id == pat_m.id
    assert stages.queue_reminders(at(stage.remind_at)) == 1
    sent = db.session.scalars(
        select(EmailMessage).where(
            EmailMessage.kind == "stage_reminder",
            EmailMessage.to_address == "pat.peer@school.example.org",
        )
    ).all()
    assert len(sent) == 1 and f"/me/assessing/{submission.public_id}" in sent[0].body_text
    assert "Ann" not in sent[0].body_text  # peers do not learn who submitted


def test_removing_an_assessor_gives_their_open_stages_to_someone_else(
    issuer: Issuer, badge: Any, make_staff: Any
) -> None:
    (_, ada_m), (_, ben_m) = two_staff(issuer, badge, make_staff)
    submission = submit(badge, "moved@school.example.org")
    stage = stages.current(submission)
    assert stage is not None and stage.assignee_id == ada_m.id
    assessors.remove(ada_m, actor=ACTOR, env=service_env())
    db.session.refresh(stage)
    assert stage.assignee_id == ben_m.id
    assessors.remove(ben_m, actor=ACTOR, env=service_env())
    db.session.refresh(stage)
    assert stage.assignee_id is None  # nobody left: any reviewer of the issuer may decide


def test_a_peer_who_rated_the_rest_of_a_shrinking_set_is_scored(
    issuer: Issuer, badge: Any, make_staff: Any, make_award: Any
) -> None:
    (ada, _), _ = two_staff(issuer, badge, make_staff)
    D, N = "demonstrated", "not_yet"
    for n, given in enumerate(((D, D), (D, N))):
        submission = submit(badge, f"past{n}@school.example.org")
        rate(submission, ada, given)
        calibration.add_item(badge, submission.public_id, actor=ACTOR, env=service_env())
    educator = make_educator("pat.peer@school.example.org", name="Pat")
    make_award(issuer, badge, "pat.peer@school.example.org")
    member = assessors.invite_peer(badge, educator, actor=ACTOR, env=service_env())
    assessors.accept(member, educator, service_env())
    first, second = calibration.items(badge)
    version = reviews.achievement_of(submission)[1]
    calibration.answer(member, first, dict(zip(CRITERIA, (D, D), strict=True)), version,
                       service_env())  # fmt: skip
    assert member.state == "training"
    calibration.remove_item(badge, second.id, actor=ACTOR, env=service_env())
    db.session.refresh(member)
    assert member.state == "active" and member.training_agreement == 100
