"""The backpack's "Add to a wallet" page for one of the educator's credentials: a fresh VC-API
exchange for the Learner Credential Wallet on each POST (app/public/wallets.py renders it)."""

from __future__ import annotations

from flask import request, url_for
from werkzeug.wrappers import Response

from app.educator import bp, current_educator, educator_required
from app.educator.backpack import PRIVATE_PAGE_HEADERS
from app.public.wallets import open_for_owner, wallet_page
from app.services.learning import educators


@bp.route("/credentials/<credential_id>/wallet", methods=["GET", "POST"])
@educator_required
def credential_wallet(credential_id: str) -> Response:
    """GET explains how to add the credential to a wallet; POST (with CSRF token) opens a new
    exchange, single use for 15 minutes, and shows its QR code and links. The owner only."""
    educator = current_educator()
    found = educators.get_credential(educator, credential_id)
    opened, error = None, None
    if request.method == "POST":
        opened, error = open_for_owner(found, educators.actor(educator, request.remote_addr))
    page = wallet_page(
        found,
        layout="educator/layout.html",
        action=url_for("educator.credential_wallet", credential_id=found.id),
        openid_action=url_for("oid4vci.educator_offer", credential_id=found.id),
        back=(url_for("educator.credential", credential_id=found.id), "Back to the credential"),
        opened=opened,
        error=error,
    )
    response = Response(page, status=409 if error else 200, mimetype="text/html")
    response.headers.update(PRIVATE_PAGE_HEADERS)
    return response
