"""The protocol's endpoints, for wallets: the credential issuer and authorization server
metadata, the credential offer a QR code points to, the token, nonce and credential endpoints.

JSON in and out, no cookies (CSRF-exempt), CORS open (browser wallets), never cached; a refusal
is the specification's JSON error (400, 401 for the access token, 404/410 for an offer), with
the request's writes rolled back."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, request
from werkzeug.wrappers import Response

from app.extensions import csrf, limiter
from app.oid4vci import bp
from app.services._core.transaction import roll_back_refused
from app.services.wallets import copies, openid, openid_issuance, openid_offers
from app.services.wallets.openid import OpenIdRefusal
from app.wiring import service_env

#: The protocol's endpoints (the owner's pages in ``offers`` are not cross-origin).
CORS_ENDPOINTS = frozenset(
    f"oid4vci.{name}"
    for name in ("issuer_metadata", "authorization_server", "offer", "token", "nonce", "credential")
)
#: Token requests per client address: codes are 256 bits, this only bounds the work.
TOKEN_LIMIT = "30 per minute"  # noqa: S105  (a rate, not a secret)


@bp.after_request
def cors(response: Response) -> Response:
    """Let wallets running in a browser call the protocol's endpoints."""
    if request.endpoint in CORS_ENDPOINTS:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, DPoP"
        response.headers["Access-Control-Max-Age"] = "600"
    return response


def _json(body: Any, status: int = 200, *, cache: str = "no-store") -> Response:
    response = current_app.response_class(
        json.dumps(body), status=status, mimetype="application/json"
    )
    response.headers["Cache-Control"] = cache
    return response


def _refused(refusal: OpenIdRefusal) -> Response:
    roll_back_refused()
    response = _json(refusal.body(), refusal.status)
    if refusal.status == 401:
        described = refusal.body()["error_description"]
        response.headers["WWW-Authenticate"] = (
            f'Bearer error="{refusal.error}", error_description="{described}"'
        )
    return response


@bp.get("/.well-known/openid-credential-issuer")
def issuer_metadata() -> Response:
    """The Credential Issuer Metadata (OID4VCI §12.2)."""
    return _json(openid.issuer_metadata(service_env()), cache="public, max-age=3600")


@bp.get("/.well-known/oauth-authorization-server")
def authorization_server() -> Response:
    """The Authorization Server Metadata (RFC 8414) for the pre-authorized code grant."""
    return _json(openid.authorization_server_metadata(service_env()), cache="public, max-age=3600")


@bp.get(f"{openid.OFFER_PATH}<secret>")
def offer(secret: str) -> Response:
    """The Credential Offer a ``credential_offer_uri`` names (§4.1.3)."""
    try:
        return _json(openid_offers.offer_document(secret, service_env()))
    except OpenIdRefusal as refusal:
        return _refused(refusal)


@bp.post(openid.TOKEN_PATH)
@limiter.limit(TOKEN_LIMIT)
def token() -> Response:
    """The token endpoint (§6): a pre-authorized code (and transaction code) for a token."""
    try:
        issued = openid_offers.redeem(request.form.to_dict(), service_env())
    except OpenIdRefusal as refusal:
        return _refused(refusal)
    answer: dict[str, Any] = {
        "access_token": issued.token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
    }
    if issued.authorization_details is not None:
        answer["authorization_details"] = issued.authorization_details
    return _json(answer)


@bp.post(openid.NONCE_PATH)
def nonce() -> Response:
    """The nonce endpoint (§7): a fresh ``c_nonce``."""
    value, lifetime = openid_issuance.new_nonce(service_env())
    return _json({"c_nonce": value, "c_nonce_expires_in": lifetime})


def _bearer() -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise OpenIdRefusal("invalid_token", "Send the access token as a Bearer token.", 401)
    return value.strip()


@bp.post(openid.CREDENTIAL_PATH)
def credential() -> Response:
    """The credential endpoint (§8): the credential bound to the key the wallet proves."""
    env = service_env()
    try:
        token = _bearer()
        body = request.get_json(silent=True) if request.is_json else None
        answer, credential_id = openid_issuance.issue(token, body, env)
    except OpenIdRefusal as refusal:
        return _refused(refusal)
    copies.count_delivery(credential_id, env)
    return _json(answer)


# Wallets authenticate with codes and tokens, never a cookie.
for _view in (token, nonce, credential):
    csrf.exempt(_view)
