"""The OB 3.0 API's OAuth 2.0 endpoints: registration (open, rate-limited), the consent page
where a signed-in educator allows or denies an application, the token endpoint and
revocation. Authlib (``app/obapi/oauth.py``) does the protocol; these views only route to it.

A visitor who is not signed in is sent to the educator sign-in with the whole authorize
request as ``next``, so the consent page follows the sign-in link.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from flask import current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from app.auth import signed_out
from app.extensions import csrf, limiter
from app.models import OAuthClient
from app.obapi import BASE_PATH, bp
from app.obapi.oauth import server
from app.security import CSP, secret_page
from app.services.learning import connections

#: The logo is shown only from an https address, with no Referer (the application learns
#: nothing of who looks at the page) and never larger than this.
LOGO_PIXELS = 64
ORIGIN_HOST = re.compile(r"[A-Za-z0-9.:-]+")


def _registration_limit() -> str:
    return str(current_app.config["OB_API_REGISTRATION_RATE_LIMIT"])


def _oauth_error(status: int, error: str, description: str) -> Response:
    response = current_app.response_class(
        json.dumps({"error": error, "error_description": description}),
        status=status,
        mimetype="application/json",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post(f"{BASE_PATH}/register")
@limiter.limit(_registration_limit)
def register() -> Response:
    """Dynamic client registration (RFC 7591): 201 with the client's id and secret (shown
    this once: only its hash is kept), or 400 with the metadata at fault."""
    if not request.is_json or not isinstance(request.get_json(silent=True), dict):
        return _oauth_error(400, "invalid_client_metadata", "Send the metadata as a JSON object.")
    response: Response = server.create_endpoint_response("client_registration")
    response.headers["Cache-Control"] = "no-store"
    return response


def _scope_words(client: OAuthClient, scope: str) -> list[str]:
    allowed = client.get_allowed_scope(scope).split()
    return [words for name, words in connections.SCOPES.items() if name in allowed]


def _origin(url: str | None) -> str | None:
    """The scheme, host and port of ``url`` for a CSP source list, or None when any part
    could carry something other than an origin (a space or a semicolon would add a rule)."""
    if not url:
        return None
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not ORIGIN_HOST.fullmatch(host):
        return None
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def _logo(client: OAuthClient) -> str | None:
    logo = client.client_metadata.get("logo_uri")
    if isinstance(logo, str) and logo.startswith("https://") and _origin(logo):
        return logo
    return None


def consent_policy(logo: str | None, redirect_uri: str | None) -> str:
    """The consent page's Content-Security-Policy: Cairn's own, letting the page show the
    application's https logo, and letting the answer's form send the browser on to the
    application's redirect URI (browsers apply ``form-action`` to a form's redirects)."""
    images = " ".join(filter(None, ["'self' data:", _origin(logo)]))
    forms = " ".join(filter(None, ["'self'", _origin(redirect_uri)]))
    return CSP.replace("img-src 'self' data:", f"img-src {images}").replace(
        "form-action 'self'", f"form-action {forms}"
    )


@bp.route(f"{BASE_PATH}/authorize", methods=["GET", "POST"])
def authorize() -> ResponseReturnValue:
    """The consent page (GET) and the educator's answer (POST: Allow or Deny, with CSRF)."""
    educator = g.get("educator")
    if educator is None:
        return signed_out("educator.sign_in")
    try:
        grant = server.get_consent_grant(end_user=educator)
    except OAuth2Error as error:
        page = render_template(
            "obapi/authorize_error.html", message=error.description or error.error
        )
        return secret_page(page, 400)
    if not request.values.get("state"):
        page = render_template(
            "obapi/authorize_error.html",
            message="The application sent no state parameter, which the Open Badges API "
            "requires. Tell the application's makers.",
        )
        return secret_page(page, 400)
    client: OAuthClient = grant.client
    policy = consent_policy(_logo(client), grant.redirect_uri)
    if request.method == "POST":
        allowed = request.form.get("decision") == "allow"
        answer: Response = server.create_authorization_response(
            grant_user=educator if allowed else None, grant=grant
        )
        return secret_page(answer)
    page = render_template(
        "obapi/consent.html",
        client=client,
        logo=_logo(client),
        logo_pixels=LOGO_PIXELS,
        scopes=_scope_words(client, grant.request.payload.scope or ""),
        redirect_host=urlsplit(grant.redirect_uri).netloc,
        action=request.full_path,
    )
    response = secret_page(page)
    response.headers["Content-Security-Policy"] = policy
    return response


@bp.post(f"{BASE_PATH}/token")
def token() -> Response:
    """The token endpoint: a code (with its PKCE verifier) or a refresh token for tokens."""
    response: Response = server.create_token_response()
    return response


@bp.post(f"{BASE_PATH}/revoke")
def revoke() -> Response:
    """Token revocation (RFC 7009): 200 whether or not the token was known."""
    response: Response = server.create_endpoint_response("revocation")
    return response


# Clients authenticate with their secret or a bearer token, never a cookie.
for _view in (register, token, revoke):
    csrf.exempt(_view)
