"""Who may use each OB 3.0 API route and the connected-applications pages: every rule of the
``obapi`` blueprint and the two educator routes has a row here (a new route fails the first
test until it gets one); each row is exercised anonymously, and the pages with another
educator signed in."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Educator, OAuthToken
from tests.app.conftest import BASE_URL, sign_in_directly
from tests.app.educator.educator_helpers import make_educator
from tests.app.obapi.client import Wallet, imsx

#: endpoint -> (method, path, who may use it, what an anonymous request gets)
ROUTES: dict[str, tuple[str, str, str, int]] = {
    "obapi.discovery": ("GET", "/ims/ob/v3p0/discovery", "anyone", 200),
    "obapi.privacy": ("GET", "/privacy", "anyone", 200),
    "obapi.terms": ("GET", "/terms", "anyone", 200),
    # Open registration (the spec's); rate-limited. An empty body is refused, not authorised.
    "obapi.register": ("POST", "/ims/ob/v3p0/register", "anyone", 400),
    "obapi.authorize": ("GET", "/ims/ob/v3p0/authorize", "a signed-in educator", 302),
    "obapi.token": ("POST", "/ims/ob/v3p0/token", "a registered client (Basic)", 401),
    "obapi.revoke": ("POST", "/ims/ob/v3p0/revoke", "a registered client (Basic)", 401),
    "obapi.credentials": ("GET", "/ims/ob/v3p0/credentials", "a bearer token", 401),
    "obapi.profile": ("GET", "/ims/ob/v3p0/profile", "a bearer token", 401),
    "educator.connections_list": ("GET", "/me/connections", "a signed-in educator", 302),
    "educator.disconnect": ("POST", "/me/connections/x/disconnect", "the educator", 302),
    # Pushing to another host (Cairn as a client): the educator's own connections only; another
    # educator gets 404 (tests/app/obapi/test_push_to_host.py).
    "educator.hosts_list": ("GET", "/me/hosts", "a signed-in educator", 302),
    "educator.host_connect": ("POST", "/me/hosts", "a signed-in educator", 302),
    "educator.host_callback": ("GET", "/me/hosts/callback", "the educator who started", 302),
    "educator.host_page": ("GET", "/me/hosts/x", "the educator", 302),
    "educator.host_push": ("POST", "/me/hosts/x/push", "the educator", 302),
    "educator.host_retry": ("POST", "/me/hosts/x/pushes/1/retry", "the educator", 302),
    "educator.host_reconnect": ("POST", "/me/hosts/x/reconnect", "the educator", 302),
    "educator.host_disconnect": ("POST", "/me/hosts/x/disconnect", "the educator", 302),
}
#: Form posts: refused for want of a CSRF token before anything else.
POSTED_FORMS = {endpoint for endpoint, row in ROUTES.items() if endpoint.startswith("educator.")
                and row[0] == "POST"}  # fmt: skip


def test_every_route_has_a_row(app: Flask) -> None:
    found = {
        rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("obapi.")
    }
    found |= {"educator.connections_list", "educator.disconnect"}
    found |= {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("educator.host")
    }
    assert found == set(ROUTES)


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_anonymous_requests(client: FlaskClient, endpoint: str) -> None:
    method, path, _, status = ROUTES[endpoint]
    form = {
        "obapi.token": {"grant_type": "authorization_code", "code": "x", "redirect_uri": "y"},
        "obapi.revoke": {"token": "x"},
    }.get(endpoint)
    with client.open(path, method=method, data=form, base_url=BASE_URL) as response:
        if endpoint in POSTED_FORMS:
            assert response.status_code == 400  # no CSRF token: refused before anything else
            return
        assert response.status_code == status, f"{method} {path}"
        if status == 302:
            assert "/me/sign-in" in response.headers["Location"]
        if endpoint in ("obapi.credentials", "obapi.profile"):
            imsx(response, 401)


def test_the_resources_refuse_every_method_and_token_without_a_bearer(client: FlaskClient) -> None:
    imsx(client.post("/ims/ob/v3p0/credentials", json={}, base_url=BASE_URL), 401)
    imsx(client.put("/ims/ob/v3p0/profile", json={}, base_url=BASE_URL), 401)
    imsx(client.delete("/ims/ob/v3p0/credentials", base_url=BASE_URL), 405)


@pytest.fixture
def anns_wallet(app: Flask, client: FlaskClient) -> Wallet:
    ann = make_educator("ann.lee@school.example.org")
    sign_in_directly(client, "educator", ann.id)
    wallet = Wallet(client)
    wallet.connect()
    return wallet


def test_another_educator_neither_sees_nor_disconnects_anns_application(
    app: Flask, anns_wallet: Wallet
) -> None:
    bob = make_educator("bob@school.example.org", "Bob Stone")
    other = app.test_client()
    other.environ_base["HTTP_REFERER"] = BASE_URL + "/"
    sign_in_directly(other, "educator", bob.id)
    page = other.get("/me/connections", base_url=BASE_URL).get_data(as_text=True)
    assert "Example Wallet" not in page and "No applications are connected" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    refused = other.post(
        f"/me/connections/{anns_wallet.client_id}/disconnect",
        data={"csrf_token": token.group(1), "confirmed": "1"},
        base_url=BASE_URL,
    )
    assert refused.status_code == 404
    assert db.session.query(OAuthToken).filter(OAuthToken.revoked_at.is_not(None)).count() == 0
    # Ann's token reads Ann's profile, whoever else is signed in anywhere.
    assert anns_wallet.api("GET", "/profile").get_json()["name"] == "Ann Lee"


def test_ann_sees_her_application_and_disconnecting_it_revokes_its_tokens(
    client: FlaskClient, anns_wallet: Wallet
) -> None:
    page = client.get("/me/connections", base_url=BASE_URL).get_data(as_text=True)
    assert "Example Wallet" in page and "See the credentials in your backpack" in page
    assert "/me/connections" in client.get("/me/", base_url=BASE_URL).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    path = f"/me/connections/{anns_wallet.client_id}/disconnect"
    asked = client.post(path, data={"csrf_token": token.group(1)}, base_url=BASE_URL)
    assert asked.status_code == 200 and "Disconnect Example Wallet?" in asked.get_data(as_text=True)
    assert anns_wallet.api("GET", "/profile").status_code == 200  # asking changed nothing
    done = client.post(
        path, data={"csrf_token": token.group(1), "confirmed": "1"}, base_url=BASE_URL
    )
    assert done.status_code == 303
    imsx(anns_wallet.api("GET", "/profile"), 401)
    refresh = anns_wallet.token(
        {"grant_type": "refresh_token", "refresh_token": anns_wallet.refresh_token}
    )
    assert refresh.status_code == 400
    after = client.get("/me/connections", base_url=BASE_URL).get_data(as_text=True)
    assert "No applications are connected" in after
    assert db.session.get(Educator, 1) is not None
