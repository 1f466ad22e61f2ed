"""Blueprint ``partner``: the learning partner's page at ``/partner/<token>``, reached from the
emailed secret link. It shows the module, whose checklist it is and which activities are
complete, never the answers or files; the partner confirms it with one button (a GET never
changes anything, so mail scanners that open links confirm nothing)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from app.forms import refusal
from app.security import secret_page
from app.services._core.errors import Gone, NotFound, ServiceError
from app.services._core.transaction import roll_back_refused
from app.services.learning import partners
from app.wiring import service_env

bp = Blueprint("partner", __name__, url_prefix="/partner")


def _page(token: str, view: partners.PartnerView, error: str | None = None) -> Response:
    page = render_template("educator/modules/partner.html", token=token, view=view, error=error)
    return secret_page(page, 409 if error else 200)


def _unusable(error: ServiceError) -> Response:
    """An unknown (404), expired or withdrawn (410) invitation: what happened, and how to get a
    new one."""
    page = render_template("educator/modules/partner_unusable.html", message=error.message)
    return secret_page(page, error.status)


@bp.get("/<token>")
def checklist(token: str) -> Response:
    """The checklist the educator asked their partner to confirm."""
    try:
        view = partners.partner_view(token, service_env())
    except (NotFound, Gone) as exc:
        return _unusable(exc)
    return _page(token, view)


@bp.post("/<token>")
def confirm(token: str) -> Response:
    """Confirm the checklist (once)."""
    env = service_env()
    try:
        with refusal() as refused:
            view = partners.confirm_partner(token, env)
    except (NotFound, Gone) as exc:
        roll_back_refused()
        return _unusable(exc)
    if refused:
        try:
            return _page(token, partners.partner_view(token, env), refused.message)
        except (NotFound, Gone) as gone:
            return _unusable(gone)
    flash(f"Thank you: {view.educator_name} has been told that you confirmed their checklist.")
    return secret_page(redirect(url_for(".checklist", token=token), 303))
