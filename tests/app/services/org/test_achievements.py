"""Achievements: versions and history (the schema that validates both the workspace form and a
JSON body is tested in tests/schemas/test_achievements.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AchievementVersion, AuditEvent
from app.services._core.errors import ServiceError
from app.services.org import achievements
from app.services.org.achievements import AchievementInput
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.schemas.test_achievements import ISTE

ACTOR = Actor(label="test")


def as_input(version: AchievementVersion, **changes: object) -> AchievementInput:
    fields = {
        "name": version.name,
        "description": version.description,
        "criteria_markdown": version.criteria_markdown,
        "criteria_url": version.criteria_url,
        "learning_outcomes": tuple(version.learning_outcomes),
        "alignments": tuple(version.alignments),
        "achievement_type": version.achievement_type,
        "tags": tuple(version.tags),
        "credits_available": version.credits_available,
        "default_validity_days": version.default_validity_days,
        "image_id": version.image_id,
        **changes,
    }
    return AchievementInput(**fields)  # type: ignore[arg-type]


def version_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AchievementVersion)) or 0


def test_edit_adds_a_version_and_records_what_changed(make_issuer, make_achievement) -> None:
    issuer = make_issuer()
    achievement = make_achievement(issuer, credits_available=1.5)
    first = achievements.current_version(achievement)
    second = achievements.update_achievement(
        achievement,
        as_input(first, name="Formative Assessment II", tags=("feedback",)),
        actor=ACTOR,
        env=service_env(),
    )
    assert (second.version, achievement.current_version) == (2, 2)
    assert first.name == "Formative Assessment in Practice"  # versions never change
    assert achievements.changed_fields(first, second) == ["name", "tags"]
    history = achievements.history(achievement)
    assert [(v.version, changed) for v, changed in history] == [
        (2, ["name", "tags"]),
        (1, list(achievements.VERSION_FIELDS)),
    ]
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "achievement.update")
    ).one()
    assert event.detail == {"version": 2, "changed": ["name", "tags"]}


def test_unchanged_edit_adds_no_version(make_issuer, make_achievement) -> None:
    issuer = make_issuer()
    achievement = make_achievement(issuer, alignments=(ISTE,), tags=("b", "a"))
    current = achievements.current_version(achievement)
    # Padding, reordered tags and empty alignment properties are not changes.
    same = as_input(
        current,
        name=f"  {current.name} ",
        tags=("a", " b"),
        alignments=({**ISTE, "target_type": None, "target_description": ""},),
    )
    assert (
        achievements.update_achievement(achievement, same, actor=ACTOR, env=service_env())
        is current
    )
    assert version_count() == 1


def test_invalid_edits_store_nothing(make_issuer, make_achievement) -> None:
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    current = achievements.current_version(achievement)
    for changes, field in (
        ({"name": " "}, "name"),
        ({"criteria_markdown": "", "criteria_url": None}, "criteria_markdown"),
        ({"achievement_type": "Trophy"}, "achievement_type"),
        ({"credits_available": -1.0}, "credits_available"),
        ({"default_validity_days": 0}, "default_validity_days"),
        ({"image_id": 999_999}, "image"),
    ):
        with pytest.raises(ServiceError) as info:
            achievements.update_achievement(
                achievement, as_input(current, **changes), actor=ACTOR, env=service_env()
            )
        assert info.value.field == field
    assert version_count() == 1


def test_public_version_json_serves_each_version(make_issuer, make_achievement, client) -> None:
    issuer = make_issuer()
    achievement = make_achievement(issuer, alignments=(ISTE,))
    first = achievements.current_version(achievement)
    achievements.update_achievement(
        achievement, as_input(first, name="Renamed"), actor=ACTOR, env=service_env()
    )
    old = client.get(f"/achievements/{achievement.public_id}/versions/1").json
    new = client.get(f"/achievements/{achievement.public_id}/versions/2").json
    assert (old["name"], old["version"]) == ("Formative Assessment in Practice", "1")
    assert (new["name"], new["version"]) == ("Renamed", "2")
    assert new["alignment"][0]["targetFramework"] == "ISTE Standards for Educators"


# The schema, on its own: the form and a JSON body are the same operation.
