"""A reviewer's decision at an assessment stage: pass the submission on to the next stage (the
last one issues the credential through the review), or return it to the educator with the
feedback, referring it to the coach after the last allowed "not yet".

Kept apart from ``stages`` because it calls the review (``reviews``), which itself opens a
submission's first stage through ``stages``: this module sits above both, so neither imports the
other back.
"""

from __future__ import annotations

from app.extensions import db
from app.models import AssessmentStage, AssessorPoolMember, Educator, StaffAccount, Submission
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Forbidden, Invalid, NotFound, required
from app.services._core.transaction import all_or_nothing
from app.services.learning import assessors, calibration, reviews, stages
from app.services.mail import emails
from app.services.org import audit
from app.services.org.audit import Actor


def decide(
    submission: Submission,
    reviewer: StaffAccount | None,
    data: stages.StageDecision,
    env: ServiceEnv,
    *,
    ip: str | None = None,
    peer: AssessorPoolMember | None = None,
) -> AssessmentStage:
    """Record a decision on the submission's current stage: pass it on to the next stage (the
    last one issues the credential through the review), or return it to the educator, who is
    emailed the feedback. A staff ``reviewer`` decides, or a ``peer`` assessor (an educator of
    the pool) rates an assessment given to them. An assessment scored by two is recorded blind
    and decided once both ratings are in and agree; a lead assessor decides a disagreement.
    The returned stage is still ``open`` while it waits for the other assessor or the lead.

    :raises Conflict: when the submission is not in that stage (or someone decided it first).
    :raises NotFound: for a peer the stage was not given to (or who may not assess it).
    :raises Forbidden: for a disagreement decided by someone who is not a lead assessor.
    :raises ServiceError: for an unknown decision, missing ratings or missing feedback.
    """
    stage = stages.current(submission)
    achievement, version, issuer = reviews.achievement_of(submission)
    if peer is not None:
        # Enforced here, not only by the queue: a peer decides only what they were given, and
        # never their own nor their learning partner's submission.
        if (
            stage is None
            or peer.achievement_id != achievement.id
            or peer.id not in (stage.assignee_id, stage.second_id)
            or stage.stage not in assessors.PEER_STAGES
            or not assessors.may_assess(peer, submission)
        ):
            raise NotFound("There is no such submission in your queue.")
    elif reviewer is None:
        raise Forbidden("Only an assessor decides a stage.")
    if stage is None or stage.stage != data.stage or submission.state != "submitted":
        raise Conflict("This submission is not waiting for that stage any more.")
    if data.decision not in stages.DECISIONS[stage.stage]:
        raise Invalid("Choose one of this stage's decisions.", "decision")
    text = data.feedback.strip()
    if len(text) > stages.MAX_FEEDBACK:
        raise Invalid("Keep the feedback under 10,000 characters.", "feedback")
    plan = required(stages.plan_of(achievement), "stages without a plan")
    actor = _actor(reviewer, peer, ip)
    ratings: dict[str, dict[str, str]] = {}
    if stage.stage == "assessment":
        ratings = stages.checked_ratings(version, data.ratings or {}, data.criterion_feedback or {})
        if stage.second_id is not None:
            if stage.disputed_at is None:
                member = peer or (
                    assessors.member_of_staff(achievement.id, reviewer) if reviewer else None
                )
                if member is None:
                    raise Conflict(
                        "This assessment is scored blind by two assessors; a lead assessor "
                        "decides only if they disagree."
                    )
                agreed = calibration.rate_blind(stage, member, ratings, text, actor, env)
                if agreed is None:
                    db.session.commit()  # waiting for the other rating, or for the lead
                    return stage
                ratings = agreed
            elif reviewer is None or not calibration.is_lead(reviewer, achievement):
                raise Forbidden("The two assessors disagreed: a lead assessor decides.")
        passed = all(r["rating"] == "demonstrated" for r in ratings.values())
    else:
        passed = data.decision in ("complete", "approve")
        if not passed and not text:
            raise Invalid("Say what the educator needs to change.", "feedback")
    order = plan.stages()
    is_last = order.index(stage.stage) == len(order) - 1
    outcome = "passed" if passed else ("not_yet" if stage.stage == "assessment" else "returned")

    def record() -> None:
        stages.claim(stage, outcome, reviewer, env, member=peer)
        stage.feedback, stage.ratings = text, ratings
        audit.record(
            f"submission.stage.{stage.stage}",
            actor=actor,
            now=env.now,
            issuer_id=issuer.id,
            subject_type="submission",
            subject_id=submission.public_id,
            detail={"outcome": outcome, "attempt": stage.attempt, "ratings": ratings},
        )

    if passed and is_last:
        if reviewer is None:  # peers never hold the last stage (see assessors.invite_peer)
            raise Conflict("A staff member signs off this achievement.")
        # The credential is issued by the review, which records this stage in its commit.
        reviews.approve_staged(submission, reviewer, text, env, also=record, ip=ip)
        return stage
    with all_or_nothing():
        record()
        if passed:
            stages.open_stage(
                submission, plan, order[order.index(stage.stage) + 1], stage.attempt, env.now
            )
            submission.updated_at = env.now
        else:
            summary = stages.summary(stage.stage, text, ratings, version)
            if outcome == "not_yet" and stages.last_attempt(submission, plan, stage.attempt):
                summary = (
                    stages.refer(submission, plan, stage.attempt, achievement, actor, env) + summary
                )
            reviews.return_staged(submission, achievement, summary, env)
    db.session.commit()
    emails.deliver_soon(env)
    return stage


def _actor(reviewer: StaffAccount | None, peer: AssessorPoolMember | None, ip: str | None) -> Actor:
    """Who the audit log names: the staff member, or the peer assessor by their name."""
    if reviewer is not None:
        return Actor(reviewer, ip=ip)
    educator = db.session.get(Educator, peer.educator_id) if peer and peer.educator_id else None
    name = educator.name if educator and educator.name else "an educator"
    return Actor(label=f"peer assessor {name}", ip=ip)
