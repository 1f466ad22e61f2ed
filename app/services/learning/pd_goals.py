"""An organisation's professional-learning goals for a school year (needs → goals → activities →
evaluation) and the progress against each, computed from real enrolments and credentials.

A goal names the need it answers, the goal itself and the standards it aligns to, the modules
and achievements that serve it, and an evaluation measure with a target: the share of the
educators on the rosters who earned one of its achievements (or any achievement aligned to one
of its standards) in the school year, or a number of such credentials, or a number of
enrolments in its modules completed. District leaders and owners keep them; every change is
audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Issuer, Module, PdGoal
from app.services._core.env import ServiceEnv
from app.services._core.errors import Invalid, NotFound
from app.services.learning import leadership
from app.services.learning.leadership import Context, CredentialRecord, PanelData
from app.services.org import achievements, audit
from app.services.org.audit import Actor

#: Each measure in words, for the form and the pages.
MEASURE_LABELS = {
    "percent_earned": "Share of the educators on the rosters who earn one of its achievements "
    "(or one aligned to its standards)",
    "credentials_earned": "Number of credentials earned of its achievements (or aligned to its "
    "standards)",
    "enrolments_completed": "Number of enrolments in its modules completed",
}


def list_for(issuer: Issuer, school_year: int | None = None) -> list[PdGoal]:
    """The organisation's goals (of one school year, if given), oldest first."""
    query = select(PdGoal).where(PdGoal.issuer_id == issuer.id)
    if school_year is not None:
        query = query.where(PdGoal.school_year == school_year)
    return list(db.session.scalars(query.order_by(PdGoal.school_year.desc(), PdGoal.id)))


def years_of(issuer: Issuer) -> list[int]:
    """The school years the organisation has goals for, newest first."""
    return sorted(
        set(db.session.scalars(select(PdGoal.school_year).where(PdGoal.issuer_id == issuer.id))),
        reverse=True,
    )


def get(issuer: Issuer, public_id: str) -> PdGoal:
    """One of the organisation's goals.

    :raises NotFound: when it has no such goal.
    """
    found = db.session.scalar(
        select(PdGoal).where(PdGoal.issuer_id == issuer.id, PdGoal.public_id == public_id)
    )
    if found is None:
        raise NotFound("This organisation has no such goal.")
    return found


def _checked(issuer: Issuer, loaded: dict[str, Any]) -> dict[str, Any]:
    """The fields to store: modules and achievements must be the organisation's own, and a
    percentage at most 100."""
    modules = set(db.session.scalars(select(Module.public_id).where(Module.issuer_id == issuer.id)))
    if any(m not in modules for m in loaded["module_ids"]):
        raise Invalid("Choose modules of this organisation.", "module_ids")
    own = {a.public_id for a, _ in achievements.list_for(issuer, include_archived=True)}
    if any(a not in own for a in loaded["achievement_ids"]):
        raise Invalid("Choose achievements of this organisation.", "achievement_ids")
    if loaded["measure"] == "percent_earned" and loaded["target"] > 100:
        raise Invalid("A share is at most 100%.", "target")
    if loaded["measure"] == "enrolments_completed" and not loaded["module_ids"]:
        raise Invalid("Link the modules whose completions count.", "module_ids")
    if loaded["measure"] != "enrolments_completed" and not (
        loaded["achievement_ids"] or loaded["standards"]
    ):
        message = "Link achievements, or standards, whose credentials count."
        raise Invalid(message, "achievement_ids")
    return {
        "school_year": loaded["school_year"],
        "need": loaded["need"].strip(),
        "goal": loaded["goal"].strip(),
        "standards": list(dict.fromkeys(s.strip() for s in loaded["standards"] if s.strip())),
        "module_ids": sorted(set(loaded["module_ids"])),
        "achievement_ids": sorted(set(loaded["achievement_ids"])),
        "measure": loaded["measure"],
        "target": float(loaded["target"]),
    }


def create(issuer: Issuer, loaded: dict[str, Any], *, actor: Actor, env: ServiceEnv) -> PdGoal:
    """Record a goal (``loaded`` by ``schemas.pd_goals.load_goal``); audited.

    :raises Invalid: for another organisation's module or achievement, or a bad target.
    """
    goal = PdGoal(
        public_id=str(uuid.uuid4()),
        issuer_id=issuer.id,
        created_at=env.now,
        updated_at=env.now,
        created_by_id=actor.staff_id,
        **_checked(issuer, loaded),
    )
    db.session.add(goal)
    db.session.flush()
    _record("create", goal, actor=actor, env=env)
    db.session.commit()
    return goal


def update(goal: PdGoal, loaded: dict[str, Any], *, actor: Actor, env: ServiceEnv) -> PdGoal:
    """Change a goal; audited.

    :raises Invalid: as :func:`create`.
    """
    issuer = db.session.get(Issuer, goal.issuer_id)
    if issuer is None:
        raise NotFound("This organisation has no such goal.")
    for name, value in _checked(issuer, loaded).items():
        setattr(goal, name, value)
    goal.updated_at = env.now
    _record("update", goal, actor=actor, env=env)
    db.session.commit()
    return goal


def delete(goal: PdGoal, *, actor: Actor, env: ServiceEnv) -> None:
    """Remove a goal (nothing it measured changes); audited."""
    _record("delete", goal, actor=actor, env=env)
    db.session.delete(goal)
    db.session.commit()


def _record(what: str, goal: PdGoal, *, actor: Actor, env: ServiceEnv) -> None:
    audit.record(
        f"pd_goal.{what}",
        actor=actor,
        now=env.now,
        issuer_id=goal.issuer_id,
        subject_type="pd_goal",
        subject_id=goal.public_id,
        detail={"school_year": goal.school_year, "measure": goal.measure, "target": goal.target},
    )


# ----------------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class GoalProgress:
    """Where a goal stands: the measured value against its target."""

    goal: PdGoal
    #: The measured value: a percentage (``percent_earned``) or a count.
    value: float
    #: What a percentage is of (educators on the rosters), and how many earned; None for counts.
    out_of: int | None
    earned: int

    @property
    def target(self) -> float:
        """The goal's target."""
        return self.goal.target

    @property
    def percent_of_target(self) -> int:
        """How far toward the target, 0-100."""
        if self.goal.target <= 0:
            return 100
        return min(100, round(self.value * 100 / self.goal.target))

    @property
    def met(self) -> bool:
        """Whether the target is reached."""
        return self.value >= self.goal.target

    @property
    def summary(self) -> str:
        """The value in words."""
        if self.goal.measure == "percent_earned":
            if not self.out_of:
                return "No educators on the rosters yet"
            return f"{self.value:g}% ({self.earned:,} of {self.out_of:,} educators)"
        noun = "credentials" if self.goal.measure == "credentials_earned" else "completions"
        return f"{self.value:,g} {noun}"

    @property
    def target_text(self) -> str:
        """The target in words."""
        if self.goal.measure == "percent_earned":
            return f"{self.goal.target:g}%"
        return f"{self.goal.target:,g}"


def _serves(goal: PdGoal, credential: CredentialRecord) -> bool:
    """Whether a credential counts toward the goal: one of its achievements, or aligned to one
    of its standards (compared without regard to case)."""
    if credential.achievement_id in goal.achievement_ids:
        return True
    wanted = {s.lower() for s in goal.standards}
    return any(label.lower() in wanted for label, _ in credential.standards)


def progress(goal: PdGoal, ctx: Context) -> GoalProgress:
    """The goal's progress over its school year, for the schools and role of ``ctx``."""
    start, end = leadership.school_year_bounds(goal.school_year)

    def within(day: date | None) -> bool:
        return day is not None and start <= day < end

    if goal.measure == "enrolments_completed":
        done = [
            e for e in ctx.all_enrolments if e.module_id in goal.module_ids and within(e.completed)
        ]
        return GoalProgress(goal, float(len(done)), None, len(done))
    earned = [c for c in ctx.all_credentials if within(c.awarded) and _serves(goal, c)]
    if goal.measure == "credentials_earned":
        return GoalProgress(goal, float(len(earned)), None, len(earned))
    rostered = ctx.rostered(None)
    earners = {c.person for c in earned if c.place.school_id is not None}
    count = min(len(earners), rostered)
    value = round(count * 100 / rostered, 1) if rostered else 0.0
    return GoalProgress(goal, value, rostered, count)


def progress_of(issuer: Issuer, ctx: Context, school_year: int) -> list[GoalProgress]:
    """Every goal of ``school_year`` with its progress."""
    return [progress(goal, ctx) for goal in list_for(issuer, school_year)]


def goals_panel(ctx: Context) -> PanelData:
    """The dashboard's panel: the goals of the school year the period starts in, with their
    progress for the dashboard's schools and role."""
    year = leadership.school_year_of(ctx.filters.start)
    found = progress_of(ctx.issuer, ctx, year)
    return PanelData(
        key="goals",
        title=f"PD goals {leadership.school_year_label(year)}",
        description="The organisation's professional-learning goals for the school year, with "
        "progress over the whole school year for the schools and role chosen.",
        columns=["Goal", "Standards", "Measure", "Progress", "Target", "Reached"],
        rows=[
            [
                p.goal.goal,
                "; ".join(p.goal.standards),
                MEASURE_LABELS[p.goal.measure],
                p.summary,
                p.target_text,
                "yes" if p.met else "no",
            ]
            for p in found
        ],
        chart=leadership.Chart(
            "bars", "% of target", [(p.goal.goal, p.percent_of_target) for p in found]
        ),
        note=None if found else "No goals recorded for this school year yet.",
    )
