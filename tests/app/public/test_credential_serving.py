"""Serving the stored credential at its URL: the bytes exactly as stored (read straight from the
database), a strong entity tag per representation with ``304`` for a matching
``If-None-Match``, public caching of the bytes but never of the page, ``Vary: Accept``, and the
rate limiter stepping aside only for read-only documents."""

from __future__ import annotations

import hashlib

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from app.extensions import db
from app.models import IssuedCredential, Issuer
from app.public import skips_rate_limiting
from app.services.awarding import revocation
from app.services.delivery import visibility
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.conftest import BASE_URL

TEST = Actor(label="test")
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
MISSING = "00000000-0000-4000-8000-000000000000"


def stored_bytes(credential_id: str) -> bytes:
    """The credential's text as the database holds it, bypassing the ORM and the web layer."""
    document = db.session.execute(
        text("SELECT document FROM issued_credential WHERE id = :id"), {"id": credential_id}
    ).scalar_one()
    return str(document).encode("utf-8")


def get(client: FlaskClient, path: str, accept: str | None = None, **headers: str) -> object:
    sent = {"Accept": accept} if accept is not None else {}
    sent.update({name.replace("_", "-"): value for name, value in headers.items()})
    return client.get(path, base_url=BASE_URL, headers=sent)


def etag_of(body: bytes, subtype: str) -> str:
    return f"{hashlib.sha256(body).hexdigest()}-{subtype}"


# ---------------------------------------------------------------------------- 200


@pytest.mark.parametrize(
    ("accept", "query", "subtype"),
    [
        ("application/ld+json", "", "ld+json"),
        ("application/vc+ld+json", "", "vc+ld+json"),
        ("application/json", "", "json"),
        ("*/*", "", "ld+json"),
        (None, "", "ld+json"),
        (BROWSER, "?format=json", "ld+json"),
    ],
)
def test_the_stored_bytes_with_a_strong_etag_public_caching_and_vary(
    client: FlaskClient, credential: IssuedCredential, accept: str | None, query: str, subtype: str
) -> None:
    response = get(client, f"/credentials/{credential.id}{query}", accept)
    assert response.status_code == 200
    assert response.data == stored_bytes(credential.id)
    assert response.mimetype == f"application/{subtype}"
    tag, weak = response.get_etag()
    assert not weak
    assert tag == etag_of(response.data, subtype)
    cache = response.cache_control
    assert cache.public and cache.max_age is not None and cache.max_age >= 3600
    assert not cache.no_cache and not cache.no_store and not cache.private
    assert "Accept" in response.vary
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_each_representation_has_its_own_etag(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    tags = {
        get(client, f"/credentials/{credential.id}", accept).get_etag()[0]
        for accept in ("application/ld+json", "application/vc+ld+json", "application/json")
    }
    assert len(tags) == 3


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [("text/plain", "text/plain"), ("application/vc+jwt", "application/vc+jwt"), (None, None)],
)
def test_a_jwt_is_served_as_stored_with_its_etag(
    client: FlaskClient,
    jwt_credential: IssuedCredential,
    accept: str | None,
    media_type: str | None,
) -> None:
    response = get(client, f"/credentials/{jwt_credential.id}", accept)
    assert response.status_code == 200
    assert response.data == stored_bytes(jwt_credential.id)
    assert response.data.count(b".") == 2
    assert response.mimetype == (media_type or "application/vc+jwt")
    assert response.get_etag() == (etag_of(response.data, response.mimetype.split("/")[1]), False)
    assert "Accept" in response.vary

    again = get(
        client, f"/credentials/{jwt_credential.id}", accept, If_None_Match=response.headers["ETag"]
    )
    assert again.status_code == 304


def test_head_answers_the_headers_alone(client: FlaskClient, credential: IssuedCredential) -> None:
    full = get(client, f"/credentials/{credential.id}", "application/ld+json")
    head = client.head(
        f"/credentials/{credential.id}",
        base_url=BASE_URL,
        headers={"Accept": "application/ld+json"},
    )
    assert head.status_code == 200
    assert head.data == b""
    assert head.headers["ETag"] == full.headers["ETag"]
    assert head.headers["Content-Length"] == str(len(full.data))


# ---------------------------------------------------------------------------- 304


@pytest.mark.parametrize("form", ["exact", "weak", "in a list", "star"])
def test_a_matching_if_none_match_gets_304_with_the_same_headers(
    client: FlaskClient, credential: IssuedCredential, form: str
) -> None:
    path = f"/credentials/{credential.id}"
    first = get(client, path, "application/ld+json")
    tag = first.headers["ETag"]
    sent = {
        "exact": tag,
        "weak": f"W/{tag}",
        "in a list": f'"something-else", {tag}',
        "star": "*",
    }[form]
    response = get(client, path, "application/ld+json", If_None_Match=sent)
    assert response.status_code == 304
    assert response.data == b""
    for name in ("ETag", "Cache-Control", "Access-Control-Allow-Origin"):
        assert response.headers[name] == first.headers[name], name
    assert "Accept" in response.vary


def test_a_stale_or_other_representations_etag_gets_the_full_body(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    path = f"/credentials/{credential.id}"
    ld_tag = get(client, path, "application/ld+json").headers["ETag"]

    stale = get(client, path, "application/ld+json", If_None_Match='"0000-ld+json"')
    assert stale.status_code == 200 and stale.data == stored_bytes(credential.id)

    # A cache holding the JSON-LD response must not have it confirmed for a plain-JSON request.
    other = get(client, path, "application/json", If_None_Match=ld_tag)
    assert other.status_code == 200 and other.mimetype == "application/json"
    assert other.data == stored_bytes(credential.id)


def test_the_page_is_never_cached_and_ignores_the_documents_etag(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    path = f"/credentials/{credential.id}"
    tag = get(client, path, "application/ld+json").headers["ETag"]
    for sent in (tag, "*"):
        page = get(client, path, BROWSER, If_None_Match=sent)
        assert page.status_code == 200 and page.mimetype == "text/html"
        assert "ETag" not in page.headers
        assert page.headers["Cache-Control"] == "no-cache"
        assert "Accept" in page.vary


def test_revocation_changes_the_page_not_the_bytes_or_their_etag(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    path = f"/credentials/{credential.id}"
    before = get(client, path, "application/ld+json")
    revocation.revoke(credential, "Awarded in error", actor=TEST, env=service_env(),
                      public="Issued in error")  # fmt: skip

    after = get(client, path, "application/ld+json")
    assert after.data == before.data and after.headers["ETag"] == before.headers["ETag"]
    assert (
        get(client, path, "application/ld+json", If_None_Match=before.headers["ETag"]).status_code
        == 304
    )
    page = get(client, path, BROWSER)
    assert "Issued in error" in page.get_data(as_text=True)
    assert "Awarded in error" not in page.get_data(as_text=True)  # the internal note
    assert page.headers["Cache-Control"] == "no-cache"


def test_a_private_credentials_document_is_still_served_to_whoever_has_the_url(
    client: FlaskClient, credential: IssuedCredential
) -> None:
    visibility.set_private(credential, True, actor=TEST, env=service_env())
    path = f"/credentials/{credential.id}"
    response = get(client, path, "application/ld+json")
    assert response.status_code == 200 and response.data == stored_bytes(credential.id)
    assert get(client, path, BROWSER).headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("accept", ["application/ld+json", "application/json", None])
def test_an_unknown_credential_is_a_json_404_that_is_not_cached(
    client: FlaskClient, app: Flask, accept: str | None
) -> None:
    for path in (f"/credentials/{MISSING}", "/credentials/not-a-uuid", f"/credentials/{'9' * 300}"):
        response = get(client, path, accept, If_None_Match="*")
        assert response.status_code == 404, path
        assert response.get_json()["error"] == "not_found"
        assert "ETag" not in response.headers
        assert "public" not in response.headers.get("Cache-Control", "")
        assert "Accept" in response.vary


# ---------------------------------------------------------------------------- rate limiting


@pytest.mark.parametrize(
    ("method", "path", "accept", "skipped"),
    [
        ("GET", "/credentials/{id}", "application/ld+json", True),
        ("GET", "/credentials/{id}?format=json", BROWSER, True),
        ("GET", "/credentials/{id}", "text/plain", True),
        ("GET", "/issuers/{slug}/did.json", None, True),
        ("GET", "/issuers/{slug}/jwks.json", None, True),
        ("GET", "/issuers/{slug}/profile.json", None, True),
        ("GET", "/status/{slug}/revocation", None, True),
        # The page runs a live verification: it stays with the limiter.
        ("GET", "/credentials/{id}", BROWSER, False),
        # Everything that has a limit keeps it.
        ("POST", "/api/verify", "application/json", False),
        ("GET", "/verify?url=https://example.org/c.json", BROWSER, False),
        ("POST", "/verify", BROWSER, False),
        ("POST", "/login", BROWSER, False),
        ("POST", "/password/forgot", BROWSER, False),
        ("POST", "/me/sign-in", BROWSER, False),
    ],
)
def test_the_limiter_steps_aside_only_for_read_only_documents(
    app: Flask,
    credential: IssuedCredential,
    issuer: Issuer,
    method: str,
    path: str,
    accept: str | None,
    skipped: bool,
) -> None:
    url = path.format(id=credential.id, slug=issuer.slug)
    headers = {"Accept": accept} if accept else {}
    with app.test_request_context(url, method=method, base_url=BASE_URL, headers=headers):
        from flask import request

        assert request.endpoint is not None, url
        assert skips_rate_limiting() is skipped
