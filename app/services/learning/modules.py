"""Learning modules, the one write path for all of them: staff build a module (outcomes, ordered
activities with directions, resources and reflection prompts, completion rules) and enrol
cohorts from a CSV file; educators enrol themselves, answer prompts, attach evidence, invite a
learning partner who confirms their checklist (completion, never content) and thank them; when
the rules are met the module's badge is awarded, or the completion is queued for staff review.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    Achievement,
    AchievementVersion,
    Activity,
    Educator,
    Enrolment,
    EnrolmentItem,
    IssuedCredential,
    Issuer,
    MagicLink,
    Module,
    PortfolioItem,
    Prompt,
    Response,
    Submission,
)
from app.models.learning import AWARD_MODES, ENROLMENT_MODES
from app.services._core import addresses, events
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Gone, Invalid, NotFound, ServiceError, required
from app.services.awarding import bulk, issuing
from app.services.awarding.issuing import AwardInput, EvidenceInput
from app.services.learning import educators, portfolio, reviews
from app.services.learning.portfolio import ItemInput
from app.services.mail import emails
from app.services.org import achievements, audit
from app.services.org.audit import Actor

#: An educator may change their work in these states; afterwards it is submitted.
EDITABLE_STATES = ("in_progress", "returned")
#: How long the sign-in link in a cohort invitation works (days): invitations are read later
#: than a sign-in someone asked for.
INVITE_DAYS = 7
#: A cohort file sends one email per row; larger cohorts are split into several files.
MAX_COHORT_ROWS = 2000
MAX_TITLE, MAX_SUMMARY, MAX_DIRECTIONS, MAX_PROMPT, MAX_NOTE = 200, 5000, 20_000, 2000, 2000
MAX_OUTCOMES, MAX_RESOURCES = 20, 20
#: What ``secrets.token_urlsafe(32)`` makes; anything else cannot name an invitation.
PARTNER_TOKEN = re.compile(r"[A-Za-z0-9_-]{30,100}")
#: What each cohort row's verdict means, in the order the preview lists them.
COHORT_VERDICTS = {
    "new": "will get an account and an invitation",
    "existing": "has an account; will be enrolled and told",
    "enrolled": "is already enrolled; skipped",
    "duplicate": "appears earlier in this file; skipped",
    "invalid": "cannot be enrolled",
}
#: The audit actor of awards a module's completion rules make.
MODULE_ACTOR = Actor(label="module")
PARTNER_ACTOR = Actor(label="learning partner")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _touch(module: Module, env: ServiceEnv) -> None:
    module.updated_at = env.now


# --- Staff: modules -------------------------------------------------------------------------


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


def get_module(issuer: Issuer, public_id: str) -> Module:
    """One of the issuer's modules.

    :raises NotFound: when it belongs to another issuer or does not exist.
    """
    module = db.session.scalar(select(Module).where(Module.public_id == public_id[:36]))
    if module is None or module.issuer_id != issuer.id:
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
    issuer = required(db.session.get(Issuer, module.issuer_id), "The issuer is missing.")
    return issuer.name


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
    audit.record(
        "module.create",
        actor=actor,
        now=env.now,
        issuer_id=issuer.id,
        subject_type="module",
        subject_id=module.public_id,
        detail={"title": module.title, "achievement": achievement.public_id},
    )
    db.session.commit()
    return module


def update_module(module: Module, data: ModuleInput, *, actor: Actor, env: ServiceEnv) -> Module:
    """Change a module's description, achievement or rules (enrolments carry on under the new
    rules: they are checked when an educator submits).

    :raises ServiceError: for invalid input.
    """
    issuer = required(db.session.get(Issuer, module.issuer_id), "The issuer is missing.")
    achievement = _check_module(issuer, data)
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
    audit.record(
        "module.update",
        actor=actor,
        now=env.now,
        issuer_id=module.issuer_id,
        subject_type="module",
        subject_id=module.public_id,
        detail={"changed": changed},
    )
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
    audit.record(
        "module.publish" if published else "module.unpublish",
        actor=actor,
        now=env.now,
        issuer_id=module.issuer_id,
        subject_type="module",
        subject_id=module.public_id,
    )
    db.session.commit()


# --- Staff: activities and prompts ----------------------------------------------------------


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


def _record(action: str, module: Module, actor: Actor, env: ServiceEnv, **detail: object) -> None:
    audit.record(
        action,
        actor=actor,
        now=env.now,
        issuer_id=module.issuer_id,
        subject_type="module",
        subject_id=module.public_id,
        detail=dict(detail),
    )


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
    _record("module.activity_add", module, actor, env, activity=activity.id)
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
    _record("module.activity_update", activity.module, actor, env, activity=activity.id)
    db.session.commit()
    return activity


def _swap(rows: Sequence[Activity | Prompt], index: int, direction: str) -> bool:
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(rows):
        return False
    # Positions are renumbered 1..n as they are swapped, so gaps left by deletions close too.
    ordered = list(rows)
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, row in enumerate(ordered, start=1):
        row.position = position
    return True


def move_activity(activity: Activity, direction: str, *, actor: Actor, env: ServiceEnv) -> None:
    """Move an activity one place ``up`` or ``down`` (at either end, nothing changes)."""
    module = activity.module
    rows = list(module.activities)
    if _swap(rows, rows.index(activity), direction):
        _touch(module, env)
        _record("module.activity_move", module, actor, env, activity=activity.id, to=direction)
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
    db.session.delete(activity)
    db.session.flush()
    db.session.refresh(module)
    for position, row in enumerate(module.activities, start=1):
        row.position = position
    _touch(module, env)
    _record("module.activity_delete", module, actor, env, activity=activity.id)
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
    _record("module.prompt_add", activity.module, actor, env, prompt=prompt.id)
    db.session.commit()
    return prompt


def update_prompt(prompt: Prompt, text: str, *, actor: Actor, env: ServiceEnv) -> Prompt:
    """Change a prompt's text (allowed after educators answered it: a clarification).

    :raises ServiceError: for an empty or too long prompt.
    """
    prompt.text = _check_prompt(text)
    module = prompt.activity.module
    _touch(module, env)
    _record("module.prompt_update", module, actor, env, prompt=prompt.id)
    db.session.commit()
    return prompt


def move_prompt(prompt: Prompt, direction: str, *, actor: Actor, env: ServiceEnv) -> None:
    """Move a prompt one place ``up`` or ``down`` within its activity."""
    activity = prompt.activity
    rows = list(activity.prompts)
    if _swap(rows, rows.index(prompt), direction):
        _touch(activity.module, env)
        _record("module.prompt_move", activity.module, actor, env, prompt=prompt.id, to=direction)
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
    db.session.delete(prompt)
    db.session.flush()
    db.session.refresh(activity)
    for position, row in enumerate(activity.prompts, start=1):
        row.position = position
    _touch(module, env)
    _record("module.prompt_delete", module, actor, env, prompt=prompt.id)
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


# --- Progress -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityProgress:
    """How far an enrolment is with one activity."""

    activity: Activity
    answered: int
    total: int

    @property
    def done(self) -> bool:
        """Every prompt answered (an activity without prompts has nothing to do)."""
        return self.answered >= self.total


@dataclass(frozen=True)
class Progress:
    """How far an enrolment is: per activity, and over all prompts."""

    activities: list[ActivityProgress]
    answered_ids: frozenset[int]

    @property
    def answered(self) -> int:
        return sum(a.answered for a in self.activities)

    @property
    def total(self) -> int:
        return sum(a.total for a in self.activities)

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.answered * 100 // self.total

    @property
    def all_answered(self) -> bool:
        return all(a.done for a in self.activities)

    @property
    def activities_done(self) -> int:
        return sum(1 for a in self.activities if a.done)


def _answered_ids(enrolment: Enrolment) -> frozenset[int]:
    """The prompts the enrolment has a non-blank answer to."""
    return frozenset(
        db.session.scalars(
            select(Response.prompt_id)
            .join(PortfolioItem, PortfolioItem.id == Response.item_id)
            .where(Response.enrolment_id == enrolment.id, PortfolioItem.body != "")
        )
    )


def progress(enrolment: Enrolment) -> Progress:
    """The enrolment's progress through its module."""
    answered = _answered_ids(enrolment)
    return Progress(
        activities=[
            ActivityProgress(
                activity=activity,
                answered=sum(1 for p in activity.prompts if p.id in answered),
                total=len(activity.prompts),
            )
            for activity in enrolment.module.activities
        ],
        answered_ids=answered,
    )


def _address(educator: Educator) -> str | None:
    """Where the educator's mail goes: a confirmed address, else any they have."""
    addresses = educators.verified_emails(educator) or [e.email for e in educator.emails]
    return addresses[0] if addresses else None


@dataclass(frozen=True)
class EnrolmentRow:
    """One line of a module's enrolments table."""

    enrolment: Enrolment
    name: str
    email: str
    answered: int
    total: int

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.answered * 100 // self.total


def enrolments(module: Module) -> list[EnrolmentRow]:
    """The module's enrolments with each one's progress, most recent first."""
    total = prompt_count(module)
    answered = dict(
        db.session.execute(
            select(Response.enrolment_id, func.count())
            .join(PortfolioItem, PortfolioItem.id == Response.item_id)
            .join(Enrolment, Enrolment.id == Response.enrolment_id)
            .join(Prompt, Prompt.id == Response.prompt_id)
            .where(Enrolment.module_id == module.id, PortfolioItem.body != "")
            .group_by(Response.enrolment_id)
        ).all()
    )
    rows = db.session.execute(
        select(Enrolment, Educator)
        .join(Educator, Educator.id == Enrolment.educator_id)
        .where(Enrolment.module_id == module.id)
        .order_by(Enrolment.enrolled_at.desc(), Enrolment.id.desc())
    ).all()
    return [
        EnrolmentRow(
            enrolment=enrolment,
            name=educator.name,
            email=_address(educator) or "",
            answered=min(answered.get(enrolment.id, 0), total),
            total=total,
        )
        for enrolment, educator in rows
    ]


def enrolment_in(module: Module, enrolment_id: int) -> Enrolment:
    """One enrolment of ``module``.

    :raises NotFound: when the module has no such enrolment.
    """
    found = db.session.get(Enrolment, enrolment_id)
    if found is None or found.module_id != module.id:
        raise NotFound("There is no such enrolment in this module.")
    return found


# --- Educators: catalogue and enrolment ------------------------------------------------------


@dataclass(frozen=True)
class CatalogueEntry:
    """A module as the educator's catalogue lists it."""

    module: Module
    issuer_name: str
    achievement_name: str
    enrolment: Enrolment | None


def catalogue(educator: Educator) -> list[CatalogueEntry]:
    """The modules an educator is enrolled in (first), then every published open module of
    any issuer, by title."""
    mine = {
        e.module_id: e
        for e in db.session.scalars(select(Enrolment).where(Enrolment.educator_id == educator.id))
    }
    rows = db.session.execute(
        select(Module, Issuer.name, AchievementVersion.name)
        .join(Issuer, Issuer.id == Module.issuer_id)
        .join(Achievement, Achievement.id == Module.achievement_id)
        .join(
            AchievementVersion,
            (AchievementVersion.achievement_id == Achievement.id)
            & (AchievementVersion.version == Achievement.current_version),
        )
        .where(
            (Module.id.in_(list(mine)))
            | ((Module.published.is_(True)) & (Module.enrolment_mode == "open"))
        )
        .order_by(func.lower(Module.title), Module.id)
    ).all()
    entries = [
        CatalogueEntry(module, issuer_name, name, mine.get(module.id))
        for module, issuer_name, name in rows
    ]
    return sorted(entries, key=lambda e: e.enrolment is None)


def _module_by_public_id(public_id: str) -> Module:
    module = db.session.scalar(select(Module).where(Module.public_id == public_id[:36]))
    if module is None:
        raise NotFound("There is no such module.")
    return module


def _enrolment(module: Module, educator: Educator) -> Enrolment | None:
    return db.session.scalar(
        select(Enrolment).where(
            Enrolment.module_id == module.id, Enrolment.educator_id == educator.id
        )
    )


def module_for(educator: Educator, public_id: str) -> tuple[Module, Enrolment | None]:
    """A module the educator may see (one they are enrolled in, or a published open one) and
    their enrolment in it, if any.

    :raises NotFound: for any other module (drafts and cohort modules stay invisible).
    """
    module = _module_by_public_id(public_id)
    enrolment = _enrolment(module, educator)
    if enrolment is None and not (module.published and module.enrolment_mode == "open"):
        raise NotFound("There is no such module.")
    return module, enrolment


def enrolment_for(educator: Educator, public_id: str) -> Enrolment:
    """The educator's own enrolment in a module.

    :raises NotFound: when they are not enrolled (whoever else is).
    """
    module = _module_by_public_id(public_id)
    enrolment = _enrolment(module, educator)
    if enrolment is None:
        raise NotFound("You are not enrolled in this module.")
    return enrolment


def enrol(educator: Educator, module: Module, env: ServiceEnv) -> Enrolment:
    """Enrol the educator in a published open module (enrolling twice is harmless).

    :raises NotFound: for a draft module.
    :raises Conflict: for a module whose organisers enrol its cohort themselves.
    """
    existing = _enrolment(module, educator)
    if existing is not None:
        return existing
    if not module.published:
        raise NotFound("There is no such module.")
    if module.enrolment_mode != "open":
        raise Conflict("This module's organisers enrol its participants; ask them to add you.")
    enrolment = Enrolment(
        module_id=module.id,
        educator_id=educator.id,
        state="in_progress",
        enrolled_at=env.now,
        enrolled_by="self",
    )
    db.session.add(enrolment)
    try:
        db.session.flush()
    except IntegrityError:
        # Two clicks at once: the other request enrolled them.
        db.session.rollback()
        return required(_enrolment(module, educator), "There is no such enrolment.")
    audit.record(
        "module.enrol",
        actor=educators.actor(educator),
        now=env.now,
        issuer_id=module.issuer_id,
        subject_type="module",
        subject_id=module.public_id,
        detail={"educator": educator.id, "by": "self"},
    )
    db.session.commit()
    return enrolment


def _own(enrolment: Enrolment, educator: Educator) -> None:
    if enrolment.educator_id != educator.id:
        raise NotFound("There is no such enrolment.")


def _editable(enrolment: Enrolment) -> None:
    if enrolment.state == "in_review":
        raise Conflict("Your work is with a reviewer; it cannot be changed until they decide.")
    if enrolment.state not in EDITABLE_STATES:
        raise Conflict("This module is complete; your work can no longer be changed.")


# --- Educators: answers and evidence ---------------------------------------------------------


def answers(enrolment: Enrolment) -> dict[int, str]:
    """The enrolment's answers, by prompt id."""
    return {
        prompt_id: body
        for prompt_id, body in db.session.execute(
            select(Response.prompt_id, PortfolioItem.body)
            .join(PortfolioItem, PortfolioItem.id == Response.item_id)
            .where(Response.enrolment_id == enrolment.id)
        ).all()
    }


def save_answers(
    enrolment: Enrolment,
    educator: Educator,
    activity: Activity,
    texts: dict[int, str],
    env: ServiceEnv,
) -> int:
    """Save answers to prompts of one activity (each answer is a portfolio item of the
    educator's); a blank answer clears it. Unchanged answers are left alone, so saving as one
    types costs little. Returns how many answers changed.

    :raises NotFound: for an enrolment, activity or prompt that is not theirs or this module's.
    :raises Conflict: when the work has been submitted.
    :raises ServiceError: for an answer that is too long.
    """
    _own(enrolment, educator)
    if activity.module_id != enrolment.module_id:
        raise NotFound("There is no such activity.")
    _editable(enrolment)
    prompts = {p.id: p for p in activity.prompts}
    if any(prompt_id not in prompts for prompt_id in texts):
        raise NotFound("There is no such prompt in this activity.")
    if any(len(text) > portfolio.MAX_BODY for text in texts.values()):
        raise Invalid(f"Keep each answer under {portfolio.MAX_BODY:,} characters.", "text")
    current = answers(enrolment)
    changed = 0
    for prompt_id, text in texts.items():
        cleaned = text.strip()
        if current.get(prompt_id, "") == cleaned:
            continue
        portfolio.save_response(enrolment, prompts[prompt_id], educator, cleaned, env)
        changed += 1
    return changed


def attachments(enrolment: Enrolment) -> list[PortfolioItem]:
    """The evidence attached to an enrolment, in the order it was attached."""
    return list(
        db.session.scalars(
            select(PortfolioItem)
            .join(EnrolmentItem, EnrolmentItem.item_id == PortfolioItem.id)
            .where(EnrolmentItem.enrolment_id == enrolment.id)
            .order_by(EnrolmentItem.id)
        )
    )


def attach_evidence(
    enrolment: Enrolment,
    educator: Educator,
    kind: str,
    data: ItemInput,
    env: ServiceEnv,
    *,
    upload: tuple[bytes, str] | None = None,
    max_bytes: int,
) -> PortfolioItem:
    """Attach evidence to the enrolment: a file (``upload`` is its bytes and name; checked and
    stored by the portfolio, its title defaults to the file's name), a link or a narrative. It
    becomes a portfolio item of the educator's, private until they publish it.

    :raises Conflict: when the work has been submitted.
    :raises ServiceError: for a missing, unsupported or oversized file, or invalid text.
    """
    _own(enrolment, educator)
    _editable(enrolment)
    if kind not in ("file", "link", "narrative"):
        raise Invalid("Choose a file, a link or a narrative.", "kind")
    try:
        stored = None
        if kind == "file":
            if upload is None or not upload[1]:
                raise Invalid("Choose a file to upload.", "file")
            stored = portfolio.store_file(upload[0], upload[1], max_bytes=max_bytes, now=env.now)
            data = ItemInput(title=data.title.strip() or stored.filename, body=data.body)
        item = portfolio.create_item(educator, kind, data, env, file=stored)
    except ServiceError:
        db.session.rollback()
        raise
    db.session.add(EnrolmentItem(enrolment_id=enrolment.id, item_id=item.id, created_at=env.now))
    db.session.commit()
    return item


def detach_evidence(
    enrolment: Enrolment, educator: Educator, item_public_id: str, env: ServiceEnv
) -> None:
    """Take an item off the enrolment (it stays in the educator's portfolio).

    :raises NotFound: when it is not attached to this enrolment.
    :raises Conflict: when the work has been submitted.
    """
    _own(enrolment, educator)
    _editable(enrolment)
    link = db.session.scalar(
        select(EnrolmentItem)
        .join(PortfolioItem, PortfolioItem.id == EnrolmentItem.item_id)
        .where(
            EnrolmentItem.enrolment_id == enrolment.id,
            PortfolioItem.public_id == item_public_id[:36],
        )
    )
    if link is None:
        raise NotFound("That item is not attached to this module.")
    db.session.delete(link)
    db.session.commit()


def module_items(enrolment: Enrolment) -> list[PortfolioItem]:
    """Everything of the educator's this enrolment holds: the answered prompts' items in
    reading order, then the attached evidence."""
    responses = list(
        db.session.scalars(
            select(PortfolioItem)
            .join(Response, Response.item_id == PortfolioItem.id)
            .join(Prompt, Prompt.id == Response.prompt_id)
            .join(Activity, Activity.id == Prompt.activity_id)
            .where(Response.enrolment_id == enrolment.id, PortfolioItem.body != "")
            .order_by(Activity.position, Prompt.position)
        )
    )
    return responses + attachments(enrolment)


# --- Learning partners ------------------------------------------------------------------------


def partner_link(token: str, env: ServiceEnv) -> str:
    """The secret page a partner confirms the checklist on."""
    return f"{env.base_url}/partner/{token}"


def invite_partner(
    enrolment: Enrolment, educator: Educator, name: str, email: str, env: ServiceEnv
) -> None:
    """Ask a colleague, by email, to be the educator's learning partner: they get a secret link
    to a page showing the module's checklist (which activities are complete, never the
    answers or files) and confirm it. Inviting again replaces the earlier invitation, whose
    link stops working.

    :raises Conflict: when the partner has already confirmed, or the work was submitted.
    :raises ServiceError: for a missing name, a bad address, or the educator's own address.
    """
    _own(enrolment, educator)
    _editable(enrolment)
    if enrolment.partner_confirmed_at is not None:
        raise Conflict("Your learning partner has already confirmed your checklist.")
    name = " ".join(name.split())
    if not name or len(name) > MAX_TITLE:
        raise Invalid(f"Give your partner's name (at most {MAX_TITLE} characters).", "name")
    address = addresses.check_email(email)
    if address in {e.email for e in educator.emails}:
        raise Invalid(
            "Invite someone else: a learning partner confirms your work for you.", "email"
        )
    module = enrolment.module
    issuer = required(db.session.get(Issuer, module.issuer_id), "The issuer is missing.")
    token = secrets.token_urlsafe(32)
    days = env.settings.partner_link_days
    enrolment.partner_name = name
    enrolment.partner_email = address
    enrolment.partner_token_hash = _hash(token)
    enrolment.partner_invited_at = env.now
    enrolment.partner_expires_at = env.now + timedelta(days=days)
    enrolment.partner_revoked_at = None
    emails.queue_template(
        "partner_invite",
        env,
        to=address,
        link=partner_link(token, env),
        secret=True,
        issuer_id=module.issuer_id,
        partner_name=name,
        educator_name=educator.name,
        module_title=module.title,
        issuer_name=issuer.name,
        days=days,
    )
    audit.record(
        "module.partner_invite",
        actor=educators.actor(educator),
        now=env.now,
        issuer_id=module.issuer_id,
        subject_type="module",
        subject_id=module.public_id,
        detail={"educator": educator.id},
    )
    db.session.commit()
    emails.deliver_soon(env)


@dataclass(frozen=True)
class PartnerView:
    """What a learning partner may see: the module, whose checklist it is, and the checklist."""

    enrolment: Enrolment
    module: Module
    issuer_name: str
    educator_name: str
    progress: Progress


def partner_view(token: str, env: ServiceEnv) -> PartnerView:
    """The checklist a partner's secret link shows.

    :raises NotFound: for an unknown (or replaced) link.
    :raises Gone: for an expired or withdrawn one (the message names who can invite again).
    """
    enrolment = None
    if PARTNER_TOKEN.fullmatch(token):
        enrolment = db.session.scalar(
            select(Enrolment).where(Enrolment.partner_token_hash == _hash(token))
        )
    if enrolment is None:
        raise NotFound(
            "This link is not (or no longer) a learning partner's invitation: it may have been "
            "replaced by a newer one. Ask the educator who invited you to invite you again."
        )
    educator = required(db.session.get(Educator, enrolment.educator_id), "No such educator.")
    again = (
        f"If {educator.name} still wants you as their learning partner, ask them to invite you "
        "again."
    )
    if enrolment.partner_revoked_at is not None:
        raise Gone(
            f"This invitation was withdrawn on {enrolment.partner_revoked_at:%d %B %Y}. {again}"
        )
    if enrolment.partner_expires_at is not None and enrolment.partner_expires_at <= env.now:
        raise Gone(
            f"This invitation expired on {enrolment.partner_expires_at:%d %B %Y} (invitations "
            f"work for {env.settings.partner_link_days} days). {again}"
        )
    module = enrolment.module
    issuer = required(db.session.get(Issuer, module.issuer_id), "The issuer is missing.")
    return PartnerView(enrolment, module, issuer.name, educator.name, progress(enrolment))


def revoke_partner(enrolment: Enrolment, *, actor: Actor, env: ServiceEnv) -> None:
    """Withdraw a learning partner's invitation: its link stops working at once (the page says
    it was withdrawn). The educator may invite someone (or the same person) again.

    :raises Conflict: when there is no outstanding invitation, or it was already confirmed.
    """
    if enrolment.partner_confirmed_at is not None:
        raise Conflict("The learning partner has already confirmed the checklist.")
    outstanding = (
        enrolment.partner_token_hash is not None
        and enrolment.partner_revoked_at is None
        and (enrolment.partner_expires_at is None or enrolment.partner_expires_at > env.now)
    )
    if not outstanding:
        raise Conflict("There is no outstanding learning partner invitation to withdraw.")
    enrolment.partner_revoked_at = env.now
    module = enrolment.module
    audit.record(
        "module.partner_revoke",
        actor=actor,
        now=env.now,
        issuer_id=module.issuer_id,
        subject_type="module",
        subject_id=module.public_id,
        detail={"educator": enrolment.educator_id},
    )
    db.session.commit()


def partner_invitation_state(enrolment: Enrolment, env: ServiceEnv) -> str | None:
    """``confirmed``, ``invited`` (the link works), ``expired``, ``withdrawn``, or ``None``."""
    if enrolment.partner_confirmed_at is not None:
        return "confirmed"
    if enrolment.partner_token_hash is None:
        return None
    if enrolment.partner_revoked_at is not None:
        return "withdrawn"
    if enrolment.partner_expires_at is not None and enrolment.partner_expires_at <= env.now:
        return "expired"
    return "invited"


def confirm_partner(token: str, env: ServiceEnv) -> PartnerView:
    """Record the partner's confirmation that the educator completed the checklist; it counts
    once, and the educator is told by email.

    :raises NotFound: for an unknown (or replaced) link.
    :raises Conflict: when already confirmed, or the checklist is not complete yet.
    """
    view = partner_view(token, env)
    enrolment = view.enrolment
    if enrolment.partner_confirmed_at is not None:
        raise Conflict("You have already confirmed this checklist. Thank you!")
    if enrolment.state not in EDITABLE_STATES:
        raise Conflict("This module has already been completed.")
    if not view.progress.all_answered:
        left = view.progress.total - view.progress.answered
        raise Conflict(
            f"{view.educator_name} has not completed every activity yet ({left} reflection "
            f"prompt{'' if left == 1 else 's'} still to answer). Come back when they tell you "
            "they have finished."
        )
    # Only if nobody confirmed (or replaced the invitation) meanwhile.
    claimed = db.session.execute(
        update(Enrolment)
        .where(
            Enrolment.id == enrolment.id,
            Enrolment.partner_token_hash == _hash(token),
            Enrolment.partner_confirmed_at.is_(None),
            # Not withdrawn meanwhile (an expiry passing meanwhile is a matter of seconds).
            Enrolment.partner_revoked_at.is_(None),
        )
        .values(partner_confirmed_at=env.now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        db.session.rollback()
        raise Conflict("This checklist has already been confirmed.")
    educator = required(db.session.get(Educator, enrolment.educator_id), "No such educator.")
    address = _address(educator)
    if address:
        emails.queue_template(
            "partner_confirmed",
            env,
            to=address,
            link=f"{env.base_url}/me/modules/{view.module.public_id}",
            secret=False,
            issuer_id=view.module.issuer_id,
            educator_name=educator.name,
            partner_name=enrolment.partner_name,
            module_title=view.module.title,
        )
    audit.record(
        "module.partner_confirm",
        actor=PARTNER_ACTOR,
        now=env.now,
        issuer_id=view.module.issuer_id,
        subject_type="module",
        subject_id=view.module.public_id,
        detail={"educator": enrolment.educator_id},
    )
    db.session.commit()
    emails.deliver_soon(env)
    db.session.refresh(enrolment)
    return view


def thank_partner(enrolment: Enrolment, educator: Educator, note: str, env: ServiceEnv) -> None:
    """Recognise the learning partner: email them the educator's thank-you note, and keep it on
    the enrolment. Once.

    :raises Conflict: before the partner confirmed, or when already thanked.
    :raises ServiceError: for an empty or too long note.
    """
    _own(enrolment, educator)
    if enrolment.partner_confirmed_at is None or not enrolment.partner_email:
        raise Conflict("You can thank your partner once they have confirmed your checklist.")
    if enrolment.partner_thanked_at is not None:
        raise Conflict("You have already thanked your partner.")
    text = note.strip()
    if not text or len(text) > MAX_NOTE:
        raise Invalid(f"Write a short note (at most {MAX_NOTE:,} characters).", "note")
    module = enrolment.module
    issuer = required(db.session.get(Issuer, module.issuer_id), "The issuer is missing.")
    emails.queue_template(
        "partner_thanks",
        env,
        to=enrolment.partner_email,
        link=f"{env.base_url}/issuers/{issuer.slug}",
        secret=False,
        issuer_id=module.issuer_id,
        partner_name=enrolment.partner_name,
        educator_name=educator.name,
        module_title=module.title,
        note=text,
        issuer_name=issuer.name,
    )
    enrolment.partner_note = text
    enrolment.partner_thanked_at = env.now
    audit.record(
        "module.partner_thank",
        actor=educators.actor(educator),
        now=env.now,
        issuer_id=module.issuer_id,
        subject_type="module",
        subject_id=module.public_id,
        detail={"educator": educator.id},
    )
    db.session.commit()
    emails.deliver_soon(env)


# --- Completion -------------------------------------------------------------------------------


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
        .where(Enrolment.id == enrolment.id, Enrolment.state.in_(EDITABLE_STATES))
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
    :raises Conflict: when it was already submitted, or the achievement cannot be awarded.
    :raises ServiceError: when the completion rules are not met (the message says what is
        missing), or for an item that is not part of the module.
    """
    _own(enrolment, educator)
    _editable(enrolment)
    done = progress(enrolment)
    problems = completion_problems(enrolment, done)
    if problems:
        raise Invalid("Not complete yet. " + " ".join(problems), "complete")
    items = module_items(enrolment)
    by_id = {item.public_id: item for item in items}
    if any(public_id not in by_id for public_id in publish):
        raise Invalid("Choose evidence from this module's items only.", "publish")
    chosen = [by_id[public_id] for public_id in dict.fromkeys(publish)]
    module = enrolment.module
    issuer = required(db.session.get(Issuer, module.issuer_id), "The issuer is missing.")
    achievement, _ = achievement_of(module)
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
        audit.record(
            "module.complete",
            actor=educators.actor(educator),
            now=env.now,
            issuer_id=module.issuer_id,
            subject_type="module",
            subject_id=module.public_id,
            detail={"educator": educator.id, "credential": credential.id},
        )

    evidence = (
        *portfolio.evidence_for(chosen, env),
        EvidenceInput(name=f"Completion of “{module.title}”", narrative=summary),
    )
    # Nothing is written before award(): it reserves a status index on a connection of its own.
    try:
        issuing.award(
            issuer,
            achievement,
            AwardInput(
                email=reviews.recipient_email(educator), name=educator.name, evidence=evidence
            ),
            actor=MODULE_ACTOR,
            env=env,
            notify=True,
            on_store=record,
        )
    except ServiceError:
        db.session.rollback()
        raise


def _submit_for_review(
    enrolment: Enrolment,
    educator: Educator,
    achievement: Achievement,
    items: list[PortfolioItem],
    summary: str,
    env: ServiceEnv,
) -> None:
    module = enrolment.module
    previous = (
        db.session.get(Submission, enrolment.submission_id) if enrolment.submission_id else None
    )
    try:
        _claim(enrolment, "in_review", env)
        if previous is not None and previous.state == "changes_requested":
            submission = reviews.resubmit(previous, educator, [], summary, env)
        else:
            submission = reviews.submit(educator, achievement, [], summary, env, origin="module")
    except ServiceError:
        db.session.rollback()
        raise
    # The reviewers see everything the module holds; only published items become evidence.
    reviews.attach_items(submission, items)
    enrolment.submission_id = submission.id
    audit.record(
        "module.submit",
        actor=educators.actor(educator),
        now=env.now,
        issuer_id=module.issuer_id,
        subject_type="module",
        subject_id=module.public_id,
        detail={"educator": educator.id, "submission": submission.public_id},
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


# --- Cohorts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CohortRow:
    """One row of a cohort file with its verdict (see ``COHORT_VERDICTS``)."""

    row_number: int
    email: str
    name: str
    verdict: str
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.verdict in ("new", "existing")


def cohort_preview(module: Module, data: bytes) -> list[CohortRow]:
    """Read a cohort file (columns ``email`` and ``name``; read like a bulk-award file) and
    give each row a verdict. Nothing is stored.

    :raises ServiceError: for a file that is not such a CSV, or has too many rows.
    """
    rows = bulk.parse_csv(data, max_rows=MAX_COHORT_ROWS)
    enrolled = set(
        db.session.scalars(select(Enrolment.educator_id).where(Enrolment.module_id == module.id))
    )
    seen: set[str] = set()
    seen_educators: set[int] = set()
    verdicts = []
    for row in rows:
        name = (row.name or "").strip()
        try:
            email = addresses.check_email(row.email)
        except ServiceError:
            problem = f"{row.email!r} is not an email address" if row.email else "no email"
            verdicts.append(
                CohortRow(row.row_number, row.email[:320], name[:200], "invalid", problem)
            )
            continue
        educator = educators.find_by_email(email)
        if len(name) > MAX_TITLE:
            verdict, message = "invalid", f"the name is longer than {MAX_TITLE} characters"
        elif email in seen:
            verdict, message = "duplicate", None
        elif educator is not None and educator.id in seen_educators:
            verdict, message = "duplicate", "another address of the same educator is above"
        elif educator is not None and educator.id in enrolled:
            verdict, message = "enrolled", None
        else:
            verdict, message = ("existing" if educator is not None else "new"), None
        verdicts.append(CohortRow(row.row_number, email, name[:200], verdict, message))
        seen.add(email)
        if educator is not None:
            seen_educators.add(educator.id)
    return verdicts


def cohort_counts(rows: list[CohortRow]) -> dict[str, int]:
    """How many rows have each verdict."""
    counts = dict.fromkeys(COHORT_VERDICTS, 0)
    for row in rows:
        counts[row.verdict] += 1
    return counts


def _invitation_link(address: str, educator: Educator, env: ServiceEnv) -> str:
    # A single-use sign-in link, like the ones educators ask for, that lasts long enough for
    # an invitation to be read (only its hash is stored).
    token = secrets.token_urlsafe(32)
    db.session.add(
        MagicLink(
            token_hash=_hash(token),
            email=address,
            purpose="sign_in",
            educator_id=educator.id,
            created_at=env.now,
            expires_at=env.now + timedelta(days=INVITE_DAYS),
        )
    )
    return f"{env.base_url}/me/sign-in/{token}"


def enrol_cohort(module: Module, data: bytes, *, actor: Actor, env: ServiceEnv) -> list[CohortRow]:
    """Enrol the rows of a cohort file that pass the preview (checked again now): educators
    without an account get one (their address unconfirmed until they sign in), and everyone
    enrolled is emailed an invitation with a sign-in link. All or nothing.

    :returns: the rows with their verdicts (``new`` and ``existing`` ones were enrolled).
    :raises Conflict: when the module is a draft.
    :raises ServiceError: for a file that cannot be read.
    """
    if not module.published:
        raise Conflict("Publish the module before enrolling a cohort.")
    rows = cohort_preview(module, data)
    issuer = required(db.session.get(Issuer, module.issuer_id), "The issuer is missing.")
    created = 0
    for row in rows:
        if not row.ok:
            continue
        educator = educators.find_by_email(row.email)
        if educator is None:
            educator = educators.create(row.email, row.name, env, verified=False)
            created += 1
        db.session.add(
            Enrolment(
                module_id=module.id,
                educator_id=educator.id,
                state="in_progress",
                enrolled_at=env.now,
                enrolled_by="staff",
            )
        )
        emails.queue_template(
            "module_invite",
            env,
            to=row.email,
            link=_invitation_link(row.email, educator, env),
            secret=True,
            issuer_id=module.issuer_id,
            name=row.name or educator.name,
            issuer_name=issuer.name,
            module_title=module.title,
            module_summary=module.summary,
            days=INVITE_DAYS,
            base_url=env.base_url,
        )
    enrolled = sum(1 for row in rows if row.ok)
    audit.record(
        "module.cohort_enrol",
        actor=actor,
        now=env.now,
        issuer_id=module.issuer_id,
        subject_type="module",
        subject_id=module.public_id,
        detail={"enrolled": enrolled, "created": created, **cohort_counts(rows)},
    )
    try:
        db.session.commit()
    except IntegrityError:
        # Someone enrolled (or signed up) meanwhile; the file is simply checked again.
        db.session.rollback()
        raise Conflict(
            "Enrolments changed while the file was processed; upload it again."
        ) from None
    emails.deliver_soon(env)
    return rows
