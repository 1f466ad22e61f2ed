"""``POST /api/verify``: the same checks as the Verify page, as JSON, for every kind of input
(JSON body, ``{"credential"}``, ``{"url"}``, raw PNG/SVG/JWT bodies, multipart files); clear 4xx
errors for unusable input; no CSRF token needed; rate-limited."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.models import Achievement, IssuedCredential, Issuer
from app.services.awarding import revocation
from app.services.org.audit import Actor
from app.wiring import service_env
from credentials import CHECK_ORDER
from tests.app.conftest import BASE_URL, rate_limited_app
from tests.app.forgeries import forged_credential
from tests.app.public.conftest import EMAIL

TEST = Actor(label="test")


def post(client: FlaskClient, **kwargs: Any) -> Any:
    return client.post("/api/verify", base_url=BASE_URL, **kwargs)


def download(client: FlaskClient, credential: IssuedCredential, name: str) -> bytes:
    data: bytes = client.get(f"/credentials/{credential.id}/{name}", base_url=BASE_URL).data
    return data


def assert_report(body: dict[str, Any], *, valid: bool, fmt: str) -> dict[str, dict[str, str]]:
    assert {"valid", "outcome", "format", "checks", "credential", "summary"} <= set(body)
    assert body["valid"] is valid, body["checks"]
    # Only the "valid" outcome is valid; the summary names the same outcome.
    assert (body["outcome"] == "valid") is valid
    assert body["summary"]["outcome"] == body["outcome"]
    assert body["format"] == fmt
    for check in body["checks"]:
        assert {"id", "status", "message"} <= set(check)
        assert check["status"] in ("pass", "fail", "warn", "skip")
        assert check["message"]
    ids = [c["id"] for c in body["checks"]]
    assert ids == sorted(ids, key=CHECK_ORDER.index)  # reported in the verifier's order
    assert set(body["summary"]) == {"kind", "title", "detail", "outcome"}
    return {c["id"]: c for c in body["checks"]}


# ---------------------------------------------------------------------------- inputs


def test_a_json_body_is_the_credential(client: FlaskClient, credential: IssuedCredential) -> None:
    response = post(client, data=credential.document, content_type="application/json")
    assert response.status_code == 200
    body = response.get_json()
    checks = assert_report(body, valid=True, fmt="json")
    assert body["summary"]["title"] == "Valid"
    assert body["credential"] == json.loads(credential.document)
    for check in ("parse", "context", "type", "schema", "terms", "proof", "issuer_key", "valid_from",
                  "valid_until", "status"):  # fmt: skip
        assert checks[check]["status"] == "pass", checks[check]
    assert checks["recipient"]["status"] == "skip"


def test_a_json_ld_body_is_the_credential(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    response = post(client, data=credential.document, content_type="application/ld+json")
    assert response.status_code == 200
    assert response.get_json()["valid"] is True


def test_credential_and_recipient_fields(client: FlaskClient, credential: IssuedCredential) -> None:
    as_object = post(
        client, json={"credential": json.loads(credential.document), "recipient": EMAIL}
    )
    checks = assert_report(as_object.get_json(), valid=True, fmt="json")
    assert checks["recipient"]["status"] == "pass"

    as_text = post(client, json={"credential": credential.document, "recipient": "x@example.org"})
    body = as_text.get_json()
    checks = assert_report(body, valid=False, fmt="json")
    assert checks["recipient"]["status"] == "fail"
    assert checks["proof"]["status"] == "pass"


def test_a_url_of_this_instance(client: FlaskClient, credential: IssuedCredential) -> None:
    response = post(client, json={"url": f"{BASE_URL}/credentials/{credential.id}"})
    assert response.status_code == 200
    assert_report(response.get_json(), valid=True, fmt="json")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/credential.json",
        "https://10.0.0.1/credential.json",
        "https://[::1]/c",
        "file:///etc/passwd",
    ],
)
def test_a_url_of_a_private_address_is_refused(
    client: FlaskClient, app: Flask, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    def no_connections(*args: object, **kwargs: object) -> None:
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", no_connections)
    response = post(client, json={"url": url})
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "unusable_input"
    assert body["message"]
    assert "checks" not in body


@pytest.mark.parametrize(
    ("name", "media_type", "fmt"),
    [("badge.png", "image/png", "png/json"), ("badge.svg", "image/svg+xml", "svg/json")],
)
def test_a_raw_image_body(
    client: FlaskClient, credential: IssuedCredential, name: str, media_type: str, fmt: str
) -> None:
    response = post(client, data=download(client, credential, name), content_type=media_type)
    assert response.status_code == 200
    assert_report(response.get_json(), valid=True, fmt=fmt)


@pytest.mark.parametrize("media_type", ["text/plain", "application/vc+jwt"])
def test_a_raw_jwt_body(
    client: FlaskClient,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
    media_type: str,
) -> None:
    issuer = make_issuer("JWT Academy", proof_format="jwt")
    credential = make_award(issuer, make_achievement(issuer))
    response = post(client, data=credential.document, content_type=media_type)
    checks = assert_report(response.get_json(), valid=True, fmt="jwt")
    assert checks["jwt_claims"]["status"] == "pass"
    png = post(client, data=download(client, credential, "badge.png"), content_type="image/png")
    assert_report(png.get_json(), valid=True, fmt="png/jwt")


def test_a_multipart_file(client: FlaskClient, credential: IssuedCredential) -> None:
    response = post(
        client,
        data={
            "file": (io.BytesIO(download(client, credential, "badge.png")), "badge.png"),
            "recipient": EMAIL,
        },
        content_type="multipart/form-data",
    )
    checks = assert_report(response.get_json(), valid=True, fmt="png/json")
    assert checks["recipient"]["status"] == "pass"


def test_no_csrf_token_is_needed(client: FlaskClient, credential: IssuedCredential) -> None:
    # A fresh client: no session cookie, no token, no Referer.
    fresh = client.application.test_client()
    response = fresh.post(
        "/api/verify", json={"credential": credential.document}, base_url=BASE_URL
    )
    assert response.status_code == 200


# ---------------------------------------------------------------------------- verdicts


def test_a_revoked_credential(client: FlaskClient, credential: IssuedCredential) -> None:
    revocation.revoke(credential, "Awarded in error", actor=TEST, env=service_env())
    body = post(client, json={"credential": credential.document}).get_json()
    checks = assert_report(body, valid=False, fmt="json")
    assert checks["status"]["status"] == "fail"
    assert checks["status"]["code"] == "revoked"
    assert body["summary"]["title"] == "Revoked"


def test_a_tampered_credential(client: FlaskClient, credential: IssuedCredential) -> None:
    document = json.loads(credential.document)
    document["credentialSubject"]["achievement"]["name"] = "Superintendent of Everything"
    response = post(client, json=document)
    assert response.status_code == 200
    body = response.get_json()
    checks = assert_report(body, valid=False, fmt="json")
    assert checks["proof"]["status"] == "fail"
    assert body["summary"]["title"] == "Not valid"


def test_an_unreachable_status_list(
    client: FlaskClient, credential: IssuedCredential, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services.awarding import status_lists

    def unreachable(*args: object, **kwargs: object) -> None:
        raise OSError("connection timed out")

    monkeypatch.setattr(status_lists, "get_list", unreachable)
    body = post(client, json={"credential": credential.document}).get_json()
    checks = assert_report(body, valid=False, fmt="json")
    assert checks["status"]["code"] == "status_unavailable"
    assert checks["proof"]["status"] == "pass"
    assert body["summary"]["title"] == "Status unknown"


# ---------------------------------------------------------------------------- errors


def test_an_empty_body_is_400(client: FlaskClient, app: Flask) -> None:
    for kwargs in ({}, {"data": b"", "content_type": "image/png"}, {"data": {}}):
        response = post(client, **kwargs)
        assert response.status_code == 400, kwargs
        body = response.get_json()
        assert body["error"] == "unusable_input"
        assert "Choose a file" in body["message"]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("not json at all {", "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('"just a string"', "application/json"),
    ],
)
def test_json_that_is_not_an_object_is_400(
    client: FlaskClient, app: Flask, data: str, content_type: str
) -> None:
    response = post(client, data=data, content_type=content_type)
    assert response.status_code == 400
    assert response.get_json()["error"] == "unusable_input"


@pytest.mark.parametrize(
    ("kwargs"),
    [
        {"data": b"\x89PNG\r\n\x1a\nnot really", "content_type": "image/png"},
        {"data": b"<svg xmlns='http://www.w3.org/2000/svg'/>", "content_type": "image/svg+xml"},
        {"data": "eyJhbGciOiJFUzI1NiJ9.bm9wZQ.c2ln", "content_type": "text/plain"},
        {"json": {"credential": "neither JSON nor a JWT"}},
    ],
)
def test_unusable_input_is_422_with_the_parse_check(
    client: FlaskClient, app: Flask, kwargs: dict[str, Any]
) -> None:
    response = post(client, **kwargs)
    body = response.get_json()
    assert response.status_code == 422, body
    assert body["error"] == "unusable_input"
    assert body["message"]
    assert body["valid"] is False
    parse = next(c for c in body["checks"] if c["id"] == "parse")
    assert parse["status"] == "fail"


def test_a_body_that_is_too_large_is_413(client: FlaskClient, app: Flask) -> None:
    huge = b"\x89PNG\r\n\x1a\n" + b"\0" * (11 * 1024 * 1024)
    raw = post(client, data=huge, content_type="image/png")
    assert raw.status_code == 413
    assert raw.get_json()["error"] == "too_large"
    # Encoded in memory: the test client would spool a body this large to a file it never closes.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(huge), "huge.png")})
    multipart = post(client, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert multipart.status_code == 413
    assert multipart.get_json()["error"] == "too_large"


# ---------------------------------------------------------------------------- rate limit


@pytest.fixture
def limited_app(tmp_path: Path) -> Iterator[Flask]:
    """An application with rate limits on (the shared fixture turns them off)."""
    yield from rate_limited_app(tmp_path)


def test_the_thirty_first_request_in_a_minute_is_429(limited_app: Flask) -> None:
    client = limited_app.test_client()
    statuses = [
        client.post(
            "/api/verify", base_url=BASE_URL, environ_base={"REMOTE_ADDR": "192.0.2.7"}
        ).status_code
        for _ in range(30)
    ]
    assert statuses == [400] * 30
    refused = client.post(
        "/api/verify", base_url=BASE_URL, environ_base={"REMOTE_ADDR": "192.0.2.7"}
    )
    assert refused.status_code == 429
    # Another address is not held back.
    other = client.post("/api/verify", base_url=BASE_URL, environ_base={"REMOTE_ADDR": "192.0.2.8"})
    assert other.status_code == 400


def test_verifying_a_link_by_get_counts_against_the_same_limit(limited_app: Flask) -> None:
    client = limited_app.test_client()
    visitor = {"REMOTE_ADDR": "192.0.2.9"}
    # ftp:// is refused before any fetch, so nothing leaves the machine.
    statuses = [
        client.get("/verify?url=ftp://example.org/x", base_url=BASE_URL, environ_base=visitor)
        for _ in range(30)
    ]
    assert [s.status_code for s in statuses] == [400] * 30
    refused = client.get("/verify?url=ftp://example.org/x", base_url=BASE_URL, environ_base=visitor)
    assert refused.status_code == 429
    # The empty form itself is never held back.
    assert client.get("/verify", base_url=BASE_URL, environ_base=visitor).status_code == 200


# ---------------------------------------------------------------------------- forgeries (issue 8)


def _issuer_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.fetch import FetchError
    from app.public import verify as verify_views

    def fetch(url: str) -> bytes:
        raise FetchError(f"{url} did not answer")

    monkeypatch.setattr(verify_views, "fetcher", lambda: fetch)


def test_a_forgery_whose_issuer_does_not_answer_is_never_valid(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    _issuer_does_not_answer(monkeypatch)
    env = service_env()
    forged = forged_credential("t@school.example.org", now=env.now, loader=env.loader)
    body = post(client, json=forged).get_json()
    checks = assert_report(body, valid=False, fmt="json")
    assert body["outcome"] == "issuer_not_confirmed"
    assert checks["proof"]["status"] == "pass"
    assert checks["issuer_key"]["code"] == "key_unconfirmed"
    assert body["summary"]["kind"] == "unconfirmed"
    assert body["summary"]["title"] == "Issuer not confirmed"


def test_json_nested_a_thousand_deep_is_a_4xx(client: FlaskClient) -> None:
    deep = "[" * 1000 + "]" * 1000
    for body in ('{"credential": ' + deep + "}", '{"a": ' + deep + "}", deep):
        response = post(client, data=body, content_type="application/json")
        assert 400 <= response.status_code < 500, (response.status_code, body[:20])
        assert response.get_json()["error"] == "unusable_input"
    nested_objects = '{"a":' * 1000 + "1" + "}" * 1000
    response = post(client, data=nested_objects, content_type="application/json")
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("depth", [200, 900, 990])
def test_json_nested_just_under_the_parser_limit_is_a_4xx_or_a_report(
    client: FlaskClient, depth: int
) -> None:
    nested = '{"a":' * depth + "1" + "}" * depth
    for body in (nested, '{"credential": ' + nested + "}"):
        response = post(client, data=body, content_type="application/json")
        assert response.status_code < 500, (depth, response.status_code)
        answer = response.get_json()
        assert answer.get("valid") is False or answer["error"] == "unusable_input", answer
