"""The security headers every response carries: each exactly once, a view's own stricter value
kept, HSTS only when Cairn is served over https."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.extensions import db
from app.models import Achievement, IssuedCredential, Issuer
from app.security import CSP
from tests.app.conftest import BASE_URL, database_url

EVERYWHERE = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
HSTS = "max-age=31536000"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/credentials/{id}", "application/ld+json"),
        ("/credentials/{id}", BROWSER),
        ("/credentials/00000000-0000-4000-8000-000000000000", "application/ld+json"),
        ("/login", BROWSER),
        ("/no-such-page", BROWSER),
    ],
)
def test_every_response_carries_each_header_once(
    client: FlaskClient,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
    path: str,
    accept: str,
) -> None:
    issuer = make_issuer()
    credential = make_award(issuer, make_achievement(issuer))
    response = client.get(
        path.format(id=credential.id), base_url=BASE_URL, headers={"Accept": accept}
    )
    for name, value in {**EVERYWHERE, "Strict-Transport-Security": HSTS}.items():
        assert response.headers.getlist(name) == [value], name


def test_a_views_own_policy_is_kept(
    client: FlaskClient,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    issuer = make_issuer()
    credential = make_award(issuer, make_achievement(issuer))
    response = client.get(f"/credentials/{credential.id}/badge.svg", base_url=BASE_URL)
    policies = response.headers.getlist("Content-Security-Policy")
    assert len(policies) == 1 and "sandbox" in policies[0]
    assert response.headers.getlist("X-Frame-Options") == ["DENY"]


@pytest.fixture
def plain_http_app(tmp_path: Path) -> Iterator[Flask]:
    application = create_app(
        {
            "ENV": "testing",
            "DATABASE_URL": database_url(tmp_path),
            "KEYS_DIR": str(tmp_path / "keys"),
            "BASE_URL": "http://localhost:5000",
            "RATELIMIT_ENABLED": False,
        }
    )
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


def test_no_hsts_without_https(plain_http_app: Flask) -> None:
    response = plain_http_app.test_client().get("/login")
    assert "Strict-Transport-Security" not in response.headers
    for name, value in EVERYWHERE.items():
        assert response.headers.getlist(name) == [value], name
