"""The owner's side: make an offer of one credential for a wallet and show it as a QR code and
a link (``openid-credential-offer://``), optionally with a transaction code emailed to the
address the credential was awarded to. For the signed-in educator who holds the credential
(``/me/...``) and for whoever holds its manage link (``/credentials/<id>/manage/<token>/...``);
anyone else gets a 404, as for a credential that does not exist.

``wallets/_openid_offer.html`` is the part other pages embed (the form, or the offer once made);
these views render it on a page of its own too.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import abort, render_template, request, url_for
from werkzeug.wrappers import Response

from app.educator import current_educator, educator_required
from app.extensions import limiter
from app.forms import refusal
from app.models import IssuedCredential
from app.oid4vci import bp
from app.qr import qr_png
from app.security import secret_page
from app.services.delivery import visibility
from app.services.learning import educators
from app.services.org.audit import Actor
from app.services.wallets import openid_offers
from app.wiring import service_env

#: Offers one address may make in an hour: each can send an email, so the mail it can cause is
#: bounded (a holder needs one or two).
OFFER_LIMIT = "20 per hour"
TOO_MANY_OFFERS = "Too many wallet codes asked for. Wait a while, then try again."


def offer_panel(
    found: IssuedCredential, action: str, actor: Actor | None
) -> tuple[dict[str, Any], int]:
    """The template values of the offer panel: on a POST (``actor`` given) a new offer is made,
    with its QR code; otherwise the form that makes one."""
    values: dict[str, Any] = {
        "credential": found,
        "openid_action": action,
        "offer": None,
        "error": None,
    }
    if actor is None:
        return values, 200
    with refusal() as refused:
        made = openid_offers.create_offer(
            found, send_code=request.form.get("send_code") == "1", actor=actor, env=service_env()
        )
        values["offer"] = made
        values["qr"] = (
            "data:image/png;base64," + base64.b64encode(qr_png(made.wallet_link)).decode()
        )
    if refused:
        values["error"] = refused.error.message if refused.error else "It could not be made."
    return values, refused.status


def _page(values: dict[str, Any], status: int, layout: str, back: str) -> Response:
    page = render_template("wallets/openid_offer.html", layout=layout, back=back, **values)
    # The page holds the offer's secret URI: never cached, never in a Referer.
    return secret_page(page, status)


@bp.route("/me/credentials/<credential_id>/wallet/openid", methods=["GET", "POST"])
@limiter.limit(OFFER_LIMIT, methods=["POST"], error_message=TOO_MANY_OFFERS)
@educator_required
def educator_offer(credential_id: str) -> Response:
    """The signed-in holder's offer of one of their credentials."""
    educator = current_educator()
    found = educators.get_credential(educator, credential_id)
    actor = educators.actor(educator, request.remote_addr) if request.method == "POST" else None
    action = url_for("oid4vci.educator_offer", credential_id=found.id)
    values, status = offer_panel(found, action, actor)
    back = url_for("educator.credential", credential_id=found.id)
    return _page(values, status, "educator/layout.html", back)


@bp.route("/credentials/<credential_id>/manage/<token>/wallet/openid", methods=["GET", "POST"])
@limiter.limit(OFFER_LIMIT, methods=["POST"], error_message=TOO_MANY_OFFERS)
def manage_offer(credential_id: str, token: str) -> Response:
    """The same through the credential's manage link (no account needed)."""
    try:
        found, _ = visibility.find_managed(credential_id, token, service_env())
    except visibility.ManageLinkUnusable as exc:
        abort(exc.unusable.status)
    earner = Actor(label=visibility.EARNER, ip=request.remote_addr)
    actor = earner if request.method == "POST" else None
    action = url_for("oid4vci.manage_offer", credential_id=found.id, token=token)
    values, status = offer_panel(found, action, actor)
    back = url_for("public.manage", credential_id=found.id, token=token)
    return _page(values, status, "base.html", back)
