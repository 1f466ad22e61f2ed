"""Cairn as an OB 3.0 API client, against Cairn's own provider running as a second instance (a
real server on 127.0.0.1 with its own database): connect by discovery URL, register, consent at
the host as its educator, push two credentials and the profile and read them back equal, push
again after the host expired the access token (the refresh token is used and rotated), see the
failure and "Reconnect" after the host revoked the grant, reconnect and retry, disconnect."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from app.extensions import db
from app.models import (
    Achievement,
    Educator,
    HostConnection,
    HostPush,
    ImportedCredential,
    IssuedCredential,
    Issuer,
    OAuthToken,
)
from app.services.learning import connections, hosts
from app.wiring import service_env
from tests.app.conftest import BASE_URL, Web, sign_in_directly
from tests.app.educator.educator_helpers import make_educator
from tests.app.obapi.client import schema_check
from tests.app.obapi.second_instance import SecondInstance, second_instance

ANN = "ann.lee@school.example.org"
READ = "https://purl.imsglobal.org/spec/ob/v3p0/scope/credential.readonly"


@pytest.fixture
def host(app: Flask, tmp_path: Path) -> Iterator[SecondInstance]:
    with second_instance(app, tmp_path / "second") as found:
        yield found


@pytest.fixture
def ann(app: Flask, client: FlaskClient) -> Educator:
    educator = make_educator(ANN, name="Ann Lee")
    educator.bio = "Maths teacher and instructional coach."
    db.session.commit()
    sign_in_directly(client, "educator", educator.id)
    return educator


@pytest.fixture
def held(
    ann: Educator,
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> list[IssuedCredential]:
    """Two of Ann's credentials: Data Integrity and VC-JWT."""
    di = make_issuer()
    jwt = make_issuer("Coaching Collaborative", slug="coaching", proof_format="jwt")
    return [
        make_award(di, make_achievement(di), ANN),
        make_award(jwt, make_achievement(jwt, name="Coaching Cycles"), ANN),
    ]


def host_educator(host: SecondInstance) -> int:
    """Ann's account on the host (another name there, so the profile push shows)."""
    with host.app.app_context():
        educator = make_educator("ann@host.example.net", name="A. Lee")
        return educator.id


def connect(web: Web, client: FlaskClient, host: SecondInstance) -> HostConnection:
    """Connect through the pages: discovery URL, the host's consent, the callback."""
    started = web.submit("/me/hosts", data={"discovery_url": host.discovery_url})
    assert started.status_code == 303, started.get_data(as_text=True)[:800]
    authorize = started.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["redirect_uri"] == [f"{BASE_URL}/me/hosts/callback"]
    answer = host.consent(authorize)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    back = answer.headers["Location"]
    assert back.startswith(f"{BASE_URL}/me/hosts/callback?")
    done = client.get(back[len(BASE_URL) :], base_url=BASE_URL)
    assert done.status_code == 303, done.get_data(as_text=True)[:500]
    db.session.expire_all()
    connection = db.session.scalars(select(HostConnection)).one()
    assert done.headers["Location"].endswith(f"/me/hosts/{connection.public_id}")
    assert connection.state == "connected"
    return connection


def host_token(connection: HostConnection) -> str:
    db.session.refresh(connection)
    return hosts.unseal(connection, "access_token", connection.access_token, service_env())


def reader_token(host: SecondInstance) -> str:
    """A token of another client of the host that may read Ann's credentials there (Cairn asks
    only to add them)."""
    with host.app.app_context():
        env = service_env()
        reader = connections.register(
            "test-reader", "reader-secret", {"client_name": "Reader", "scope": READ,
            "redirect_uris": ["https://reader.example.net/cb"]}, env,
        )  # fmt: skip
        there = db.session.scalars(select(Educator)).one()
        token = {"access_token": "reader-access-token", "scope": READ, "expires_in": 3600}
        connections.save_token(token, client=reader, educator=there, env=env)
        return "reader-access-token"


def host_credentials(host: SecondInstance, token: str) -> list[str]:
    answer = host.client.get(
        "/ims/ob/v3p0/credentials",
        headers={"Authorization": f"Bearer {token}"},
        base_url=host.origin,
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    body = answer.get_json()
    schema_check("getopenbadgecredentialsresponse", body)
    return [json.dumps(c, sort_keys=True) for c in body.get("credential", [])] + list(
        body.get("compactJwsString", [])
    )


def push(web: Web, connection: HostConnection, **data: object) -> None:
    page = f"/me/hosts/{connection.public_id}"
    answer = web.submit(page, action=f"{page}/push", data=data)
    assert answer.status_code == 303
    db.session.expire_all()


def test_connect_push_refresh_revoke_reconnect_and_disconnect(
    app: Flask, client: FlaskClient, web: Web, host: SecondInstance, held: list[IssuedCredential]
) -> None:
    host.sign_in(host_educator(host))
    connection = connect(web, client, host)
    assert connection.host_name == "Cairn: Open Badges 3.0 API"

    # Secrets rest sealed: neither the access token nor the client secret is in the row.
    token = host_token(connection)
    stored = db.session.execute(
        text("SELECT access_token, refresh_token, client_secret FROM ob_host_connection")
    ).one()
    assert all(value.startswith("v1:") for value in stored)
    assert token not in "".join(stored)

    page = client.get(f"/me/hosts/{connection.public_id}", base_url=BASE_URL)
    html = page.get_data(as_text=True)
    assert "Formative Assessment in Practice" in html and "Coaching Cycles" in html

    # Push both credentials and the profile.
    push(web, connection, items=[f"issued:{c.id}" for c in held], profile="1")
    results = db.session.scalars(select(HostPush).order_by(HostPush.id)).all()
    assert [(p.state, p.http_status) for p in results] == [("pushed", 201)] * 2 + [("pushed", 200)]

    # Read back from the host's API and its database: exactly what was pushed.
    pushed = sorted(
        json.dumps(json.loads(c.document), sort_keys=True) if c.document.startswith("{")
        else c.document
        for c in held
    )  # fmt: skip
    reader = reader_token(host)
    assert sorted(host_credentials(host, reader)) == pushed
    with host.app.app_context():
        kept = sorted(i.document for i in db.session.scalars(select(ImportedCredential)))
        assert kept == sorted(c.document for c in held)
        there = db.session.scalars(select(Educator)).one()
        assert (there.name, there.bio) == ("Ann Lee", "Maths teacher and instructional coach.")

    # The host expires the access token: the next push refreshes (and the refresh rotates).
    old_refresh = hosts.unseal(connection, "refresh_token", connection.refresh_token, service_env())
    with host.app.app_context():
        for row in db.session.scalars(select(OAuthToken)):
            if row.client.client_name == "Cairn":
                row.expires_in = 0
        db.session.commit()
    push(web, connection, items=[f"issued:{held[0].id}"])
    latest = db.session.scalars(select(HostPush).order_by(HostPush.id.desc())).first()
    assert latest is not None and (latest.state, latest.http_status) == ("pushed", 200)
    new_token = host_token(connection)
    assert new_token != token
    new_refresh = hosts.unseal(connection, "refresh_token", connection.refresh_token, service_env())
    assert new_refresh != old_refresh
    with host.app.app_context():
        assert connections.find_refresh_token(old_refresh, service_env()) is None
    assert len(host_credentials(host, reader)) == 2  # replaced, not duplicated

    # The host's educator disconnects Cairn there: the push fails and asks to reconnect.
    with host.app.app_context():
        there = db.session.scalars(select(Educator)).one()
        client_id = db.session.scalars(select(OAuthToken)).first().client.client_id  # type: ignore[union-attr]
        assert client_id != "test-reader"
        connections.disconnect(there, client_id, service_env())
    push(web, connection, items=[f"issued:{held[1].id}"])
    failed = db.session.scalars(select(HostPush).order_by(HostPush.id.desc())).first()
    assert failed is not None and failed.state == "failed"
    db.session.refresh(connection)
    assert connection.state == "reconnect"
    html = client.get(f"/me/hosts/{connection.public_id}", base_url=BASE_URL).get_data(as_text=True)
    assert "no longer accepts" in html and "Reconnect" in html and "Failed" in html
    assert "Try again" not in html  # not before reconnecting

    # Reconnect (the same registration), then try the failed push again.
    again = web.submit(
        f"/me/hosts/{connection.public_id}", action=f"/me/hosts/{connection.public_id}/reconnect"
    )
    assert again.status_code == 303
    back = host.consent(again.headers["Location"]).headers["Location"]
    assert client.get(back[len(BASE_URL) :], base_url=BASE_URL).status_code == 303
    db.session.expire_all()
    assert connection.state == "connected"
    assert "Try again" in client.get(
        f"/me/hosts/{connection.public_id}", base_url=BASE_URL
    ).get_data(as_text=True)
    retried = web.submit(
        f"/me/hosts/{connection.public_id}",
        action=f"/me/hosts/{connection.public_id}/pushes/{failed.id}/retry",
    )
    assert retried.status_code == 303
    db.session.expire_all()
    assert (failed.state, failed.attempts) == ("pushed", 2)

    # Disconnect: asks first, then revokes at the host and forgets everything here.
    live_token = host_token(connection)
    action = f"/me/hosts/{connection.public_id}/disconnect"
    asked = web.submit(f"/me/hosts/{connection.public_id}", action=action)
    assert asked.status_code == 200 and "Disconnect from" in asked.get_data(as_text=True)
    done = web.submit(f"/me/hosts/{connection.public_id}", action=action, data={"confirmed": "1"})
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.scalars(select(HostConnection)).all() == []
    assert db.session.scalars(select(HostPush)).all() == []
    answer = host.client.get(
        "/ims/ob/v3p0/credentials",
        headers={"Authorization": f"Bearer {live_token}"},
        base_url=host.origin,
    )
    assert answer.status_code == 401


def test_another_educator_cannot_see_or_use_a_connection(
    app: Flask, client: FlaskClient, web: Web, host: SecondInstance, held: list[IssuedCredential]
) -> None:
    host.sign_in(host_educator(host))
    connection = connect(web, client, host)
    other = make_educator("bo@school.example.org", name="Bo Chen")
    sign_in_directly(client, "educator", other.id)
    base = f"/me/hosts/{connection.public_id}"
    assert client.get(base, base_url=BASE_URL).status_code == 404
    assert connection.host_name not in client.get("/me/hosts", base_url=BASE_URL).get_data(
        as_text=True
    )
    token = web.csrf_token("/me/hosts")
    for path, data in [
        (f"{base}/push", {"items": f"issued:{held[0].id}"}),
        (f"{base}/pushes/1/retry", {}),
        (f"{base}/reconnect", {}),
        (f"{base}/disconnect", {"confirmed": "1"}),
    ]:
        answer = client.post(path, data={"csrf_token": token, **data}, base_url=BASE_URL)
        assert answer.status_code == 404, path
    db.session.expire_all()
    assert db.session.scalars(select(HostPush)).all() == []
    assert connection.state == "connected"
