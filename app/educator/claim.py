"""The name an educator's credentials carry (``/me/name``, asked at first sign-in), and claiming
a credential from its award email: the claim link signs the recipient in (a button first, so
mail scanners do not use it up), then ``/me/credentials/<id>/claim`` confirms the name and the
credential's visibility.

Whatever is not the educator's answers 404, exactly like something that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from app.auth.views import safe_next
from app.educator import bp, current_educator, educator_required
from app.educator.auth import TOO_MANY_TRIES, _ip_limit, start_session
from app.extensions import limiter
from app.forms import refusal
from app.models import Educator
from app.security import secret_page
from app.services._core.errors import ServiceError
from app.services.learning import claims, educators
from app.wiring import service_env
from schemas.educators import ClaimSchema, NameSchema


def _name_values(educator: Educator) -> dict[str, str]:
    """The form's first values: what they confirmed, else what an issuer knew them by."""
    return {
        "name": educator.name,
        "credential_name": educator.credential_name or educator.name,
    }


@bp.route("/name", methods=["GET", "POST"])
@educator_required
def confirm_name() -> ResponseReturnValue:
    """Ask for the educator's name and the name their credentials carry."""
    educator = current_educator()
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        values = _name_values(educator)
        return render_template("educator/name.html", values=values, next=target, errors={})
    with refusal() as refused:
        data = NameSchema().load(request.form)
        claims.confirm_name(educator, data["name"], data["credential_name"], service_env())
    if refused:
        values = {key: request.form.get(key, "")[:400] for key in ("name", "credential_name")}
        errors = refused.errors(default="name")
        page = render_template("educator/name.html", values=values, next=target, errors=errors)
        return page, 400
    flash("Thank you: your credentials will carry this name.", "success")
    return redirect(target or url_for("educator.backpack"), 303)


@bp.route("/claim/<credential_id>/<token>", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"], error_message=TOO_MANY_TRIES)
def claim_link(credential_id: str, token: str) -> Response:
    """The claim link of an award email: GET shows a button (nothing is used up), POST signs
    the recipient in and goes on to the claim page."""
    env = service_env()
    try:
        if request.method == "GET":
            link = educators.find_link(token, "claim", env)
            page = render_template("educator/claim_sign_in.html", email=link.email)
            return secret_page(page)
        educator = educators.claim_sign_in(token, credential_id, env, ip=request.remote_addr)
    except ServiceError as error:
        page = render_template("educator/link_expired.html", message=error.message)
        return secret_page(page, 400)
    start_session(educator.id)
    target = url_for("educator.claim", credential_id=credential_id)
    return secret_page(redirect(target, 303))


def _claim_page(educator: Educator, credential_id: str, **extra: Any) -> str:
    found = claims.claimable(educator, credential_id)
    return render_template(
        "educator/claim.html",
        credential=found,
        achievement=found.achievement_version,
        issuer=found.issuer,
        educator=educator,
        values=extra.pop("values", _name_values(educator)),
        errors=extra.pop("errors", {}),
        **extra,
    )


@bp.route("/credentials/<credential_id>/claim", methods=["GET", "POST"])
@educator_required
def claim(credential_id: str) -> ResponseReturnValue:
    """Accept a credential into the backpack: confirm the name (if not yet), choose who sees
    its page."""
    educator = current_educator()
    if request.method == "GET":
        return _claim_page(educator, credential_id)
    found = claims.claimable(educator, credential_id)
    env = service_env()
    with refusal() as refused:
        # Both choices are checked before the name is confirmed: a refused form changes nothing.
        chosen = ClaimSchema().load(request.form)
        if not educator.credential_name:
            named = NameSchema().load(request.form)
            claims.confirm_name(educator, named["name"], named["credential_name"], env)
        visibility = chosen["visibility"]
        public = not found.is_private if visibility is None else visibility == "public"
        claims.claim(
            educator, found, public=public, env=env, add_name=chosen["name_on_it"] == "add"
        )
    if refused:
        fields = ("name", "credential_name", "name_on_it")
        values = {key: request.form.get(key, "")[:400] for key in fields}
        errors = refused.errors(default="visibility")
        return _claim_page(educator, credential_id, values=values, errors=errors), 400
    flash("It is in your backpack.", "success")
    if request.form.get("then") == "wallet":
        # The wallet gets the claimed credential (with the name just confirmed, if added).
        return redirect(url_for("educator.credential_wallet", credential_id=found.id), 303)
    return redirect(url_for("educator.credential", credential_id=found.id), 303)
