"""Submissions and staff review: an educator submits portfolio items for an achievement; a
reviewer scores the rubric, writes feedback, and approves (which issues the credential, with the
published items as evidence and the rubric levels as results), asks for changes, or declines."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import (
    Achievement,
    AchievementVersion,
    Educator,
    Issuer,
    PortfolioItem,
    Review,
    StaffAccount,
    Submission,
)
from app.models import SubmissionItem as SubmissionItemRow
from app.services._core import events
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, NotFound, required
from app.services._core.transaction import all_or_nothing
from app.services.awarding import issuing
from app.services.awarding.issuing import AwardInput, ResultInput
from app.services.learning import claims, portfolio, stages
from app.services.learning.educators import actor as educator_actor
from app.services.learning.educators import holds_current, recipient_email
from app.services.mail import emails
from app.services.org import achievements, audit
from app.services.org.audit import Actor

OPEN_STATES = ("submitted", "changes_requested")
CLOSED_STATES = ("approved", "declined", "withdrawn")
MAX_FEEDBACK = 10_000


def _items(educator: Educator, item_ids: list[str]) -> list[PortfolioItem]:
    items = [portfolio.get_item(educator, public_id) for public_id in dict.fromkeys(item_ids)]
    if not items:
        raise Invalid("Choose at least one portfolio item to submit.", "items")
    return items


def open_submission(educator: Educator, achievement: Achievement) -> Submission | None:
    """The educator's submission for an achievement that is still being reviewed, if any."""
    return db.session.scalar(
        select(Submission).where(
            Submission.educator_id == educator.id,
            Submission.achievement_id == achievement.id,
            Submission.state.in_(OPEN_STATES),
        )
    )


def _publish(items: list[PortfolioItem], publish: Collection[str], now: datetime) -> None:
    # The educator's consent, given with the submission: these items get a public evidence
    # page, which the credential links to if it is awarded. Others are left as they are (an
    # item may already be public evidence of another credential).
    for item in items:
        if item.public_id in publish and not item.publish:
            item.publish = True
            item.updated_at = now


def submit(
    educator: Educator,
    achievement: Achievement,
    item_ids: list[str],
    statement: str,
    env: ServiceEnv,
    *,
    origin: str = "portfolio",
    publish: Collection[str] = (),
) -> Submission:
    """Submit portfolio items for an achievement; ``publish`` names the items (public ids)
    the educator agrees to publish as evidence.

    :raises Conflict: when the achievement takes no submissions, is archived, one is already
        open, the educator already holds it or has not confirmed their name.
    :raises ServiceError: for no items or a statement that is too long.
    """
    version = achievements.current_version(achievement)
    if origin == "portfolio":
        claims.credential_name(educator)  # asked before anything can be issued in their name
    if origin == "portfolio" and not version.accepts_submissions:
        raise Conflict("This achievement is not awarded for portfolio submissions.")
    if achievement.archived_at is not None:
        raise Conflict("This achievement is archived.")
    if open_submission(educator, achievement) is not None:
        raise Conflict("You already have a submission for this achievement in review.")
    if origin == "portfolio" and holds_current(educator, achievement, env.now):
        raise Conflict("You already hold this badge.")
    if len(statement) > MAX_FEEDBACK:
        raise Invalid("Keep the statement under 10,000 characters.", "statement")
    items = _items(educator, item_ids) if origin == "portfolio" else []
    _publish(items, publish, env.now)
    submission = Submission(
        public_id=str(uuid.uuid4()),
        educator_id=educator.id,
        issuer_id=achievement.issuer_id,
        achievement_id=achievement.id,
        state="submitted",
        statement=statement.strip(),
        origin=origin,
        created_at=env.now,
        updated_at=env.now,
    )
    db.session.add(submission)
    db.session.flush()
    for item in items:
        db.session.add(SubmissionItemRow(submission_id=submission.id, item_id=item.id))
    stages.begin(submission, achievement, env)  # when the achievement asks for stages
    audit.record(
        "submission.create",
        actor=educator_actor(educator),
        now=env.now,
        issuer_id=achievement.issuer_id,
        subject_type="submission",
        subject_id=submission.public_id,
        detail={"achievement": achievement.public_id, "items": len(items), "origin": origin},
    )
    db.session.commit()
    return submission


def attach_items(submission: Submission, items: list[PortfolioItem]) -> None:
    """Add items to a submission (in the caller's transaction; modules attach their responses)."""
    present = {row.item_id for row in submission.items}
    for item in items:
        if item.id not in present:
            db.session.add(SubmissionItemRow(submission_id=submission.id, item_id=item.id))


def resubmit(
    submission: Submission,
    educator: Educator,
    item_ids: list[str],
    statement: str,
    env: ServiceEnv,
    *,
    publish: Collection[str] = (),
) -> Submission:
    """Send a submission back for review after changes were requested.

    :raises Conflict: unless changes were requested, or when the achievement was archived.
    :raises ServiceError: for no items or a statement that is too long.
    """
    if submission.educator_id != educator.id:
        raise NotFound("There is no such submission.")
    if submission.state != "changes_requested":
        raise Conflict("Only a submission returned for changes can be sent again.")
    stages.ensure_unlocked(submission)  # referred to a coach after the last "not yet"
    achievement = required(
        db.session.get(Achievement, submission.achievement_id), "missing achievement"
    )
    if achievement.archived_at is not None:
        raise Conflict("This achievement is archived.")
    if len(statement) > MAX_FEEDBACK:
        raise Invalid("Keep the statement under 10,000 characters.", "statement")
    items = _items(educator, item_ids) if submission.origin == "portfolio" else []
    _publish(items, publish, env.now)
    for row in list(submission.items):
        db.session.delete(row)
    db.session.flush()
    for item in items:
        db.session.add(SubmissionItemRow(submission_id=submission.id, item_id=item.id))
    submission.statement = statement.strip()
    submission.state = "submitted"
    submission.updated_at = env.now
    stages.begin(submission, achievement, env)  # a new round starts at the first stage
    _record_educator_step("submission.resubmit", submission, educator, env)
    return submission


def withdraw(submission: Submission, educator: Educator, env: ServiceEnv) -> None:
    """Withdraw an open submission."""
    if submission.educator_id != educator.id:
        raise NotFound("There is no such submission.")
    if submission.state not in OPEN_STATES:
        raise Conflict("This submission has already been decided.")
    submission.state = "withdrawn"
    submission.updated_at = env.now
    # A module's work goes back to the educator to edit and complete again.
    events.publish(events.SubmissionDecided(submission, env))
    _record_educator_step("submission.withdraw", submission, educator, env)


def _record_educator_step(
    event: str, submission: Submission, educator: Educator, env: ServiceEnv
) -> None:
    """Audit what the educator did to their submission, and commit it."""
    audit.record(
        event,
        actor=educator_actor(educator),
        now=env.now,
        issuer_id=submission.issuer_id,
        subject_type="submission",
        subject_id=submission.public_id,
    )
    db.session.commit()


def queue(issuer: Issuer, *, states: tuple[str, ...] = ("submitted",)) -> list[Submission]:
    """An issuer's submissions in these states: open ones oldest first (the review queue),
    closed ones most recently decided first."""
    order = (
        (Submission.updated_at.desc(), Submission.id.desc())
        if set(states) <= set(CLOSED_STATES)
        else (Submission.updated_at, Submission.id)
    )
    return list(
        db.session.scalars(
            select(Submission)
            .where(Submission.issuer_id == issuer.id, Submission.state.in_(states))
            .order_by(*order)
        )
    )


def waiting_count(issuer: Issuer) -> int:
    """How many of the issuer's submissions wait for a decision."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Submission)
            .where(Submission.issuer_id == issuer.id, Submission.state == "submitted")
        )
        or 0
    )


def get_for_issuer(issuer: Issuer, public_id: str) -> Submission:
    """One of the issuer's submissions.

    :raises NotFound: when it belongs to another issuer or does not exist.
    """
    found = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
    if found is None or found.issuer_id != issuer.id:
        raise NotFound("There is no such submission.")
    return found


def get_for_educator(educator: Educator, public_id: str) -> Submission:
    """One of the educator's submissions.

    :raises NotFound: when it is someone else's or does not exist.
    """
    found = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
    if found is None or found.educator_id != educator.id:
        raise NotFound("There is no such submission.")
    return found


def submitted_item(submission: Submission, item_public_id: str) -> PortfolioItem:
    """An item of this submission (what its reviewers may open, published or not).

    :raises NotFound: when the submission does not include it.
    """
    for row in submission.items:
        if row.item.public_id == item_public_id:
            return row.item
    raise NotFound("There is no such item in this submission.")


def achievement_of(submission: Submission) -> tuple[Achievement, AchievementVersion, Issuer]:
    """What a submission is for: the achievement, its current version and its issuer."""
    achievement = required(
        db.session.get(Achievement, submission.achievement_id), "missing achievement"
    )
    issuer = required(db.session.get(Issuer, submission.issuer_id), "missing issuer")
    return achievement, achievements.current_version(achievement), issuer


def _open_query() -> Any:
    return (
        select(Achievement, AchievementVersion, Issuer)
        .join(
            AchievementVersion,
            (AchievementVersion.achievement_id == Achievement.id)
            & (AchievementVersion.version == Achievement.current_version),
        )
        .join(Issuer, Issuer.id == Achievement.issuer_id)
        .where(Achievement.archived_at.is_(None), AchievementVersion.accepts_submissions.is_(True))
    )


def open_for_submissions() -> list[tuple[Achievement, AchievementVersion, Issuer]]:
    """Every unarchived achievement, of any issuer, that takes portfolio submissions now, by
    issuer and name."""
    rows = db.session.execute(
        _open_query().order_by(func.lower(Issuer.name), func.lower(AchievementVersion.name))
    ).all()
    return [(a, v, i) for a, v, i in rows]


def open_achievement(public_id: str) -> tuple[Achievement, AchievementVersion, Issuer]:
    """One achievement that takes portfolio submissions now.

    :raises NotFound: when there is none by that id (or it takes no submissions).
    """
    row = db.session.execute(_open_query().where(Achievement.public_id == public_id)).first()
    if row is None:
        raise NotFound("There is no such achievement open for portfolio submissions.")
    return row[0], row[1], row[2]


def chosen_levels(version: AchievementVersion, levels: dict[str, str]) -> dict[str, str]:
    """The rubric levels a reviewer chose, by criterion id: only the version's criteria are
    kept, and each value must be one of that criterion's levels.

    :raises ServiceError: for a level the criterion does not have.
    """
    chosen: dict[str, str] = {}
    for criterion in version.rubric or []:
        cid = str(criterion["id"])
        value = levels.get(cid)
        if not value:
            continue
        if value not in {str(level["id"]) for level in criterion.get("levels", [])}:
            raise Invalid(f"Choose one of the levels of “{criterion['name']}”.", f"level-{cid}")
        chosen[cid] = value
    return chosen


def _results(
    achievement: Achievement, version: AchievementVersion, chosen: dict[str, str], env: ServiceEnv
) -> tuple[ResultInput, ...]:
    # One Result per criterion, naming the ResultDescription and RubricCriterionLevel ids the
    # credential's own achievement publishes (the same version, so the ids match).
    results = []
    for criterion in version.rubric or []:
        cid = str(criterion["id"])
        if cid not in chosen:
            raise Invalid(f"Choose a level for “{criterion['name']}”.", f"level-{cid}")
        results.append(
            ResultInput(
                result_description=achievements.criterion_url(achievement, version, cid, env),
                achieved_level=achievements.level_url(achievement, version, cid, chosen[cid], env),
            )
        )
    return tuple(results)


#: The state each decision leaves a submission in.
DECIDED_STATE = {
    "approve": "approved",
    "request_changes": "changes_requested",
    "decline": "declined",
}


def _claim(submission: Submission, decision: str, env: ServiceEnv) -> None:
    """Move the submission out of ``submitted`` in this transaction, or raise: two reviewers
    deciding at once must not both succeed (nor issue two credentials). The conditional UPDATE
    takes the row lock, so the second waits for the first and then finds nothing to change."""
    result = db.session.execute(
        update(Submission)
        .where(Submission.id == submission.id, Submission.state == "submitted")
        .values(
            state=DECIDED_STATE[decision],
            updated_at=env.now,
            decided_at=None if decision == "request_changes" else env.now,
        )
        .execution_options(synchronize_session="fetch")
    )
    if getattr(result, "rowcount", 0) != 1:
        raise Conflict("This submission has just been decided by someone else.")


def decide(
    submission: Submission,
    reviewer: StaffAccount,
    decision: str,
    feedback: str,
    levels: dict[str, str],
    env: ServiceEnv,
    *,
    ip: str | None = None,
) -> Submission:
    """Record a review. Approving issues the credential to the educator: published items as
    ``evidence``, the rubric levels as ``result``s; the educator is told either way. The
    decision, the review and the credential are committed together.

    :raises Conflict: when the submission is not waiting for review (or another reviewer
        decided it meanwhile).
    :raises ServiceError: for an unknown decision, missing rubric levels (to approve) or
        missing feedback (to ask for changes or decline).
    """
    text = _checked_feedback(submission, decision, feedback)
    if stages.current(submission) is not None:
        raise Conflict("This submission is assessed in stages: decide its current stage.")
    achievement = required(
        db.session.get(Achievement, submission.achievement_id), "missing achievement"
    )
    issuer = required(db.session.get(Issuer, submission.issuer_id), "missing issuer")
    educator = required(db.session.get(Educator, submission.educator_id), "missing educator")
    version = achievements.current_version(achievement)
    chosen = chosen_levels(version, levels)
    decided = _Decision(
        submission, reviewer, decision, text, chosen, issuer, Actor(reviewer, ip=ip), env
    )
    if decision == "approve":
        _approve(decided, educator, achievement, version)
        return submission
    with all_or_nothing():
        decided.record(None)
        _tell(educator, submission, achievement, decision, text, env)
    db.session.commit()
    emails.deliver_soon(env)
    return submission


def _checked_feedback(submission: Submission, decision: str, feedback: str) -> str:
    """The reviewer's feedback, stripped, once the decision may be taken.

    :raises Conflict: when the submission is not waiting for review.
    :raises ServiceError: for an unknown decision, or no feedback where one is needed.
    """
    if submission.state != "submitted":
        raise Conflict("This submission is not waiting for review.")
    if decision not in DECIDED_STATE:
        raise Invalid("Approve, ask for changes, or decline.", "decision")
    text = feedback.strip()
    if len(text) > MAX_FEEDBACK:
        raise Invalid("Keep the feedback under 10,000 characters.", "feedback")
    if decision != "approve" and not text:
        raise Invalid("Say what needs to change (or why it is declined).", "feedback")
    return text


@dataclass(frozen=True)
class _Decision:
    """A reviewer's checked decision on one submission, ready to record."""

    submission: Submission
    reviewer: StaffAccount
    decision: str
    feedback: str
    levels: dict[str, str]
    issuer: Issuer
    actor: Actor
    env: ServiceEnv
    #: More to record in the same transaction (the final stage of a staged assessment).
    also: Callable[[], None] | None = field(default=None)

    def record(self, credential_id: str | None) -> None:
        """Claim the submission and write the review and its audit event (not committed)."""
        submission, env = self.submission, self.env
        if self.also is not None:
            self.also()
        _claim(submission, self.decision, env)
        submission.credential_id = credential_id
        # A module enrolment follows the decision, in the same transaction.
        events.publish(events.SubmissionDecided(submission, env))
        db.session.add(
            Review(
                submission_id=submission.id,
                reviewer_id=self.reviewer.id,
                decision=self.decision,
                feedback=self.feedback,
                results=self.levels,
                created_at=env.now,
            )
        )
        audit.record(
            f"submission.{self.decision}",
            actor=self.actor,
            now=env.now,
            issuer_id=self.issuer.id,
            subject_type="submission",
            subject_id=submission.public_id,
            detail={"levels": self.levels, "credential": credential_id},
        )


def _approve(
    decided: _Decision, educator: Educator, achievement: Achievement, version: AchievementVersion
) -> None:
    """Issue the credential; award() records the decision before its single commit."""
    submission, env = decided.submission, decided.env
    # A staged assessment rates criteria "demonstrated" (all of them, to get here), not rubric
    # levels: its credential carries no per-level results.
    staged = decided.also is not None
    results = () if staged else _results(achievement, version, decided.levels, env)
    items = [row.item for row in submission.items]
    # Nothing is written before award(): it reserves a status index on a connection of
    # its own first, and calls record() before its single commit.
    award = AwardInput(
        email=recipient_email(educator),
        # Only a name they confirmed is signed (a pathway's may be nobody's yet: no name).
        name=educator.credential_name,
        narrative=submission.statement or None,
        evidence=portfolio.evidence_for(items, env),
        results=results,
        claimed=submission.origin != "pathway",
    )
    with all_or_nothing():
        issuing.award(
            decided.issuer,
            achievement,
            award,
            actor=decided.actor,
            env=env,
            notify=True,
            on_store=lambda credential: decided.record(credential.id),
        )


def approve_staged(
    submission: Submission,
    reviewer: StaffAccount,
    feedback: str,
    env: ServiceEnv,
    *,
    also: Callable[[], None],
    ip: str | None = None,
) -> Submission:
    """Issue the credential for a submission that passed its last stage; ``also`` records the
    stage in the same commit as the review and the credential."""
    if submission.state != "submitted":
        raise Conflict("This submission is not waiting for review.")
    achievement, version, issuer = achievement_of(submission)
    educator = required(db.session.get(Educator, submission.educator_id), "missing educator")
    decided = _Decision(
        submission, reviewer, "approve", feedback, {}, issuer, Actor(reviewer, ip=ip), env, also
    )
    _approve(decided, educator, achievement, version)
    return submission


def return_staged(
    submission: Submission, achievement: Achievement, feedback: str, env: ServiceEnv
) -> None:
    """Send a staged submission back to the educator for changes, emailing them the feedback
    (in the caller's transaction)."""
    submission.state = "changes_requested"
    submission.updated_at = env.now
    events.publish(events.SubmissionDecided(submission, env))
    educator = required(db.session.get(Educator, submission.educator_id), "missing educator")
    _tell(educator, submission, achievement, "request_changes", feedback, env)


def _tell(
    educator: Educator,
    submission: Submission,
    achievement: Achievement,
    decision: str,
    feedback: str,
    env: ServiceEnv,
) -> None:
    emails.queue_template(
        "review",
        env,
        to=recipient_email(educator),
        link=f"{env.base_url}/me/submissions/{submission.public_id}",
        secret=False,
        issuer_id=submission.issuer_id,
        name=educator.name,
        decision=decision,
        achievement_name=achievements.current_version(achievement).name,
        feedback=feedback,
    )


def submissions_of(educator: Educator) -> list[Submission]:
    """An educator's submissions, newest first."""
    return list(
        db.session.scalars(
            select(Submission)
            .where(Submission.educator_id == educator.id)
            .order_by(Submission.id.desc())
        )
    )
