"""Pushing to another host, what is refused: discovery URLs Cairn may not call (plain http, a
private address not allow-listed), documents that are not OB 3.0 discovery, a refused
registration, an answer whose ``state`` is not the session's; and what is sent: the PKCE
verifier matching the challenge, client_secret_basic. The outbound requester itself follows no
redirect and refuses oversized answers."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.fetch import FetchError, HostAnswer, HostRequester, Target
from app.models import AuditEvent, Educator, HostConnection, HostPush
from app.services._core.errors import Invalid
from app.services.learning import hosts
from app.wiring import service_env
from tests.app.conftest import BASE_URL, Web, sign_in_directly
from tests.app.educator.educator_helpers import make_educator
from tests.app.webhook_receiver import Receiver

ORIGIN = "https://host.example.net"
SCOPE = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
DISCOVERY: dict[str, Any] = {
    "openapi": "3.0.1",
    "info": {"title": "Example Host", "version": "3.0"},
    "servers": [{"url": f"{ORIGIN}/ims/ob/v3p0"}],
    "components": {
        "securitySchemes": {
            "OAuth2ACG": {
                "type": "oauth2",
                "x-imssf-registrationUrl": f"{ORIGIN}/register",
                "flows": {
                    "authorizationCode": {
                        "authorizationUrl": f"{ORIGIN}/authorize",
                        "tokenUrl": f"{ORIGIN}/token",
                        "refreshUrl": f"{ORIGIN}/token",
                        "scopes": {f"{SCOPE}credential.upsert": "", f"{SCOPE}profile.update": ""},
                    }
                },
            }
        }
    },
}


@dataclass
class FakeHost:
    """An OB 3.0 host answering from memory; records every request Cairn sends."""

    discovery: Any = field(default_factory=lambda: copy.deepcopy(DISCOVERY))
    discovery_status: int = 200
    registration: tuple[int, Any] = (201, {"client_id": "cairn-id", "client_secret": "s3cret"})
    sent: list[tuple[str, str, bytes, dict[str, str]]] = field(default_factory=list)
    #: What ``POST /credentials`` answers next (status and body), in turn.
    upserts: list[tuple[int, Any]] = field(default_factory=list)
    issued: int = 0

    def vet(self, url: str) -> Target:
        if not url.startswith("https://"):
            raise FetchError(f"refusing to fetch {url!r}: only https URLs are fetched")
        parts = urlsplit(url)
        return Target("https", parts.hostname or "", "203.0.113.5", 443, parts.path)

    def request(
        self, method: str, url: str, *, body: bytes | None = None, headers: Any = None
    ) -> HostAnswer:
        self.vet(url)
        self.sent.append((method, url, body or b"", dict(headers or {})))
        if url.endswith("/discovery"):
            raw = self.discovery if isinstance(self.discovery, bytes) else json.dumps(
                self.discovery).encode()  # fmt: skip
            return HostAnswer(self.discovery_status, {}, raw)
        if url.endswith("/register"):
            return HostAnswer(self.registration[0], {}, json.dumps(self.registration[1]).encode())
        if url.endswith("/token"):
            self.issued += 1
            token = {"access_token": f"at{self.issued}", "refresh_token": f"rt{self.issued}",
                     "expires_in": 3600}  # fmt: skip
            return HostAnswer(200, {}, json.dumps(token).encode())
        if url.endswith("/credentials") and self.upserts:
            status, answer = self.upserts.pop(0)
            return HostAnswer(status, {}, json.dumps(answer).encode())
        return HostAnswer(404, {}, b"{}")


@pytest.fixture
def ann(app: Flask, client: FlaskClient) -> Educator:
    educator = make_educator("ann.lee@school.example.org")
    sign_in_directly(client, "educator", educator.id)
    return educator


def start(ann: Educator, fake: FakeHost) -> hosts.Authorization:
    return hosts.connect(
        ann, f"{ORIGIN}/ims/ob/v3p0/discovery", redirect_uri=f"{BASE_URL}/me/hosts/callback",
        links={"client_uri": f"{BASE_URL}/", "logo_uri": f"{BASE_URL}/static/favicon.svg",
               "policy_uri": f"{BASE_URL}/privacy", "tos_uri": "http://insecure.example/terms"},
        env=service_env(), send=fake,
    )  # fmt: skip


def connections_stored() -> int:
    return db.session.scalar(select(func.count()).select_from(HostConnection)) or 0


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://host.example.net/ims/ob/v3p0/discovery", "only https URLs"),
        ("https://127.0.0.1:9/ims/ob/v3p0/discovery", "not a public address"),
        ("https://10.1.2.3/ims/ob/v3p0/discovery", "not a public address"),
        ("http://127.0.0.1:9/ims/ob/v3p0/discovery", "only https URLs"),  # not allow-listed
        ("", "Enter the host"),
    ],
)
def test_the_page_refuses_urls_cairn_may_not_call(
    ann: Educator, web: Web, url: str, reason: str
) -> None:
    answer = web.submit("/me/hosts", data={"discovery_url": url})
    assert answer.status_code == 400
    assert reason in answer.get_data(as_text=True)
    assert connections_stored() == 0


def drop(path: str) -> Any:
    document = copy.deepcopy(DISCOVERY)
    *parents, last = path.split(".")
    node = document
    for key in parents:
        node = node[key]
    del node[last]
    return document


@pytest.mark.parametrize(
    ("discovery", "reason"),
    [
        (b"<html>not json</html>", "not JSON"),
        ([1, 2], "not a JSON object"),
        ({**DISCOVERY, "openapi": "2.0"}, "no OpenAPI 3.0"),
        (drop("components.securitySchemes.OAuth2ACG"), "no OAuth2ACG"),
        (drop("servers"), "no OAuth2ACG"),
        (
            drop("components.securitySchemes.OAuth2ACG.flows.authorizationCode.scopes"),
            "no upsert scope",
        ),
        (drop("components.securitySchemes.OAuth2ACG.flows.authorizationCode.tokenUrl"), "tokenUrl"),
        (drop("components.securitySchemes.OAuth2ACG.x-imssf-registrationUrl"), "registrationUrl"),
    ],
)
def test_documents_that_are_not_ob_discovery_are_refused(
    ann: Educator, discovery: Any, reason: str
) -> None:
    fake = FakeHost(discovery=discovery)
    with pytest.raises(Invalid, match=reason):
        start(ann, fake)
    assert [s[0] for s in fake.sent] == ["GET"]  # nothing registered
    assert connections_stored() == 0


def test_a_scheme_that_is_not_oauth2_and_a_missing_discovery_are_refused(ann: Educator) -> None:
    document = copy.deepcopy(DISCOVERY)
    document["components"]["securitySchemes"]["OAuth2ACG"]["type"] = "apiKey"
    with pytest.raises(Invalid, match=r"not OAuth 2\.0"):
        start(ann, FakeHost(discovery=document))
    with pytest.raises(Invalid, match="HTTP 404"):
        start(ann, FakeHost(discovery_status=404))


def test_endpoints_cairn_may_not_call_are_refused_before_registering(ann: Educator) -> None:
    document = copy.deepcopy(DISCOVERY)
    document["components"]["securitySchemes"]["OAuth2ACG"]["x-imssf-registrationUrl"] = (
        "http://host.example.net/register"
    )
    fake = FakeHost(discovery=document)
    with pytest.raises(Invalid, match="only https"):
        start(ann, fake)
    assert [s[0] for s in fake.sent] == ["GET"]


def test_a_refused_registration_is_shown_and_nothing_kept(ann: Educator) -> None:
    fake = FakeHost(registration=(400, {"error": "invalid_client_metadata"}))
    with pytest.raises(Invalid, match="invalid_client_metadata"):
        start(ann, fake)
    assert connections_stored() == 0


def test_registration_asks_for_what_cairn_does_and_nothing_more(ann: Educator) -> None:
    fake = FakeHost()
    authorization = start(ann, fake)
    _, url, body, _ = fake.sent[1]
    assert url == f"{ORIGIN}/register"
    metadata = json.loads(body)
    assert metadata["client_name"] == "Cairn"
    assert metadata["redirect_uris"] == [f"{BASE_URL}/me/hosts/callback"]
    assert metadata["scope"].split() == [f"{SCOPE}credential.upsert", f"{SCOPE}profile.update"]
    assert metadata["token_endpoint_auth_method"] == "client_secret_basic"
    assert metadata["policy_uri"] == f"{BASE_URL}/privacy"
    assert "tos_uri" not in metadata  # not https: left out rather than refused by the host
    stored = db.session.scalars(select(HostConnection)).one()
    assert stored.state == "pending" and "s3cret" not in stored.client_secret
    assert authorization.url.startswith(f"{ORIGIN}/authorize?")


def test_a_state_that_is_not_the_sessions_is_refused_and_no_code_is_exchanged(
    ann: Educator,
) -> None:
    fake = FakeHost()
    authorization = start(ann, fake)
    for returned, kept in [("forged", authorization.state), (authorization.state, None),
                           (authorization.state, "another")]:  # fmt: skip
        with pytest.raises(Invalid, match="does not belong"):
            hosts.finish(ann, returned_state=returned, session_state=kept, code="c",
                         error=None, env=service_env(), send=fake)  # fmt: skip
    # Another educator's answer, even with the right state in their own session.
    bo = make_educator("bo@school.example.org", "Bo Chen")
    with pytest.raises(Invalid, match="expired"):
        hosts.finish(bo, returned_state=authorization.state, session_state=authorization.state,
                     code="c", error=None, env=service_env(), send=fake)  # fmt: skip
    assert not any(url.endswith("/token") for _, url, _, _ in fake.sent)
    assert db.session.scalars(select(HostConnection)).one().state == "pending"


def test_the_callback_page_refuses_a_forged_state(ann: Educator, client: FlaskClient) -> None:
    start(ann, FakeHost())
    answer = client.get("/me/hosts/callback?state=forged&code=c", base_url=BASE_URL)
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/me/hosts")
    page = client.get("/me/hosts", base_url=BASE_URL).get_data(as_text=True)
    assert "does not belong to your connection attempt" in page
    pending = db.session.scalars(select(HostConnection)).one()
    assert pending.state == "pending"
    page = client.get(f"/me/hosts/{pending.public_id}", base_url=BASE_URL).get_data(as_text=True)
    assert "You have not allowed Cairn at Example Host yet" in page and "Reconnect" in page
    assert "Push credentials" not in page


def test_the_code_is_exchanged_with_the_pkce_verifier_and_basic_authentication(
    ann: Educator,
) -> None:
    fake = FakeHost()
    authorization = start(ann, fake)
    query = parse_qs(urlsplit(authorization.url).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"] == [authorization.state]
    connection = hosts.finish(ann, returned_state=authorization.state,
                              session_state=authorization.state, code="the-code", error=None,
                              env=service_env(), send=fake)  # fmt: skip
    method, url, body, headers = fake.sent[-1]
    assert (method, url) == ("POST", f"{ORIGIN}/token")
    form = parse_qs(body.decode())
    assert form["grant_type"] == ["authorization_code"] and form["code"] == ["the-code"]
    verifier = form["code_verifier"][0]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == [challenge.decode()]
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"cairn-id:s3cret").decode()
    assert connection.state == "connected" and connection.code_verifier is None
    assert hosts.unseal(connection, "access_token", connection.access_token, service_env()) == "at1"
    # A sealed token moved onto another connection does not open.
    other = HostConnection(public_id="another")
    with pytest.raises(hosts.NeedsReconnect):
        hosts.unseal(other, "access_token", connection.access_token, service_env())


def test_a_refusal_at_the_host_is_shown(ann: Educator) -> None:
    fake = FakeHost()
    authorization = start(ann, fake)
    with pytest.raises(Invalid, match="did not allow the connection \\(access_denied\\)"):
        hosts.finish(ann, returned_state=authorization.state, session_state=authorization.state,
                     code=None, error="access_denied", env=service_env(), send=fake)  # fmt: skip


def test_the_requester_follows_no_redirect(app: Flask, receiver: Receiver) -> None:
    receiver.status = 302
    answer = HostRequester(allowed_hosts=(receiver.host,)).request(
        "POST", receiver.url("/credentials"), body=b"{}"
    )
    assert answer.status == 302 and len(receiver.received) == 1
    assert receiver.received[0].headers["user-agent"].startswith("Cairn-OB-API-Client")


def test_the_requester_refuses_oversized_answers_and_unlisted_hosts(
    app: Flask, receiver: Receiver
) -> None:
    receiver.answer = b"x" * 2048
    with pytest.raises(FetchError, match="more than 1024 bytes"):
        HostRequester(allowed_hosts=(receiver.host,), max_bytes=1024).request(
            "POST", receiver.url("/x")
        )
    with pytest.raises(FetchError, match="only https"):
        HostRequester().request("POST", receiver.url("/x"))


def connected(ann: Educator, fake: FakeHost) -> HostConnection:
    authorization = start(ann, fake)
    return hosts.finish(ann, returned_state=authorization.state,
                        session_state=authorization.state, code="c", error=None,
                        env=service_env(), send=fake)  # fmt: skip


@pytest.fixture
def awarded(ann: Educator, make_issuer: Any, make_achievement: Any, make_award: Any) -> str:
    issuer = make_issuer()
    credential = make_award(issuer, make_achievement(issuer), "ann.lee@school.example.org")
    return f"issued:{credential.id}"


def queue(ann: Educator, connection: HostConnection, item: str, monkeypatch: Any) -> HostPush:
    # Queued without running: the job runs below with the fake host.
    monkeypatch.setattr(hosts.jobs, "submit", lambda *args: None)
    (queued,) = hosts.push(ann, connection.public_id, [item], profile=False, env=service_env())
    return queued


def test_an_access_token_about_to_expire_is_refreshed_before_the_push(
    ann: Educator, awarded: str, monkeypatch: Any
) -> None:
    fake = FakeHost(upserts=[(201, {})])
    connection = connected(ann, fake)
    connection.access_expires_at = service_env().now + timedelta(seconds=10)
    db.session.commit()
    pushed = queue(ann, connection, awarded, monkeypatch)
    fake.sent.clear()
    assert hosts.run_pushes(connection.id, service_env(), send=fake) == 1
    (refresh, upsert) = fake.sent
    assert refresh[1] == f"{ORIGIN}/token"
    assert parse_qs(refresh[2].decode()) == {"grant_type": ["refresh_token"],
                                             "refresh_token": ["rt1"]}  # fmt: skip
    assert upsert[1] == f"{ORIGIN}/ims/ob/v3p0/credentials"
    assert upsert[3]["Authorization"] == "Bearer at2"
    assert upsert[3]["Content-Type"] == "application/json"
    db.session.refresh(connection)
    env = service_env()
    assert hosts.unseal(connection, "refresh_token", connection.refresh_token, env) == "rt2"
    assert (pushed.state, pushed.http_status, pushed.message) == ("pushed", 201, "Added")


def test_a_refused_push_is_shown_and_can_be_tried_again(
    ann: Educator, awarded: str, monkeypatch: Any
) -> None:
    refusal = {"imsx_codeMajor": "failure", "imsx_description": "The credential is not valid."}
    fake = FakeHost(upserts=[(400, refusal), (200, {})])
    connection = connected(ann, fake)
    pushed = queue(ann, connection, awarded, monkeypatch)
    assert hosts.run_pushes(connection.id, service_env(), send=fake) == 0
    assert (pushed.state, pushed.http_status) == ("failed", 400)
    assert pushed.message == "The credential is not valid. (HTTP 400)"
    assert hosts.retry(ann, connection.public_id, pushed.id, service_env()).state == "queued"
    assert hosts.run_pushes(connection.id, service_env(), send=fake) == 1
    assert (pushed.state, pushed.attempts, pushed.message) == ("pushed", 2, "Updated")
    with pytest.raises(Invalid, match="Only a failed push"):
        hosts.retry(ann, connection.public_id, pushed.id, service_env())
    # Nothing chosen, or something not in the backpack: refused.
    for items in ([], ["issued:someone-elses"]):
        with pytest.raises(Invalid):
            hosts.push(ann, connection.public_id, items, profile=False, env=service_env())


def test_connecting_and_disconnecting_are_audited_and_revoke_at_the_host(ann: Educator) -> None:
    fake = FakeHost()
    connection = connected(ann, fake)
    hosts.disconnect(ann, connection.public_id, service_env(), send=fake)
    revoked = [parse_qs(body.decode()) for _, url, body, _ in fake.sent if url.endswith("/revoke")]
    assert revoked == [{"token": ["rt1"], "token_type_hint": ["refresh_token"]},
                       {"token": ["at1"], "token_type_hint": ["access_token"]}]  # fmt: skip
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["educator.host_connect", "educator.host_disconnect"]
    assert connections_stored() == 0


def test_a_refresh_token_another_run_just_rotated_does_not_lose_the_grant(
    ann: Educator, awarded: str, monkeypatch: Any
) -> None:
    """Two pushes at once: both find the access token expired; the host rotates the refresh
    token for the first and refuses the second's (spent) one. The second uses the new tokens."""
    fake = FakeHost(upserts=[(201, {})])
    connection = connected(ann, fake)
    connection.access_expires_at = service_env().now
    db.session.commit()
    queue(ann, connection, awarded, monkeypatch)
    env = service_env()
    real = fake.request

    def rotated_meanwhile(method: str, url: str, **kwargs: Any) -> HostAnswer:
        if url.endswith("/token"):
            # The other run's refresh lands first: new tokens in the database, and ours spent.
            connection.access_token = hosts.seal(connection, "access_token", "at-other", env)
            connection.refresh_token = hosts.seal(connection, "refresh_token", "rt-other", env)
            connection.access_expires_at = env.now + timedelta(hours=1)
            db.session.commit()
            return HostAnswer(400, {}, b'{"error": "invalid_grant"}')
        return real(method, url, **kwargs)

    monkeypatch.setattr(fake, "request", rotated_meanwhile)
    assert hosts.run_pushes(connection.id, env, send=fake) == 1
    assert fake.sent[-1][3]["Authorization"] == "Bearer at-other"
    assert connection.state == "connected"


def test_pushes_whose_job_was_lost_are_submitted_again_once(
    ann: Educator, awarded: str, monkeypatch: Any
) -> None:
    connection = connected(ann, FakeHost())
    pushed = queue(ann, connection, awarded, monkeypatch)
    submitted: list[tuple[Any, ...]] = []
    monkeypatch.setattr(hosts.jobs, "submit", lambda env, *args: submitted.append(args))
    env = service_env()
    assert hosts.resume_stranded(env) == []  # just asked for: its job is on its way
    later = env.at(env.now + hosts.STRANDED_AFTER + timedelta(seconds=1))
    assert hosts.resume_stranded(later) == [connection.id]
    assert hosts.resume_stranded(later) == []  # claimed: another loop does not submit it again
    assert submitted == [(hosts.jobs.PUSH_TO_HOST, connection.id)]
    db.session.refresh(pushed)
    assert pushed.state == "queued" and pushed.requested_at == later.now
