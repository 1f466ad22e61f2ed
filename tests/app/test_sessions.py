"""The session cookie: refreshed by page requests, left alone by background JSON requests
unless they change the session (so an autosave cannot put back an older cookie)."""

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


def test_json_requests_refresh_the_cookie_only_when_they_change_it(app: Flask) -> None:
    _routes(app)
    client = app.test_client()
    assert _sets_cookie(client, "/_test/sign-in", "text/html")
    # A page refreshes the permanent session's cookie (sliding expiry)...
    assert _sets_cookie(client, "/_test/read", "text/html,*/*;q=0.8")
    # ...a background JSON request does not, unless it changed the session.
    assert not _sets_cookie(client, "/_test/read", "application/json")
    assert _sets_cookie(client, "/_test/change", "application/json")
    response = client.get("/_test/read", base_url=BASE_URL, headers={"Accept": "application/json"})
    assert response.get_json() == {"who": "ann"}
