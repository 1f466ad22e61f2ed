"""What the OB 3.0 API refuses, and that a refusal changes nothing: authorize without PKCE or
with ``plain``, a code used twice (which also revokes what it gave), another redirect URI,
a wrong client secret, a token without the scope, bad registrations, bad paging, a pushed
credential that does not verify."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

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
    OAuthAuthorizationCode,
    OAuthToken,
)
from app.wiring import service_env
from tests.app.conftest import BASE_URL, sign_in_directly
from tests.app.educator.educator_helpers import make_educator
from tests.app.obapi.client import (
    ALL_SCOPES,
    REDIRECT_URI,
    SCOPE,
    Wallet,
    imsx,
    pkce_pair,
    schema_check,
)

ANN = "ann.lee@school.example.org"


@pytest.fixture
def ann(app: Flask, client: FlaskClient) -> Educator:
    educator = make_educator(ANN)
    sign_in_directly(client, "educator", educator.id)
    return educator


@pytest.fixture
def wallet(client: FlaskClient, ann: Educator) -> Wallet:
    registered = Wallet(client)
    registered.discover()
    assert registered.register().status_code == 201
    return registered


def authorize_error(wallet: Wallet, url: str) -> str:
    page = wallet.http.get(url, base_url=BASE_URL)
    assert page.status_code == 400
    assert db.session.query(OAuthAuthorizationCode).count() == 0
    return page.get_data(as_text=True)


def test_authorize_without_pkce_is_refused(wallet: Wallet) -> None:
    assert "PKCE is required" in authorize_error(wallet, wallet.authorize_url(None))


def test_plain_pkce_is_refused(wallet: Wallet) -> None:
    verifier, _ = pkce_pair()
    url = wallet.authorize_url(verifier, code_challenge_method="plain")
    assert "must be S256" in authorize_error(wallet, url)


def test_authorize_without_state_is_refused(wallet: Wallet) -> None:
    _, challenge = pkce_pair()
    assert "state" in authorize_error(wallet, wallet.authorize_url(challenge, state=""))


def test_another_redirect_uri_is_refused_at_authorize(wallet: Wallet) -> None:
    _, challenge = pkce_pair()
    url = wallet.authorize_url(challenge, redirect_uri="https://evil.example.com/cb")
    authorize_error(wallet, url)


def test_a_denied_consent_sends_access_denied_and_gives_nothing(wallet: Wallet) -> None:
    _, challenge = pkce_pair()
    answer = wallet.consent(wallet.authorize_url(challenge), decision="deny")
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and "code" not in query
    assert db.session.query(OAuthAuthorizationCode).count() == 0


def test_a_code_works_once_and_a_second_use_revokes_its_tokens(wallet: Wallet) -> None:
    verifier, challenge = pkce_pair()
    code = wallet.code_from(wallet.consent(wallet.authorize_url(challenge)))
    assert wallet.exchange(code, verifier).status_code == 200
    assert wallet.api("GET", "/profile").status_code == 200
    again = wallet.exchange(code, verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    # The code may have been stolen: what it gave stops working too.
    imsx(wallet.api("GET", "/profile"), 401)


def test_the_verifier_must_match(wallet: Wallet) -> None:
    _, challenge = pkce_pair()
    code = wallet.code_from(wallet.consent(wallet.authorize_url(challenge)))
    other, _ = pkce_pair()
    refused = wallet.exchange(code, other)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    missing = wallet.exchange(code, None)
    assert missing.status_code == 400
    assert db.session.query(OAuthToken).count() == 0


def test_another_redirect_uri_is_refused_at_the_token_endpoint(wallet: Wallet) -> None:
    verifier, challenge = pkce_pair()
    code = wallet.code_from(wallet.consent(wallet.authorize_url(challenge)))
    refused = wallet.token(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://wallet.example.net/other",
            "code_verifier": verifier,
        }
    )
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    assert db.session.query(OAuthToken).count() == 0


def test_a_wrong_client_secret_is_refused(wallet: Wallet) -> None:
    verifier, challenge = pkce_pair()
    code = wallet.code_from(wallet.consent(wallet.authorize_url(challenge)))
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    refused = wallet.token(form, secret="not-the-secret")
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"
    # The secret in the form body is not the registered method.
    body_auth = wallet.http.post(
        "/ims/ob/v3p0/token",
        data={**form, "client_id": wallet.client_id, "client_secret": wallet.client_secret},
        base_url=BASE_URL,
    )
    assert body_auth.status_code == 401
    assert db.session.query(OAuthToken).count() == 0


def test_a_token_without_the_scope_gets_403_with_an_imsx_body(wallet: Wallet) -> None:
    verifier, challenge = pkce_pair()
    url = wallet.authorize_url(challenge, scope=f"{SCOPE}profile.readonly")
    assert wallet.exchange(wallet.code_from(wallet.consent(url)), verifier).status_code == 200
    assert wallet.api("GET", "/profile").status_code == 200
    body = imsx(wallet.api("GET", "/credentials"), 403)
    assert body["imsx_codeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"] == (
        "forbidden"
    )
    imsx(wallet.api("PUT", "/profile", json={"type": ["Profile"], "name": "Mallory"}), 403)
    assert db.session.get(Educator, 1).name == "Ann Lee"


def test_no_token_and_a_made_up_token_get_401(client: FlaskClient, ann: Educator) -> None:
    imsx(client.get("/ims/ob/v3p0/credentials", base_url=BASE_URL), 401)
    forged = Wallet(client, access_token="made-up")
    imsx(forged.api("GET", "/profile"), 401)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"redirect_uris": ["http://wallet.example.net/cb"]}, "redirect_uris"),
        ({"redirect_uris": []}, "redirect_uris"),
        ({"client_name": ""}, "client_name"),
        ({"scope": f"{SCOPE}everything"}, "scope"),
        ({"logo_uri": "javascript:alert(1)"}, "logo_uri"),
        ({"token_endpoint_auth_method": "none"}, "token_endpoint_auth_method"),
    ],
)
def test_bad_registrations_are_refused(
    client: FlaskClient, ann: Educator, change: dict[str, object], field: str
) -> None:
    wallet = Wallet(client)
    wallet.discover()
    refused = wallet.register(**change)
    assert refused.status_code == 400, refused.get_data(as_text=True)
    assert refused.get_json()["error"] == "invalid_client_metadata"
    assert wallet.client_id == ""


def test_loopback_redirects_are_allowed_for_native_apps(client: FlaskClient, ann: Educator) -> None:
    wallet = Wallet(client)
    wallet.discover()
    uris = ["http://127.0.0.1:8765/cb", "http://localhost/cb"]
    assert wallet.register(redirect_uris=uris).status_code == 201


def test_registration_wants_json(client: FlaskClient) -> None:
    refused = client.post("/ims/ob/v3p0/register", data="client_name=x", base_url=BASE_URL)
    assert refused.status_code == 400


@pytest.mark.parametrize("query", ["limit=0", "limit=x", "offset=-1", "since=yesterday"])
def test_bad_paging_is_refused(wallet: Wallet, query: str) -> None:
    verifier, challenge = pkce_pair()
    wallet.exchange(wallet.code_from(wallet.consent(wallet.authorize_url(challenge))), verifier)
    body = imsx(wallet.api("GET", f"/credentials?{query}"), 400)
    field = body["imsx_codeMinor"]["imsx_codeMinorField"][0]
    assert field["imsx_codeMinorFieldValue"] == "invalid_query_parameter"


@pytest.fixture
def connected(wallet: Wallet) -> Wallet:
    verifier, challenge = pkce_pair()
    wallet.exchange(wallet.code_from(wallet.consent(wallet.authorize_url(challenge))), verifier)
    return wallet


def test_since_leaves_out_older_credentials(
    connected: Wallet,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    issuer = make_issuer()
    held = make_award(issuer, make_achievement(issuer), ANN)
    later = (held.issued_at + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    earlier = (held.issued_at - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    none = connected.api("GET", f"/credentials?since={later}")
    assert none.headers["X-Total-Count"] == "0" and none.get_json() == {}
    schema_check("getopenbadgecredentialsresponse", none.get_json())
    assert 'rel="first"' in none.headers["Link"] and 'rel="last"' in none.headers["Link"]
    some = connected.api("GET", f"/credentials?since={earlier}")
    assert some.headers["X-Total-Count"] == "1"


def test_a_tampered_credential_is_not_stored(
    connected: Wallet,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    issuer = make_issuer()
    credential = json.loads(make_award(issuer, make_achievement(issuer), "x@example.org").document)
    credential["credentialSubject"]["achievement"]["name"] = "Something I never earned"
    refused = connected.api("POST", "/credentials", json=credential)
    assert "did not pass verification" in imsx(refused, 400)["imsx_description"]
    not_json = connected.api(
        "POST", "/credentials", data="{", headers={"Content-Type": "application/json"}
    )
    imsx(not_json, 400)
    not_a_badge = connected.api("POST", "/credentials", json={"hello": "world"})
    imsx(not_a_badge, 400)
    wrong_type = connected.api(
        "POST", "/credentials", data=b"x", headers={"Content-Type": "image/gif"}
    )
    imsx(wrong_type, 415)
    assert db.session.query(ImportedCredential).count() == 0


def test_a_jws_is_upserted_as_text_and_served_as_a_compact_jws(
    connected: Wallet,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    issuer = make_issuer("JWT issuer", slug="jwt-issuer", proof_format="jwt")
    pushed = make_award(issuer, make_achievement(issuer), "someone@else.example.org").document
    created = connected.api(
        "POST", "/credentials", data=pushed, headers={"Content-Type": "text/plain"}
    )
    assert created.status_code == 201 and created.get_data(as_text=True) == pushed
    listed = connected.api("GET", "/credentials").get_json()
    assert listed == {"compactJwsString": [pushed]}
    again = connected.api(
        "POST", "/credentials", data=pushed, headers={"Content-Type": "text/plain"}
    )
    assert again.status_code == 200
    assert db.session.query(ImportedCredential).count() == 1


def test_equality_is_the_issuer_id_and_the_id_percent_decoded_and_trimmed() -> None:
    from app.services.learning.imports import identity_of

    one = {"id": "urn:uuid:1 ", "issuer": {"id": "https://a.example/issuers/x%20y"}}
    same = {"id": "urn:uuid:1", "issuer": "https://a.example/issuers/x y"}
    other = {"id": "urn:uuid:1", "issuer": {"id": "https://b.example/issuers/x y"}}
    assert identity_of(one) == identity_of(same) != identity_of(other)
    assert identity_of({"id": "urn:uuid:1"}) is None


def test_scopes_asked_beyond_the_registration_are_dropped(
    client: FlaskClient, ann: Educator
) -> None:
    wallet = Wallet(client)
    wallet.discover()
    assert wallet.register(scopes=[f"{SCOPE}profile.readonly"]).status_code == 201
    verifier, challenge = pkce_pair()
    url = wallet.authorize_url(challenge, scope=" ".join(ALL_SCOPES))
    tokens = wallet.exchange(wallet.code_from(wallet.consent(url)), verifier)
    assert tokens.get_json()["scope"] == f"{SCOPE}profile.readonly"
    imsx(wallet.api("GET", "/credentials"), 403)


@pytest.mark.parametrize(
    "body",
    [
        {"client_name": "W", "redirect_uris": "https://w.example/cb", "scope": ALL_SCOPES[0]},
        {"client_name": "W", "redirect_uris": [1], "scope": ALL_SCOPES[0]},
        {"client_name": 5, "redirect_uris": [REDIRECT_URI], "scope": ALL_SCOPES[0]},
        {"client_name": "W", "redirect_uris": [REDIRECT_URI], "scope": 7},
        {"client_name": "W", "redirect_uris": [REDIRECT_URI + "#frag"], "scope": ALL_SCOPES[0]},
        {"client_name": "W", "redirect_uris": ["https://[::1"], "scope": ALL_SCOPES[0]},
        {"client_name": "W", "redirect_uris": [REDIRECT_URI], "scope": ALL_SCOPES[0],
         "grant_types": ["client_credentials"]},
        {"client_name": "W", "redirect_uris": [REDIRECT_URI], "scope": ALL_SCOPES[0],
         "software_id": {"x": 1}},
        {},
    ],
)  # fmt: skip
def test_hostile_registrations_get_400_and_store_nothing(client: FlaskClient, body: object) -> None:
    from app.models import OAuthClient

    refused = client.post("/ims/ob/v3p0/register", json=body, base_url=BASE_URL)
    assert refused.status_code == 400, refused.get_data(as_text=True)
    assert "error" in refused.get_json()
    assert db.session.query(OAuthClient).count() == 0


@pytest.mark.parametrize(
    "query",
    [
        "",
        "response_type=code&client_id=nobody&redirect_uri=https://x.example/cb&state=s",
        "response_type=token&client_id={id}&redirect_uri=" + REDIRECT_URI,
    ],
)
def test_hostile_authorize_requests_get_an_error_page(wallet: Wallet, query: str) -> None:
    page = wallet.http.get(
        "/ims/ob/v3p0/authorize?" + query.format(id=wallet.client_id), base_url=BASE_URL
    )
    assert page.status_code in (302, 400)
    if page.status_code == 302:  # a known client and redirect URI: the error goes back to it
        assert page.headers["Location"].startswith(REDIRECT_URI + "?error=")
    assert db.session.query(OAuthAuthorizationCode).count() == 0


def test_garbage_at_the_token_endpoint_is_refused(wallet: Wallet) -> None:
    for form in ({}, {"grant_type": "password", "username": "a", "password": "b"},
                 {"grant_type": "authorization_code", "code": "nope", "redirect_uri": REDIRECT_URI},
                 {"grant_type": "refresh_token", "refresh_token": "nope"}):  # fmt: skip
        refused = wallet.token(form)
        assert refused.status_code in (400, 401), (form, refused.get_data(as_text=True))
        assert "error" in refused.get_json()
    assert db.session.query(OAuthToken).count() == 0


def test_consent_without_the_csrf_token_is_refused(wallet: Wallet) -> None:
    _, challenge = pkce_pair()
    url = wallet.authorize_url(challenge)
    forged = wallet.http.post(url, data={"decision": "allow"}, base_url=BASE_URL)
    assert forged.status_code == 400
    assert db.session.query(OAuthAuthorizationCode).count() == 0


def test_an_anonymous_authorize_request_goes_to_sign_in_and_keeps_the_request(
    app: Flask,
) -> None:
    visitor = app.test_client()
    url = "/ims/ob/v3p0/authorize?response_type=code&client_id=c&state=s"
    answer = visitor.get(url, base_url=BASE_URL)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert location.path == "/me/sign-in"
    assert parse_qs(location.query)["next"] == [url]


def move_clock(app: Flask, minutes: float) -> None:
    now = service_env().now + timedelta(minutes=minutes)
    app.extensions["cairn.wiring"].clock = lambda: now


def test_a_code_lasts_ten_minutes(app: Flask, wallet: Wallet) -> None:
    verifier, challenge = pkce_pair()
    code = wallet.code_from(wallet.consent(wallet.authorize_url(challenge)))
    move_clock(app, 10.5)
    refused = wallet.exchange(code, verifier)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"


def test_an_access_token_lasts_an_hour_and_the_refresh_token_renews_it(
    app: Flask, connected: Wallet
) -> None:
    move_clock(app, 59)
    assert connected.api("GET", "/profile").status_code == 200
    move_clock(app, 2)
    imsx(connected.api("GET", "/profile"), 401)
    renewed = connected.token(
        {"grant_type": "refresh_token", "refresh_token": connected.refresh_token}
    )
    assert renewed.status_code == 200
    assert connected.api("GET", "/profile").status_code == 200


def test_pushing_one_of_the_educators_own_cairn_credentials_changes_nothing(
    connected: Wallet,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> None:
    issuer = make_issuer()
    own = make_award(issuer, make_achievement(issuer), ANN)
    answer = connected.api(
        "POST", "/credentials", data=own.document, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 200 and answer.get_json() == json.loads(own.document)
    assert db.session.query(ImportedCredential).count() == 0
    assert connected.api("GET", "/credentials").headers["X-Total-Count"] == "1"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "No type"},
        {"type": ["Profile"], "name": ""},
        {"type": ["Profile"], "name": "x" * 500},
        {"type": "Profile", "name": "Ann", "description": "y" * 5000},
        ["not", "an", "object"],
    ],
)
def test_a_bad_profile_is_refused_and_changes_nothing(
    connected: Wallet, ann: Educator, body: object
) -> None:
    imsx(connected.api("PUT", "/profile", json=body), 400)
    db.session.refresh(ann)
    assert ann.name == "Ann Lee" and ann.bio is None
