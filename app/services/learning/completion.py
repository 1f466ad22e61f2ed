"""Finishing a module: what still stands between an enrolment and completion, then the badge
awarded (evidence: the items the educator chose to publish, and a narrative of the completion)
or, for modules in review mode, the work submitted to the issuer's reviewers; and the enrolment
brought in line with the reviewer's decision (``on_submission_decided``)."""

from __future__ import annotations

from sqlalchemy import select, update

from app.extensions import db
from app.models import (
    Achievement,
    Educator,
    Enrolment,
    IssuedCredential,
    Issuer,
    PortfolioItem,
    Submission,
)
from app.services._core import events
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid
from app.services._core.transaction import all_or_nothing
from app.services.awarding import issuing
from app.services.awarding.issuing import AwardInput, EvidenceInput
from app.services.learning import (
    answers,
    authoring,
    claims,
    educators,
    enrolments,
    portfolio,
    reviews,
)
from app.services.learning.progress import Progress, progress
from app.services.org import achievements
from app.services.org.audit import Actor

#: The audit actor of awards a module's completion rules make.
MODULE_ACTOR = Actor(label="module")


def completion_problems(enrolment: Enrolment, done: Progress | None = None) -> list[str]:
    """What still stands between the enrolment and completion (empty when the rules are met)."""
    done = done or progress(enrolment)
    module = enrolment.module
    problems = []
    if done.total == 0:
        problems.append("This module has no reflection prompts yet.")
    missing = [a.activity.title for a in done.activities if not a.done]
    if missing:
        problems.append("Answer every reflection prompt; still to do: " + "; ".join(missing) + ".")
    if module.requires_partner and enrolment.partner_confirmed_at is None:
        problems.append(
            "Your learning partner has not confirmed your checklist yet."
            if enrolment.partner_invited_at
            else "Invite a learning partner to confirm your checklist."
        )
    return problems


def completion_narrative(enrolment: Enrolment, done: Progress, issuer_name: str) -> str:
    """The evidence narrative that summarises how the module was completed."""
    module = enrolment.module
    activities = len(done.activities)
    parts = [
        f"Completed the module “{module.title}” from {issuer_name}: {activities} "
        f"activit{'y' if activities == 1 else 'ies'}, {done.total} reflection "
        f"prompt{'' if done.total == 1 else 's'} answered"
    ]
    if enrolment.partner_confirmed_at is not None:
        parts.append(
            ", with completion confirmed by a learning partner on "
            f"{enrolment.partner_confirmed_at:%Y-%m-%d}"
        )
    text = "".join(parts) + "."
    if module.learning_outcomes:
        text += " Learning outcomes: " + "; ".join(module.learning_outcomes) + "."
    return text if len(text) <= 2000 else text[:1999].rstrip() + "…"


def _claim(enrolment: Enrolment, state: str, env: ServiceEnv) -> None:
    # Two submissions at once must not award twice: the conditional UPDATE takes the row lock,
    # so the second waits for the first and then finds the enrolment no longer editable.
    claimed = db.session.execute(
        update(Enrolment)
        .where(Enrolment.id == enrolment.id, Enrolment.state.in_(enrolments.EDITABLE_STATES))
        .values(state=state, completed_at=env.now if state == "awarded" else None)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise Conflict("This module has just been submitted.")


def complete(
    enrolment: Enrolment, educator: Educator, publish: list[str], env: ServiceEnv
) -> Enrolment:
    """Submit the module for completion. ``publish`` names the items (public ids) the educator
    agrees to publish as the credential's evidence; they are published, and only they are
    cited. Then the badge is awarded (evidence: one entry per chosen item, plus a narrative of
    the completion) or, for modules in review mode, the work goes to the issuer's reviewers.

    :raises NotFound: when the enrolment is not theirs.
    :raises Conflict: when it was already submitted, the achievement cannot be awarded, or the
        educator has not confirmed the name their credentials carry.
    :raises ServiceError: when the completion rules are not met (the message says what is
        missing), or for an item that is not part of the module.
    """
    enrolments.require_own(enrolment, educator)
    enrolments.require_editable(enrolment)
    claims.credential_name(educator)  # asked first: a signed name cannot be corrected
    done = progress(enrolment)
    problems = completion_problems(enrolment, done)
    if problems:
        raise Invalid("Not complete yet. " + " ".join(problems), "complete")
    items = answers.module_items(enrolment)
    by_id = {item.public_id: item for item in items}
    if any(public_id not in by_id for public_id in publish):
        raise Invalid("Choose evidence from this module's items only.", "publish")
    chosen = [by_id[public_id] for public_id in dict.fromkeys(publish)]
    module = enrolment.module
    issuer = authoring.issuer_of(module)
    achievement, _ = authoring.achievement_of(module)
    achievements.require_awardable(achievement)
    # The educator's consent for the items they chose; the others are left as they are (an
    # item may already be public evidence of another credential).
    for item in chosen:
        if not item.publish:
            portfolio.set_publish(item, educator, True, env)
    summary = completion_narrative(enrolment, done, issuer.name)
    if module.award_mode == "automatic":
        _award(enrolment, educator, issuer, achievement, chosen, summary, env)
    else:
        _submit_for_review(enrolment, educator, achievement, items, summary, env)
    db.session.refresh(enrolment)
    return enrolment


def _award(
    enrolment: Enrolment,
    educator: Educator,
    issuer: Issuer,
    achievement: Achievement,
    chosen: list[PortfolioItem],
    summary: str,
    env: ServiceEnv,
) -> None:
    module = enrolment.module

    def record(credential: IssuedCredential) -> None:
        # Committed with the credential, or not at all.
        _claim(enrolment, "awarded", env)
        db.session.execute(
            update(Enrolment)
            .where(Enrolment.id == enrolment.id)
            .values(credential_id=credential.id)
            .execution_options(synchronize_session=False)
        )
        enrolments.record_by_educator(
            "module.complete", module, educator, env, credential=credential.id
        )

    evidence = (
        *portfolio.evidence_for(chosen, env),
        EvidenceInput(name=f"Completion of “{module.title}”", narrative=summary),
    )
    # Nothing is written before award(): it reserves a status index on a connection of its own.
    with all_or_nothing():
        issuing.award(
            issuer,
            achievement,
            AwardInput(
                email=educators.recipient_email(educator),
                name=claims.credential_name(educator),
                evidence=evidence,
                claimed=True,
            ),
            actor=MODULE_ACTOR,
            env=env,
            notify=True,
            on_store=record,
        )


def _submit_for_review(
    enrolment: Enrolment,
    educator: Educator,
    achievement: Achievement,
    items: list[PortfolioItem],
    summary: str,
    env: ServiceEnv,
) -> None:
    module = enrolment.module
    previous = submission_of(enrolment)
    with all_or_nothing():
        _claim(enrolment, "in_review", env)
        if previous is not None and previous.state == "changes_requested":
            submission = reviews.resubmit(previous, educator, [], summary, env)
        else:
            submission = reviews.submit(educator, achievement, [], summary, env, origin="module")
    # The reviewers see everything the module holds; only published items become evidence.
    reviews.attach_items(submission, items)
    enrolment.submission_id = submission.id
    enrolments.record_by_educator(
        "module.submit", module, educator, env, submission=submission.public_id
    )
    db.session.commit()


def on_submission_decided(event: events.SubmissionDecided) -> None:
    """Follow a review decision on a module submission (subscribed in ``subscriptions``)."""
    after_decision(event.submission, event.env)


def after_decision(submission: Submission, env: ServiceEnv) -> None:
    """Bring the enrolment a module submission came from in line with the reviewer's decision
    or the educator's withdrawal (through the ``SubmissionDecided`` event that ``reviews.decide``
    and ``reviews.withdraw`` publish before they commit): approved makes it awarded; changes
    requested or declined give the work back to the educator; withdrawn puts it back in
    progress."""
    if submission.origin != "module":
        return
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.submission_id == submission.id))
    if enrolment is None:
        return
    if submission.state == "approved":
        enrolment.state = "awarded"
        enrolment.credential_id = submission.credential_id
        enrolment.completed_at = env.now
    elif submission.state in ("changes_requested", "declined"):
        enrolment.state = "returned"
    elif submission.state == "withdrawn":
        enrolment.state = "in_progress"


def submission_of(enrolment: Enrolment) -> Submission | None:
    """The review submission of the enrolment, if it was submitted for review."""
    return db.session.get(Submission, enrolment.submission_id) if enrolment.submission_id else None
