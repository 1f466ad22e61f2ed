"""``/api/v1/issuers/<slug>/achievements``: list, create, read, new version, archive, restore."""

from __future__ import annotations

from typing import Any

from flask import url_for

from app.api.core import PAGE_HEADERS, actor, bp, current_issuer, idempotent, page, requires
from app.api.schemas import AchievementListArgs, AchievementOut, AchievementPage
from app.models import Achievement, AchievementVersion
from app.services.org import achievements
from app.services.org.achievements import AchievementInput
from app.wiring import service_env
from schemas.achievements import AchievementSchema


def achievement_json(achievement: Achievement, version: AchievementVersion) -> dict[str, Any]:
    """An achievement as the API shows it."""
    return {
        "id": achievement.public_id,
        "url": achievements.version_url(achievement, version, service_env()),
        "version": version.version,
        "archived": achievement.archived_at is not None,
        "name": version.name,
        "description": version.description,
        "criteria_markdown": version.criteria_markdown,
        "criteria_url": version.criteria_url,
        "achievement_type": version.achievement_type,
        "learning_outcomes": list(version.learning_outcomes or []),
        "tags": list(version.tags or []),
        "alignments": list(version.alignments or []),
        "credits_available": version.credits_available,
        "credit_unit": version.credit_unit,
        "default_validity_days": version.default_validity_days,
        "created_at": achievement.created_at,
    }


@bp.route("/issuers/<slug>/achievements", methods=["GET"])
@requires("achievements:read")
@bp.arguments(AchievementListArgs, location="query", as_kwargs=True)
@bp.response(200, AchievementPage, headers=PAGE_HEADERS)
def list_achievements(slug: str, limit: int, offset: int, include_archived: bool) -> Any:
    """The organisation's achievements, by name, each with its `id`."""
    found = achievements.list_for(current_issuer(), include_archived=include_archived)
    items = [achievement_json(a, v) for a, v in found[offset : offset + limit]]
    return page(items, len(found), limit, offset)


@bp.route("/issuers/<slug>/achievements", methods=["POST"])
@requires("achievements:write")
@idempotent
@bp.arguments(AchievementSchema)
@bp.response(201, AchievementOut)
def create_achievement(loaded: dict[str, Any], slug: str) -> Any:
    """Create an achievement (its first version)."""
    achievement = achievements.create_achievement(
        current_issuer(),
        AchievementInput.from_loaded(loaded, None),
        actor=actor(),
        env=service_env(),
    )
    version = achievements.current_version(achievement)
    location = url_for("api.read_achievement", slug=slug, public_id=achievement.public_id)
    return achievement_json(achievement, version), 201, {"Location": location}


@bp.route("/issuers/<slug>/achievements/<public_id>", methods=["GET"])
@requires("achievements:read")
@bp.response(200, AchievementOut)
def read_achievement(slug: str, public_id: str) -> Any:
    """One achievement and its current version."""
    achievement = achievements.get(current_issuer(), public_id)
    return achievement_json(achievement, achievements.current_version(achievement))


@bp.route("/issuers/<slug>/achievements/<public_id>/versions", methods=["POST"])
@requires("achievements:write")
@idempotent
@bp.arguments(AchievementSchema)
@bp.response(201, AchievementOut)
def new_achievement_version(loaded: dict[str, Any], slug: str, public_id: str) -> Any:
    """Save a new version (credentials already issued keep theirs); the image is kept. A
    version that changes nothing adds none (the answer is then the current version)."""
    achievement = achievements.get(current_issuer(), public_id)
    image_id = achievements.current_version(achievement).image_id
    version = achievements.update_achievement(
        achievement,
        AchievementInput.from_loaded(loaded, image_id),
        actor=actor(),
        env=service_env(),
    )
    return achievement_json(achievement, version), 201


@bp.route("/issuers/<slug>/achievements/<public_id>/archive", methods=["POST"])
@requires("achievements:write")
@bp.response(200, AchievementOut)
def archive_achievement(slug: str, public_id: str) -> Any:
    """Archive an achievement: no new awards; credentials already issued are unaffected."""
    achievement = achievements.get(current_issuer(), public_id)
    if achievement.archived_at is None:
        achievements.set_archived(achievement, True, actor=actor(), env=service_env())
    return achievement_json(achievement, achievements.current_version(achievement))


@bp.route("/issuers/<slug>/achievements/<public_id>/restore", methods=["POST"])
@requires("achievements:write")
@bp.response(200, AchievementOut)
def restore_achievement(slug: str, public_id: str) -> Any:
    """Restore an archived achievement, so it can be awarded again."""
    achievement = achievements.get(current_issuer(), public_id)
    if achievement.archived_at is not None:
        achievements.set_archived(achievement, False, actor=actor(), env=service_env())
    return achievement_json(achievement, achievements.current_version(achievement))
