"""Applications connected to an educator's backpack through the OB 3.0 API: registering a
client (RFC 7591 metadata checked here), the codes and tokens the OAuth 2.0 flow hands out
(stored as SHA-256 only), and the educator's list of connected applications to revoke."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from app.extensions import db
from app.models import Educator, OAuthAuthorizationCode, OAuthClient, OAuthToken
from app.models.oauth import secret_hash
from app.services._core.env import ServiceEnv
from app.services._core.errors import Invalid, NotFound
from app.services.learning import educators
from app.services.org import audit

SCOPE_PREFIX = "https://purl.imsglobal.org/spec/ob/v3p0/scope/"
#: The API's four scopes, and what the consent page says each lets an application do.
SCOPES: dict[str, str] = {
    f"{SCOPE_PREFIX}credential.readonly": "See the credentials in your backpack",
    f"{SCOPE_PREFIX}credential.upsert": "Add credentials to your backpack, and replace ones "
    "it added",
    f"{SCOPE_PREFIX}profile.readonly": "See your name, bio and email address",
    f"{SCOPE_PREFIX}profile.update": "Change your name and bio",
}
#: Asked for by some clients (the spec's examples); accepted, means nothing more here.
OFFLINE_ACCESS = "offline_access"
#: How long things live, in seconds: the spec recommends an hour for access tokens and ten
#: minutes for codes.
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 180 * 24 * 3600
CODE_SECONDS = 600
#: Registered clients kept at most (registration is open, so it is also rate-limited).
MAX_URIS = 10
MAX_URL = 2000
MAX_TEXT = 200
#: The metadata fields that hold URLs shown or followed, and must be https.
URL_FIELDS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")


def new_secret() -> str:
    """256 random bits, URL-safe: every client secret, code and token."""
    return secrets.token_urlsafe(32)


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _url(value: Any, field: str, *, loopback: bool = False) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        raise Invalid(f"{field} must be a URL.", field)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        raise Invalid(f"{field} must be a URL.", field) from None
    if parts.fragment or not parts.hostname:
        raise Invalid(f"{field} must be an absolute URL without a fragment.", field)
    if parts.scheme == "https" or (
        loopback and parts.scheme == "http" and _is_loopback(parts.hostname)
    ):
        return value
    raise Invalid(
        f"{field} must use https"
        + (" (or http on localhost, 127.0.0.1 or [::1])." if loopback else "."),
        field,
    )


def check_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The client metadata Cairn keeps, checked beyond what RFC 7591 demands: a name, https
    redirect URIs (or http on the loopback, for native apps), https links, and only the
    API's scopes.

    :raises Invalid: naming the field at fault.
    """
    name = metadata.get("client_name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_TEXT:
        raise Invalid(f"client_name is required (at most {MAX_TEXT} characters).", "client_name")
    uris = metadata.get("redirect_uris")
    if not isinstance(uris, list) or not uris or len(uris) > MAX_URIS:
        raise Invalid(f"redirect_uris must list 1 to {MAX_URIS} URIs.", "redirect_uris")
    checked: dict[str, Any] = dict(metadata)
    checked["client_name"] = name.strip()
    checked["redirect_uris"] = [_url(u, "redirect_uris", loopback=True) for u in uris]
    for field in URL_FIELDS:
        if field in metadata:
            checked[field] = _url(metadata[field], field)
    scope = metadata.get("scope")
    if not isinstance(scope, str) or not scope.split():
        raise Invalid("scope must name at least one of the API's scopes.", "scope")
    unknown = [s for s in scope.split() if s not in SCOPES and s != OFFLINE_ACCESS]
    if unknown:
        raise Invalid(f"Unknown scope: {unknown[0]}", "scope")
    method = metadata.get("token_endpoint_auth_method", "client_secret_basic")
    if method != "client_secret_basic":
        raise Invalid(
            "token_endpoint_auth_method must be client_secret_basic.", "token_endpoint_auth_method"
        )
    for field in ("grant_types", "response_types", "contacts"):
        value = metadata.get(field, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Invalid(f"{field} must be a list of strings.", field)
    for field in ("software_id", "software_version"):
        value = metadata.get(field)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
            raise Invalid(f"{field} must be text of at most {MAX_TEXT} characters.", field)
    return checked


def register(
    client_id: str, client_secret: str, metadata: Mapping[str, Any], env: ServiceEnv
) -> OAuthClient:
    """Keep a registered client (its secret as a hash). Committed.

    :raises Invalid: when the metadata does not pass ``check_metadata``.
    """
    client = OAuthClient(
        client_id=client_id,
        secret_hash=secret_hash(client_secret),
        client_metadata=check_metadata(metadata),
        created_at=env.now,
    )
    db.session.add(client)
    db.session.commit()
    return client


def find_client(client_id: str) -> OAuthClient | None:
    """A registered client by its ``client_id``."""
    return db.session.scalar(select(OAuthClient).where(OAuthClient.client_id == client_id))


def save_code(
    code: str,
    *,
    client: OAuthClient,
    educator: Educator,
    redirect_uri: str,
    scope: str,
    code_challenge: str,
    code_challenge_method: str,
    env: ServiceEnv,
) -> OAuthAuthorizationCode:
    """Keep the code the educator's consent produced (hashed). Committed."""
    row = OAuthAuthorizationCode(
        code_hash=secret_hash(code),
        client_id=client.id,
        educator_id=educator.id,
        redirect_uri=redirect_uri,
        scope=scope,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
        created_at=env.now,
        expires_at=env.now + timedelta(seconds=CODE_SECONDS),
    )
    db.session.add(row)
    audit.record(
        "educator.api_connect",
        actor=educators.actor(educator),
        now=env.now,
        subject_type="educator",
        subject_id=educator.id,
        detail={"client": client.client_id, "name": client.client_name, "scope": scope},
    )
    db.session.commit()
    return row


def find_code(code: str, client: OAuthClient, env: ServiceEnv) -> OAuthAuthorizationCode | None:
    """The client's unused, unexpired code; None otherwise. A code presented again after it
    was used revokes every token the client got for the educator since the code was made
    (RFC 6749 §4.1.2: the code may have been stolen)."""
    row: OAuthAuthorizationCode | None = db.session.scalar(
        select(OAuthAuthorizationCode).where(OAuthAuthorizationCode.code_hash == secret_hash(code))
    )
    if row is None or row.client_id != client.id:
        return None
    if row.used_at is not None:
        _revoke_where(
            (OAuthToken.client_id == row.client_id)
            & (OAuthToken.educator_id == row.educator_id)
            & (OAuthToken.issued_at >= row.created_at),
            env.now,
        )
        db.session.commit()
        return None
    if row.expires_at <= env.now:
        return None
    return row


def spend_code(row: OAuthAuthorizationCode, env: ServiceEnv) -> None:
    """Mark a code used (it never works again). Committed."""
    row.used_at = env.now
    db.session.commit()


def save_token(
    token: Mapping[str, Any], *, client: OAuthClient, educator: Educator, env: ServiceEnv
) -> OAuthToken:
    """Keep an issued access token and its refresh token (hashed). Committed."""
    refresh = token.get("refresh_token")
    row = OAuthToken(
        client_id=client.id,
        educator_id=educator.id,
        access_token_hash=secret_hash(str(token["access_token"])),
        refresh_token_hash=secret_hash(str(refresh)) if refresh else None,
        scope=str(token.get("scope", "")),
        issued_at=env.now,
        expires_in=int(token.get("expires_in", ACCESS_TOKEN_SECONDS)),
        refresh_expires_in=REFRESH_TOKEN_SECONDS,
    )
    db.session.add(row)
    db.session.commit()
    return row


def find_access_token(token: str) -> OAuthToken | None:
    """The token row for an access token, whatever its state (the caller checks)."""
    return db.session.scalar(
        select(OAuthToken).where(OAuthToken.access_token_hash == secret_hash(token))
    )


def find_refresh_token(token: str, env: ServiceEnv) -> OAuthToken | None:
    """The live token row for a refresh token; None when unknown, revoked or expired."""
    row: OAuthToken | None = db.session.scalar(
        select(OAuthToken).where(OAuthToken.refresh_token_hash == secret_hash(token))
    )
    if row is None or row.revoked_at is not None or row.refresh_expires_at() <= env.now:
        return None
    return row


def revoke(row: OAuthToken, env: ServiceEnv) -> None:
    """Revoke an access token and its refresh token together. Committed."""
    if row.revoked_at is None:
        row.revoked_at = env.now
    db.session.commit()


def touch(row: OAuthToken, env: ServiceEnv) -> None:
    """Note that the token was used (the connected applications list shows it). Committed."""
    row.last_used_at = env.now
    db.session.commit()


def _revoke_where(condition: Any, now: datetime) -> int:
    rows = db.session.scalars(
        select(OAuthToken).where(condition & OAuthToken.revoked_at.is_(None))
    ).all()
    for row in rows:
        row.revoked_at = now
    return len(rows)


@dataclass(frozen=True)
class Connection:
    """An application holding a live token to the educator's backpack."""

    client: OAuthClient
    scopes: list[str]
    connected_at: datetime
    last_used_at: datetime | None


def connections(educator: Educator, env: ServiceEnv) -> list[Connection]:
    """The applications with a live token (or refresh token) for the educator, most recently
    connected first."""
    rows = db.session.scalars(
        select(OAuthToken)
        .where(OAuthToken.educator_id == educator.id, OAuthToken.revoked_at.is_(None))
        .order_by(OAuthToken.issued_at.desc(), OAuthToken.id.desc())
    ).all()
    found: dict[int, Connection] = {}
    for row in rows:
        if row.refresh_expires_at() <= env.now and row.access_expires_at() <= env.now:
            continue
        if row.client_id in found:
            continue
        scopes = [s for s in row.scope.split() if s in SCOPES]
        used = [r.last_used_at for r in rows if r.client_id == row.client_id and r.last_used_at]
        found[row.client_id] = Connection(
            row.client, scopes, row.issued_at, max(used, default=None)
        )
    return list(found.values())


def disconnect(educator: Educator, client_id: str, env: ServiceEnv) -> int:
    """Revoke every token the application holds for the educator; returns how many. Committed.

    :raises NotFound: when the application holds none (or does not exist).
    """
    client = find_client(client_id)
    if client is None:
        raise NotFound("There is no such connected application.")
    count = _revoke_where(
        (OAuthToken.client_id == client.id) & (OAuthToken.educator_id == educator.id), env.now
    )
    if not count:
        raise NotFound("There is no such connected application.")
    audit.record(
        "educator.api_disconnect",
        actor=educators.actor(educator),
        now=env.now,
        subject_type="educator",
        subject_id=educator.id,
        detail={"client": client.client_id, "name": client.client_name},
    )
    db.session.commit()
    return count
