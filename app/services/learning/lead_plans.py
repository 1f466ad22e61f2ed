"""Learning plans and coaching as leaders and coaches see them: the dashboard panels "Plan
goals by standard" and "Coaching sessions delivered against plan" (aggregates only), and the
shared plans a leader (of the educator's school or the whole organisation) or a coach (of the
educator) may read and comment on.

What they read is exactly what the organisation's staff see of a shared plan (goals, progress,
shared reflections, comments); a plan that is not shared, or an educator outside their scope,
answers 404 like a plan that does not exist. Comments go through ``plan_reviews.add_comment``
with the author's role (``leader`` or ``coach``), which the educator sees.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import (
    CoachingPlan,
    Educator,
    EducatorEmail,
    Issuer,
    LearningPlan,
    PlanComment,
    StaffAccount,
)
from app.services._core.env import ServiceEnv
from app.services._core.errors import NotFound
from app.services.learning import coaching, coaching_sessions, plan_reviews, plans
from app.services.learning.leadership import (
    Chart,
    Context,
    PanelData,
    People,
    Placement,
    months_between,
    standard_label,
)
from app.services.org.schools import LeaderScope

NOT_SHARED = "There is no such learning plan shared with you."


# ------------------------------------------------------------------------------ whose plans


def _school_years(ctx: Context) -> set[str]:
    """The plans' school years (``2026-2027``) that overlap the dashboard's period."""
    return {plans.school_year_of(m) for m in months_between(ctx.filters.start, ctx.filters.end)}


def _in_scope(scope: LeaderScope, place: Placement) -> bool:
    """Whether a leader's appointment covers an educator working there (the whole
    organisation's covers educators on no roster too)."""
    return scope.whole_organisation or place.school_id in scope.school_ids


def shared_in_scope(
    issuer: Issuer, scope: LeaderScope, people: People
) -> list[tuple[LearningPlan, Educator, Placement]]:
    """The plans shared with the organisation whose educators the leader's scope covers."""
    return [
        (plan, educator, place)
        for plan, educator in plan_reviews.shared_with(issuer)
        if _in_scope(scope, place := people.place(educator_id=educator.id))
    ]


def get_for_leader(
    issuer: Issuer, scope: LeaderScope, people: People, public_id: str
) -> LearningPlan:
    """A shared plan of an educator in the leader's scope.

    :raises NotFound: for a plan not shared with the organisation, or outside the scope.
    """
    plan = plan_reviews.get_for_issuer(issuer, public_id)
    if not scope.leads_anything or not _in_scope(scope, people.place(educator_id=plan.educator_id)):
        raise NotFound(NOT_SHARED)
    return plan


def comment_as_leader(
    issuer: Issuer,
    scope: LeaderScope,
    people: People,
    public_id: str,
    author: StaffAccount,
    loaded: dict[str, Any],
    env: ServiceEnv,
    *,
    ip: str | None = None,
) -> PlanComment:
    """A leader's comment on a shared plan in their scope (role ``leader``).

    :raises NotFound: as :func:`get_for_leader`.
    """
    plan = get_for_leader(issuer, scope, people, public_id)
    return plan_reviews.add_comment(plan, author, loaded, env, author_role="leader", ip=ip)


def _educators_of(coaching_plan: CoachingPlan) -> set[int]:
    """The educators (accounts) on a coaching plan, by their confirmed addresses."""
    addresses = [p.email for p in coaching_plan.participants]
    if not addresses:
        return set()
    return set(
        db.session.scalars(
            select(EducatorEmail.educator_id).where(
                EducatorEmail.email.in_(addresses), EducatorEmail.verified_at.is_not(None)
            )
        )
    )


def coached_plans(coaching_plan: CoachingPlan) -> list[tuple[LearningPlan, Educator]]:
    """The learning plans the coaching plan's educators shared with its organisation."""
    mine = _educators_of(coaching_plan)
    return [(p, e) for p, e in plan_reviews.shared_with(coaching_plan.issuer) if e.id in mine]


def get_for_coach(
    coaching_plan: CoachingPlan, account: StaffAccount, public_id: str
) -> LearningPlan:
    """A shared plan of an educator on the coaching plan, for its coach.

    :raises Forbidden: unless ``account`` is the plan's coach.
    :raises NotFound: for a plan not shared, or of an educator not on the coaching plan.
    """
    coaching.require_coach(coaching_plan, account)
    plan = plan_reviews.get_for_issuer(coaching_plan.issuer, public_id)
    if plan.educator_id not in _educators_of(coaching_plan):
        raise NotFound(NOT_SHARED)
    return plan


def comment_as_coach(
    coaching_plan: CoachingPlan,
    account: StaffAccount,
    public_id: str,
    loaded: dict[str, Any],
    env: ServiceEnv,
    *,
    ip: str | None = None,
) -> PlanComment:
    """The coach's comment on a shared plan of one of their educators (role ``coach``).

    :raises Forbidden, NotFound: as :func:`get_for_coach`.
    """
    plan = get_for_coach(coaching_plan, account, public_id)
    return plan_reviews.add_comment(plan, account, loaded, env, author_role="coach", ip=ip)


# ------------------------------------------------------------------------------ panels


def plan_goals(ctx: Context) -> PanelData:
    """Goals of the plans shared with the organisation for the period's school years, by the
    standards they align to, with how many are complete (by ``plans.progress``)."""
    if ctx.env is None:
        raise ValueError("The plan-goals panel measures progress: give the context an env.")
    env = ctx.env
    years = _school_years(ctx)
    goals: dict[tuple[str, str], int] = defaultdict(int)
    complete: dict[tuple[str, str], int] = defaultdict(int)
    planners: dict[tuple[str, str], set[int]] = defaultdict(set)
    shared = all_goals = all_complete = unaligned = 0
    for plan, educator in plan_reviews.shared_with(ctx.issuer):
        if plan.school_year not in years:
            continue
        if not ctx.counts(ctx.people.place(educator_id=educator.id)):
            continue
        shared += 1
        for progress in plans.progress(plan, educator, env):
            all_goals += 1
            all_complete += progress.complete
            standards = {
                (standard_label(s), str(s.get("target_framework") or ""))
                for s in progress.goal.standards or []
                if standard_label(s)
            }
            if not standards:
                unaligned += 1
            for standard in standards:
                goals[standard] += 1
                complete[standard] += progress.complete
                planners[standard].add(educator.id)
    ordered = sorted(goals, key=lambda s: (-goals[s], s[0].lower()))
    rows: list[list[Any]] = [
        [s[0], s[1], goals[s], complete[s], _share(complete[s], goals[s]), len(planners[s])]
        for s in ordered
    ]
    return PanelData(
        key="plan_goals",
        title="Plan goals by standard",
        description="Goals of the learning plans educators shared with the organisation for "
        "the period's school years, by the standards they align to (a goal aligned to two "
        "standards counts for each), and how many are complete.",
        columns=["Standard", "Framework", "Goals", "Complete", "% complete", "Educators"],
        rows=rows,
        chart=Chart("bars", "plan goals", [(s[0], goals[s]) for s in ordered[:12]]),
        figures=[
            ("Shared plans", f"{shared:,}"),
            ("Goals", f"{all_goals:,}"),
            ("Goals complete", f"{all_complete:,}"),
        ],
        note=(
            f"{unaligned:,} goal{'s' if unaligned != 1 else ''} aligned to no standard. Plans "
            "not shared with the organisation are not counted."
        )
        if unaligned
        else "Plans not shared with the organisation are not counted.",
    )


def _percent(part: int, whole: int) -> int:
    return round(part * 100 / whole) if whole else 0


def _share(part: int, whole: int) -> str:
    return f"{round(part * 100 / whole)}%" if whole else "-"


def coaching_delivery(ctx: Context) -> PanelData:
    """Each coaching plan of the schools counted (all of them, teams too, for the whole
    organisation): sessions agreed and delivered by mode (``coaching_sessions.delivery``)."""
    ids = ctx.filters.school_ids
    found = db.session.scalars(
        select(CoachingPlan)
        .where(CoachingPlan.issuer_id == ctx.issuer.id)
        .order_by(CoachingPlan.created_at, CoachingPlan.id)
    )
    rows: list[list[Any]] = []
    series: list[tuple[str, float]] = []
    agreed_n = delivered_n = 0
    for plan in found:
        if ids is not None and plan.school_id not in ids:
            continue
        done = coaching_sessions.delivery(plan)
        label = coaching.plan_label(plan)
        rows.append(
            [
                label,
                plan.coach.name,
                plan.coaching_type.name,
                done.face_to_face_agreed,
                done.face_to_face,
                done.virtual_agreed,
                done.virtual,
                _share(done.delivered, done.agreed),
            ]
        )
        series.append((label, float(_percent(done.delivered, done.agreed))))
        agreed_n += done.agreed
        delivered_n += done.delivered
    return PanelData(
        key="coaching",
        title="Coaching sessions delivered against plan",
        description="Each coaching plan of these schools: the sessions agreed and those "
        "delivered so far, face to face and virtual (a session every educator in it said did "
        "not happen as logged is not counted).",
        columns=[
            "Plan",
            "Coach",
            "Focus",
            "Face to face agreed",
            "Face to face delivered",
            "Virtual agreed",
            "Virtual delivered",
            "Delivered",
        ],
        rows=rows,
        chart=Chart("bars", "% of agreed sessions delivered", series[:12]),
        figures=[
            ("Coaching plans", f"{len(rows):,}"),
            ("Sessions agreed", f"{agreed_n:,}"),
            ("Delivered", f"{delivered_n:,}"),
        ],
        note="The job-role filter does not apply: a coaching plan is counted by its school.",
    )
