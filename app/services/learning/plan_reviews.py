"""Learning plans, the organisation's side: the plans educators shared with it, comments by its
staff (the author is always a staff account, whatever they are to the educator: a reviewer now,
a coach or leader later), its plan-completion achievement, and the approval queue that awards it
through the awarding service with the plan as evidence."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import (
    Achievement,
    Educator,
    Issuer,
    LearningPlan,
    PlanComment,
    PlanCompletionSetting,
    StaffAccount,
)
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, NotFound, required
from app.services._core.transaction import all_or_nothing
from app.services.awarding import issuing
from app.services.awarding.issuing import AwardInput, EvidenceInput
from app.services.learning import educators, plans
from app.services.mail import emails
from app.services.org import achievements, audit
from app.services.org.audit import Actor

#: What a comment's author is to the educator (the coaching and leaders' views add theirs).
AUTHOR_ROLES = ("staff", "coach", "leader")


def shared_with(issuer: Issuer) -> list[tuple[LearningPlan, Educator]]:
    """The plans educators shared with the organisation: those waiting for approval first,
    then the latest school year, then by educator."""
    rows = db.session.execute(
        select(LearningPlan, Educator)
        .join(Educator, Educator.id == LearningPlan.educator_id)
        .where(LearningPlan.issuer_id == issuer.id, LearningPlan.shared_at.is_not(None))
        .order_by(LearningPlan.school_year.desc(), Educator.name, LearningPlan.id)
    ).all()
    found = [(plan, educator) for plan, educator in rows]
    return sorted(found, key=lambda row: row[0].completion_state != "requested")


def waiting_count(issuer: Issuer) -> int:
    """How many completed plans wait for approval."""
    found = db.session.scalar(
        select(func.count())
        .select_from(LearningPlan)
        .where(
            LearningPlan.issuer_id == issuer.id,
            LearningPlan.shared_at.is_not(None),
            LearningPlan.completion_state == "requested",
        )
    )
    return found or 0


def get_for_issuer(issuer: Issuer, public_id: str) -> LearningPlan:
    """A plan shared with the organisation.

    :raises NotFound: for a plan that is not shared with it (private, or another's), alike.
    """
    plan = db.session.scalar(select(LearningPlan).where(LearningPlan.public_id == public_id))
    if plan is None or plan.issuer_id != issuer.id or plan.shared_at is None:
        raise NotFound("There is no such learning plan shared with this organisation.")
    return plan


def educator_of(plan: LearningPlan) -> Educator:
    """The plan's educator."""
    return required(db.session.get(Educator, plan.educator_id), "missing educator")


# ---------------------------------------------------------------------------------- comments


def add_comment(
    plan: LearningPlan,
    author: StaffAccount,
    loaded: dict[str, Any],
    env: ServiceEnv,
    *,
    author_role: str = "staff",
    ip: str | None = None,
) -> PlanComment:
    """A staff account's comment on a plan shared with their organisation (the caller checks
    their role there); the educator sees it on their plan. Audited.

    :raises NotFound: when the plan is not shared (any more).
    """
    if plan.shared_at is None:
        raise NotFound("There is no such learning plan shared with this organisation.")
    if author_role not in AUTHOR_ROLES:
        raise Invalid("Unknown author role.", "author_role")
    comment = PlanComment(
        plan_id=plan.id,
        author_id=author.id,
        author_role=author_role,
        body=loaded["body"],
        created_at=env.now,
    )
    plan.comments.append(comment)
    _tell(plan, "comment", comment.body, env, author=author.name)
    audit.record("plan.comment", actor=Actor(author, ip=ip), now=env.now,
                 issuer_id=plan.issuer_id, subject_type="learning_plan",
                 subject_id=plan.public_id, detail={"role": author_role})  # fmt: skip
    db.session.commit()
    emails.deliver_soon(env)
    return comment


def _tell(plan: LearningPlan, event: str, body: str, env: ServiceEnv, *, author: str = "") -> None:
    """Email the educator a comment or a declined request (in the caller's transaction); an
    educator without a confirmed address reads it on their plan only."""
    educator = educator_of(plan)
    addresses = educators.verified_emails(educator)
    if not addresses:
        return
    emails.queue_template(
        "plan_feedback",
        env,
        to=addresses[0],
        link=f"{env.base_url}/me/plans/{plan.public_id}",
        secret=False,
        issuer_id=plan.issuer_id,
        name=educator.name,
        event=event,
        author=author,
        issuer_name=plan.issuer.name,
        school_year=plan.school_year,
        body=body,
    )


# ------------------------------------------------------------------------ completion badge


def completion_achievement(issuer: Issuer) -> Achievement | None:
    """The achievement the organisation awards for a completed plan, if it named one."""
    found = plans.completion_achievement_id(issuer)
    return db.session.get(Achievement, found) if found is not None else None


def set_completion_achievement(
    issuer: Issuer, public_id: str | None, *, actor: Actor, env: ServiceEnv
) -> Achievement | None:
    """Name (or, with None, stop naming) the plan-completion achievement; audited.

    :raises Invalid: for an achievement that is not the organisation's or is archived.
    """
    setting = db.session.scalar(
        select(PlanCompletionSetting).where(PlanCompletionSetting.issuer_id == issuer.id)
    )
    achievement = None
    if public_id:
        try:
            achievement = achievements.get(issuer, public_id)
        except NotFound as missing:
            raise Invalid(
                "Choose one of this organisation's achievements.", "achievement"
            ) from missing
        if achievement.archived_at is not None:
            raise Invalid("That achievement is archived; choose another.", "achievement")
    if achievement is None:
        if setting is not None:
            db.session.delete(setting)
    elif setting is None:
        db.session.add(
            PlanCompletionSetting(
                issuer_id=issuer.id, achievement_id=achievement.id, updated_at=env.now
            )
        )
    else:
        setting.achievement_id = achievement.id
        setting.updated_at = env.now
    named = achievement.public_id if achievement else None
    audit.record("plan.completion_achievement", actor=actor, now=env.now, issuer_id=issuer.id,
                 subject_type="achievement", subject_id=named,
                 detail={"achievement": named})  # fmt: skip
    db.session.commit()
    return achievement


def request_completion(plan: LearningPlan, educator: Educator, env: ServiceEnv) -> None:
    """Ask the organisation to approve the completed plan for its plan-completion badge.

    :raises Conflict: when the organisation names no such badge, the plan is not shared or
        not complete, or the request is already made or decided.
    """
    if plan.completion_state in ("requested", "approved"):
        raise Conflict("You have already asked for approval of this plan.")
    if completion_achievement(plan.issuer) is None:
        raise Conflict(f"{plan.issuer.name} does not award a badge for completed plans yet.")
    if plan.shared_at is None:
        raise Conflict(f"Share your plan with {plan.issuer.name} first, so they can read it.")
    if not plans.is_complete(plans.progress(plan, educator, env)):
        raise Conflict("Complete every goal first: each chosen module and badge done.")
    if not educators.verified_emails(educator):
        raise Conflict("Confirm an email address first: the badge is awarded to it.")
    plan.completion_state = "requested"
    plan.completion_requested_at = env.now
    plan.completion_reason = None
    plan.updated_at = env.now
    audit.record("plan.completion_request", actor=educators.actor(educator), now=env.now,
                 issuer_id=plan.issuer_id, subject_type="learning_plan",
                 subject_id=plan.public_id, detail={"educator": educator.id})  # fmt: skip
    db.session.commit()


def withdraw_request(plan: LearningPlan, educator: Educator, env: ServiceEnv) -> None:
    """Withdraw a request that is still waiting.

    :raises Conflict: when none is waiting.
    """
    if plan.completion_state != "requested":
        raise Conflict("No request of this plan is waiting for approval.")
    plan.completion_state = None
    plan.completion_requested_at = None
    plan.updated_at = env.now
    audit.record("plan.completion_withdraw", actor=educators.actor(educator), now=env.now,
                 issuer_id=plan.issuer_id, subject_type="learning_plan",
                 subject_id=plan.public_id, detail={"educator": educator.id})  # fmt: skip
    db.session.commit()


def _claim(plan: LearningPlan, state: str, reviewer: StaffAccount, env: ServiceEnv) -> None:
    """Move the request out of ``requested`` in this transaction, or raise: two staff deciding
    at once must not both succeed (nor award twice)."""
    result = db.session.execute(
        update(LearningPlan)
        .where(LearningPlan.id == plan.id, LearningPlan.completion_state == "requested")
        .values(
            completion_state=state,
            completion_decided_at=env.now,
            completion_decided_by_id=reviewer.id,
            updated_at=env.now,
        )
        .execution_options(synchronize_session="fetch")
    )
    if getattr(result, "rowcount", 0) != 1:
        raise Conflict("This plan is not waiting for approval (it may just have been decided).")


def _narrative(plan: LearningPlan) -> str:
    goals = "; ".join(goal.title for goal in plan.goals)
    text = f"Individual learning plan {plan.school_year}. Vision: {plan.vision} Goals: {goals}."
    return text if len(text) <= 2000 else text[:1999].rstrip() + "…"


def approve(
    plan: LearningPlan, reviewer: StaffAccount, env: ServiceEnv, *, ip: str | None = None
) -> LearningPlan:
    """Award the plan-completion badge to the educator, with the plan (and its showcase, when
    published) as evidence; the decision and the credential are committed together.

    :raises Conflict: when the plan is not waiting, or the organisation names no badge.
    """
    if plan.completion_state != "requested":
        raise Conflict("This plan is not waiting for approval.")
    achievement = completion_achievement(plan.issuer)
    if achievement is None:
        raise Conflict("Name the plan-completion achievement first (Learning plans, settings).")
    educator = educator_of(plan)
    showcase = plans.showcase_url(plan, env)
    evidence = EvidenceInput(
        url=showcase, name=f"Learning plan {plan.school_year}", narrative=_narrative(plan)
    )
    award = AwardInput(
        email=educators.recipient_email(educator),
        name=educator.credential_name,
        narrative=plan.vision or None,
        evidence=(evidence,),
        claimed=True,
    )
    actor = Actor(reviewer, ip=ip)

    def record(credential_id: str) -> None:
        _claim(plan, "approved", reviewer, env)
        plan.completion_credential_id = credential_id
        audit.record("plan.completion_approve", actor=actor, now=env.now,
                     issuer_id=plan.issuer_id, subject_type="learning_plan",
                     subject_id=plan.public_id, detail={"credential": credential_id})  # fmt: skip

    with all_or_nothing():
        issuing.award(plan.issuer, achievement, award, actor=actor, env=env, notify=True,
                      on_store=lambda credential: record(credential.id))  # fmt: skip
    db.session.refresh(plan)
    return plan


def decline(
    plan: LearningPlan,
    reviewer: StaffAccount,
    loaded: dict[str, Any],
    env: ServiceEnv,
    *,
    ip: str | None = None,
) -> None:
    """Decline the request with a reason the educator reads (they may change the plan and ask
    again). Audited.

    :raises Conflict: when the plan is not waiting.
    """
    _claim(plan, "declined", reviewer, env)
    plan.completion_reason = loaded["reason"]
    _tell(plan, "decline", loaded["reason"], env)
    audit.record("plan.completion_decline", actor=Actor(reviewer, ip=ip), now=env.now,
                 issuer_id=plan.issuer_id, subject_type="learning_plan",
                 subject_id=plan.public_id, detail={})  # fmt: skip
    db.session.commit()
    emails.deliver_soon(env)
