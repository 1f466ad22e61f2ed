"""A reviewer's decision at an assessment stage: pass the submission on to the next stage (the
last one issues the credential through the review), or return it to the educator with the
feedback, referring it to the coach after the last allowed "not yet".

Kept apart from ``stages`` because it calls the review (``reviews``), which itself opens a
submission's first stage through ``stages``: this module sits above both, so neither imports the
other back.
"""

from __future__ import annotations

from app.extensions import db
from app.models import AssessmentStage, StaffAccount, Submission
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, required
from app.services._core.transaction import all_or_nothing
from app.services.learning import reviews, stages
from app.services.mail import emails
from app.services.org import audit
from app.services.org.audit import Actor


def decide(
    submission: Submission,
    reviewer: StaffAccount,
    data: stages.StageDecision,
    env: ServiceEnv,
    *,
    ip: str | None = None,
) -> AssessmentStage:
    """Record a decision on the submission's current stage: pass it on to the next stage (the
    last one issues the credential through the review), or return it to the educator, who is
    emailed the feedback.

    :raises Conflict: when the submission is not in that stage (or someone decided it first).
    :raises ServiceError: for an unknown decision, missing ratings or missing feedback.
    """
    stage = stages.current(submission)
    if stage is None or stage.stage != data.stage or submission.state != "submitted":
        raise Conflict("This submission is not waiting for that stage any more.")
    if data.decision not in stages.DECISIONS[stage.stage]:
        raise Invalid("Choose one of this stage's decisions.", "decision")
    text = data.feedback.strip()
    if len(text) > stages.MAX_FEEDBACK:
        raise Invalid("Keep the feedback under 10,000 characters.", "feedback")
    achievement, version, issuer = reviews.achievement_of(submission)
    plan = required(stages.plan_of(achievement), "stages without a plan")
    ratings: dict[str, dict[str, str]] = {}
    if stage.stage == "assessment":
        ratings = stages.checked_ratings(version, data.ratings or {}, data.criterion_feedback or {})
        passed = all(r["rating"] == "demonstrated" for r in ratings.values())
    else:
        passed = data.decision in ("complete", "approve")
        if not passed and not text:
            raise Invalid("Say what the educator needs to change.", "feedback")
    order = plan.stages()
    is_last = order.index(stage.stage) == len(order) - 1
    outcome = "passed" if passed else ("not_yet" if stage.stage == "assessment" else "returned")
    actor = Actor(reviewer, ip=ip)

    def record() -> None:
        stages.claim(stage, outcome, reviewer, env)
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
