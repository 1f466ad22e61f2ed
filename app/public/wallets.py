"""Wallets at the edge: the VC-API exchange endpoint the Learner Credential Wallet posts to
(public JSON, no session, so no CSRF), the "Add to a wallet" page an owner reaches through
their manage link, and the page's rendering, which the backpack's own page shares
(``app/educator/wallets.py``)."""

from __future__ import annotations

import base64
import json
from typing import Any

from flask import jsonify, render_template, request, url_for
from werkzeug.wrappers import Response
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import csrf, limiter
from app.forms import refusal
from app.models import IssuedCredential
from app.public import bp
from app.public.manage import managed
from app.qr import qr_svg
from app.security import secret_page
from app.services._core.errors import ServiceError, required
from app.services._core.transaction import roll_back_refused
from app.services.delivery import downloads, visibility
from app.services.org import queries as org_queries
from app.services.org.audit import Actor
from app.services.verification import verifier as verification
from app.services.wallets import vcapi
from app.wiring import fetcher, service_env

#: A DID Authentication presentation is a few kilobytes; anything far larger is refused unread.
MAX_EXCHANGE_BODY = 64 * 1024
#: Each presentation may make Cairn fetch a did:web document: a wallet needs two requests.
EXCHANGE_LIMIT = "30 per minute"
_ERROR_CODES = {400: "invalid", 404: "not_found", 409: "conflict", 410: "gone", 413: "too_large"}


def _json_answer(body: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    # The answer carries a challenge or a credential bound to one wallet: never cached.
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(status: int, message: str) -> Response:
    return _json_answer({"error": _ERROR_CODES.get(status, "error"), "message": message}, status)


@bp.post("/wallets/vcapi/exchanges/<token>")
@limiter.limit(EXCHANGE_LIMIT)
def vcapi_exchange(token: str) -> Response:
    """A wallet's step in the VC-API exchange (app/services/wallets/vcapi.py): ``{}`` gets the
    DID Authentication request, ``{"verifiablePresentation": …}`` the credential bound to the
    wallet's DID. Refusals are 4xx ``{"error", "message"}``; nothing is stored by one."""
    if (request.content_length or 0) > MAX_EXCHANGE_BODY:
        return _refused(413, "The body is too large for a presentation.")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_EXCHANGE_BODY:
        return _refused(413, "The body is too large for a presentation.")
    try:
        body = json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if body is None:
        return _refused(
            400, 'The body must be JSON: {} to begin, then {"verifiablePresentation": …}.'
        )
    try:
        answer = vcapi.step(token, body, fetch=fetcher(), env=service_env(), ip=request.remote_addr)
    except ServiceError as error:
        roll_back_refused()
        return _refused(error.status, error.message)
    return _json_answer(answer)


# A native wallet app, not a browser: no cookies, no session, so no cross-site request to forge.
csrf.exempt(vcapi_exchange)


def qr_data_uri(text: str) -> str:
    """An SVG QR code of ``text`` as a data: URI (the page's CSP allows data: images)."""
    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(text)).decode("ascii")


def wallet_page(
    found: IssuedCredential,
    *,
    layout: str,
    action: str,
    openid_action: str,
    back: tuple[str, str],
    opened: vcapi.OpenedExchange | None = None,
    error: str | None = None,
) -> str:
    """The "Add to a wallet" page of ``found``: how to add it, and once the owner asked (a
    POST to ``action``), the exchange's QR code and links; and the OpenID4VCI offer's form,
    posting to ``openid_action``. ``back`` is ``(url, label)``."""
    env = service_env()
    issuer = required(org_queries.issuer(found.issuer_id), "The issuer is missing.")
    state = verification.state_of(found)
    return render_template(
        "wallets/add.html",
        layout=layout,
        credential=found,
        issuer=issuer,
        view=downloads.view(found, env.base_url),
        state=state,
        usable=not (state.revoked or state.suspended),
        action=action,
        openid_action=openid_action,
        back=back,
        opened=opened,
        qr=qr_data_uri(opened.universal_link) if opened is not None else None,
        minutes=vcapi.EXCHANGE_MINUTES,
        error=error,
    )


def open_for_owner(
    found: IssuedCredential, actor: Actor
) -> tuple[vcapi.OpenedExchange | None, str | None]:
    """Open an exchange for the owner: ``(opened, None)``, or ``(None, why not)``."""
    opened = None
    with refusal() as refused:
        opened = vcapi.open_exchange(found, actor=actor, env=service_env())
    return opened, (refused.message or None)


@bp.route("/credentials/<credential_id>/manage/<token>/wallet", methods=["GET", "POST"])
def manage_wallet(credential_id: str, token: str) -> BaseResponse:
    """ "Add to a wallet" through the emailed manage link (for a recipient without an account):
    GET explains, POST (with CSRF token) opens a fresh exchange and shows its QR code."""
    found, _ = managed(credential_id, token)
    opened, error = None, None
    if request.method == "POST":
        opened, error = open_for_owner(
            found, Actor(label=visibility.EARNER, ip=request.remote_addr)
        )
    page = wallet_page(
        found,
        layout="base.html",
        action=url_for("public.manage_wallet", credential_id=found.id, token=token),
        openid_action=url_for("oid4vci.manage_offer", credential_id=found.id, token=token),
        back=(
            url_for("public.manage", credential_id=found.id, token=token),
            "Manage your credential",
        ),
        opened=opened,
        error=error,
    )
    return secret_page(page, 409 if error else 200)
