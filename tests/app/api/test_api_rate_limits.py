"""Rate limits per token: ``RateLimit-*`` headers on every answer, 429 in the API's error body
once a token has used its allowance, and another token is not held back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app.services.org import issuers, staff, tokens
from app.services.org.audit import Actor
from app.services.org.issuers import IssuerProfileInput
from app.wiring import service_env
from tests.app.conftest import BASE_URL, PASSWORD, rate_limited_app


@pytest.fixture
def limited_app(tmp_path: Path) -> Iterator[Flask]:
    """An application with rate limits on, three API requests a minute per token."""
    yield from rate_limited_app(tmp_path, API_RATE_LIMIT="3/minute")


def test_each_token_has_its_own_allowance(limited_app: Flask) -> None:
    env = service_env()
    owner = staff.create_account(email="o@a.example.org", name="O", password=PASSWORD,
                                 actor=Actor(label="test"), env=env)  # fmt: skip
    issuer = issuers.create_issuer(IssuerProfileInput(name="Issuer A"), slug="issuer-a", owner=owner,
                                   actor=Actor(label="test"), env=env)  # fmt: skip
    first, second = (
        tokens.create(
            issuer,
            creator=owner,
            name=name,
            scopes=["achievements:read"],
            expires_at=None,
            actor=Actor(owner),
            env=env,
        ).secret
        for name in ("one", "two")
    )
    client = limited_app.test_client()

    def get(token: str):  # type: ignore[no-untyped-def]
        return client.get("/api/v1/issuers/issuer-a/achievements", base_url=BASE_URL,
                          headers={"Authorization": f"Bearer {token}"})  # fmt: skip

    answers = [get(first) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    assert all(a.headers["RateLimit-Limit"] == "3" for a in answers)
    assert 0 < int(answers[0].headers["RateLimit-Reset"]) <= 60
    refused = get(first)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in refused.headers
    assert get(second).status_code == 200
