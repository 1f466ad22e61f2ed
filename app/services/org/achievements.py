"""Achievements: create, edit (a new immutable version each time), archive, and the OB 3.0
``Achievement`` object each version becomes in a credential."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

import credentials
from app.extensions import db
from app.models import Achievement, AchievementVersion, Image, Issuer
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, NotFound
from app.services.org import audit
from app.services.org.audit import Actor
from app.services.org.issuers import image_url
from credentials import ACHIEVEMENT_TYPES, CREDIT_RESULT_TYPE, CREDIT_UNITS


@dataclass(frozen=True)
class AchievementInput:
    """Everything an achievement version holds (validated by ``schemas.achievements``)."""

    name: str
    description: str
    criteria_markdown: str
    criteria_url: str | None = None
    learning_outcomes: tuple[str, ...] = ()
    alignments: tuple[dict[str, Any], ...] = ()
    achievement_type: str = "Badge"
    tags: tuple[str, ...] = ()
    credits_available: float | None = None
    credit_unit: str | None = None
    default_validity_days: int | None = None
    image_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_loaded(cls, loaded: dict[str, Any], image_id: int | None) -> AchievementInput:
        """What ``schemas.achievements`` loaded (from the form or an API body), with its image."""
        return cls(
            name=loaded["name"],
            description=loaded["description"],
            criteria_markdown=loaded["criteria_markdown"],
            criteria_url=loaded["criteria_url"],
            learning_outcomes=tuple(loaded["learning_outcomes"]),
            alignments=tuple(loaded["alignments"]),
            achievement_type=loaded["achievement_type"],
            tags=tuple(loaded["tags"]),
            credits_available=loaded["credits_available"],
            credit_unit=loaded.get("credit_unit"),
            default_validity_days=loaded["default_validity_days"],
            image_id=image_id,
        )


def _alignment(alignment: dict[str, Any]) -> dict[str, Any]:
    # Keep only the properties given, so an alignment saved with an empty property and the same
    # alignment read back from a form compare equal (and an unchanged edit adds no version).
    return {key: value for key, value in alignment.items() if value not in (None, "")}


def _fields(data: AchievementInput) -> dict[str, Any]:
    return {
        "name": data.name.strip(),
        "description": data.description.strip(),
        "criteria_markdown": data.criteria_markdown.strip(),
        "criteria_url": data.criteria_url or None,
        "learning_outcomes": [o.strip() for o in data.learning_outcomes if o.strip()],
        "alignments": [_alignment(dict(a)) for a in data.alignments],
        "achievement_type": data.achievement_type,
        "tags": sorted({t.strip() for t in data.tags if t.strip()}),
        "credits_available": data.credits_available,
        # A unit without credits says nothing: kept only with a number.
        "credit_unit": data.credit_unit if data.credits_available is not None else None,
        "default_validity_days": data.default_validity_days,
        "image_id": data.image_id,
    }


def _check(data: AchievementInput) -> None:
    if not data.name.strip():
        raise Invalid("An achievement needs a name.", "name")
    if not data.description.strip():
        raise Invalid("An achievement needs a description.", "description")
    if not data.criteria_markdown.strip() and not data.criteria_url:
        raise Invalid(
            "Say what earns it: criteria text, a criteria URL, or both.", "criteria_markdown"
        )
    kind = data.achievement_type
    if kind not in ACHIEVEMENT_TYPES and not kind.startswith("ext:"):
        raise Invalid(f"Unknown achievement type {kind!r}.", "achievement_type")
    if data.credits_available is not None and not 0 <= data.credits_available <= 10_000:
        raise Invalid("Credit must be between 0 and 10,000.", "credits_available")
    if data.credit_unit is not None and data.credit_unit not in CREDIT_UNITS:
        raise Invalid(f"Unknown credit unit {data.credit_unit!r}.", "credit_unit")
    if data.default_validity_days is not None and not 1 <= data.default_validity_days <= 36_500:
        raise Invalid(
            "A default validity must be between 1 day and 100 years.", "default_validity_days"
        )


#: The fields a version holds, in the order an edit form shows them.
VERSION_FIELDS = tuple(_fields(AchievementInput("", "", "")))


def _version_fields(version: AchievementVersion) -> dict[str, Any]:
    found = {name: getattr(version, name) for name in VERSION_FIELDS}
    found["alignments"] = [_alignment(dict(a)) for a in found["alignments"] or []]
    return found


def changed_fields(before: AchievementVersion | None, after: AchievementVersion) -> list[str]:
    """The names of the fields ``after`` changed from ``before`` (all of them for a first
    version), in :data:`VERSION_FIELDS` order."""
    if before is None:
        return list(VERSION_FIELDS)
    old, new = _version_fields(before), _version_fields(after)
    changed = [name for name in VERSION_FIELDS if old[name] != new[name]]
    old_rules, new_rules = _rule_fields(before), _rule_fields(after)
    return changed + [name for name in RULE_FIELDS if old_rules[name] != new_rules[name]]


def history(achievement: Achievement) -> list[tuple[AchievementVersion, list[str]]]:
    """Every version, newest first, with the fields it changed from the one before."""
    versions = list(
        db.session.scalars(
            select(AchievementVersion)
            .where(AchievementVersion.achievement_id == achievement.id)
            .order_by(AchievementVersion.version)
        )
    )
    found = [
        (version, changed_fields(versions[i - 1] if i else None, version))
        for i, version in enumerate(versions)
    ]
    return found[::-1]


def _check_image(issuer: Issuer, image_id: int | None) -> None:
    if image_id is not None and db.session.get(Image, image_id) is None:
        raise Invalid("That image does not exist.", "image")


def create_achievement(
    issuer: Issuer, data: AchievementInput, *, actor: Actor, env: ServiceEnv
) -> Achievement:
    """Create an achievement with its first version.

    :raises ServiceError: for invalid data.
    """
    _check(data)
    _check_image(issuer, data.image_id)
    achievement = Achievement(
        public_id=str(uuid.uuid4()), issuer_id=issuer.id, current_version=1, created_at=env.now
    )
    db.session.add(achievement)
    db.session.flush()
    version = AchievementVersion(
        achievement_id=achievement.id,
        version=1,
        created_at=env.now,
        created_by_id=actor.staff_id,
        **_fields(data),
    )
    db.session.add(version)
    audit.record(
        "achievement.create",
        actor=actor,
        now=env.now,
        issuer_id=issuer.id,
        subject_type="achievement",
        subject_id=achievement.public_id,
        detail={"name": version.name, "version": 1},
    )
    db.session.commit()
    return achievement


def update_achievement(
    achievement: Achievement, data: AchievementInput, *, actor: Actor, env: ServiceEnv
) -> AchievementVersion:
    """Save an edit as a new version (credentials already issued keep theirs). An edit that
    changes nothing adds no version.

    :raises ServiceError: for invalid data.
    """
    _check(data)
    _check_image(achievement.issuer, data.image_id)
    current = current_version(achievement)
    wanted = _fields(data)
    before = _version_fields(current)
    if wanted == before:
        return current
    version = _next_version(achievement, current, {**wanted, **_rule_fields(current)}, actor, env)
    changed = sorted(k for k in wanted if wanted[k] != before[k])
    audit.record(
        "achievement.update",
        actor=actor,
        now=env.now,
        issuer_id=achievement.issuer_id,
        subject_type="achievement",
        subject_id=achievement.public_id,
        detail={"version": version.version, "changed": changed},
    )
    db.session.commit()
    return version


def _next_version(
    achievement: Achievement,
    current: AchievementVersion,
    fields: dict[str, Any],
    actor: Actor,
    env: ServiceEnv,
) -> AchievementVersion:
    """Add the version after ``current`` with all of its ``fields`` (content and award rules),
    and make it the one new awards use (not committed)."""
    version = AchievementVersion(
        achievement_id=achievement.id,
        version=current.version + 1,
        created_at=env.now,
        created_by_id=actor.staff_id,
        **fields,
    )
    db.session.add(version)
    achievement.current_version = version.version
    return version


@dataclass(frozen=True)
class AwardRulesInput:
    """How an achievement is earned besides a staff award: a rubric for reviewed awards,
    portfolio submissions, and a pathway of other achievements.

    ``rubric``: ``[{"id", "name", "description", "levels": [{"id", "name", "description",
    "points"}]}]`` (ids are short slugs, unique within their list). ``pathway_members`` are
    achievement public ids of the same issuer; ``pathway_required`` of them earn this one.
    """

    rubric: tuple[dict[str, Any], ...] = ()
    accepts_submissions: bool = False
    pathway_required: int | None = None
    pathway_members: tuple[str, ...] = ()
    pathway_award_mode: str = "automatic"


#: Award-rule fields of a version (edited apart from its content, versioned alike).
RULE_FIELDS = (
    "rubric",
    "accepts_submissions",
    "pathway_required",
    "pathway_members",
    "pathway_award_mode",
)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
#: Limits on a rubric (it is published in every credential of the version).
MAX_CRITERIA = 20
MAX_LEVELS = 10
MAX_RUBRIC_NAME = 200
MAX_RUBRIC_TEXT = 2000


def _rule_fields(version: AchievementVersion) -> dict[str, Any]:
    return {
        "rubric": [dict(c) for c in version.rubric or []],
        "accepts_submissions": bool(version.accepts_submissions),
        "pathway_required": version.pathway_required,
        "pathway_members": list(version.pathway_members or []),
        "pathway_award_mode": version.pathway_award_mode or "automatic",
    }


def _check_rules(achievement: Achievement, rules: AwardRulesInput) -> dict[str, Any]:
    """The award-rule fields of a new version, checked and normalised.

    :raises ServiceError: for an invalid rubric, pathway or award mode.
    """
    rubric = _check_rubric(rules.rubric)
    members = list(dict.fromkeys(rules.pathway_members))
    if rules.pathway_required is not None or members:
        _check_pathway(achievement, members, rules.pathway_required)
    if rules.pathway_award_mode not in ("automatic", "review"):
        raise Invalid("Award a pathway automatically or after review.", "pathway_award_mode")
    return {
        "rubric": rubric,
        "accepts_submissions": rules.accepts_submissions,
        "pathway_required": rules.pathway_required if members else None,
        "pathway_members": members,
        "pathway_award_mode": rules.pathway_award_mode,
    }


def _check_rubric(criteria: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """The rubric's criteria, each with a distinct short id, a name and two or more levels."""
    rubric = []
    seen: set[str] = set()
    if len(criteria) > MAX_CRITERIA:
        raise Invalid(f"A rubric may have at most {MAX_CRITERIA} criteria.", "rubric")
    for criterion in criteria:
        cid, name = str(criterion.get("id", "")), str(criterion.get("name", "")).strip()
        if not _SLUG.match(cid) or cid in seen:
            raise Invalid(
                "Each rubric criterion needs a distinct short id (a-z, 0-9, -).", "rubric"
            )
        if not name:
            raise Invalid("Each rubric criterion needs a name.", "rubric")
        texts = [name, str(criterion.get("description") or "")]
        if len(criterion.get("levels", [])) > MAX_LEVELS:
            raise Invalid(f"Give “{name}” at most {MAX_LEVELS} levels.", "rubric")
        seen.add(cid)
        levels = _check_levels(name, criterion.get("levels", []), texts)
        if any(len(t) > MAX_RUBRIC_TEXT for t in texts) or len(name) > MAX_RUBRIC_NAME:
            raise Invalid(
                f"Keep the names in “{name[:40]}” under {MAX_RUBRIC_NAME} characters and "
                f"descriptions under {MAX_RUBRIC_TEXT:,}.",
                "rubric",
            )
        rubric.append(
            {
                "id": cid,
                "name": name,
                "description": str(criterion.get("description") or ""),
                "levels": levels,
            }
        )
    return rubric


def _check_levels(name: str, given: list[dict[str, Any]], texts: list[str]) -> list[dict[str, Any]]:
    """The levels of criterion ``name``; their texts are added to ``texts`` to be measured."""
    levels, level_ids = [], set()
    for level in given:
        lid, lname = str(level.get("id", "")), str(level.get("name", "")).strip()
        if not _SLUG.match(lid) or lid in level_ids or not lname:
            raise Invalid(f"The levels of “{name}” need names and distinct short ids.", "rubric")
        texts += [lname, str(level.get("description") or ""), str(level.get("points") or "")]
        level_ids.add(lid)
        points = level.get("points")
        levels.append(
            {
                "id": lid,
                "name": lname,
                "description": str(level.get("description") or ""),
                "points": None if points in (None, "") else str(points),
            }
        )
    if len(levels) < 2:
        raise Invalid(f"Give “{name}” at least two levels.", "rubric")
    return levels


def _check_pathway(achievement: Achievement, members: list[str], how_many: int | None) -> None:
    """A pathway names other achievements of the same issuer, and how many of them it takes."""
    if not members:
        raise Invalid("Choose the achievements the pathway is made of.", "pathway_members")
    if achievement.public_id in members:
        raise Invalid("A pathway cannot require the achievement itself.", "pathway_members")
    found = set(
        db.session.scalars(
            select(Achievement.public_id).where(
                Achievement.issuer_id == achievement.issuer_id,
                Achievement.public_id.in_(members),
            )
        )
    )
    if found != set(members):
        raise Invalid(
            "A pathway may only name this organisation's achievements.", "pathway_members"
        )
    if not how_many or not 1 <= how_many <= len(members):
        raise Invalid(
            f"Say how many of the {len(members)} achievements the pathway requires.",
            "pathway_required",
        )


def update_award_rules(
    achievement: Achievement, rules: AwardRulesInput, *, actor: Actor, env: ServiceEnv
) -> AchievementVersion:
    """Change the rubric, submissions or pathway: a new version (the rubric is part of the
    published achievement), with the content of the current one. No change adds no version.

    :raises ServiceError: for an invalid rubric or pathway.
    """
    wanted = _check_rules(achievement, rules)
    current = current_version(achievement)
    before = _rule_fields(current)
    if wanted == before:
        return current
    version = _next_version(
        achievement, current, {**_version_fields(current), **wanted}, actor, env
    )
    audit.record(
        "achievement.rules",
        actor=actor,
        now=env.now,
        issuer_id=achievement.issuer_id,
        subject_type="achievement",
        subject_id=achievement.public_id,
        detail={
            "version": version.version,
            "changed": sorted(k for k in wanted if wanted[k] != before[k]),
        },
    )
    db.session.commit()
    return version


def set_archived(
    achievement: Achievement, archived: bool, *, actor: Actor, env: ServiceEnv
) -> None:
    """Archive (no new awards; existing credentials unaffected) or restore an achievement."""
    achievement.archived_at = env.now if archived else None
    audit.record(
        "achievement.archive" if archived else "achievement.restore",
        actor=actor,
        now=env.now,
        issuer_id=achievement.issuer_id,
        subject_type="achievement",
        subject_id=achievement.public_id,
    )
    db.session.commit()


def current_version(achievement: Achievement) -> AchievementVersion:
    """The version new awards use."""
    version = db.session.scalar(
        select(AchievementVersion).where(
            AchievementVersion.achievement_id == achievement.id,
            AchievementVersion.version == achievement.current_version,
        )
    )
    if version is None:
        raise NotFound("That achievement has no current version.")
    return version


def get(issuer: Issuer, public_id: str) -> Achievement:
    """One of the issuer's achievements.

    :raises NotFound: when it does not exist or belongs to another issuer.
    """
    achievement = db.session.scalar(
        select(Achievement).where(
            Achievement.public_id == public_id, Achievement.issuer_id == issuer.id
        )
    )
    if achievement is None:
        raise NotFound("There is no such achievement.")
    return achievement


def list_for(
    issuer: Issuer, *, include_archived: bool = False
) -> list[tuple[Achievement, AchievementVersion]]:
    """The issuer's achievements with their current versions, by name."""
    query = (
        select(Achievement, AchievementVersion)
        .join(
            AchievementVersion,
            (AchievementVersion.achievement_id == Achievement.id)
            & (AchievementVersion.version == Achievement.current_version),
        )
        .where(Achievement.issuer_id == issuer.id)
        .order_by(func.lower(AchievementVersion.name))
    )
    if not include_archived:
        query = query.where(Achievement.archived_at.is_(None))
    return [(a, v) for a, v in db.session.execute(query).all()]


def require_awardable(achievement: Achievement) -> None:
    """:raises Conflict: when the achievement is archived."""
    if achievement.archived_at is not None:
        raise Conflict("This achievement is archived; restore it before awarding it.")


def version_url(achievement: Achievement, version: AchievementVersion, env: ServiceEnv) -> str:
    """The id (and public page) of one version of an achievement."""
    return f"{env.base_url}/achievements/{achievement.public_id}/versions/{version.version}"


def criteria_narrative(version: AchievementVersion) -> str:
    """The criteria markdown, with the learning outcomes appended as a list (OB 3.0 has no
    property of their own, and the criteria are where a reader looks for them)."""
    text = version.criteria_markdown.strip()
    if version.learning_outcomes:
        outcomes = "\n".join(f"- {o}" for o in version.learning_outcomes)
        text = f"{text}\n\n**Learning outcomes**\n\n{outcomes}".strip()
    return text


def ob_achievement(
    achievement: Achievement, version: AchievementVersion, issuer: Issuer, env: ServiceEnv
) -> credentials.Achievement:
    """A version as the OB 3.0 ``Achievement`` input for ``credentials.build``."""
    return credentials.Achievement(
        id=version_url(achievement, version, env),
        name=version.name,
        description=version.description,
        criteria_narrative=criteria_narrative(version) or None,
        criteria_id=version.criteria_url,
        achievement_type=version.achievement_type,
        image=credentials.Image(image_url(version.image, env), version.name)
        if version.image
        else None,
        alignments=tuple(
            credentials.Alignment(
                target_name=a["target_name"],
                target_url=a["target_url"],
                target_description=a.get("target_description") or None,
                target_framework=a.get("target_framework") or None,
                target_code=a.get("target_code") or None,
                target_type=a.get("target_type") or None,
            )
            for a in version.alignments
        ),
        tags=tuple(version.tags),
        credits_available=version.credits_available,
        result_descriptions=credit_descriptions(achievement, version, env)
        + rubric_descriptions(achievement, version, env),
        version=str(version.version),
        in_language="en",
    )


def credit_url(
    achievement: Achievement, version: AchievementVersion, env: ServiceEnv
) -> str | None:
    """The id of the version's credit ``ResultDescription`` (none without a unit): an award's
    ``Result`` of credits earned points at it."""
    if version.credit_unit is None or version.credits_available is None:
        return None
    return f"{version_url(achievement, version, env)}#credit-{version.credit_unit}"


def credit_descriptions(
    achievement: Achievement, version: AchievementVersion, env: ServiceEnv
) -> tuple[credentials.ResultDescription, ...]:
    """The unit of ``creditsAvailable`` as a ``ResultDescription`` (see
    ``credentials.CREDIT_UNITS`` for why); none for a version without a unit."""
    url = credit_url(achievement, version, env)
    if url is None or version.credit_unit is None:
        return ()
    return (
        credentials.ResultDescription(
            id=url,
            name=CREDIT_UNITS[version.credit_unit],
            result_type=CREDIT_RESULT_TYPE,
            value_min="0",
            value_max=format_credit_value(version.credits_available),
        ),
    )


def format_credit_value(value: float | None) -> str:
    """A credit as a JSON string: "6", "1.5" (no trailing ".0")."""
    return "" if value is None else f"{value:g}"


def criterion_url(
    achievement: Achievement, version: AchievementVersion, criterion_id: str, env: ServiceEnv
) -> str:
    """The id of a rubric criterion (an OB 3.0 ``ResultDescription``)."""
    return f"{version_url(achievement, version, env)}#rubric-{criterion_id}"


def level_url(
    achievement: Achievement,
    version: AchievementVersion,
    criterion_id: str,
    level_id: str,
    env: ServiceEnv,
) -> str:
    """The id of a level of a rubric criterion (an OB 3.0 ``RubricCriterionLevel``)."""
    return f"{criterion_url(achievement, version, criterion_id, env)}-{level_id}"


def rubric_descriptions(
    achievement: Achievement, version: AchievementVersion, env: ServiceEnv
) -> tuple[credentials.ResultDescription, ...]:
    """The version's rubric as ``ResultDescription``s with their ``RubricCriterionLevel``s."""
    return tuple(
        credentials.ResultDescription(
            id=criterion_url(achievement, version, str(criterion["id"]), env),
            name=str(criterion["name"]),
            result_type="RubricCriterionLevel",
            rubric_levels=tuple(
                credentials.RubricCriterionLevel(
                    id=level_url(achievement, version, str(criterion["id"]), str(level["id"]), env),
                    name=str(level["name"]),
                    description=level.get("description") or None,
                    points=str(level["points"]) if level.get("points") is not None else None,
                )
                for level in criterion.get("levels", [])
            ),
        )
        for criterion in version.rubric or []
    )
