"""The OB 3.0 API as 1EdTech's host certification walks it: discover, register, authorize with
PKCE through the educator's consent, exchange the code, read credentials page by page, read the
profile, upsert a credential and read it back equal, refresh and go again, revoke and see every
later call fail. Answers are checked against 1EdTech's schemas."""

from __future__ import annotations

import json
from collections.abc import Callable

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import (
    Achievement,
    Educator,
    ImportedCredential,
    IssuedCredential,
    Issuer,
    OAuthClient,
    OAuthToken,
)
from app.models.oauth import secret_hash
from tests.app.conftest import BASE_URL, sign_in_directly
from tests.app.educator.educator_helpers import make_educator
from tests.app.obapi.client import ALL_SCOPES, Wallet, basic, imsx, pkce_pair, schema_check

ANN = "ann.lee@school.example.org"
#: Someone else's address: a credential awarded to it is pushed into Ann's backpack.
OTHER = "a.lee@previous-district.example.org"


@pytest.fixture
def ann(app: Flask, client: FlaskClient) -> Educator:
    educator = make_educator(ANN)
    sign_in_directly(client, "educator", educator.id)
    return educator


@pytest.fixture
def held(
    ann: Educator,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> list[IssuedCredential]:
    """Three credentials of Ann's: two Data Integrity, one VC-JWT."""
    di = make_issuer()
    jwt = make_issuer("Coaching Collaborative", slug="coaching", proof_format="jwt")
    return [
        make_award(di, make_achievement(di), ANN),
        make_award(di, make_achievement(di, name="Second badge"), ANN),
        make_award(jwt, make_achievement(jwt, name="JWT badge"), ANN),
    ]


def wallet_etag(client: FlaskClient) -> str:
    response = client.get("/ims/ob/v3p0/discovery", base_url=BASE_URL)
    assert "max-age" in response.headers["Cache-Control"]
    return str(response.headers["ETag"])


def test_discovery_names_this_instance_and_the_four_scopes(client: FlaskClient) -> None:
    wallet = Wallet(client)
    document = wallet.discover()
    assert document["openapi"].startswith("3.0")
    assert document["servers"] == [
        {"url": f"{BASE_URL}/ims/ob/v3p0", "description": "This Cairn instance"}
    ]
    scheme = document["components"]["securitySchemes"]["OAuth2ACG"]
    assert scheme["type"] == "oauth2"
    assert scheme["x-imssf-registrationUrl"] == f"{BASE_URL}/ims/ob/v3p0/register"
    flow = scheme["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == f"{BASE_URL}/ims/ob/v3p0/authorize"
    assert flow["tokenUrl"] == flow["refreshUrl"] == f"{BASE_URL}/ims/ob/v3p0/token"
    assert sorted(flow["scopes"]) == sorted(ALL_SCOPES)
    info = document["info"]
    assert info["termsOfService"] == f"{BASE_URL}/terms"
    assert info["x-imssf-privacyPolicyUrl"] == f"{BASE_URL}/privacy"
    assert info["x-imssf-image"].startswith(BASE_URL)
    for url in (info["termsOfService"], info["x-imssf-privacyPolicyUrl"], info["x-imssf-image"]):
        with client.get(url[len(BASE_URL) :], base_url=BASE_URL) as page:
            assert page.status_code == 200
    assert {"/credentials", "/profile", "/discovery"} <= set(document["paths"])
    # Clients may cache it: an ETag, and 304 when it has not changed.
    again = client.get(
        "/ims/ob/v3p0/discovery",
        headers={"If-None-Match": wallet_etag(client)},
        base_url=BASE_URL,
    )
    assert again.status_code == 304
    # The document is itself what its own ServiceDescriptionDocument schema describes.
    ref = "#/components/schemas/ServiceDescriptionDocument"
    jsonschema.Draft7Validator({**document, "$ref": ref}).validate(document)


def test_the_whole_walk(
    client: FlaskClient,
    ann: Educator,
    held: list[IssuedCredential],
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    wallet = Wallet(client)
    wallet.discover()
    registered = wallet.register()
    assert registered.status_code == 201
    body = registered.get_json()
    assert body["client_secret_expires_at"] == 0 and body["client_id_issued_at"] > 0
    assert body["client_name"] == "Example Wallet" and body["scope"] == " ".join(ALL_SCOPES)
    # Only hashes are kept.
    stored = db.session.query(OAuthClient).one()
    assert stored.secret_hash == secret_hash(wallet.client_secret)
    assert wallet.client_secret not in json.dumps(stored.client_metadata)

    verifier, challenge = pkce_pair()
    page = client.get(wallet.authorize_url(challenge), base_url=BASE_URL)
    html = page.get_data(as_text=True)
    assert "Example Wallet" in html and "See the credentials in your backpack" in html
    assert 'referrerpolicy="no-referrer"' in html
    policy = page.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://wallet.example.net" in policy
    assert "form-action 'self' https://wallet.example.net" in policy
    code = wallet.code_from(wallet.consent(wallet.authorize_url(challenge)))
    tokens = wallet.exchange(code, verifier)
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    answer = tokens.get_json()
    assert answer["token_type"].lower() == "bearer" and answer["expires_in"] == 3600
    assert set(answer["scope"].split()) == set(ALL_SCOPES)
    row = db.session.query(OAuthToken).one()
    assert row.access_token_hash == secret_hash(wallet.access_token)
    assert row.refresh_token_hash == secret_hash(wallet.refresh_token)

    # Credentials, two at a time.
    first = wallet.api("GET", "/credentials?limit=2")
    assert first.status_code == 200
    schema_check("getopenbadgecredentialsresponse", first.get_json())
    assert first.headers["X-Total-Count"] == "3"
    links = first.headers["Link"]
    assert 'rel="first"' in links and 'rel="last"' in links and 'rel="next"' in links
    assert 'rel="prev"' not in links and "offset=2" in links
    second = wallet.api("GET", "/credentials?limit=2&offset=2")
    assert 'rel="prev"' in second.headers["Link"] and 'rel="next"' not in second.headers["Link"]
    served = first.get_json().get("credential", []) + second.get_json().get("credential", [])
    jws = first.get_json().get("compactJwsString", []) + second.get_json().get(
        "compactJwsString", []
    )
    documents = {c.document for c in held}
    assert sorted(served, key=json.dumps) == sorted(
        (json.loads(d) for d in documents if d.startswith("{")), key=json.dumps
    )
    assert len(jws) == 1 and jws[0] in documents

    # The profile.
    profile = wallet.api("GET", "/profile")
    assert profile.status_code == 200
    schema_check("profile", profile.get_json())
    assert profile.get_json()["name"] == "Ann Lee" and profile.get_json()["email"] == ANN

    # Upsert a credential from elsewhere, and read it back equal.
    other = make_issuer("Another District", slug="another")
    pushed = make_award(other, make_achievement(other, name="Pushed badge"), OTHER)
    created = wallet.api(
        "POST",
        "/credentials",
        data=pushed.document,
        headers={"Content-Type": "application/vc+ld+json"},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json() == json.loads(pushed.document)
    again = wallet.api(
        "POST", "/credentials", data=pushed.document, headers={"Content-Type": "application/json"}
    )
    assert again.status_code == 200
    assert db.session.query(ImportedCredential).count() == 1
    listed = wallet.api("GET", "/credentials").get_json()["credential"]
    assert json.loads(pushed.document) in listed

    # Update the profile.
    changed = wallet.api(
        "PUT", "/profile", json={"type": ["Profile"], "id": "x", "name": "Ann M. Lee"}
    )
    assert changed.status_code == 200 and changed.get_json()["name"] == "Ann M. Lee"
    schema_check("profile", changed.get_json())

    # Refresh: a new pair, the old one spent.
    old_access, old_refresh = wallet.access_token, wallet.refresh_token
    refreshed = wallet.token({"grant_type": "refresh_token", "refresh_token": old_refresh})
    assert refreshed.status_code == 200, refreshed.get_data(as_text=True)
    assert wallet.refresh_token and wallet.refresh_token != old_refresh
    assert wallet.api("GET", "/credentials").status_code == 200
    assert wallet.api("GET", "/profile").status_code == 200
    reused = wallet.token({"grant_type": "refresh_token", "refresh_token": old_refresh})
    assert reused.status_code == 400 and reused.get_json()["error"] == "invalid_grant"
    stale = Wallet(client, access_token=old_access)
    imsx(stale.api("GET", "/credentials"), 401)

    # Revoke, and every later call fails.
    revoked = client.post(
        "/ims/ob/v3p0/revoke",
        data={"token": wallet.access_token, "token_type_hint": "access_token"},
        headers=basic(wallet.client_id, wallet.client_secret),
        base_url=BASE_URL,
    )
    assert revoked.status_code == 200
    imsx(wallet.api("GET", "/credentials"), 401)
    imsx(wallet.api("GET", "/profile"), 401)
    imsx(wallet.api("POST", "/credentials", data=pushed.document,
                    headers={"Content-Type": "application/json"}), 401)  # fmt: skip
    imsx(wallet.api("PUT", "/profile", json={"type": ["Profile"], "name": "X"}), 401)
    after = wallet.token({"grant_type": "refresh_token", "refresh_token": wallet.refresh_token})
    assert after.status_code == 400
