"""Individual learning plans, the educator's side: a plan per school year within one
organisation (the one whose framework they plan with), its vision and two to four goals aligned
to the organisation's standards, progress per goal computed from what actually happened
(module progress, portfolio items, credentials earned), dated reflections, sharing the plan with
the organisation, and the public showcase (only what the educator selected).

Staff comments and the plan-completion badge are in ``plan_reviews``; the PDF in ``plan_export``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import (
    MAX_GOALS,
    MIN_GOALS,
    Achievement,
    Educator,
    Enrolment,
    IssuedCredential,
    Issuer,
    LearningPlan,
    Module,
    PlanCompletionSetting,
    PlanGoal,
    PlanReflection,
    PortfolioItem,
)
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, NotFound
from app.services.learning import educators, portfolio
from app.services.learning import progress as module_progress
from app.services.org import achievements

#: A chosen module's state in words (pages and the PDF).
MODULE_STATES = {
    "not_enrolled": "not started",
    "in_progress": "in progress",
    "in_review": "with a reviewer",
    "returned": "returned for changes",
    "awarded": "complete",
    "withdrawn": "withdrawn",
}

# --------------------------------------------------------------------------- organisations


def school_year_of(day: date) -> str:
    """The school year a day falls in (from 1 August): ``2026-2027`` for 5 December 2026."""
    start = day.year if day.month >= 8 else day.year - 1
    return f"{start}-{start + 1}"


def current_school_year(env: ServiceEnv) -> str:
    """This school year, for a new plan's default."""
    return school_year_of(env.now.astimezone(UTC).date())


def organisations_for(educator: Educator) -> list[Issuer]:
    """The organisations an educator may plan with: those whose modules they are enrolled in
    or whose credentials they hold, by name."""
    enrolled = set(
        db.session.scalars(
            select(Module.issuer_id)
            .join(Enrolment, Enrolment.module_id == Module.id)
            .where(Enrolment.educator_id == educator.id)
        )
    )
    held = {c.issuer_id for c in educators.credentials_of(educator)}
    ids = enrolled | held
    if not ids:
        return []
    return list(db.session.scalars(select(Issuer).where(Issuer.id.in_(ids)).order_by(Issuer.name)))


def organisation_for(educator: Educator, slug: str) -> Issuer:
    """One of :func:`organisations_for`.

    :raises Invalid: for any other organisation (it is not theirs to plan with).
    """
    for issuer in organisations_for(educator):
        if issuer.slug == slug:
            return issuer
    raise Invalid(
        "Choose an organisation whose modules you are enrolled in or whose credentials you hold.",
        "organisation",
    )


# ------------------------------------------------------------------------------- framework


@dataclass(frozen=True)
class Standard:
    """One standard of an organisation's framework (an alignment of its achievements)."""

    key: str
    name: str
    framework: str | None
    url: str | None

    def stored(self) -> dict[str, Any]:
        """As a goal keeps it."""
        return {
            "target_name": self.name,
            "target_framework": self.framework,
            "target_url": self.url,
        }


def standard_key(alignment: dict[str, Any]) -> str:
    """A short stable key for an alignment (its name, framework and URL)."""
    text = "\x1f".join(
        str(alignment.get(k) or "") for k in ("target_name", "target_framework", "target_url")
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def framework(issuer: Issuer) -> list[Standard]:
    """The distinct alignments of the organisation's current achievements, by framework then
    name."""
    found: dict[str, Standard] = {}
    for _, version in achievements.list_for(issuer):
        for alignment in version.alignments or []:
            if not alignment.get("target_name"):
                continue
            key = standard_key(alignment)
            found.setdefault(
                key,
                Standard(
                    key=key,
                    name=str(alignment["target_name"]),
                    framework=alignment.get("target_framework") or None,
                    url=alignment.get("target_url") or None,
                ),
            )
    return sorted(found.values(), key=lambda s: ((s.framework or "").lower(), s.name.lower()))


@dataclass(frozen=True)
class Choices:
    """What a goal may be aligned to and aim at, within the plan's organisation."""

    standards: list[Standard]
    modules: list[Module]
    achievements: list[tuple[Achievement, str]]
    items: list[PortfolioItem]


def choices(plan: LearningPlan, educator: Educator) -> Choices:
    """The organisation's standards, its modules the educator may take (published open ones,
    and any they are enrolled in), its current achievements, and the educator's items."""
    enrolled = set(
        db.session.scalars(select(Enrolment.module_id).where(Enrolment.educator_id == educator.id))
    )
    modules = [
        m
        for m in db.session.scalars(
            select(Module).where(Module.issuer_id == plan.issuer_id).order_by(Module.title)
        )
        if m.id in enrolled or (m.published and m.enrolment_mode == "open")
    ]
    # The plan-completion badge recognises the plan itself: it is no step toward a goal.
    completion = completion_achievement_id(plan.issuer)
    return Choices(
        standards=framework(plan.issuer),
        modules=modules,
        achievements=[
            (a, v.name) for a, v in achievements.list_for(plan.issuer) if a.id != completion
        ],
        items=portfolio.items_of(educator),
    )


def completion_achievement_id(issuer: Issuer) -> int | None:
    """The id of the achievement the organisation awards for a completed plan, if any."""
    return db.session.scalar(
        select(PlanCompletionSetting.achievement_id).where(
            PlanCompletionSetting.issuer_id == issuer.id
        )
    )


# ------------------------------------------------------------------------------------ plans


def plans_of(educator: Educator) -> list[LearningPlan]:
    """The educator's plans, the latest school year first."""
    return list(
        db.session.scalars(
            select(LearningPlan)
            .where(LearningPlan.educator_id == educator.id)
            .order_by(LearningPlan.school_year.desc())
        )
    )


def get_for_educator(educator: Educator, public_id: str) -> LearningPlan:
    """One of the educator's plans.

    :raises NotFound: for anyone else's (the two look the same).
    """
    plan = db.session.scalar(select(LearningPlan).where(LearningPlan.public_id == public_id))
    if plan is None or plan.educator_id != educator.id:
        raise NotFound("There is no such learning plan of yours.")
    return plan


def create(educator: Educator, loaded: dict[str, Any], env: ServiceEnv) -> LearningPlan:
    """Start a plan for a school year (``loaded`` by ``schemas.plans.load_new_plan``).

    :raises Invalid: for an organisation they may not plan with.
    :raises Conflict: when they already have a plan for that year.
    """
    issuer = organisation_for(educator, loaded["organisation"])
    year = loaded["school_year"]
    if any(p.school_year == year for p in plans_of(educator)):
        raise Conflict(f"You already have a plan for {year}; open it to change it.", "school_year")
    plan = LearningPlan(
        public_id=str(uuid.uuid4()),
        educator_id=educator.id,
        issuer_id=issuer.id,
        school_year=year,
        vision="",
        showcase_intro="",
        showcase_items=[],
        showcase_credentials=[],
        created_at=env.now,
        updated_at=env.now,
    )
    db.session.add(plan)
    db.session.commit()
    return plan


def _require_open(plan: LearningPlan) -> None:
    """:raises Conflict: once the plan-completion badge is asked for or awarded."""
    if plan.completion_state == "requested":
        raise Conflict(
            "Your plan is waiting for approval; withdraw the request to change it.", None
        )
    if plan.completion_state == "approved":
        raise Conflict("Your plan was approved as complete; it can no longer be changed.", None)


def update_vision(plan: LearningPlan, loaded: dict[str, Any], env: ServiceEnv) -> None:
    """Set the vision statement and the research question."""
    _require_open(plan)
    plan.vision = loaded["vision"]
    plan.research_question = loaded["research_question"] or None
    plan.updated_at = env.now
    db.session.commit()


def delete(plan: LearningPlan) -> None:
    """Remove a plan with its goals, reflections and comments (an approved plan stays: its
    badge cites it).

    :raises Conflict: when it was approved as complete.
    """
    if plan.completion_state == "approved":
        raise Conflict("This plan was approved as complete; its badge cites it, so it stays.")
    db.session.delete(plan)
    db.session.commit()


# ------------------------------------------------------------------------------------ goals


def get_goal(plan: LearningPlan, goal_id: int) -> PlanGoal:
    """One goal of the plan.

    :raises NotFound: for any other.
    """
    for goal in plan.goals:
        if goal.id == goal_id:
            return goal
    raise NotFound("There is no such goal in this plan.")


def _goal_fields(plan: LearningPlan, educator: Educator, loaded: dict[str, Any]) -> dict[str, Any]:
    """The goal's fields, every choice checked against what the plan offers.

    :raises Invalid: naming the field of a choice that is not offered.
    """
    offered = choices(plan, educator)
    by_key = {s.key: s for s in offered.standards}
    unknown = [k for k in loaded["standards"] if k not in by_key]
    if unknown:
        raise Invalid("Choose standards from the organisation's framework.", "standards")
    module_ids = {m.public_id for m in offered.modules}
    if any(m not in module_ids for m in loaded["modules"]):
        raise Invalid("Choose modules of this organisation that you can take.", "modules")
    achievement_ids = {a.public_id for a, _ in offered.achievements}
    if any(a not in achievement_ids for a in loaded["achievements"]):
        raise Invalid("Choose badges this organisation awards.", "achievements")
    item_ids = {i.public_id for i in offered.items}
    if any(i not in item_ids for i in loaded["items"]):
        raise Invalid("Choose items from your own portfolio.", "items")
    return {
        "title": loaded["title"],
        "description": loaded["description"],
        "standards": [by_key[k].stored() for k in dict.fromkeys(loaded["standards"])],
        "modules": list(dict.fromkeys(loaded["modules"])),
        "achievements": list(dict.fromkeys(loaded["achievements"])),
        "items": list(dict.fromkeys(loaded["items"])),
        "evidence": loaded["evidence"],
        "target_date": loaded["target_date"],
    }


def add_goal(
    plan: LearningPlan, educator: Educator, loaded: dict[str, Any], env: ServiceEnv
) -> PlanGoal:
    """Add a goal (``loaded`` by ``schemas.plans.load_goal``).

    :raises Conflict: when the plan has four goals already.
    :raises Invalid: for a choice the plan does not offer.
    """
    _require_open(plan)
    if len(plan.goals) >= MAX_GOALS:
        raise Conflict(f"A plan has at most {MAX_GOALS} goals; change or remove one.")
    fields = _goal_fields(plan, educator, loaded)
    goal = PlanGoal(plan_id=plan.id, position=len(plan.goals) + 1, **fields)
    plan.goals.append(goal)
    plan.updated_at = env.now
    db.session.commit()
    return goal


def update_goal(
    goal: PlanGoal, educator: Educator, loaded: dict[str, Any], env: ServiceEnv
) -> PlanGoal:
    """Change a goal.

    :raises Invalid: for a choice the plan does not offer.
    """
    _require_open(goal.plan)
    for name, value in _goal_fields(goal.plan, educator, loaded).items():
        setattr(goal, name, value)
    goal.plan.updated_at = env.now
    db.session.commit()
    return goal


def delete_goal(goal: PlanGoal, env: ServiceEnv) -> None:
    """Remove a goal (its reflections stay, about the plan as a whole)."""
    plan = goal.plan
    _require_open(plan)
    for reflection in plan.reflections:
        if reflection.goal_id == goal.id:
            reflection.goal_id = None
    plan.goals.remove(goal)
    for position, rest in enumerate(plan.goals, start=1):
        rest.position = position
    plan.updated_at = env.now
    db.session.commit()


def require_goals(plan: LearningPlan, doing: str) -> None:
    """:raises Conflict: when the plan has fewer than two goals (``doing``: what waits)."""
    if len(plan.goals) < MIN_GOALS:
        raise Conflict(f"Give your plan at least {MIN_GOALS} goals before {doing}.")


# --------------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class ModuleStep:
    """A chosen module and where the educator is with it."""

    public_id: str
    title: str
    state: str  # not_enrolled, in_progress, in_review, returned, awarded, withdrawn
    percent: int

    @property
    def done(self) -> bool:
        return self.state == "awarded"


@dataclass(frozen=True)
class BadgeStep:
    """A chosen badge and the credential that earned it, if any."""

    public_id: str
    name: str
    credential: IssuedCredential | None

    @property
    def done(self) -> bool:
        return self.credential is not None


@dataclass(frozen=True)
class GoalProgress:
    """A goal's progress from what actually happened."""

    goal: PlanGoal
    modules: list[ModuleStep]
    badges: list[BadgeStep]
    items: list[PortfolioItem]

    @property
    def measured(self) -> int:
        """How many steps (modules and badges) the goal is measured by."""
        return len(self.modules) + len(self.badges)

    @property
    def percent(self) -> int:
        """0-100: each badge earned counts whole, each module by its progress (a module whose
        badge is awarded is whole); with nothing chosen, evidence collected counts."""
        if not self.measured:
            return 100 if self.items else 0
        parts = sum(100 if m.done else min(m.percent, 99) for m in self.modules)
        parts += sum(100 for b in self.badges if b.done)
        return parts // self.measured

    @property
    def complete(self) -> bool:
        """Every chosen module and badge done (and something chosen or collected)."""
        if not self.measured:
            return bool(self.items)
        return all(m.done for m in self.modules) and all(b.done for b in self.badges)


def _held(educator: Educator, env: ServiceEnv) -> dict[int, IssuedCredential]:
    """The educator's valid credentials by achievement (the earliest awarded of each)."""
    held: dict[int, IssuedCredential] = {}
    for credential in sorted(educators.credentials_of(educator), key=lambda c: c.issued_at):
        if credential.status_at(env.now) == "valid":
            held.setdefault(credential.achievement_id, credential)
    return held


def progress(plan: LearningPlan, educator: Educator, env: ServiceEnv) -> list[GoalProgress]:
    """Every goal's progress, from the educator's enrolments, credentials and items."""
    held = _held(educator, env)
    wanted_modules = {m for g in plan.goals for m in g.modules}
    modules = {
        m.public_id: m
        for m in db.session.scalars(
            select(Module).where(
                Module.public_id.in_(wanted_modules), Module.issuer_id == plan.issuer_id
            )
        )
    }
    enrolled = {
        e.module_id: e
        for e in db.session.scalars(select(Enrolment).where(Enrolment.educator_id == educator.id))
    }
    wanted_badges = {a for g in plan.goals for a in g.achievements}
    badges = {
        a.public_id: (a, name)
        for a, name in (
            (a, v.name)
            for a, v in achievements.list_for(plan.issuer, include_archived=True)
            if a.public_id in wanted_badges
        )
    }
    items = {i.public_id: i for i in portfolio.items_of(educator)}
    found = []
    for goal in plan.goals:
        steps = []
        for public_id in goal.modules:
            module = modules.get(public_id)
            if module is None:
                continue
            enrolment = enrolled.get(module.id)
            if enrolment is None:
                steps.append(ModuleStep(public_id, module.title, "not_enrolled", 0))
            else:
                percent = module_progress.progress(enrolment).percent
                state = enrolment.state
                steps.append(ModuleStep(public_id, module.title, state, percent))
        earned = [
            BadgeStep(public_id, badges[public_id][1], held.get(badges[public_id][0].id))
            for public_id in goal.achievements
            if public_id in badges
        ]
        evidence = [items[i] for i in goal.items if i in items]
        found.append(GoalProgress(goal, steps, earned, evidence))
    return found


def is_complete(goals: list[GoalProgress]) -> bool:
    """Whether a plan's goals (at least two) are all complete."""
    return len(goals) >= MIN_GOALS and all(g.complete for g in goals)


# ------------------------------------------------------------------------------ reflections


def add_reflection(plan: LearningPlan, loaded: dict[str, Any], env: ServiceEnv) -> PlanReflection:
    """Write a dated reflection (``loaded`` by ``schemas.plans.load_reflection``): private
    unless ``shared``.

    :raises Invalid: for a goal of another plan.
    """
    goal_id = loaded["goal"]
    if goal_id is not None and all(g.id != goal_id for g in plan.goals):
        raise Invalid("Choose one of this plan's goals, or none.", "goal")
    reflection = PlanReflection(
        plan_id=plan.id,
        goal_id=goal_id,
        written_on=loaded["written_on"],
        body=loaded["body"],
        shared=bool(loaded["shared"]),
        on_showcase=False,
        created_at=env.now,
    )
    plan.reflections.append(reflection)
    plan.updated_at = env.now
    db.session.commit()
    return reflection


def get_reflection(plan: LearningPlan, reflection_id: int) -> PlanReflection:
    """One of the plan's reflections.

    :raises NotFound: for any other.
    """
    for reflection in plan.reflections:
        if reflection.id == reflection_id:
            return reflection
    raise NotFound("There is no such reflection in this plan.")


def set_reflection_shared(reflection: PlanReflection, shared: bool, env: ServiceEnv) -> None:
    """Share a reflection with the organisation's staff, or make it private again."""
    reflection.shared = shared
    reflection.plan.updated_at = env.now
    db.session.commit()


def delete_reflection(reflection: PlanReflection, env: ServiceEnv) -> None:
    """Remove a reflection."""
    plan = reflection.plan
    plan.reflections.remove(reflection)
    plan.updated_at = env.now
    db.session.commit()


def shared_reflections(plan: LearningPlan) -> list[PlanReflection]:
    """What the organisation's staff may read: the reflections the educator shared."""
    return [r for r in plan.reflections if r.shared]


# ---------------------------------------------------------------------------------- sharing


def set_shared(plan: LearningPlan, shared: bool, env: ServiceEnv) -> None:
    """Share the plan with its organisation's staff (they see it, its progress and the shared
    reflections, and may comment), or stop sharing it.

    :raises Conflict: to share a plan of fewer than two goals, or to stop sharing one waiting
        for approval.
    """
    if shared:
        require_goals(plan, "sharing it")
        plan.shared_at = plan.shared_at or env.now
    else:
        if plan.completion_state == "requested":
            raise Conflict("Your plan is waiting for approval; withdraw the request first.")
        plan.shared_at = None
    plan.updated_at = env.now
    db.session.commit()


# --------------------------------------------------------------------------------- showcase


def _slug_base(text: str) -> str:
    flat = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", flat).strip("-")[:40].strip("-") or "educator"


def showcase_choices(
    plan: LearningPlan, educator: Educator, env: ServiceEnv
) -> tuple[list[PortfolioItem], list[IssuedCredential]]:
    """What may be selected for the showcase: the educator's portfolio items, and their
    credentials that are public and in good standing."""
    credentials = [
        c
        for c in educators.credentials_of(educator)
        if not c.is_private and c.status_at(env.now) in ("valid", "expired")
    ]
    return portfolio.items_of(educator), credentials


def save_showcase(
    plan: LearningPlan, educator: Educator, loaded: dict[str, Any], env: ServiceEnv
) -> None:
    """Keep what the showcase shows (``loaded`` by ``schemas.plans.load_showcase``).

    :raises Invalid: for an item, credential or reflection that is not the educator's to show.
    """
    items, credentials = showcase_choices(plan, educator, env)
    item_ids = {i.public_id for i in items}
    if any(i not in item_ids for i in loaded["items"]):
        raise Invalid("Choose items from your own portfolio.", "items")
    credential_ids = {c.id for c in credentials}
    if any(c not in credential_ids for c in loaded["credentials"]):
        raise Invalid("Choose your own credentials that are public.", "credentials")
    reflection_ids = {r.id for r in plan.reflections}
    if any(r not in reflection_ids for r in loaded["reflections"]):
        raise Invalid("Choose reflections of this plan.", "reflections")
    plan.showcase_intro = loaded["intro"]
    plan.showcase_items = list(dict.fromkeys(loaded["items"]))
    plan.showcase_credentials = list(dict.fromkeys(loaded["credentials"]))
    chosen = set(loaded["reflections"])
    for reflection in plan.reflections:
        reflection.on_showcase = reflection.id in chosen
    plan.updated_at = env.now
    db.session.commit()


def publish_showcase(plan: LearningPlan, educator: Educator, env: ServiceEnv) -> str:
    """Publish the showcase at its own address (made once, kept); returns the slug.

    :raises Conflict: for a plan of fewer than two goals or without a vision.
    """
    require_goals(plan, "publishing a showcase")
    if not plan.vision.strip():
        raise Conflict("Write your plan's vision before publishing a showcase.")
    if plan.showcase_slug is None:
        base = _slug_base(educator.credential_name or educator.name)
        plan.showcase_slug = f"{base}-{plan.school_year}-{secrets.token_hex(6)}"
    plan.showcase_published_at = env.now
    plan.updated_at = env.now
    db.session.commit()
    return plan.showcase_slug


def unpublish_showcase(plan: LearningPlan, env: ServiceEnv) -> None:
    """Take the showcase down (its address answers 404 until it is published again)."""
    plan.showcase_published_at = None
    plan.updated_at = env.now
    db.session.commit()


def showcase_url(plan: LearningPlan, env: ServiceEnv) -> str | None:
    """The showcase's public address, when published."""
    if plan.showcase_published_at is None or plan.showcase_slug is None:
        return None
    return f"{env.base_url}/showcase/{plan.showcase_slug}"


@dataclass(frozen=True)
class Showcase:
    """A published showcase: the plan, and only what the educator selected."""

    plan: LearningPlan
    educator: Educator
    goals: list[GoalProgress]
    items: list[PortfolioItem]
    credentials: list[educators.BackpackEntry]
    reflections: list[PlanReflection]


def public_showcase(slug: str, env: ServiceEnv) -> Showcase:
    """A published showcase with what it shows: selected items that still exist, selected
    credentials that are still public, not revoked or suspended, and selected reflections.

    :raises NotFound: when there is none at that address, or it is unpublished (alike).
    """
    plan = db.session.scalar(select(LearningPlan).where(LearningPlan.showcase_slug == slug))
    if plan is None or plan.showcase_published_at is None:
        raise NotFound("There is no such showcase.")
    educator = db.session.get(Educator, plan.educator_id)
    if educator is None:
        raise NotFound("There is no such showcase.")
    own_items = {i.public_id: i for i in portfolio.items_of(educator)}
    selected = set(plan.showcase_credentials)
    credentials = [
        entry
        for entry in educators.backpack(educator)
        if entry.credential.id in selected
        and not entry.credential.is_private
        and entry.credential.status_at(env.now) in ("valid", "expired")
    ]
    return Showcase(
        plan=plan,
        educator=educator,
        goals=progress(plan, educator, env),
        items=[own_items[i] for i in plan.showcase_items if i in own_items],
        credentials=credentials,
        reflections=[r for r in plan.reflections if r.on_showcase],
    )


def achievement_name(achievement: Achievement) -> str:
    """An achievement's current name."""
    return achievements.current_version(achievement).name


def credential_name(credential: IssuedCredential) -> str:
    """What a credential is for: the name of the achievement version it was issued for."""
    return credential.achievement_version.name
