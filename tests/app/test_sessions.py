"""The session cookie: sent again only by a response that changed the session (or, see
test_account_sessions, moved its expiry with the server's row), whatever the request: a page, a
badge preview image or a background JSON request that finishes after a form post would
otherwise put back the cookie from before the post and lose what it flashed."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, session
from flask.testing import FlaskClient

from tests.app.conftest import BASE_URL


def _routes(app: Flask) -> None:
    @app.get("/_test/sign-in")
    def sign_in() -> str:
        session.permanent = True
        session["who"] = "ann"
        return "ok"

    @app.get("/_test/read")
    def read() -> object:
        return jsonify(who=session.get("who"))

    @app.get("/_test/change")
    def change() -> object:
        session["seen"] = True
        return jsonify(ok=True)


def _sets_cookie(client: FlaskClient, path: str, accept: str) -> bool:
    response = client.get(path, base_url=BASE_URL, headers={"Accept": accept})
    name = current_app.config["SESSION_COOKIE_NAME"]
    return any(h.startswith(f"{name}=") for h in response.headers.getlist("Set-Cookie"))


def test_requests_send_the_cookie_again_only_when_they_change_it(app: Flask) -> None:
    _routes(app)
    client = app.test_client()
    assert _sets_cookie(client, "/_test/sign-in", "text/html")
    # Neither a page, nor an image, nor a background JSON request re-sends an unchanged cookie...
    assert not _sets_cookie(client, "/_test/read", "text/html,*/*;q=0.8")
    assert not _sets_cookie(client, "/_test/read", "image/avif,image/webp,*/*")
    assert not _sets_cookie(client, "/_test/read", "application/json")
    # ...one that changed the session does.
    assert _sets_cookie(client, "/_test/change", "application/json")
    response = client.get("/_test/read", base_url=BASE_URL, headers={"Accept": "application/json"})
    assert response.get_json() == {"who": "ann"}
