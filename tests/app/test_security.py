"""The security headers every response carries: each exactly once, a view's own stricter value
kept, HSTS (with subdomains) only when Cairn is served over https and not turned off, and a
Permissions-Policy denying the browser features Cairn does not use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.config import ConfigError
from app.extensions import db
from app.models import Achievement, IssuedCredential, Issuer
from app.security import CSP, PERMISSIONS_POLICY
from tests.app.conftest import BASE_URL, database_url

EVERYWHERE = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
}
HSTS = "max-age=31536000; includeSubDomains"
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


def test_the_permissions_policy_denies_unused_features_and_keeps_what_pages_use() -> None:
    policy = dict(item.split("=", 1) for item in PERMISSIONS_POLICY.split(", "))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "browsing-topics",
                    "serial", "hid", "bluetooth", "display-capture", "clipboard-read"):  # fmt: skip
        assert policy[feature] == "()", feature
    # The copy-link buttons write to the clipboard; the evidence video may go full screen.
    assert policy["clipboard-write"] == "(self)"
    assert policy["fullscreen"] == "(self)"
    assert all(value in ("()", "(self)") for value in policy.values())


@pytest.mark.parametrize(("setting", "expected"), [("auto", [HSTS]), ("on", [HSTS]), ("off", [])])
def test_hsts_setting(tmp_path: Path, setting: str, expected: list[str]) -> None:
    application = create_app(
        {
            "ENV": "testing",
            "DATABASE_URL": database_url(tmp_path),
            "KEYS_DIR": str(tmp_path / "keys"),
            "BASE_URL": BASE_URL,
            "HSTS": setting,
        }
    )
    with application.app_context():
        response = application.test_client().get("/login", base_url=BASE_URL)
        assert response.headers.getlist("Strict-Transport-Security") == expected
        assert response.headers.getlist("Permissions-Policy") == [PERMISSIONS_POLICY]
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"HSTS": "yes"}, "CAIRN_HSTS must be auto, on or off"),
        ({"HSTS": "on", "BASE_URL": "http://localhost:5000"}, "CAIRN_HSTS=on needs an https"),
    ],
)
def test_bad_hsts_settings_are_refused(
    tmp_path: Path, overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        create_app({"ENV": "testing", "DATABASE_URL": "sqlite://", "BASE_URL": BASE_URL,
                    "KEYS_DIR": str(tmp_path), **overrides})  # fmt: skip
