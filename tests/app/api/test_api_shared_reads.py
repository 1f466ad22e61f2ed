"""What a batch of API awards takes from the batches before it (``shared_reads``): two
applications on one database and one Redis stand for two server processes. Once it has awarded,
the next award reads neither the achievement's version, the issuer's key, its webhook endpoints
nor whether it has a pathway; a change to any of them made by the other process (a new key, a
new version, a webhook endpoint, a pathway) is seen by the very next award."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import Achievement, IssuedCredential, WebhookDelivery
from app.services._core import shared_reads
from app.services._core.shared_reads import ReadStore, SharedReads
from app.services.org import achievements, issuers
from app.services.org.achievements import AchievementInput, AwardRulesInput
from app.services.org.audit import Actor
from app.services.webhooks import endpoints
from app.wiring import service_env
from tests.app.api.conftest import statements
from tests.app.api.test_api_lookups import award

#: What the batch no longer reads once it has read it (the tables' own queries).
SHARED = ("FROM achievement_version", "FROM issuer_key", "FROM webhook_endpoint")


def awarded(application: Flask, secret: str, achievement: Achievement, n: int) -> IssuedCredential:
    answer = award(application, secret, achievement.public_id, n)
    assert answer.status_code == 201, answer.get_json()
    found = db.session.get(IssuedCredential, answer.get_json()["id"])
    assert found is not None
    return found


def test_the_next_batch_reads_none_of_it_again(other: Flask, awarding: Any) -> None:
    _issuer, _owner, writer, achievement = awarding
    with statements(other) as first:
        awarded(other, writer, achievement, 1)
    for table in SHARED:
        assert [s for s in first if table in s], (table, first)
    assert [s for s in first if "pathway_required" in s]
    with statements(other) as second:
        awarded(other, writer, achievement, 2)
    assert not [s for s in second if any(table in s for table in SHARED)], second
    assert not [s for s in second if "pathway_required" in s], second


def test_a_key_rotated_by_another_process_signs_the_next_award(other: Flask, awarding: Any) -> None:
    issuer, owner, writer, achievement = awarding
    before = awarded(other, writer, achievement, 1)
    new_key = issuers.rotate_key(issuer, "ed25519", actor=Actor(owner), env=service_env())
    after = awarded(other, writer, achievement, 2)

    def method(credential: IssuedCredential) -> str:
        return str(json.loads(credential.document)["proof"][0]["verificationMethod"])

    assert not method(before).endswith(f"#{new_key.kid}")
    assert method(after).endswith(f"#{new_key.kid}")


def test_a_new_version_made_by_another_process_is_the_next_awards(
    other: Flask, awarding: Any
) -> None:
    _issuer, owner, writer, achievement = awarding
    assert awarded(other, writer, achievement, 1).achievement_version.version == 1
    achievements.update_achievement(
        achievement,
        AchievementInput(name="Coaching conversations", description="Coaches colleagues.",
                         criteria_markdown="Six observed conversations."),
        actor=Actor(owner), env=service_env(),
    )  # fmt: skip
    after = awarded(other, writer, achievement, 2)
    assert after.achievement_version.version == 2
    assert json.loads(after.document)["credentialSubject"]["achievement"]["name"] == (
        "Coaching conversations"
    )


def test_an_endpoint_added_by_another_process_gets_the_next_award(
    app: Flask, other: Flask, awarding: Any
) -> None:
    issuer, owner, writer, achievement = awarding
    awarded(other, writer, achievement, 1)
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    app.config["WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1:9"
    endpoints.create(issuer, url="http://127.0.0.1:9/hooks", events=["credential.issued"],
                     description="LMS", actor=Actor(owner), env=service_env())  # fmt: skip
    awarded(other, writer, achievement, 2)
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 1


def test_a_pathway_made_by_another_process_follows_the_next_award(
    other: Flask, awarding: Any, make_achievement: Callable[..., Achievement]
) -> None:
    issuer, owner, writer, achievement = awarding
    awarded(other, writer, achievement, 1)  # remembered: the issuer has no pathway
    coach = make_achievement(issuer, "Instructional Coach")
    achievements.update_award_rules(
        coach, AwardRulesInput(pathway_required=1, pathway_members=(achievement.public_id,)),
        actor=Actor(owner), env=service_env(),
    )  # fmt: skip
    second = awarded(other, writer, achievement, 2)
    earned = db.session.scalars(
        select(IssuedCredential).where(IssuedCredential.achievement_id == coach.id)
    ).all()
    assert [c.recipient_email for c in earned] == [second.recipient_email]


def test_an_entry_is_used_only_under_its_version_and_until_it_expires(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ReadStore()
    reads: list[int] = []

    def read() -> int:
        reads.append(1)
        return len(reads)

    env = service_env()
    assert env.shared_reads is None  # the workspace, the CLI and jobs always read
    assert [shared_reads.remembered("x", env, read) for _ in range(2)] == [1, 2]
    first = replace(env, shared_reads=SharedReads(store, b"1"))
    assert [shared_reads.remembered("x", first, read) for _ in range(2)] == [3, 3]
    bumped = replace(env, shared_reads=SharedReads(store, b"2"))
    assert shared_reads.remembered("x", bumped, read) == 4
    assert shared_reads.remembered("x", bumped, read) == 4
    later = time.monotonic() + shared_reads.KEEP_FOR + 1
    monkeypatch.setattr(shared_reads.time, "monotonic", lambda: later)
    assert shared_reads.remembered("x", bumped, read) == 5
