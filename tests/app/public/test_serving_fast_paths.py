"""The fast paths of a credential's URL, each checked against the general path it stands in for.

* The document lane (``app/public/documents.py``) answers a machine's ``GET``/``HEAD`` of the
  stored credential in front of Flask: its answers must be those Flask's route gives (status,
  bytes, every header but the request id's value), for any ``Accept`` and ``If-None-Match``, and
  every request it must not take must reach Flask.
* The credential page reuses its verification (``app/public/verdicts.py``) only while nothing it
  depends on changed: a revocation, suspension, reinstatement, a change to the issuer's list or
  keys, or a validity date passing shows on the next view.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from werkzeug.test import Client, TestResponse

from app.extensions import db
from app.models import Achievement, IssuedCredential, Issuer
from app.public import documents, verdicts
from app.public.credentials import JSON_TYPES, JWT_TYPES, negotiate
from app.services.awarding import naming, revocation, status_lists
from app.services.org.audit import Actor
from app.services.verification import verifier
from app.wiring import service_env
from credentials import OB2_CONTEXT
from tests.app.conftest import BASE_URL

TEST = Actor(label="test")
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ACCEPTS = (
    None,
    "",
    "*/*",
    "application/ld+json",
    "application/vc+ld+json",
    "application/json",
    "application/json;q=0.5, application/vc+ld+json",
    "application/*",
    "text/plain",
    "application/vc+jwt",
    "application/jwt;q=0.9, text/plain;q=0.1",
    "image/png",
    "text/html;q=0.1, application/json",
)


def lane_of(app: Flask) -> documents.DocumentLane:
    lane = app.wsgi_app
    assert isinstance(lane, documents.DocumentLane)
    return lane


def comparable(response: TestResponse) -> tuple[int, bytes, list[tuple[str, str]]]:
    """Status, body and headers, the request id's value aside (each request has its own). The one
    known difference: Flask's path adds ``Cookie`` to ``Vary`` because its sign-in loaders look
    at the (absent) session cookie; the document does not depend on it, and the lane's ``Vary``
    is the view's own, ``Accept`` (checked by :func:`both`)."""
    headers = sorted(
        (
            name,
            "<id>" if name == "X-Request-ID" else "Accept" if name == "Vary" else value,
        )
        for name, value in response.headers
    )
    assert response.headers.getlist("Vary") in (["Accept"], ["Accept, Cookie"])
    return response.status_code, response.data, headers


def both(
    app: Flask, method: str, path: str, headers: dict[str, str]
) -> tuple[TestResponse, TestResponse]:
    """The same request through the app (lane first) and through Flask alone."""
    lane = lane_of(app)
    through_lane = Client(app).open(path, method=method, base_url=BASE_URL, headers=headers)
    flask = getattr(lane.inner, "__wrapped__", lane.inner)  # past flask_calls' counter
    through_flask = Client(flask).open(path, method=method, base_url=BASE_URL, headers=headers)
    assert through_lane.headers.getlist("Vary") == ["Accept"]
    return through_lane, through_flask


@pytest.fixture
def flask_calls(app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the requests the lane passed on to Flask."""
    lane = lane_of(app)
    inner = lane.inner
    seen: list[str] = []

    def counting(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        seen.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    counting.__wrapped__ = inner  # type: ignore[attr-defined]
    monkeypatch.setattr(lane, "inner", counting)
    return seen


# ---------------------------------------------------------------------------- the lane


@pytest.mark.parametrize("kind", ["data integrity", "jwt"])
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_the_lane_answers_as_flask_does_for_every_accept_and_validator(
    app: Flask,
    credential: IssuedCredential,
    jwt_credential: IssuedCredential,
    flask_calls: list[str],
    kind: str,
    method: str,
) -> None:
    found = credential if kind == "data integrity" else jwt_credential
    path = f"/credentials/{found.id}"
    for accept in ACCEPTS:
        sent = {} if accept is None else {"Accept": accept}
        first, flask = both(app, method, path, sent)
        assert comparable(first) == comparable(flask), accept
        assert first.status_code == 200
        tag = first.headers["ETag"]
        for validator in (tag, f"W/{tag}", f'"other", {tag}', "*", '"other"', "garbage"):
            lane, flask = both(app, method, path, {**sent, "If-None-Match": validator})
            assert comparable(lane) == comparable(flask), (accept, validator)
    # Flask was asked only for the comparisons, never by the lane itself.
    assert flask_calls == []


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from((*JSON_TYPES, *JWT_TYPES, "text/html", "*/*", "application/*")),
            st.sampled_from(("", ";q=0", ";q=0.1", ";q=0.5", ";q=0.9", ";q=1")),
        ),
        max_size=5,
    )
)
def test_the_lane_and_flask_agree_on_any_accept_header(
    app: Flask, credential: IssuedCredential, accept: list[tuple[str, str]]
) -> None:
    header = ", ".join(f"{media}{q}" for media, q in accept)
    assume(not negotiate(header).html)  # the page is Flask's (see the test below)
    lane, flask = both(app, "GET", f"/credentials/{credential.id}", {"Accept": header})
    assert comparable(lane) == comparable(flask), header


@pytest.mark.parametrize(
    ("method", "suffix", "headers"),
    [
        ("GET", "", {"Accept": BROWSER}),  # the page
        ("GET", "", {"Accept": "text/html;q=0.5, application/json;q=0.5"}),
        ("GET", "?format=json", {}),
        ("GET", "?v=2_0", {}),
        ("GET", "", {"Accept": f'application/ld+json; profile="{OB2_CONTEXT}"'}),
        ("GET", "", {"Accept": "application/ld+json", "Cookie": "any"}),
        ("GET", "/", {}),
        ("GET", "/badge.png", {}),
        ("POST", "", {}),
        ("DELETE", "", {}),
    ],
)
def test_what_the_lane_does_not_take_goes_to_flask(
    client: FlaskClient,
    credential: IssuedCredential,
    flask_calls: list[str],
    method: str,
    suffix: str,
    headers: dict[str, str],
) -> None:
    if headers.pop("Cookie", None):
        # A browser's fetch carries the session cookie: Flask's path handles the session.
        client.set_cookie("cairn_session", "anything", domain="badges.example.org")
    client.open(f"/credentials/{credential.id}{suffix}", method=method, base_url=BASE_URL,
                headers=headers)  # fmt: skip
    assert len(flask_calls) == 1


def test_an_unknown_credential_and_a_database_error_go_to_flask(
    app: Flask,
    client: FlaskClient,
    credential: IssuedCredential,
    flask_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = client.get("/credentials/00000000-0000-4000-8000-000000000000", base_url=BASE_URL)
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"

    def broken(credential_id: str, engine: Any) -> None:
        raise RuntimeError("the connection went away")

    monkeypatch.setattr(documents.public_queries, "stored_raw", broken)
    served = client.get(f"/credentials/{credential.id}", base_url=BASE_URL)
    assert served.status_code == 200 and served.headers["ETag"]
    assert len(flask_calls) == 2


def test_the_lane_logs_and_ids_the_request_as_flask_would(
    client: FlaskClient, credential: IssuedCredential, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="cairn.request"):
        response = client.get(f"/credentials/{credential.id}", base_url=BASE_URL,
                              headers={"X-Request-ID": "verifier-42"})  # fmt: skip
    assert response.headers["X-Request-ID"] == "verifier-42"
    [line] = [r for r in caplog.records if r.name == "cairn.request"]
    assert line.getMessage() == "GET /credentials/<credential_id> 200"
    fields = vars(line)
    assert fields["endpoint"] == "public.credential" and fields["request_id"] == "verifier-42"
    assert fields["status"] == 200 and fields["duration_ms"] >= 0


def test_a_credential_signed_again_is_served_at_once(
    client: FlaskClient,
    issuer: Issuer,
    achievement: Achievement,
    make_award: Callable[..., IssuedCredential],
) -> None:
    found = make_award(issuer, achievement, "nameless@school.example.org")
    path = f"/credentials/{found.id}"
    before = client.get(path, base_url=BASE_URL)
    naming.add_recipient_name(found, "Nia Nameless", actor=TEST, env=service_env())
    db.session.commit()
    after = client.get(path, base_url=BASE_URL)
    stored = db.session.execute(
        text("SELECT document FROM issued_credential WHERE id = :id"), {"id": found.id}
    ).scalar_one()
    assert after.data == str(stored).encode() != before.data
    assert b"Nia Nameless" in after.data
    assert after.headers["ETag"] != before.headers["ETag"]
    revalidated = client.get(path, base_url=BASE_URL,
                             headers={"If-None-Match": before.headers["ETag"]})  # fmt: skip
    assert revalidated.status_code == 200 and revalidated.data == after.data


# ---------------------------------------------------------------------------- the page's verdict


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The credentials the full verifier ran on (the page's verdict cache calls it on a miss)."""
    ran: list[str] = []
    real = verifier.verify

    def counting(data: Any, **kwargs: Any) -> Any:
        ran.append("verify")
        return real(data, **kwargs)

    monkeypatch.setattr(verdicts.verification, "verify", counting)
    return ran


def page(client: FlaskClient, found: IssuedCredential) -> str:
    response = client.get(f"/credentials/{found.id}", base_url=BASE_URL,
                          headers={"Accept": BROWSER})  # fmt: skip
    assert response.status_code == 200 and response.mimetype == "text/html"
    return response.get_data(as_text=True)


def test_the_page_reuses_its_verdict_until_a_revocation_shows_at_once(
    client: FlaskClient, credential: IssuedCredential, verifications: list[str]
) -> None:
    first = page(client, credential)
    assert "status-banner-valid" in first and "Formative Assessment in Practice" in first
    assert page(client, credential) == first
    assert len(verifications) == 1  # the second view reused the verdict

    revocation.revoke(credential, "Awarded in error", actor=TEST, env=service_env(),
                      public="Issued in error")  # fmt: skip
    revoked = page(client, credential)
    assert "status-banner-revoked" in revoked and "status-banner-valid" not in revoked
    assert "The issuer has revoked this credential." in revoked
    assert len(verifications) == 2


def test_a_suspension_and_its_end_show_at_once(
    client: FlaskClient, credential: IssuedCredential, verifications: list[str]
) -> None:
    assert "status-banner-valid" in page(client, credential)
    revocation.suspend(credential, "Under review", actor=TEST, env=service_env())
    suspended = page(client, credential)
    assert "status-banner-suspended" in suspended
    assert "The issuer has suspended this credential." in suspended
    revocation.unsuspend(credential, "Review done", actor=TEST, env=service_env())
    assert "status-banner-valid" in page(client, credential)
    assert len(verifications) == 3


def test_a_change_to_the_issuers_list_or_keys_verifies_again(
    client: FlaskClient,
    issuer: Issuer,
    achievement: Achievement,
    credential: IssuedCredential,
    make_award: Callable[..., IssuedCredential],
    verifications: list[str],
) -> None:
    page(client, credential)
    other = make_award(issuer, achievement, "other@school.example.org")
    revocation.revoke(other, "Duplicate", actor=TEST, env=service_env())
    assert status_lists.get_list(issuer, "revocation").version > 1
    assert "status-banner-valid" in page(client, credential)
    assert len(verifications) == 2

    # The key set is part of what a verdict depends on: tampering with the stored key shows.
    db.session.execute(
        text("UPDATE issuer_key SET kid = kid || '-moved' WHERE issuer_id = :id"), {"id": issuer.id}
    )
    db.session.commit()
    moved = page(client, credential)
    assert len(verifications) == 3
    assert "status-banner-valid" not in moved


def test_a_verdict_is_not_kept_past_a_validity_date(
    client: FlaskClient,
    brief_award: IssuedCredential,
    set_clock: Callable[[Any], None],
    verifications: list[str],
) -> None:
    found = brief_award
    assert found.valid_until is not None  # for the type checker
    set_clock(found.valid_until - timedelta(seconds=30))
    assert "status-banner-valid" in page(client, found)
    assert "status-banner-valid" in page(client, found)
    assert len(verifications) == 1
    # 31 s later, well within MAX_AGE: the expiry date alone makes it verify again.
    set_clock(found.valid_until + timedelta(seconds=1))
    expired = page(client, found)
    assert "status-banner-valid" not in expired and "Expired on" in expired
    assert len(verifications) == 2


def test_no_verdict_is_kept_longer_than_max_age(
    client: FlaskClient,
    credential: IssuedCredential,
    set_clock: Callable[[Any], None],
    verifications: list[str],
) -> None:
    now = service_env().now
    set_clock(now)
    page(client, credential)
    set_clock(now + verdicts.MAX_AGE - timedelta(seconds=1))
    page(client, credential)
    assert len(verifications) == 1
    set_clock(now + verdicts.MAX_AGE)
    page(client, credential)
    assert len(verifications) == 2


def test_a_verification_that_fetched_elsewhere_is_not_kept(
    client: FlaskClient, credential: IssuedCredential, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = verifier.verify
    ran: list[str] = []

    def fetching(data: Any, *, env: Any, fallback: Any, **kwargs: Any) -> Any:
        ran.append("verify")
        with contextlib.suppress(OSError):
            fallback("https://elsewhere.example.org/did.json")
        return real(data, env=env, fallback=fallback, **kwargs)

    monkeypatch.setattr(verdicts.verification, "verify", fetching)
    monkeypatch.setattr(verdicts, "fetcher", lambda: _refuse)
    page(client, credential)
    page(client, credential)
    assert ran == ["verify", "verify"]


def _refuse(url: str) -> bytes:
    raise OSError(f"not fetched: {url}")
