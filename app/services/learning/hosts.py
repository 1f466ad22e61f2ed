"""Cairn as a client of another OB 3.0 host: an educator names the host's discovery URL, Cairn
registers itself there (RFC 7591), sends the educator to the host's consent page (authorization
code with PKCE S256 and a ``state`` bound to their session), exchanges the code, and pushes
chosen credentials (upsert) and the profile; expired access tokens are refreshed (the host
rotates the refresh token), a grant the host no longer honours asks the educator to reconnect,
and disconnecting revokes the token at the host (RFC 7009).

Every request goes through ``app.fetch.HostRequester`` (vetted URLs, no redirects, bounded
answers; ``OB_HOSTS_ALLOWED`` lets local hosts in for development and tests). The client
secret, tokens and PKCE verifier are sealed with AES-256-GCM under a key derived from
``SECRET_KEY`` (a label of their own), bound to the connection's public id. Authlib builds the
authorize URL, the token requests and the PKCE challenge.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import quote

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select, update

from app.extensions import db
from app.fetch import FetchError, HostAnswer, HostRequester, Target
from app.models import Educator, HostConnection, HostPush
from app.services._core import jobs
from app.services._core.env import ServiceEnv
from app.services._core.errors import Invalid, NotFound
from app.services.learning import educators, host_api, imports
from app.services.org import audit
from credentials import ISSUER_NOT_CONFIRMED, VALID

SCOPE = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
#: What Cairn asks of a host: to add credentials and to update the profile.
REQUESTED_SCOPES = (f"{SCOPE}credential.upsert", f"{SCOPE}profile.update")
SECRET_KDF_INFO = b"cairn/ob-host-secrets/v1"
CIPHERTEXT_PREFIX = "v1:"
PROFILE_ITEM = "profile"
#: A push still queued this long after it was asked for lost its job (a restart): run again.
STRANDED_AFTER = timedelta(minutes=10)
#: An access token this close to its expiry is refreshed before use.
EXPIRY_MARGIN = timedelta(seconds=30)
MAX_MESSAGE = 1000


class Requester(Protocol):
    """Vets URLs and sends requests (:class:`app.fetch.HostRequester`; tests may pass another)."""

    def vet(self, url: str) -> Target:
        """:raises FetchError: when ``url`` may not be called."""

    def request(
        self, method: str, url: str, *, body: bytes | None = None, headers: Any = None
    ) -> HostAnswer:
        """:raises FetchError: when there is no (acceptable) answer."""


class NeedsReconnect(Exception):
    """The host no longer honours Cairn's grant (revoked, or the refresh token refused)."""


def requester(env: ServiceEnv) -> Requester:
    """The hostile-URL requester, with the operator's allow-list of local hosts."""
    return HostRequester(allowed_hosts=env.settings.ob_hosts_allowed)


# --- sealing -------------------------------------------------------------------------------


def _cipher(env: ServiceEnv) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SECRET_KDF_INFO).derive(
        env.settings.secret_key.encode("utf-8")
    )
    return AESGCM(key)


def _bound_to(connection: HostConnection, what: str) -> bytes:
    return f"cairn ob host {connection.public_id} {what}".encode("ascii")


def seal(connection: HostConnection, what: str, secret: str, env: ServiceEnv) -> str:
    """``secret`` encrypted for this connection's field ``what``."""
    nonce = os.urandom(12)
    sealed = _cipher(env).encrypt(nonce, secret.encode("utf-8"), _bound_to(connection, what))
    return CIPHERTEXT_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(connection: HostConnection, what: str, sealed: str | None, env: ServiceEnv) -> str:
    """The secret in ``sealed``.

    :raises NeedsReconnect: when it is missing or cannot be decrypted (``SECRET_KEY`` changed).
    """
    if not sealed or not sealed.startswith(CIPHERTEXT_PREFIX):
        raise NeedsReconnect("Cairn holds no usable access to this host: connect again.")
    try:
        raw = base64.urlsafe_b64decode(sealed[len(CIPHERTEXT_PREFIX) :])
        plain = _cipher(env).decrypt(raw[:12], raw[12:], _bound_to(connection, what))
    except (binascii.Error, ValueError, InvalidTag):
        raise NeedsReconnect("Cairn's keys to this host cannot be read: connect again.") from None
    return plain.decode("utf-8")


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# --- discovery and registration -------------------------------------------------------------


def _json(answer: HostAnswer, what: str) -> dict[str, Any]:
    try:
        found = json.loads(answer.body)
    except (UnicodeDecodeError, ValueError):
        raise Invalid(f"The host's {what} is not JSON.", "discovery_url") from None
    if not isinstance(found, dict):
        raise Invalid(f"The host's {what} is not a JSON object.", "discovery_url")
    return found


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(
            f"This is not an Open Badges 3.0 discovery document: {what} is missing.",
            "discovery_url",
        )
    return value.strip()


def read_discovery(document: dict[str, Any]) -> dict[str, Any]:
    """The host's name and endpoints from its OB 3.0 discovery document (an OpenAPI 3.0
    document with the ``OAuth2ACG`` scheme and the upsert scope).

    :raises Invalid: naming what is missing.
    """
    if not str(document.get("openapi", "")).startswith("3.0"):
        raise Invalid(
            "This is not an Open Badges 3.0 discovery document (no OpenAPI 3.0 version).",
            "discovery_url",
        )
    try:
        scheme = document["components"]["securitySchemes"]["OAuth2ACG"]
        flow = scheme["flows"]["authorizationCode"]
        server = document["servers"][0]["url"]
    except (KeyError, IndexError, TypeError):
        raise Invalid(
            "This is not an Open Badges 3.0 discovery document: it has no OAuth2ACG "
            "authorization code flow or no server.",
            "discovery_url",
        ) from None
    if not isinstance(scheme, dict) or scheme.get("type") != "oauth2" or not isinstance(flow, dict):
        raise Invalid(
            "The discovery document's OAuth2ACG scheme is not OAuth 2.0.", "discovery_url"
        )
    scopes = flow.get("scopes")
    if not isinstance(scopes, dict) or REQUESTED_SCOPES[0] not in scopes:
        raise Invalid("This host does not accept credentials (no upsert scope).", "discovery_url")
    token_url = _text(flow.get("tokenUrl"), "tokenUrl")
    info = document.get("info") if isinstance(document.get("info"), dict) else {}
    return {
        "name": str((info or {}).get("title") or "")[:300],
        "api": _text(server, "servers").rstrip("/"),
        "registration": _text(scheme.get("x-imssf-registrationUrl"), "x-imssf-registrationUrl"),
        "authorization": _text(flow.get("authorizationUrl"), "authorizationUrl"),
        "token": token_url,
        "refresh": str(flow.get("refreshUrl") or token_url),
        "scopes": [s for s in REQUESTED_SCOPES if s in scopes],
    }


def _revocation_url(connection: HostConnection) -> str:
    # Discovery names no revocation endpoint; Cairn's (and the common layout) is beside the
    # token endpoint.
    token: str = connection.endpoints["token"]
    return token.rsplit("/", 1)[0] + "/revoke"


def _vetted(url: str, send: Requester) -> None:
    try:
        send.vet(url)
    except FetchError as exc:
        raise Invalid(
            f"Cairn cannot connect to this address: {_reason(exc)}", "discovery_url"
        ) from None


def _reason(exc: Exception) -> str:
    message = str(exc)
    return message.split(": ", 1)[1] if message.startswith("refusing") else message


def _call(send: Requester, method: str, url: str, **kwargs: Any) -> HostAnswer:
    try:
        return send.request(method, url, **kwargs)
    except FetchError as exc:
        raise Invalid(f"The host could not be reached: {_reason(exc)}", "discovery_url") from None


@dataclass(frozen=True)
class Authorization:
    """Where to send the educator, and the ``state`` to keep in their session."""

    connection: HostConnection
    url: str
    state: str


def connect(
    educator: Educator,
    discovery_url: str,
    *,
    redirect_uri: str,
    links: Mapping[str, str],
    env: ServiceEnv,
    send: Requester | None = None,
) -> Authorization:
    """Discover the host, register Cairn there and start the authorization. Committed (a
    pending connection). ``links`` are Cairn's registration links (``client_uri``,
    ``logo_uri``, ``tos_uri``, ``policy_uri``).

    :raises Invalid: for a refused URL, an unreachable host, a bad discovery document or a
        refused registration; nothing is kept.
    """
    send = send or requester(env)
    discovery_url = (discovery_url or "").strip()
    if not discovery_url:
        raise Invalid("Enter the host's discovery URL.", "discovery_url")
    _vetted(discovery_url, send)
    answer = _call(send, "GET", discovery_url)
    if answer.status != 200:
        raise Invalid(f"The discovery URL answered HTTP {answer.status}.", "discovery_url")
    endpoints = read_discovery(_json(answer, "discovery document"))
    for key in ("api", "registration", "authorization", "token", "refresh"):
        _vetted(endpoints[key], send)
    metadata = {
        "client_name": "Cairn",
        # Hosts may insist on https links (Cairn's provider does); a development instance on
        # plain http sends none rather than be refused.
        **{name: url for name, url in links.items() if url.startswith("https://")},
        "software_id": "cairn",
        "software_version": "0.1",
        "redirect_uris": [redirect_uri],
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": " ".join(endpoints["scopes"]),
    }
    registered = _call(
        send,
        "POST",
        endpoints["registration"],
        body=json.dumps(metadata).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    if registered.status not in (200, 201):
        raise Invalid(
            f"The host refused to register Cairn: {_error_text(registered)}",
            "discovery_url",
        )
    client = _json(registered, "registration answer")
    if not isinstance(client.get("client_id"), str) or not isinstance(
        client.get("client_secret"), str
    ):
        raise Invalid("The host's registration answer has no client credentials.", "discovery_url")
    connection = HostConnection(
        public_id=str(uuid.uuid4()),
        educator_id=educator.id,
        discovery_url=discovery_url,
        host_name=endpoints["name"] or (send.vet(discovery_url).host),
        endpoints={**endpoints, "redirect_uri": redirect_uri},
        client_id=client["client_id"],
        client_secret="",
        scope=" ".join(endpoints["scopes"]),
        state="pending",
        created_at=env.now,
    )
    connection.client_secret = seal(connection, "client_secret", client["client_secret"], env)
    db.session.add(connection)
    authorization = _authorize(connection, env)
    db.session.commit()
    return authorization


def reconnect(educator: Educator, public_id: str, env: ServiceEnv) -> Authorization:
    """Authorize an existing registration again (after the host revoked the grant). Committed."""
    connection = get(educator, public_id)
    authorization = _authorize(connection, env)
    db.session.commit()
    return authorization


def _authorize(connection: HostConnection, env: ServiceEnv) -> Authorization:
    state = generate_token(32)
    verifier = generate_token(64)
    connection.state_hash = _hash(state)
    connection.code_verifier = seal(connection, "code_verifier", verifier, env)
    url = prepare_grant_uri(
        connection.endpoints["authorization"],
        connection.client_id,
        "code",
        redirect_uri=connection.endpoints["redirect_uri"],
        scope=connection.scope,
        state=state,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )
    return Authorization(connection, url, state)


def finish(
    educator: Educator,
    *,
    returned_state: str,
    session_state: str | None,
    code: str | None,
    error: str | None,
    env: ServiceEnv,
    send: Requester | None = None,
) -> HostConnection:
    """The host sent the educator back: check ``state`` against the one kept in their session,
    exchange the code (with the PKCE verifier) and keep the tokens sealed. Committed.

    :raises Invalid: for a state that is not this session's, a refusal at the host, or a code
        the host will not exchange.
    """
    if (
        not session_state
        or not returned_state
        or not hmac.compare_digest(returned_state, session_state)
    ):
        raise Invalid("This answer does not belong to your connection attempt: start again.")
    connection = db.session.scalar(
        select(HostConnection).where(
            HostConnection.educator_id == educator.id,
            HostConnection.state_hash == _hash(returned_state),
        )
    )
    if connection is None:
        raise Invalid("This connection attempt has expired: start again.")
    verifier = unseal(connection, "code_verifier", connection.code_verifier, env)
    connection.state_hash = None
    connection.code_verifier = None
    if error or not code:
        db.session.commit()
        raise Invalid(
            f"{connection.host_name} did not allow the connection ({error or 'no code'})."
        )
    body = prepare_token_request(
        "authorization_code",
        code=code,
        redirect_uri=connection.endpoints["redirect_uri"],
        code_verifier=verifier,
    )
    answer = _token_request(connection, connection.endpoints["token"], body, env, send)
    if answer.status != 200:
        db.session.commit()
        raise Invalid(
            f"{connection.host_name} refused to complete the connection: {_error_text(answer)}"
        )
    _keep_tokens(connection, _json(answer, "token answer"), env)
    connection.state = "connected"
    connection.connected_at = env.now
    connection.problem = None
    _audit("educator.host_connect", connection, env)
    db.session.commit()
    return connection


def _audit(action: str, connection: HostConnection, env: ServiceEnv) -> None:
    audit.record(
        action,
        actor=educators.actor(connection.educator),
        now=env.now,
        subject_type="educator",
        subject_id=connection.educator_id,
        detail={"host": connection.host_name, "api": connection.endpoints["api"],
                "scope": connection.scope},
    )  # fmt: skip


def _basic(connection: HostConnection, env: ServiceEnv) -> str:
    secret = unseal(connection, "client_secret", connection.client_secret, env)
    # RFC 6749 2.3.1: each part form-encoded before Basic.
    raw = f"{quote(connection.client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _token_request(
    connection: HostConnection, url: str, body: str, env: ServiceEnv, send: Requester | None
) -> HostAnswer:
    try:
        return (send or requester(env)).request(
            "POST",
            url,
            body=body.encode("ascii"),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": _basic(connection, env),
            },
        )
    except FetchError as exc:
        raise Invalid(f"{connection.host_name} could not be reached: {_reason(exc)}") from None


def _keep_tokens(connection: HostConnection, token: dict[str, Any], env: ServiceEnv) -> None:
    access = token.get("access_token")
    if not isinstance(access, str) or not access:
        raise Invalid(f"{connection.host_name} answered without an access token.")
    connection.access_token = seal(connection, "access_token", access, env)
    refresh = token.get("refresh_token")
    if isinstance(refresh, str) and refresh:
        connection.refresh_token = seal(connection, "refresh_token", refresh, env)
    expires_in = token.get("expires_in")
    connection.access_expires_at = (
        env.now + timedelta(seconds=int(expires_in)) if isinstance(expires_in, int) else None
    )


def _error_text(answer: HostAnswer) -> str:
    try:
        found = json.loads(answer.body)
    except (UnicodeDecodeError, ValueError):
        return f"HTTP {answer.status}"
    if isinstance(found, dict):
        for key in ("imsx_description", "error_description", "error"):
            if isinstance(found.get(key), str):
                return f"{found[key]} (HTTP {answer.status})"[:MAX_MESSAGE]
    return f"HTTP {answer.status}"


# --- the educator's connections ------------------------------------------------------------


def connections_of(educator: Educator) -> list[HostConnection]:
    """The educator's connected hosts, newest first."""
    return list(
        db.session.scalars(
            select(HostConnection)
            .where(HostConnection.educator_id == educator.id)
            .order_by(HostConnection.created_at.desc(), HostConnection.id.desc())
        )
    )


def get(educator: Educator, public_id: str) -> HostConnection:
    """One of the educator's connections.

    :raises NotFound: for another educator's or an unknown one.
    """
    found = db.session.scalar(
        select(HostConnection).where(
            HostConnection.public_id == public_id, HostConnection.educator_id == educator.id
        )
    )
    if found is None:
        raise NotFound("No such connection.")
    return found


@dataclass(frozen=True)
class Pushable:
    """A credential in the backpack that can be pushed: ``item`` names it in a push."""

    item: str
    label: str
    document: str


def _label(document: str) -> str:
    try:
        if document.lstrip().startswith("{"):
            found = json.loads(document)
        else:
            payload = document.split(".")[1]
            found = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            found = found.get("vc", found)
        name = found.get("credentialSubject", {}).get("achievement", {}).get("name")
        issuer = found.get("issuer", {})
        issuer_name = issuer.get("name") if isinstance(issuer, dict) else None
    except (ValueError, IndexError, AttributeError, binascii.Error):
        return "Credential"
    label = str(name or found.get("name") or "Credential")
    return f"{label} ({issuer_name})"[:300] if issuer_name else label[:300]


def pushable(educator: Educator) -> list[Pushable]:
    """What the educator may push: their credentials as the API serves them (Cairn's own, and
    imports whose signature verified), newest first."""
    found = [
        Pushable(f"issued:{c.id}", _label(c.document), c.document)
        for c in educators.credentials_of(educator)
    ]
    found += [
        Pushable(f"imported:{i.public_id}", f"{i.name} ({i.issuer_name})"[:300], i.document)
        for i in imports.list_for(educator)
        if imports.report_of(i).outcome in (VALID, ISSUER_NOT_CONFIRMED)
    ]
    return found


def push(
    educator: Educator,
    public_id: str,
    items: list[str],
    *,
    profile: bool,
    env: ServiceEnv,
) -> list[HostPush]:
    """Queue pushes of the chosen credentials (and the profile) and start the job. Committed.

    :raises Invalid: when nothing (or something not in the backpack) is chosen, or the
        connection is not usable.
    """
    connection = get(educator, public_id)
    if connection.state != "connected":
        raise Invalid(f"Connect to {connection.host_name} again before pushing.")
    available = {p.item: p for p in pushable(educator)}
    unknown = [item for item in items if item not in available]
    if unknown:
        raise Invalid("Choose credentials from your backpack.", "items")
    if not items and not profile:
        raise Invalid("Choose at least one credential, or your profile.", "items")
    queued = [
        HostPush(
            connection_id=connection.id,
            item=item,
            label=available[item].label,
            state="queued",
            attempts=0,
            requested_at=env.now,
        )
        for item in dict.fromkeys(items)
    ]
    if profile:
        queued.append(
            HostPush(
                connection_id=connection.id,
                item=PROFILE_ITEM,
                label="Your profile",
                state="queued",
                attempts=0,
                requested_at=env.now,
            )
        )
    db.session.add_all(queued)
    db.session.commit()
    jobs.submit(env, jobs.PUSH_TO_HOST, connection.id)
    return queued


def retry(educator: Educator, public_id: str, push_id: int, env: ServiceEnv) -> HostPush:
    """Queue a failed push again and start the job. Committed.

    :raises NotFound: for a push of another connection; ``Invalid`` when it did not fail.
    """
    connection = get(educator, public_id)
    found = db.session.get(HostPush, push_id)
    if found is None or found.connection_id != connection.id:
        raise NotFound("No such push.")
    if found.state != "failed":
        raise Invalid("Only a failed push can be tried again.")
    if connection.state != "connected":
        raise Invalid(f"Connect to {connection.host_name} again before trying again.")
    found.state = "queued"
    found.requested_at = env.now
    db.session.commit()
    jobs.submit(env, jobs.PUSH_TO_HOST, connection.id)
    return found


# --- the job ---------------------------------------------------------------------------------


def resume_stranded(env: ServiceEnv) -> list[int]:
    """Submit ``push_to_host`` again for connections whose pushes stayed queued (the process
    that was to send them stopped). Each is claimed by moving ``requested_at`` forward, so
    several maintenance loops submit it once. Committed; returns the connections' ids."""
    cutoff = env.now - STRANDED_AFTER
    stale = db.session.scalars(
        select(HostPush.connection_id)
        .where(HostPush.state == "queued", HostPush.requested_at < cutoff)
        .distinct()
    ).all()
    resumed = []
    for connection_id in stale:
        claimed = db.session.execute(
            update(HostPush)
            .where(
                HostPush.connection_id == connection_id,
                HostPush.state == "queued",
                HostPush.requested_at < cutoff,
            )
            .values(requested_at=env.now)
        )
        db.session.commit()
        if getattr(claimed, "rowcount", 0):
            jobs.submit(env, jobs.PUSH_TO_HOST, connection_id)
            resumed.append(connection_id)
    return resumed


def run_pushes(connection_id: int, env: ServiceEnv, send: Requester | None = None) -> int:
    """Send every queued push of a connection (the ``push_to_host`` job; idempotent: a push
    done is not queued any more, and an upsert sent twice replaces, not duplicates). Returns how
    many were pushed."""
    connection = db.session.get(HostConnection, connection_id)
    if connection is None:
        return 0
    send = send or requester(env)
    queued = [p for p in connection.pushes if p.state == "queued"]
    documents = {p.item: p.document for p in pushable(connection.educator)}
    done = 0
    for item in sorted(queued, key=lambda p: p.id):
        item.attempts += 1
        item.finished_at = env.clock()
        if item.item == PROFILE_ITEM:
            method, path, body = "PUT", "/profile", _profile_body(connection, env)
        elif item.item in documents:
            method, path, body = "POST", "/credentials", documents[item.item]
        else:
            _failed(item, None, "This credential is no longer in your backpack.")
            db.session.commit()
            continue
        # No transaction stays open while the host answers (it may share this database).
        db.session.commit()
        try:
            answer = _api(connection, send, method, path, body, env)
        except NeedsReconnect as exc:
            connection.state = "reconnect"
            connection.problem = str(exc)[:MAX_MESSAGE]
            _failed(item, None, str(exc))
        except FetchError as exc:
            _failed(item, None, f"{connection.host_name} could not be reached: {_reason(exc)}")
        else:
            if answer.status in (200, 201):
                item.state = "pushed"
                item.http_status = answer.status
                item.message = "Added" if answer.status == 201 else "Updated"
                done += 1
            else:
                _failed(item, answer.status, _error_text(answer))
        db.session.commit()
    return done


def _failed(item: HostPush, status: int | None, message: str) -> None:
    item.state = "failed"
    item.http_status = status
    item.message = message[:MAX_MESSAGE]


def _profile_body(connection: HostConnection, env: ServiceEnv) -> str:
    return json.dumps(host_api.profile(connection.educator, env))


def _api(
    connection: HostConnection,
    send: Requester,
    method: str,
    path: str,
    document: str,
    env: ServiceEnv,
) -> HostAnswer:
    """A resource call with a live access token: refreshed first when it is about to expire,
    and once more when the host answers 401.

    :raises NeedsReconnect: when the host refuses the refresh token too.
    """
    if connection.state != "connected":
        raise NeedsReconnect(f"Connect to {connection.host_name} again.")
    if connection.access_expires_at is not None and (
        connection.access_expires_at - EXPIRY_MARGIN <= env.now
    ):
        _refresh(connection, send, env)
    content_type = "application/json" if document.lstrip().startswith("{") else "text/plain"
    url = connection.endpoints["api"] + path
    for attempt in (1, 2):
        token = unseal(connection, "access_token", connection.access_token, env)
        answer = send.request(
            method,
            url,
            body=document.encode("utf-8"),
            headers={"Content-Type": content_type, "Authorization": f"Bearer {token}"},
        )
        if answer.status != 401 or attempt == 2:
            return answer
        _refresh(connection, send, env)
    raise AssertionError("unreachable")  # pragma: no cover


def _refresh(connection: HostConnection, send: Requester, env: ServiceEnv) -> None:
    """A new access token (and the rotated refresh token). Committed.

    :raises NeedsReconnect: when the host refuses the refresh token.
    """
    used = connection.refresh_token
    refresh = unseal(connection, "refresh_token", used, env)
    body = prepare_token_request("refresh_token", refresh_token=refresh)
    try:
        answer = _token_request(connection, connection.endpoints["refresh"], body, env, send)
    except Invalid as exc:
        raise NeedsReconnect(exc.message) from None
    if answer.status != 200:
        # Another run (a second Push pressed at once) may have rotated the refresh token just
        # before: then its new tokens are there to use, and the grant is not lost.
        db.session.refresh(connection)
        if connection.refresh_token != used and connection.state == "connected":
            return
        connection.access_token = None
        connection.refresh_token = None
        raise NeedsReconnect(
            f"{connection.host_name} no longer accepts Cairn's access "
            f"({_error_text(answer)}): reconnect."
        )
    _keep_tokens(connection, _json(answer, "token answer"), env)
    db.session.commit()


def disconnect(
    educator: Educator, public_id: str, env: ServiceEnv, send: Requester | None = None
) -> str:
    """Revoke Cairn's tokens at the host (RFC 7009, best effort) and forget the connection and
    its secrets. Committed. Returns the host's name."""
    connection = get(educator, public_id)
    send = send or requester(env)
    for field in ("refresh_token", "access_token"):
        sealed = getattr(connection, field)
        if not sealed:
            continue
        try:
            token = unseal(connection, field, sealed, env)
            body = f"token={quote(token, safe='')}&token_type_hint={field}"
            _token_request(connection, _revocation_url(connection), body, env, send)
        except (NeedsReconnect, Invalid):
            pass  # the host may be gone; the local secrets go either way
    name = connection.host_name
    _audit("educator.host_disconnect", connection, env)
    db.session.delete(connection)
    db.session.commit()
    return name
