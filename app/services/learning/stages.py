"""Staged assessment of portfolio evidence: an achievement may ask that its submissions pass a
completeness check (every required piece is there), an assessment (each rubric criterion rated
"demonstrated" or "not yet", with feedback per criterion) and an optional final approval. Each
stage is due a number of working days (Monday to Friday) after it opens; a reminder goes to the
issuer's reviewers before it passes. Achievements without a plan keep the single review of
:mod:`app.services.learning.reviews`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import (
    Achievement,
    AchievementVersion,
    AssessmentPlan,
    AssessmentStage,
    AssessorPoolMember,
    CoachReferral,
    Educator,
    Issuer,
    StaffAccount,
    Submission,
)
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Forbidden, Invalid, required
from app.services.learning import assessors, calibration, educators
from app.services.mail import emails
from app.services.org import achievements, audit, staff
from app.services.org.audit import Actor

MAX_FEEDBACK = 10_000
MAX_WORKING_DAYS = 60
MAX_ATTEMPTS = 20
#: What a reviewer may decide at each stage.
DECISIONS: dict[str, tuple[str, ...]] = {
    "completeness": ("complete", "return"),
    "assessment": ("rate",),
    "approval": ("approve", "return"),
}
STAGE_LABELS = {
    "completeness": "Completeness check",
    "assessment": "Assessment",
    "approval": "Approval",
}
STATE_LABELS = {
    "open": "In progress",
    "passed": "Passed",
    "returned": "Returned to the educator",
    "not_yet": "Not yet",
}
#: Roles whose holders review submissions (and get the reminders).
REVIEWER_ROLES = ("owner", "editor", "awarder")


def add_working_days(start: datetime, days: int) -> datetime:
    """``start`` moved on by ``days`` working days (Monday to Friday), at the same time of
    day: five working days from a Friday morning is the next Friday morning."""
    moved, left = start, days
    while left > 0:
        moved += timedelta(days=1)
        if moved.weekday() < 5:
            left -= 1
    return moved


def plan_of(achievement: Achievement) -> AssessmentPlan | None:
    """The achievement's assessment plan, if it asks for stages."""
    return db.session.scalar(
        select(AssessmentPlan).where(AssessmentPlan.achievement_id == achievement.id)
    )


@dataclass(frozen=True)
class PlanInput:
    """What staff choose on the Assessment stages page."""

    enabled: bool
    completeness: bool = True
    approval: bool = False
    due_working_days: int = 5
    remind_working_days: int = 1
    #: Rounds before a "not yet" refers the educator to the coach (``None``: no limit).
    max_attempts: int | None = None
    #: The coach's staff account id (a member of the issuer who reviews).
    coach_id: int | None = None


def in_progress_count(achievement: Achievement) -> int:
    """How many of the achievement's submissions are in a stage now."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(AssessmentStage)
            .join(Submission, Submission.id == AssessmentStage.submission_id)
            .where(Submission.achievement_id == achievement.id, AssessmentStage.state == "open")
        )
        or 0
    )


def set_plan(
    achievement: Achievement, data: PlanInput, *, actor: Actor, env: ServiceEnv
) -> AssessmentPlan | None:
    """Turn stages on (or change them) or off for an achievement; new submissions follow the
    plan, and a submission already in a stage keeps its due time.

    :raises Conflict: turning stages off while submissions are in one.
    :raises ServiceError: for due or reminder days out of range.
    """
    found = plan_of(achievement)
    if not data.enabled:
        if found is not None:
            if in_progress_count(achievement):
                raise Conflict(
                    "Submissions are in a stage now: finish them before turning stages off."
                )
            db.session.delete(found)
            _audit_plan(achievement, None, actor, env)
        db.session.commit()
        return None
    if not 1 <= data.due_working_days <= MAX_WORKING_DAYS:
        raise Invalid(
            f"Give each stage between 1 and {MAX_WORKING_DAYS} working days.", "due_working_days"
        )
    if not 0 <= data.remind_working_days < data.due_working_days:
        raise Invalid(
            "Send the reminder fewer working days before the due time than the stage takes.",
            "remind_working_days",
        )
    if data.max_attempts is not None and not 1 <= data.max_attempts <= MAX_ATTEMPTS:
        raise Invalid(f"Allow between 1 and {MAX_ATTEMPTS} attempts, or no limit.", "max_attempts")
    if data.coach_id is not None and data.coach_id not in {a.id for a in coaches(achievement)}:
        raise Invalid("Choose a coach among your organisation's reviewers.", "coach_id")
    if data.max_attempts is not None and data.coach_id is None:
        raise Invalid(
            "Choose the coach educators are referred to after their last attempt.", "coach_id"
        )
    if not data.approval and any(
        m.educator_id is not None
        for m in assessors.pool(achievement, states=("invited", "training", "active"))
    ):
        raise Invalid(
            "Peer assessors are in the pool: keep the final approval, so a staff member signs "
            "off what they assess (or remove them first).",
            "approval",
        )
    if found is None:
        found = AssessmentPlan(achievement_id=achievement.id)
        db.session.add(found)
    found.completeness = data.completeness
    found.approval = data.approval
    found.due_working_days = data.due_working_days
    found.remind_working_days = data.remind_working_days
    found.max_attempts = data.max_attempts
    found.coach_id = data.coach_id
    found.updated_at = env.now
    _audit_plan(achievement, found, actor, env)
    db.session.commit()
    return found


def _audit_plan(
    achievement: Achievement, plan: AssessmentPlan | None, actor: Actor, env: ServiceEnv
) -> None:
    audit.record(
        "achievement.stages",
        actor=actor,
        now=env.now,
        issuer_id=achievement.issuer_id,
        subject_type="achievement",
        subject_id=achievement.public_id,
        detail={"stages": list(plan.stages()) if plan else [], "days": plan.due_working_days}
        if plan
        else {"stages": []},
    )


def coaches(achievement: Achievement) -> list[StaffAccount]:
    """Who may coach the achievement's educators: the issuer's active reviewers."""
    issuer = required(db.session.get(Issuer, achievement.issuer_id), "missing issuer")
    return [
        account
        for account, role in staff.members(issuer)
        if role in REVIEWER_ROLES and account.is_active
    ]


def stages_of(submission: Submission) -> list[AssessmentStage]:
    """Every stage of a submission, in the order they opened."""
    return list(
        db.session.scalars(
            select(AssessmentStage)
            .where(AssessmentStage.submission_id == submission.id)
            .order_by(AssessmentStage.id)
        )
    )


def current(submission: Submission) -> AssessmentStage | None:
    """The stage the submission is in now, if any."""
    return db.session.scalar(
        select(AssessmentStage).where(
            AssessmentStage.submission_id == submission.id, AssessmentStage.state == "open"
        )
    )


def current_of(submissions: list[Submission]) -> dict[int, AssessmentStage]:
    """The current stage of each of these submissions that is in one, by submission id."""
    ids = [s.id for s in submissions]
    if not ids:
        return {}
    found = db.session.scalars(
        select(AssessmentStage).where(
            AssessmentStage.submission_id.in_(ids), AssessmentStage.state == "open"
        )
    )
    return {stage.submission_id: stage for stage in found}


def referred_of(submissions: list[Submission]) -> set[int]:
    """The ids of these submissions that are locked with their coach."""
    ids = [s.id for s in submissions]
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(CoachReferral.submission_id).where(
                CoachReferral.submission_id.in_(ids), CoachReferral.released_at.is_(None)
            )
        )
    )


def open_stage(
    submission: Submission, plan: AssessmentPlan, stage: str, attempt: int, now: datetime
) -> AssessmentStage:
    opened = AssessmentStage(
        submission_id=submission.id,
        stage=stage,
        attempt=attempt,
        state="open",
        opened_at=now,
        due_at=add_working_days(now, plan.due_working_days),
        remind_at=add_working_days(now, plan.due_working_days - plan.remind_working_days),
        feedback="",
        ratings={},
    )
    db.session.add(opened)
    assessors.assign(opened, submission, plan, now)
    return opened


def begin(submission: Submission, achievement: Achievement, env: ServiceEnv) -> None:
    """Open the first stage of a (re)submitted portfolio submission whose achievement asks for
    stages (in the caller's transaction)."""
    plan = plan_of(achievement)
    if plan is None or submission.origin != "portfolio":
        return
    db.session.flush()
    attempt = (
        db.session.scalar(
            select(func.max(AssessmentStage.attempt)).where(
                AssessmentStage.submission_id == submission.id
            )
        )
        or 0
    ) + 1
    open_stage(submission, plan, plan.stages()[0], attempt, env.now)


Rated = tuple[str, str, str]


def rounds(
    submission: Submission, version: AchievementVersion
) -> list[tuple[int, list[tuple[AssessmentStage, StaffAccount | None, list[Rated]]]]]:
    """A submission's stages by round, newest first: each stage with who decided it and, for
    the assessment, ``(criterion name, rating, feedback)`` per criterion."""
    names = {c["id"]: c["name"] for c in criteria(version)}
    found: dict[int, list[tuple[AssessmentStage, StaffAccount | None, list[Rated]]]] = {}
    for stage in stages_of(submission):
        rated = [
            (names.get(cid, cid), str(r.get("rating", "")), str(r.get("feedback", "")))
            for cid, r in (stage.ratings or {}).items()
        ]
        decider = db.session.get(StaffAccount, stage.decided_by) if stage.decided_by else None
        found.setdefault(stage.attempt, []).append((stage, decider, rated))
    return sorted(found.items(), key=lambda pair: pair[0], reverse=True)


def criteria(version: AchievementVersion) -> list[dict[str, Any]]:
    """What an assessor rates: the rubric's criteria, or one overall criterion without one."""
    rubric = version.rubric or []
    if rubric:
        return [
            {"id": str(c["id"]), "name": str(c["name"]), "description": c.get("description")}
            for c in rubric
        ]
    return [{"id": "overall", "name": "The evidence as a whole", "description": None}]


def checked_ratings(
    version: AchievementVersion, ratings: dict[str, str], feedback: dict[str, str]
) -> dict[str, dict[str, str]]:
    """The assessor's rating and feedback for every criterion.

    :raises ServiceError: for a criterion not rated, or rated "not yet" without feedback.
    """
    checked: dict[str, dict[str, str]] = {}
    for criterion in criteria(version):
        cid = criterion["id"]
        rating = ratings.get(cid, "")
        text = (feedback.get(cid) or "").strip()
        if rating not in ("demonstrated", "not_yet"):
            raise Invalid(f"Rate “{criterion['name']}”: demonstrated or not yet.", f"rating-{cid}")
        if len(text) > MAX_FEEDBACK:
            raise Invalid("Keep the feedback under 10,000 characters.", f"feedback-{cid}")
        if rating == "not_yet" and not text:
            raise Invalid(
                f"Say what is still missing for “{criterion['name']}”.", f"feedback-{cid}"
            )
        checked[cid] = {"rating": rating, "feedback": text}
    return checked


def claim(
    stage: AssessmentStage,
    state: str,
    reviewer: StaffAccount | None,
    env: ServiceEnv,
    *,
    member: AssessorPoolMember | None = None,
) -> None:
    """Close the stage in this transaction, or raise: two reviewers deciding the same stage at
    once must not both succeed (the conditional UPDATE takes the row lock). A peer assessor
    (``member``) has no staff account: the stage names their place in the pool."""
    result = db.session.execute(
        update(AssessmentStage)
        .where(AssessmentStage.id == stage.id, AssessmentStage.state == "open")
        .values(
            state=state,
            decided_at=env.now,
            decided_by=reviewer.id if reviewer else None,
            decided_by_member=member.id if member else None,
        )
        .execution_options(synchronize_session="fetch")
    )
    if getattr(result, "rowcount", 0) != 1:
        raise Conflict("This stage has just been decided by someone else.")


@dataclass(frozen=True)
class StageDecision:
    """What a reviewer decided at a stage."""

    stage: str
    decision: str
    feedback: str = ""
    ratings: dict[str, str] | None = None
    criterion_feedback: dict[str, str] | None = None


def summary(
    stage: str, text: str, ratings: dict[str, dict[str, str]], version: AchievementVersion
) -> str:
    """The feedback the educator is emailed: the stage's, or each criterion not yet shown."""
    if stage != "assessment":
        return text
    names = {c["id"]: c["name"] for c in criteria(version)}
    lines = [
        f"{names.get(cid, cid)}: not yet. {r['feedback']}"
        for cid, r in ratings.items()
        if r["rating"] == "not_yet"
    ]
    return "\n\n".join(([text] if text else []) + lines)


def due_for_reminder(now: datetime) -> list[AssessmentStage]:
    """Open stages whose reminder time has come and that were not reminded yet."""
    return list(
        db.session.scalars(
            select(AssessmentStage)
            .where(
                AssessmentStage.state == "open",
                AssessmentStage.reminded_at.is_(None),
                AssessmentStage.remind_at <= now,
            )
            .order_by(AssessmentStage.due_at, AssessmentStage.id)
        )
    )


def queue_reminders(env: ServiceEnv) -> int:
    """Email the issuer's reviewers about each stage coming due (or overdue) that they were not
    reminded of yet; each stage is claimed once, so two processes never send it twice. Returns
    how many stages were reminded of (committed)."""
    sent = 0
    for stage in due_for_reminder(env.now):
        claimed = db.session.execute(
            update(AssessmentStage)
            .where(AssessmentStage.id == stage.id, AssessmentStage.reminded_at.is_(None))
            .values(reminded_at=env.now)
            .execution_options(synchronize_session="fetch")
        )
        if getattr(claimed, "rowcount", 0) != 1:
            continue
        submission = required(db.session.get(Submission, stage.submission_id), "no submission")
        issuer = required(db.session.get(Issuer, submission.issuer_id), "missing issuer")
        achievement = required(
            db.session.get(Achievement, submission.achievement_id), "missing achievement"
        )
        educator = required(db.session.get(Educator, submission.educator_id), "no educator")
        for account, role in staff.members(issuer):
            if role not in REVIEWER_ROLES or not account.is_active:
                continue
            emails.queue_template(
                "stage_reminder",
                env,
                to=account.email,
                link=f"{env.base_url}/workspace/{issuer.slug}/reviews/{submission.public_id}",
                secret=False,
                issuer_id=issuer.id,
                name=account.name,
                stage=STAGE_LABELS[stage.stage],
                educator_name=educator.name or "an educator",
                achievement_name=achievements.current_version(achievement).name,
                due=stage.due_at.strftime("%A %d %B %Y, %H:%M UTC"),
                overdue=stage.due_at <= env.now,
            )
        # Peer assessors it was given to are reminded too, with the link to their queue.
        for member_id in (stage.assignee_id, stage.second_id):
            member = db.session.get(AssessorPoolMember, member_id) if member_id else None
            peer = (
                db.session.get(Educator, member.educator_id)
                if member and member.educator_id
                else None
            )
            if peer is None or member is None or member.state != "active" or not peer.emails:
                continue
            emails.queue_template(
                "stage_reminder",
                env,
                to=educators.recipient_email(peer),
                link=f"{env.base_url}/me/assessing/{submission.public_id}",
                secret=False,
                issuer_id=issuer.id,
                name=peer.name,
                stage=STAGE_LABELS[stage.stage],
                educator_name="an educator",  # peers do not learn who submitted
                achievement_name=achievements.current_version(achievement).name,
                due=stage.due_at.strftime("%A %d %B %Y, %H:%M UTC"),
                overdue=stage.due_at <= env.now,
            )
        sent += 1
    db.session.commit()
    return sent


def referral(submission: Submission) -> CoachReferral | None:
    """The submission's referral to its coach that is not released yet (it is locked)."""
    return db.session.scalar(
        select(CoachReferral).where(
            CoachReferral.submission_id == submission.id, CoachReferral.released_at.is_(None)
        )
    )


def referrals_of(submission: Submission) -> list[CoachReferral]:
    """Every referral of the submission, oldest first."""
    return list(
        db.session.scalars(
            select(CoachReferral)
            .where(CoachReferral.submission_id == submission.id)
            .order_by(CoachReferral.id)
        )
    )


def attempts_used(submission: Submission, attempt: int) -> int:
    """Rounds up to ``attempt`` assessed since the coach last released the submission (all of
    them if never)."""
    released = db.session.scalar(
        select(func.max(CoachReferral.attempt)).where(
            CoachReferral.submission_id == submission.id, CoachReferral.released_at.is_not(None)
        )
    )
    return attempt - (released or 0)


def attempts_left(submission: Submission, plan: AssessmentPlan | None) -> int | None:
    """How many more rounds the educator may send before a "not yet" refers them to the coach
    (``None``: no limit); the round in progress counts as used."""
    if plan is None or plan.max_attempts is None:
        return None
    latest = (
        db.session.scalar(
            select(func.max(AssessmentStage.attempt)).where(
                AssessmentStage.submission_id == submission.id
            )
        )
        or 0
    )
    return max(plan.max_attempts - attempts_used(submission, latest), 0)


def last_attempt(submission: Submission, plan: AssessmentPlan, attempt: int) -> bool:
    return plan.max_attempts is not None and attempts_used(submission, attempt) >= plan.max_attempts


def refer(
    submission: Submission,
    plan: AssessmentPlan,
    attempt: int,
    achievement: Achievement,
    actor: Actor,
    env: ServiceEnv,
) -> str:
    """Lock the submission and refer it to the plan's coach, who is emailed (in the caller's
    transaction); returns the paragraph the educator's email starts with."""
    coach = db.session.get(StaffAccount, plan.coach_id) if plan.coach_id else None
    db.session.add(
        CoachReferral(
            submission_id=submission.id,
            coach_id=coach.id if coach else None,
            attempt=attempt,
            referred_at=env.now,
            note="",
        )
    )
    audit.record(
        "submission.refer",
        actor=actor,
        now=env.now,
        issuer_id=submission.issuer_id,
        subject_type="submission",
        subject_id=submission.public_id,
        detail={"attempt": attempt, "coach": coach.email if coach else None},
    )
    issuer = required(db.session.get(Issuer, submission.issuer_id), "missing issuer")
    educator = required(db.session.get(Educator, submission.educator_id), "no educator")
    if coach is not None:
        emails.queue_template(
            "coach_referral",
            env,
            to=coach.email,
            link=f"{env.base_url}/workspace/{issuer.slug}/reviews/{submission.public_id}",
            secret=False,
            issuer_id=issuer.id,
            name=coach.name,
            educator_name=educator.name or "An educator",
            achievement_name=achievements.current_version(achievement).name,
            attempts=plan.max_attempts,
        )
    who = coach.name if coach else "a coach"
    return (
        f"This was your last attempt for now: {who} of {issuer.name} will work with you, and "
        "you can send it again once they release it.\n\n"
    )


def release(
    submission: Submission,
    releaser: StaffAccount,
    role: str,
    note: str,
    env: ServiceEnv,
    *,
    ip: str | None = None,
) -> CoachReferral:
    """The coach (or an editor or owner) releases a referred submission: the educator may send
    it again, with a fresh set of attempts, and is emailed the coach's note.

    :raises Conflict: when it is not referred (or someone released it meanwhile).
    :raises Forbidden: for a reviewer who is not its coach.
    :raises ServiceError: for a note that is too long.
    """
    found = referral(submission)
    if found is None:
        raise Conflict("This submission is not waiting for its coach.")
    if found.coach_id != releaser.id and role not in ("owner", "editor"):
        raise Forbidden("Only the coach (or an editor) releases a referred submission.")
    text = note.strip()
    if len(text) > MAX_FEEDBACK:
        raise Invalid("Keep the note under 10,000 characters.", "note")
    claimed = db.session.execute(
        update(CoachReferral)
        .where(CoachReferral.id == found.id, CoachReferral.released_at.is_(None))
        .values(released_at=env.now, released_by=releaser.id, note=text)
        .execution_options(synchronize_session="fetch")
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise Conflict("This submission has just been released by someone else.")
    audit.record(
        "submission.release",
        actor=Actor(releaser, ip=ip),
        now=env.now,
        issuer_id=submission.issuer_id,
        subject_type="submission",
        subject_id=submission.public_id,
        detail={"attempt": found.attempt},
    )
    achievement = required(
        db.session.get(Achievement, submission.achievement_id), "missing achievement"
    )
    educator = required(db.session.get(Educator, submission.educator_id), "no educator")
    emails.queue_template(
        "coach_release",
        env,
        to=educators.recipient_email(educator),
        link=f"{env.base_url}/me/submissions/{submission.public_id}",
        secret=False,
        issuer_id=submission.issuer_id,
        name=educator.name,
        coach_name=releaser.name,
        achievement_name=achievements.current_version(achievement).name,
        note=text,
    )
    db.session.commit()
    emails.deliver_soon(env)
    return found


def ensure_unlocked(submission: Submission) -> None:
    """Refuse to let a referred submission be sent again before its coach releases it.

    :raises Conflict: while it is locked.
    """
    if referral(submission) is not None:
        raise Conflict(
            "This submission is with your coach: you can send it again once they release it."
        )


def get_referral_coach(found: CoachReferral) -> StaffAccount | None:
    """The coach of a referral, if they still have an account."""
    return db.session.get(StaffAccount, found.coach_id) if found.coach_id else None


def reassign_overdue(env: ServiceEnv) -> int:
    """Give each assigned stage whose due time has passed to another pool member who may
    assess it, with a fresh due time (and reminder); a stage nobody else may take stays where
    it is. Returns how many were reassigned (committed)."""
    moved = 0
    for stage in assessors.overdue_assigned(env.now):
        submission = required(db.session.get(Submission, stage.submission_id), "no submission")
        achievement = required(
            db.session.get(Achievement, submission.achievement_id), "missing achievement"
        )
        plan = plan_of(achievement)
        if plan is None:
            continue
        if stage.disputed_at is not None:
            continue  # both ratings are in: it waits for a lead assessor, not an assessor
        # Scored by two: move whichever of them has not rated yet (the first, else the second).
        rated = {r.member_id for r in calibration.blind_ratings(stage)}
        slot = "assignee_id"
        if stage.second_id is not None and stage.assignee_id in rated:
            slot = "second_id"
        before = getattr(stage, slot)
        if before is None or before in rated:
            continue
        member = assessors.choose(
            submission,
            plan,
            stage=stage.stage,
            not_these={m for m in (stage.assignee_id, stage.second_id) if m is not None},
        )
        if member is None:
            continue
        setattr(stage, slot, member.id)
        if slot == "assignee_id":
            stage.assigned_at = env.now
        stage.due_at = add_working_days(env.now, plan.due_working_days)
        stage.remind_at = add_working_days(
            env.now, plan.due_working_days - plan.remind_working_days
        )
        stage.reminded_at = None
        audit.record(
            "submission.stage.reassign",
            actor=Actor(label="due time passed"),
            now=env.now,
            issuer_id=submission.issuer_id,
            subject_type="submission",
            subject_id=submission.public_id,
            detail={"stage": stage.stage, "from": before, "to": member.id},
        )
        moved += 1
    db.session.commit()
    return moved
