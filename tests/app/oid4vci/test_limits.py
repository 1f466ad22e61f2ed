"""The token endpoint is rate-limited per network address (codes are 256 bits; this bounds the
work a client can cause): past the allowance a token request gets 429."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app.oid4vci.endpoints import TOKEN_LIMIT
from tests.app.conftest import BASE_URL, rate_limited_app


@pytest.fixture
def limited_app(tmp_path: Path) -> Iterator[Flask]:
    yield from rate_limited_app(tmp_path)


def test_token_requests_past_the_allowance_get_429(limited_app: Flask) -> None:
    client = limited_app.test_client()
    allowance = int(TOKEN_LIMIT.split()[0])
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        "pre-authorized_code": "x",
    }
    answers = [
        client.post("/oid4vci/token", data=form, base_url=BASE_URL).status_code
        for _ in range(allowance + 1)
    ]
    assert answers == [400] * allowance + [429]
