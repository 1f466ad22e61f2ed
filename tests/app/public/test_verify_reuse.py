"""``POST /api/verify`` reuses a valid verdict on the same bytes (``app/services/verification/
reuse.py``) only while nothing it depends on changed: a revocation, suspension, reinstatement, a
re-signed list, a changed key or slug, a validity date or :data:`reuse.MAX_AGE` passing, made by
any process, shows on the next request; and every answer equals a verification from scratch.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from app.extensions import db
from app.models import Achievement, IssuedCredential, Issuer
from app.public import verdicts
from app.services.awarding import revocation
from app.services.delivery import analytics
from app.services.org.audit import Actor
from app.services.verification import reuse, verifier
from app.wiring import service_env
from tests.app.conftest import BASE_URL

TEST = Actor(label="test")


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One entry each time the full verifier ran for the route."""
    ran: list[str] = []
    real = verifier._verify_own

    def counting(*args: Any) -> Any:
        ran.append("verify")
        return real(*args)

    monkeypatch.setattr(verifier, "_verify_own", counting)
    return ran


def png_of(client: FlaskClient, found: IssuedCredential) -> bytes:
    data: bytes = client.get(f"/credentials/{found.id}/badge.png", base_url=BASE_URL).data
    return data


def verify(client: FlaskClient, png: bytes, **query: str) -> dict[str, Any]:
    response = client.post("/api/verify", base_url=BASE_URL, data=png,
                           content_type="image/png", query_string=query)  # fmt: skip
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


def fresh(png: bytes, **kwargs: Any) -> dict[str, Any]:
    """The answer of a verification from scratch (no kept verdict), as the route gives it."""
    report, _ = verifier.verify_own(png, env=service_env(), fallback=None, **kwargs)
    return {**report.as_json(), "summary": verifier.verdict(report)}


def test_the_third_request_reuses_and_every_one_is_counted(
    client: FlaskClient, credential: IssuedCredential, verifications: list[str]
) -> None:
    png = png_of(client, credential)
    answers = [verify(client, png) for _ in range(4)]
    assert all(a["valid"] for a in answers) and all(a == answers[0] for a in answers)
    # The first learns where the dependencies live, the second keeps its verdict.
    assert len(verifications) == 2
    assert answers[0] == fresh(png)
    assert analytics.for_credential(credential.id)["verify"] == 4


def test_a_revocation_by_another_process_shows_at_once(
    client: FlaskClient, credential: IssuedCredential, verifications: list[str]
) -> None:
    png = png_of(client, credential)
    for _ in range(3):
        assert verify(client, png)["valid"]
    # What another process does: the rows change; nothing here is told.
    revocation.revoke(credential, "Awarded in error", actor=TEST, env=service_env())
    answer = verify(client, png)
    assert not answer["valid"] and answer["summary"]["kind"] == "revoked"
    assert answer == fresh(png)


def test_the_own_record_alone_changing_shows_at_once(
    client: FlaskClient, credential: IssuedCredential, verifications: list[str]
) -> None:
    png = png_of(client, credential)
    for _ in range(3):
        assert verify(client, png)["valid"]
    # The credential's row without its list (a list not re-signed): Cairn's record still counts.
    db.session.execute(text("UPDATE issued_credential SET suspended_at = CURRENT_TIMESTAMP "
                            "WHERE id = :id"), {"id": credential.id})  # fmt: skip
    db.session.commit()
    answer = verify(client, png)
    assert not answer["valid"] and answer["summary"]["kind"] == "suspended"


def test_a_suspension_and_its_end_show_at_once(
    client: FlaskClient, credential: IssuedCredential, verifications: list[str]
) -> None:
    png = png_of(client, credential)
    for _ in range(3):
        verify(client, png)
    revocation.suspend(credential, "Under review", actor=TEST, env=service_env())
    assert verify(client, png)["summary"]["kind"] == "suspended"
    revocation.unsuspend(credential, "Review done", actor=TEST, env=service_env())
    assert verify(client, png)["valid"]


def test_a_changed_key_list_or_slug_verifies_again(
    client: FlaskClient,
    issuer: Issuer,
    achievement: Achievement,
    credential: IssuedCredential,
    make_award: Callable[..., IssuedCredential],
    verifications: list[str],
) -> None:
    png = png_of(client, credential)
    for _ in range(3):
        verify(client, png)
    assert len(verifications) == 2
    other = make_award(issuer, achievement, "other@school.example.org")
    revocation.revoke(other, "Duplicate", actor=TEST, env=service_env())
    assert verify(client, png)["valid"]
    assert len(verifications) == 3  # the re-signed list changed the key

    db.session.execute(
        text("UPDATE issuer_key SET kid = kid || '-moved' WHERE issuer_id = :id"), {"id": issuer.id}
    )
    db.session.commit()
    assert not verify(client, png)["valid"]
    db.session.execute(
        text("UPDATE issuer_key SET kid = replace(kid, '-moved', '') WHERE issuer_id = :id"),
        {"id": issuer.id},
    )
    db.session.commit()
    for _ in range(2):
        assert verify(client, png)["valid"]
    db.session.execute(text("UPDATE issuer SET slug = 'elsewhere' WHERE id = :id"),
                       {"id": issuer.id})  # fmt: skip
    db.session.commit()
    assert not verify(client, png)["valid"]


def test_a_validity_date_or_max_age_ends_a_kept_verdict(
    client: FlaskClient,
    brief_award: IssuedCredential,
    set_clock: Callable[[Any], None],
    verifications: list[str],
) -> None:
    now = service_env().now
    found = brief_award
    assert found.valid_until is not None  # for the type checker
    png = png_of(client, found)
    set_clock(found.valid_until - timedelta(seconds=30))
    for _ in range(3):
        assert verify(client, png)["valid"]
    assert len(verifications) == 2
    set_clock(found.valid_until + timedelta(seconds=1))
    expired = verify(client, png)
    assert not expired["valid"] and expired["summary"]["kind"] == "expired"

    later = png_of(client, found)
    set_clock(now)
    for _ in range(3):
        verify(client, later)
    ran = len(verifications)
    set_clock(now + reuse.MAX_AGE - timedelta(seconds=1))
    verify(client, later)
    assert len(verifications) == ran
    set_clock(now + reuse.MAX_AGE)
    verify(client, later)
    assert len(verifications) == ran + 1


def test_the_recipient_asked_about_is_part_of_the_key(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    png = png_of(client, credential)
    for _ in range(3):
        assert verify(client, png)["valid"]
    wrong = verify(client, png, recipient="someone-else@example.org")
    assert wrong == fresh(png, recipient="someone-else@example.org")
    assert not wrong["valid"]


def test_a_verification_that_fetched_elsewhere_is_not_kept(
    client: FlaskClient, credential: IssuedCredential, monkeypatch: pytest.MonkeyPatch,
    verifications: list[str],
) -> None:  # fmt: skip
    real = verifier.LocalFirstFetcher.local

    def fetching(self: verifier.LocalFirstFetcher, path: str) -> bytes | None:
        with contextlib.suppress(OSError):
            self("https://elsewhere.example.org/did.json")
        return real(self, path)

    monkeypatch.setattr(verifier.LocalFirstFetcher, "local", fetching)
    monkeypatch.setattr("app.public.verify.fetcher", lambda: _refuse)
    png = png_of(client, credential)
    for _ in range(4):
        assert verify(client, png)["valid"]
    assert len(verifications) == 4


def test_kept_answers_equal_fresh_ones_through_random_changes(
    client: FlaskClient,
    issuer: Issuer,
    achievement: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    found = [make_award(issuer, achievement, f"r{n}@school.example.org") for n in range(3)]
    pngs = [png_of(client, f) for f in found]
    env = service_env()
    moves: list[Callable[[IssuedCredential], Any]] = [
        lambda c: revocation.suspend(c, "Review", actor=TEST, env=env),
        lambda c: revocation.unsuspend(c, "Done", actor=TEST, env=env),
        lambda c: revocation.revoke(c, "Error", actor=TEST, env=env),
    ]
    draw = random.Random(16)  # noqa: S311 (a reproducible test sequence)
    for _ in range(40):
        n = draw.randrange(3)
        if draw.random() < 0.3:
            with contextlib.suppress(Exception):
                draw.choice(moves)(found[n])
            db.session.rollback()
        for _ in range(draw.randrange(1, 4)):
            assert verify(client, pngs[n]) == fresh(pngs[n])
    assert len(verdicts.submissions()._entries) == 3


def _refuse(url: str) -> bytes:
    raise OSError(f"not fetched: {url}")
