"""Registration is open (the spec's), so it is rate-limited per network address: past the
allowance a registration gets 429 and no client is kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app.extensions import db
from app.models import OAuthClient
from tests.app.conftest import BASE_URL, rate_limited_app
from tests.app.obapi.client import ALL_SCOPES, REDIRECT_URI


@pytest.fixture
def limited_app(tmp_path: Path) -> Iterator[Flask]:
    """An application with rate limits on, two registrations an hour per address."""
    yield from rate_limited_app(tmp_path, OB_API_REGISTRATION_RATE_LIMIT="2 per hour")


def test_registrations_past_the_allowance_get_429(limited_app: Flask) -> None:
    client = limited_app.test_client()
    body = {"client_name": "W", "redirect_uris": [REDIRECT_URI], "scope": ALL_SCOPES[0]}
    answers = [
        client.post("/ims/ob/v3p0/register", json=body, base_url=BASE_URL).status_code
        for _ in range(3)
    ]
    assert answers == [201, 201, 429]
    assert db.session.query(OAuthClient).count() == 2
