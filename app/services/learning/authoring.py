"""Authoring learning modules, the staff's side: a module's description, achievement and rules,
its ordered activities (directions and resources) and their reflection prompts, and publishing.
Also the little shared by every part of a module's life: its issuer and its audit events."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import Achievement, AchievementVersion, Activity, Issuer, Module, Prompt, Response
from app.models.learning import AWARD_MODES, ENROLMENT_MODES
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, NotFound, required
from app.services.org import achievements, audit
from app.services.org.audit import Actor

#: The longest title of a module or activity, and name of a person (partner, cohort row).
MAX_TITLE = 200
MAX_SUMMARY, MAX_DIRECTIONS, MAX_PROMPT = 5000, 20_000, 2000
MAX_OUTCOMES, MAX_RESOURCES = 20, 20


def record(action: str, module: Module, actor: Actor, env: ServiceEnv, **detail: object) -> None:
    """Add the audit event of a change to ``module`` (or to an enrolment in it)."""
    audit.record(
        action,
        actor=actor,
        now=env.now,
        issuer_id=module.issuer_id,
        subject_type="module",
        subject_id=module.public_id,
        detail=dict(detail),
    )


def issuer_of(module: Module) -> Issuer:
    """The organisation that runs the module."""
    return required(db.session.get(Issuer, module.issuer_id), "The issuer is missing.")


def _touch(module: Module, env: ServiceEnv) -> None:
    module.updated_at = env.now


@dataclass(frozen=True)
class ModuleInput:
    """A module's editable parts (validated by ``schemas.learning_modules.ModuleSchema``)."""

    title: str
    summary: str
    achievement_public_id: str
    learning_outcomes: tuple[str, ...] = ()
    enrolment_mode: str = "open"
    requires_partner: bool = True
    award_mode: str = "automatic"


@dataclass(frozen=True)
class ActivityInput:
    """An activity's editable parts: directions are markdown, resources ``{"title", "url"}``."""

    title: str
    directions: str = ""
    resources: tuple[dict[str, str], ...] = ()


def list_modules(issuer: Issuer) -> list[Module]:
    """The issuer's modules, by title."""
    return list(
        db.session.scalars(
            select(Module).where(Module.issuer_id == issuer.id).order_by(func.lower(Module.title))
        )
    )


def module_by_public_id(public_id: str) -> Module:
    """The module with this public id, whoever runs it.

    :raises NotFound: when there is none.
    """
    module = db.session.scalar(select(Module).where(Module.public_id == public_id[:36]))
    if module is None:
        raise NotFound("There is no such module.")
    return module


def get_module(issuer: Issuer, public_id: str) -> Module:
    """One of the issuer's modules.

    :raises NotFound: when it belongs to another issuer or does not exist.
    """
    module = module_by_public_id(public_id)
    if module.issuer_id != issuer.id:
        raise NotFound("There is no such module.")
    return module


def awardable_achievements(issuer: Issuer) -> list[tuple[Achievement, AchievementVersion]]:
    """The achievements a module of the issuer may lead to (its unarchived ones), by name."""
    return achievements.list_for(issuer)


def achievement_of(module: Module) -> tuple[Achievement, AchievementVersion]:
    """The module's achievement and its current version."""
    achievement = required(
        db.session.get(Achievement, module.achievement_id), "The module's achievement is missing."
    )
    return achievement, achievements.current_version(achievement)


def issuer_name(module: Module) -> str:
    """The name of the organisation that runs the module."""
    return issuer_of(module).name


def _check_module(issuer: Issuer, data: ModuleInput) -> Achievement:
    if not data.title.strip() or len(data.title) > MAX_TITLE:
        raise Invalid(f"Give the module a title (at most {MAX_TITLE} characters).", "title")
    if not data.summary.strip() or len(data.summary) > MAX_SUMMARY:
        raise Invalid("Say in a sentence or two what the module is.", "summary")
    if len(data.learning_outcomes) > MAX_OUTCOMES:
        raise Invalid(f"At most {MAX_OUTCOMES} learning outcomes.", "learning_outcomes")
    if data.enrolment_mode not in ENROLMENT_MODES:
        raise Invalid("Choose who may enrol.", "enrolment_mode")
    if data.award_mode not in AWARD_MODES:
        raise Invalid("Choose how the badge is given.", "award_mode")
    try:
        achievement = achievements.get(issuer, data.achievement_public_id)
    except NotFound:
        raise Invalid("Choose an achievement from the list.", "achievement") from None
    if achievement.archived_at is not None:
        raise Invalid("That achievement is archived; restore it or choose another.", "achievement")
    return achievement


def create_module(issuer: Issuer, data: ModuleInput, *, actor: Actor, env: ServiceEnv) -> Module:
    """Create a module (unpublished: nobody sees it until it is published).

    :raises ServiceError: for invalid input.
    """
    achievement = _check_module(issuer, data)
    module = Module(
        public_id=str(uuid.uuid4()),
        issuer_id=issuer.id,
        achievement_id=achievement.id,
        title=data.title.strip(),
        summary=data.summary.strip(),
        learning_outcomes=list(data.learning_outcomes),
        enrolment_mode=data.enrolment_mode,
        requires_partner=data.requires_partner,
        award_mode=data.award_mode,
        published=False,
        created_at=env.now,
        updated_at=env.now,
    )
    db.session.add(module)
    db.session.flush()
    record(
        "module.create", module, actor, env, title=module.title, achievement=achievement.public_id
    )
    db.session.commit()
    return module


def update_module(module: Module, data: ModuleInput, *, actor: Actor, env: ServiceEnv) -> Module:
    """Change a module's description, achievement or rules (enrolments carry on under the new
    rules: they are checked when an educator submits).

    :raises ServiceError: for invalid input.
    """
    achievement = _check_module(issuer_of(module), data)
    new = {
        "title": data.title.strip(),
        "summary": data.summary.strip(),
        "learning_outcomes": list(data.learning_outcomes),
        "achievement_id": achievement.id,
        "enrolment_mode": data.enrolment_mode,
        "requires_partner": data.requires_partner,
        "award_mode": data.award_mode,
    }
    changed = [key for key, value in new.items() if getattr(module, key) != value]
    if not changed:
        return module
    for key in changed:
        setattr(module, key, new[key])
    _touch(module, env)
    record("module.update", module, actor, env, changed=changed)
    db.session.commit()
    return module


def set_published(module: Module, published: bool, *, actor: Actor, env: ServiceEnv) -> None:
    """Publish a module (open ones appear in educators' catalogue; cohorts can be enrolled) or
    take it back to a draft (enrolled educators keep working on it).

    :raises Conflict: when publishing a module with no prompt, or whose achievement is archived.
    """
    if module.published == published:
        return
    if published:
        if prompt_count(module) == 0:
            raise Conflict("Add at least one activity with a reflection prompt before publishing.")
        achievement, _ = achievement_of(module)
        if achievement.archived_at is not None:
            raise Conflict("The module's achievement is archived; choose another first.")
    module.published = published
    _touch(module, env)
    record("module.publish" if published else "module.unpublish", module, actor, env)
    db.session.commit()


def _check_activity(data: ActivityInput) -> None:
    if not data.title.strip() or len(data.title) > MAX_TITLE:
        raise Invalid(f"Give the activity a title (at most {MAX_TITLE} characters).", "title")
    if len(data.directions) > MAX_DIRECTIONS:
        raise Invalid(f"Keep the directions under {MAX_DIRECTIONS:,} characters.", "directions")
    if len(data.resources) > MAX_RESOURCES:
        raise Invalid(f"At most {MAX_RESOURCES} resources.", "resources")
    for resource in data.resources:
        if not re.match(r"^https?://[^\s/]+", resource.get("url", "")):
            raise Invalid("Resource links must start with https:// or http://.", "resources")


def get_activity(module: Module, activity_id: int) -> Activity:
    """One of the module's activities.

    :raises NotFound: when it belongs to another module or does not exist.
    """
    activity = db.session.get(Activity, activity_id)
    if activity is None or activity.module_id != module.id:
        raise NotFound("There is no such activity.")
    return activity


def get_prompt(module: Module, prompt_id: int) -> Prompt:
    """One of the module's prompts.

    :raises NotFound: when it belongs to another module or does not exist.
    """
    prompt = db.session.get(Prompt, prompt_id)
    if prompt is None or prompt.activity.module_id != module.id:
        raise NotFound("There is no such prompt.")
    return prompt


def add_activity(module: Module, data: ActivityInput, *, actor: Actor, env: ServiceEnv) -> Activity:
    """Add an activity at the end of the module.

    :raises ServiceError: for invalid input.
    """
    _check_activity(data)
    last = db.session.scalar(
        select(func.max(Activity.position)).where(Activity.module_id == module.id)
    )
    activity = Activity(
        module_id=module.id,
        position=(last or 0) + 1,
        title=data.title.strip(),
        directions=data.directions.strip(),
        resources=[dict(r) for r in data.resources],
    )
    db.session.add(activity)
    db.session.flush()
    _touch(module, env)
    record("module.activity_add", module, actor, env, activity=activity.id)
    db.session.commit()
    return activity


def update_activity(
    activity: Activity, data: ActivityInput, *, actor: Actor, env: ServiceEnv
) -> Activity:
    """Change an activity's title, directions or resources.

    :raises ServiceError: for invalid input.
    """
    _check_activity(data)
    activity.title = data.title.strip()
    activity.directions = data.directions.strip()
    activity.resources = [dict(r) for r in data.resources]
    _touch(activity.module, env)
    record("module.activity_update", activity.module, actor, env, activity=activity.id)
    db.session.commit()
    return activity


def _renumber(rows: Sequence[Activity | Prompt]) -> None:
    for position, row in enumerate(rows, start=1):
        row.position = position


def _delete_in_order(row: Activity | Prompt, parent: Module | Activity) -> None:
    """Delete an activity (of a module) or a prompt (of an activity), and number the ones left
    1..n again so no gap stays."""
    db.session.delete(row)
    db.session.flush()
    db.session.refresh(parent)
    _renumber(parent.activities if isinstance(parent, Module) else parent.prompts)


def _swap(rows: Sequence[Activity | Prompt], index: int, direction: str) -> bool:
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(rows):
        return False
    # Positions are renumbered 1..n as they are swapped, so gaps left by deletions close too.
    ordered = list(rows)
    ordered[index], ordered[other] = ordered[other], ordered[index]
    _renumber(ordered)
    return True


def move_activity(activity: Activity, direction: str, *, actor: Actor, env: ServiceEnv) -> None:
    """Move an activity one place ``up`` or ``down`` (at either end, nothing changes)."""
    module = activity.module
    rows = list(module.activities)
    if _swap(rows, rows.index(activity), direction):
        _touch(module, env)
        record("module.activity_move", module, actor, env, activity=activity.id, to=direction)
        db.session.commit()
        db.session.refresh(module)


def _answered_prompts(prompt_ids: list[int]) -> int:
    if not prompt_ids:
        return 0
    return (
        db.session.scalar(
            select(func.count()).select_from(Response).where(Response.prompt_id.in_(prompt_ids))
        )
        or 0
    )


def delete_activity(activity: Activity, *, actor: Actor, env: ServiceEnv) -> None:
    """Delete an activity and its prompts.

    :raises Conflict: when an educator has answered one of its prompts (answers are kept).
    """
    if _answered_prompts([p.id for p in activity.prompts]):
        raise Conflict(
            "Educators have answered this activity's prompts, so it cannot be deleted; "
            "edit it instead."
        )
    module = activity.module
    if module.published and prompt_count(module) == len(activity.prompts):
        raise Conflict("A published module needs a prompt; unpublish it first.")
    for prompt in list(activity.prompts):
        db.session.delete(prompt)
    _delete_in_order(activity, module)
    _touch(module, env)
    record("module.activity_delete", module, actor, env, activity=activity.id)
    db.session.commit()


def _check_prompt(text: str) -> str:
    cleaned = text.strip()
    if not cleaned or len(cleaned) > MAX_PROMPT:
        raise Invalid(f"Write the prompt (at most {MAX_PROMPT:,} characters).", "text")
    return cleaned


def add_prompt(activity: Activity, text: str, *, actor: Actor, env: ServiceEnv) -> Prompt:
    """Add a reflection prompt at the end of an activity.

    :raises ServiceError: for an empty or too long prompt.
    """
    cleaned = _check_prompt(text)
    last = db.session.scalar(
        select(func.max(Prompt.position)).where(Prompt.activity_id == activity.id)
    )
    prompt = Prompt(activity_id=activity.id, position=(last or 0) + 1, text=cleaned)
    db.session.add(prompt)
    db.session.flush()
    _touch(activity.module, env)
    record("module.prompt_add", activity.module, actor, env, prompt=prompt.id)
    db.session.commit()
    return prompt


def update_prompt(prompt: Prompt, text: str, *, actor: Actor, env: ServiceEnv) -> Prompt:
    """Change a prompt's text (allowed after educators answered it: a clarification).

    :raises ServiceError: for an empty or too long prompt.
    """
    prompt.text = _check_prompt(text)
    module = prompt.activity.module
    _touch(module, env)
    record("module.prompt_update", module, actor, env, prompt=prompt.id)
    db.session.commit()
    return prompt


def move_prompt(prompt: Prompt, direction: str, *, actor: Actor, env: ServiceEnv) -> None:
    """Move a prompt one place ``up`` or ``down`` within its activity."""
    activity = prompt.activity
    rows = list(activity.prompts)
    if _swap(rows, rows.index(prompt), direction):
        _touch(activity.module, env)
        record("module.prompt_move", activity.module, actor, env, prompt=prompt.id, to=direction)
        db.session.commit()
        db.session.refresh(activity)


def delete_prompt(prompt: Prompt, *, actor: Actor, env: ServiceEnv) -> None:
    """Delete a prompt nobody has answered.

    :raises Conflict: when an educator has answered it (its text may still be edited).
    """
    if _answered_prompts([prompt.id]):
        raise Conflict(
            "Educators have answered this prompt, so it cannot be deleted; you can still edit "
            "its text."
        )
    activity = prompt.activity
    module = activity.module
    if module.published and prompt_count(module) == 1:
        raise Conflict("A published module needs a prompt; unpublish it first.")
    _delete_in_order(prompt, activity)
    _touch(module, env)
    record("module.prompt_delete", module, actor, env, prompt=prompt.id)
    db.session.commit()


def prompt_ids(module: Module) -> list[int]:
    """The ids of the module's prompts, in reading order."""
    return list(
        db.session.scalars(
            select(Prompt.id)
            .join(Activity, Activity.id == Prompt.activity_id)
            .where(Activity.module_id == module.id)
            .order_by(Activity.position, Prompt.position)
        )
    )


def prompt_count(module: Module) -> int:
    """How many prompts the module has."""
    return len(prompt_ids(module))


def answered_counts(module: Module) -> dict[int, int]:
    """How many prompts of the module each prompt has been answered in: ``{prompt id: n}``."""
    rows = db.session.execute(
        select(Response.prompt_id, func.count())
        .join(Prompt, Prompt.id == Response.prompt_id)
        .join(Activity, Activity.id == Prompt.activity_id)
        .where(Activity.module_id == module.id)
        .group_by(Response.prompt_id)
    ).all()
    return {prompt_id: count for prompt_id, count in rows}
