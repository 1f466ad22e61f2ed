"""Submissions and reviews: what may be submitted, and what each decision does. Approval issues
a credential whose ``result``s name the rubric its own achievement publishes, with evidence for
published items only, that passes the strict schema and Cairn's verifier."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import (
    AuditEvent,
    EmailMessage,
    IssuedCredential,
    Issuer,
    Review,
    StaffAccount,
    Submission,
)
from app.services._core.errors import Conflict, NotFound, ServiceError
from app.services.learning import reviews
from app.services.org import achievements
from app.services.org.achievements import AwardRulesInput
from app.wiring import service_env
from credentials import decode_jwt, schema_errors
from tests.app.portfolio_helpers import (
    ACTOR,
    RUBRIC,
    add_item,
    document,
    make_educator,
    portfolio_badge,
    verify,
)

LEVELS = {"evidence-of-impact": "proficient", "reflection": "secure"}


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer()


@pytest.fixture
def reviewer(make_staff: Callable[..., StaffAccount]) -> StaffAccount:
    return make_staff("reviewer@district7.example.org", name="Rae Viewer")


@pytest.fixture
def badge(issuer: Issuer, make_achievement: Callable[..., Any]) -> Any:
    return portfolio_badge(issuer, make_achievement)


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def submitted(badge: Any, *, publish: bool = True) -> tuple[Any, Submission, list[Any]]:
    ann = make_educator()
    items = [add_item(ann, "Project write-up", publish=publish), add_item(ann, "Private notes")]
    submission = reviews.submit(
        ann, badge, [i.public_id for i in items], "I ran a six-week study.", service_env()
    )
    return ann, submission, items


# --- submitting ------------------------------------------------------------------------------


def test_only_achievements_taking_submissions_accept_them(issuer, make_achievement) -> None:
    plain = make_achievement(issuer, "Module badge")
    ann = make_educator()
    item = add_item(ann)
    with pytest.raises(Conflict, match="not awarded for portfolio submissions"):
        reviews.submit(ann, plain, [item.public_id], "", service_env())
    assert count(Submission) == 0


def test_submission_rules(badge) -> None:
    ann = make_educator()
    item = add_item(ann)
    with pytest.raises(ServiceError, match="at least one"):
        reviews.submit(ann, badge, [], "", service_env())
    with pytest.raises(ServiceError, match="10,000"):
        reviews.submit(ann, badge, [item.public_id], "x" * 10_001, service_env())
    bob = make_educator("bob@school.example.org", "Bob")
    with pytest.raises(NotFound):  # someone else's item
        reviews.submit(bob, badge, [item.public_id], "", service_env())
    reviews.submit(ann, badge, [item.public_id, item.public_id], "", service_env())
    with pytest.raises(Conflict, match="already have a submission"):
        reviews.submit(ann, badge, [item.public_id], "", service_env())
    assert count(Submission) == 1
    assert len(db.session.scalars(select(Submission)).one().items) == 1


def test_archived_achievements_take_no_submissions(badge) -> None:
    achievements.set_archived(badge, True, actor=ACTOR, env=service_env())
    ann = make_educator()
    with pytest.raises(Conflict, match="archived"):
        reviews.submit(ann, badge, [add_item(ann).public_id], "", service_env())
    assert reviews.open_for_submissions() == []


def test_submitting_publishes_only_the_items_agreed(badge) -> None:
    ann = make_educator()
    shown, kept = add_item(ann, "Shown"), add_item(ann, "Kept")
    reviews.submit(
        ann, badge, [shown.public_id, kept.public_id], "", service_env(), publish={shown.public_id}
    )
    assert shown.publish and not kept.publish


def test_achievements_open_for_submissions_from_every_issuer(
    issuer, badge, make_issuer, make_achievement
) -> None:
    other = make_issuer("Coaching Collective", slug="coaching")
    video = portfolio_badge(other, make_achievement, "Video Reflection")
    make_achievement(other, "Not a portfolio badge")
    listed = [(a.public_id, i.slug) for a, _, i in reviews.open_for_submissions()]
    assert listed == [(video.public_id, "coaching"), (badge.public_id, issuer.slug)]
    assert reviews.open_achievement(video.public_id)[0] is video
    with pytest.raises(NotFound):
        reviews.open_achievement("no-such-achievement")


# --- approving -------------------------------------------------------------------------------


def test_approval_issues_a_credential_with_rubric_results_and_published_evidence(
    badge, reviewer, local_fetch
) -> None:
    _, submission, (published, private) = submitted(badge)
    reviews.decide(submission, reviewer, "approve", "Lovely work.", LEVELS, service_env())

    assert submission.state == "approved" and submission.decided_at is not None
    credential = db.session.get(IssuedCredential, submission.credential_id)
    assert credential is not None and credential.recipient_email == "ann.lee@school.example.org"
    doc = document(credential)
    achievement = doc["credentialSubject"]["achievement"]
    described = {d["id"]: d for d in achievement["resultDescription"]}
    assert [d["name"] for d in described.values()] == ["Evidence of impact", "Reflection"]
    results = doc["credentialSubject"]["result"]
    assert len(results) == 2
    for result, (criterion, level) in zip(results, LEVELS.items(), strict=True):
        description = described[result["resultDescription"]]
        assert description["id"].endswith(f"#rubric-{criterion}")
        assert description["resultType"] == "RubricCriterionLevel"
        levels = {lvl["id"]: lvl for lvl in description["rubricCriterionLevel"]}
        assert result["achievedLevel"] in levels
        assert result["achievedLevel"].endswith(f"#rubric-{criterion}-{level}")
    assert levels[results[1]["achievedLevel"]]["name"] == "Secure"

    evidence = doc["evidence"]
    assert [e["id"] for e in evidence] == [
        f"https://badges.example.org/evidence/{published.public_id}"
    ]
    assert evidence[0]["name"] == "Project write-up"
    assert private.public_id not in credential.document
    assert schema_errors(doc) == []
    report = verify(credential, local_fetch)
    assert report.valid, report.as_json()["checks"]

    review = db.session.scalars(select(Review)).one()
    assert (review.decision, review.feedback, review.results) == ("approve", "Lovely work.", LEVELS)
    assert review.reviewer_id == reviewer.id
    award_mail = db.session.scalars(select(EmailMessage).where(EmailMessage.kind == "award")).one()
    assert award_mail.to_address == "ann.lee@school.example.org"
    assert "submission.approve" in db.session.scalars(select(AuditEvent.action)).all()


def test_approval_by_a_jwt_issuer(make_issuer, make_achievement, reviewer, local_fetch) -> None:
    badge = portfolio_badge(make_issuer(proof_format="jwt"), make_achievement)
    _, submission, _ = submitted(badge)
    reviews.decide(submission, reviewer, "approve", "", LEVELS, service_env())
    credential = db.session.get(IssuedCredential, submission.credential_id)
    assert credential is not None
    payload = dict(decode_jwt(credential.document).credential)
    assert len(payload["credentialSubject"]["result"]) == 2
    assert schema_errors(payload) == []
    assert verify(credential, local_fetch).valid


def test_approval_without_every_level_changes_nothing(badge, reviewer) -> None:
    _, submission, _ = submitted(badge)
    with pytest.raises(ServiceError, match="Choose a level for “Reflection”") as refused:
        reviews.decide(
            submission, reviewer, "approve", "", {"evidence-of-impact": "emerging"}, service_env()
        )
    assert refused.value.field == "level-reflection"
    with pytest.raises(ServiceError, match="one of the levels"):
        reviews.decide(
            submission, reviewer, "approve", "", {**LEVELS, "reflection": "bogus"}, service_env()
        )
    db.session.refresh(submission)
    assert submission.state == "submitted" and submission.credential_id is None
    assert count(IssuedCredential) == count(Review) == 0


def test_levels_for_criteria_the_rubric_lacks_are_not_kept(badge, reviewer) -> None:
    _, submission, _ = submitted(badge)
    reviews.decide(submission, reviewer, "approve", "", {**LEVELS, "<script>": "x"}, service_env())
    assert db.session.scalars(select(Review)).one().results == LEVELS


def test_a_submission_is_decided_once(badge, reviewer, make_staff) -> None:
    _, submission, _ = submitted(badge)
    reviews.decide(submission, reviewer, "approve", "", LEVELS, service_env())
    with pytest.raises(Conflict, match="not waiting"):
        reviews.decide(submission, make_staff("two@x.example.org"), "approve", "", LEVELS, service_env())  # fmt: skip
    assert count(IssuedCredential) == 1


@pytest.mark.parametrize("decision", ["approve", "decline"])
def test_a_decision_made_meanwhile_by_someone_else_wins(badge, reviewer, decision) -> None:
    # Another reviewer declined between this one's page load and their press. The slower
    # request still believes the submission is waiting; its conditional update claims nothing,
    # so it issues no credential (even after signing one) and records no review.
    _, submission, _ = submitted(badge)
    db.session.commit()
    assert submission.state == "submitted"  # loaded now, before the other request commits
    with db.engine.begin() as other_request:
        other_request.execute(
            update(Submission).where(Submission.id == submission.id).values(state="declined")
        )
    with pytest.raises(Conflict, match="just been decided"):
        reviews.decide(submission, reviewer, decision, "Too late.", LEVELS, service_env())
    assert count(IssuedCredential) == count(Review) == count(EmailMessage) == 0
    db.session.refresh(submission)
    assert submission.state == "declined" and submission.credential_id is None


def test_holding_the_badge_already_blocks_a_new_submission(badge, reviewer) -> None:
    ann, submission, items = submitted(badge)
    reviews.decide(submission, reviewer, "approve", "", LEVELS, service_env())
    with pytest.raises(Conflict, match="already hold"):
        reviews.submit(ann, badge, [items[0].public_id], "", service_env())


def test_no_rubric_means_no_results(issuer, make_achievement, reviewer) -> None:
    badge = portfolio_badge(issuer, make_achievement, "Coaching Cycle", rubric=())
    _, submission, _ = submitted(badge)
    reviews.decide(submission, reviewer, "approve", "", {}, service_env())
    doc = document(db.session.get(IssuedCredential, submission.credential_id))  # type: ignore[arg-type]
    assert "result" not in doc["credentialSubject"]
    assert "resultDescription" not in doc["credentialSubject"]["achievement"]
    assert schema_errors(doc) == []


def test_results_name_the_version_the_credential_was_issued_with(badge, reviewer) -> None:
    # The rubric changes after submission: results follow the version awarded now.
    _, submission, _ = submitted(badge)
    rubric = ({**RUBRIC[0], "name": "Impact on students"}, RUBRIC[1])
    achievements.update_award_rules(
        badge, AwardRulesInput(rubric=rubric, accepts_submissions=True), actor=ACTOR, env=service_env()
    )  # fmt: skip
    reviews.decide(submission, reviewer, "approve", "", LEVELS, service_env())
    doc = document(db.session.get(IssuedCredential, submission.credential_id))  # type: ignore[arg-type]
    achievement = doc["credentialSubject"]["achievement"]
    assert achievement["version"] == "3"
    ids = {d["id"] for d in achievement["resultDescription"]}
    assert {r["resultDescription"] for r in doc["credentialSubject"]["result"]} == ids
    assert all("/versions/3#rubric-" in i for i in ids)


# --- asking for changes, declining, withdrawing ------------------------------------------------


def test_changes_requested_then_resubmitted_then_approved(badge, reviewer) -> None:
    ann, submission, items = submitted(badge, publish=False)
    with pytest.raises(ServiceError, match="Say what needs to change"):
        reviews.decide(submission, reviewer, "request_changes", "  ", {}, service_env())
    reviews.decide(
        submission, reviewer, "request_changes", "Add student work samples.", {}, service_env()
    )
    assert submission.state == "changes_requested" and submission.decided_at is None
    mail = db.session.scalars(select(EmailMessage).where(EmailMessage.kind == "review")).one()
    assert mail.to_address == "ann.lee@school.example.org"
    assert f"https://badges.example.org/me/submissions/{submission.public_id}" in mail.body_text
    assert "Add student work samples." in mail.body_text
    with pytest.raises(Conflict):  # not waiting for review
        reviews.decide(submission, reviewer, "approve", "", LEVELS, service_env())

    samples = add_item(ann, "Student work samples")
    reviews.resubmit(
        submission, ann, [items[0].public_id, samples.public_id], "Now with samples.",
        service_env(), publish={samples.public_id},
    )  # fmt: skip
    assert submission.state == "submitted" and submission.statement == "Now with samples."
    assert {row.item.title for row in submission.items} == {
        "Project write-up",
        "Student work samples",
    }
    reviews.decide(submission, reviewer, "approve", "", LEVELS, service_env())
    doc = document(db.session.get(IssuedCredential, submission.credential_id))  # type: ignore[arg-type]
    assert [e["name"] for e in doc["evidence"]] == ["Student work samples"]
    assert [r.decision for r in submission.reviews] == ["request_changes", "approve"]


def test_only_returned_submissions_can_be_resubmitted(badge) -> None:
    ann, submission, items = submitted(badge)
    with pytest.raises(Conflict, match="returned for changes"):
        reviews.resubmit(submission, ann, [items[0].public_id], "", service_env())
    bob = make_educator("bob@school.example.org", "Bob")
    with pytest.raises(NotFound):
        reviews.resubmit(submission, bob, [], "", service_env())


def test_decline(badge, reviewer) -> None:
    _, submission, _ = submitted(badge)
    with pytest.raises(ServiceError, match="Approve, ask for changes, or decline"):
        reviews.decide(submission, reviewer, "maybe", "Hmm", {}, service_env())
    reviews.decide(
        submission, reviewer, "decline", "Outside this badge's scope.", {}, service_env()
    )
    assert submission.state == "declined" and submission.decided_at is not None
    assert count(IssuedCredential) == 0
    mail = db.session.scalars(select(EmailMessage).where(EmailMessage.kind == "review")).one()
    assert "declined" in mail.body_text and "Outside this badge's scope." in mail.body_text


def test_withdraw(badge, reviewer) -> None:
    ann, submission, items = submitted(badge)
    bob = make_educator("bob@school.example.org", "Bob")
    with pytest.raises(NotFound):
        reviews.withdraw(submission, bob, service_env())
    reviews.withdraw(submission, ann, service_env())
    assert submission.state == "withdrawn"
    with pytest.raises(Conflict):
        reviews.withdraw(submission, ann, service_env())
    with pytest.raises(Conflict):
        reviews.decide(submission, reviewer, "approve", "", LEVELS, service_env())
    # A new submission for the same badge is possible again.
    reviews.submit(ann, badge, [items[0].public_id], "", service_env())


# --- who sees what ---------------------------------------------------------------------------


def test_submissions_are_visible_to_their_issuer_and_educator_only(
    issuer, badge, make_issuer
) -> None:
    ann, submission, items = submitted(badge)
    other = make_issuer("Coaching Collective", slug="coaching")
    assert reviews.get_for_issuer(issuer, submission.public_id) is submission
    with pytest.raises(NotFound):
        reviews.get_for_issuer(other, submission.public_id)
    assert reviews.get_for_educator(ann, submission.public_id) is submission
    with pytest.raises(NotFound):
        reviews.get_for_educator(make_educator("bob@school.example.org"), submission.public_id)
    assert reviews.submitted_item(submission, items[1].public_id) is items[1]
    with pytest.raises(NotFound):
        reviews.submitted_item(submission, add_item(ann, "Not submitted").public_id)


def test_queue_filters_and_waiting_count(issuer, badge, reviewer, make_achievement) -> None:
    _, first, _ = submitted(badge)
    bob = make_educator("bob@school.example.org", "Bob")
    second = reviews.submit(bob, badge, [add_item(bob).public_id], "", service_env())
    assert reviews.queue(issuer) == [first, second]
    assert reviews.waiting_count(issuer) == 2
    reviews.decide(first, reviewer, "request_changes", "More, please.", {}, service_env())
    assert reviews.queue(issuer) == [second]
    assert reviews.queue(issuer, states=("changes_requested",)) == [first]
    reviews.decide(second, reviewer, "decline", "No.", {}, service_env())
    assert reviews.queue(issuer, states=reviews.CLOSED_STATES) == [second]
    assert reviews.waiting_count(issuer) == 0
