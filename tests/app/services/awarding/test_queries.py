"""A credential's status, defined once (``IssuedCredential.status_at`` and its SQL twin
``status_sql``), and the reads built on it: the workspace search and the report's counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product
from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import CREDENTIAL_STATUSES, STATUS_LABELS, IssuedCredential
from app.services.awarding import queries as credential_queries
from app.services.awarding import revocation
from app.services.org.audit import Actor
from app.wiring import service_env

ACTOR = Actor(label="test")
NOW = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)
EXPIRIES = {
    "never": None,
    "past": NOW - timedelta(days=1),
    "a moment ago": NOW - timedelta(microseconds=1),
    "right now": NOW,  # still valid at that very moment, as the verifier has it
    "future": NOW + timedelta(days=1),
}
CASES = list(product((False, True), (False, True), EXPIRIES))


def expected(revoked: bool, suspended: bool, expiry: str) -> str:
    """The definition, spelled out: revoked beats suspended beats expired."""
    if revoked:
        return "revoked"
    if suspended:
        return "suspended"
    return "expired" if expiry in ("past", "a moment ago") else "valid"


@pytest.fixture
def credential(make_issuer: Any, make_achievement: Any, make_award: Any) -> IssuedCredential:
    issuer = make_issuer()
    return make_award(issuer, make_achievement(issuer), "a@school.example.org")  # type: ignore[no-any-return]


@pytest.mark.parametrize(("revoked", "suspended", "expiry"), CASES)
def test_the_method_and_the_sql_expression_agree(
    credential: IssuedCredential, revoked: bool, suspended: bool, expiry: str
) -> None:
    credential.revoked_at = NOW - timedelta(hours=1) if revoked else None
    credential.suspended_at = NOW - timedelta(hours=2) if suspended else None
    credential.valid_until = EXPIRIES[expiry]
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(IssuedCredential, credential.id)
    assert stored is not None
    want = expected(revoked, suspended, expiry)
    assert stored.status_at(NOW) == want
    in_sql = db.session.scalar(
        select(IssuedCredential.status_sql(NOW)).where(IssuedCredential.id == credential.id)
    )
    assert in_sql == want
    # The filter finds it under its own status and under no other.
    for status in CREDENTIAL_STATUSES:
        query = credential_queries.with_status(select(IssuedCredential.id), status, NOW)
        assert list(db.session.scalars(query)) == ([credential.id] if status == want else [])


def test_one_word_for_each_status() -> None:
    assert set(STATUS_LABELS) == set(CREDENTIAL_STATUSES)
    assert STATUS_LABELS == {
        "valid": "Valid",
        "revoked": "Revoked",
        "suspended": "Suspended",
        "expired": "Expired",
    }


def test_counts(make_issuer, make_achievement, make_award) -> None:
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    make_award(issuer, achievement, "a@school.example.org")
    revoked = make_award(issuer, achievement, "b@school.example.org")
    suspended = make_award(issuer, achievement, "c@school.example.org")
    revocation.revoke(revoked, "Awarded in error", actor=ACTOR, env=service_env())
    revocation.suspend(suspended, "Under review", actor=ACTOR, env=service_env())
    counts = credential_queries.counts(achievement, service_env().now)
    assert counts == {"issued": 3, "revoked": 1, "suspended": 1, "expired": 0, "valid": 1}
    (row,) = credential_queries.report(issuer, service_env().now)
    assert row["issued"] == 3 and row["achievement"] is achievement


def test_counts_of_an_achievement_never_awarded(make_issuer, make_achievement) -> None:
    issuer = make_issuer()
    achievement = make_achievement(issuer)
    assert credential_queries.counts(achievement, service_env().now) == dict.fromkeys(
        credential_queries.COUNTS, 0
    )
    (row,) = credential_queries.report(issuer, service_env().now)
    assert {name: row[name] for name in credential_queries.COUNTS} == dict.fromkeys(
        credential_queries.COUNTS, 0
    )
