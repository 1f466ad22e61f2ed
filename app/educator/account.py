"""The educator's account (``/me/account``): name, short bio and the public profile switch,
their email addresses (add with a confirmation link, confirm, make primary, remove), and the
browsers they are signed in on (end one, or sign out everywhere)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from app.auth import current_session, forget_session
from app.educator import bp, current_educator, educator_required
from app.extensions import limiter
from app.forms import refusal
from app.security import secret_page
from app.services._core.errors import ServiceError
from app.services.learning import educators
from app.services.org import account_sessions
from app.wiring import service_env, utcnow
from schemas.educators import AccountSchema, AddEmailSchema
from schemas.errors import flat_errors

#: Each added address is sent mail: one account must not become a way to flood inboxes.
ADD_EMAIL_LIMIT = "10 per hour"
TOO_MANY_ADDRESSES = "Too many addresses added. Wait a while, then try again."


def _educator_key() -> str:
    educator = g.get("educator")
    return f"educator:{educator.id}" if educator is not None else f"ip:{request.remote_addr}"


def _account_page(
    *, status: int = 200, errors: dict[str, str] | None = None, form: dict[str, Any] | None = None
) -> ResponseReturnValue:
    educator = current_educator()
    return (
        render_template(
            "educator/account.html",
            educator=educator,
            addresses=list(educator.emails),
            primary=educators.primary_email(educator),
            sessions=account_sessions.live("educator", educator.id, now=utcnow()),
            current=current_session("educator"),
            errors=errors or {},
            form=form or {},
        ),
        status,
    )


@bp.get("/account")
@educator_required
def account() -> ResponseReturnValue:
    """The account page."""
    return _account_page()


@bp.post("/account")
@educator_required
def account_update() -> ResponseReturnValue:
    """Change the name, bio and the profile switch."""
    try:
        data = AccountSchema().load(request.form)
    except ValidationError as error:
        form = {key: request.form.get(key, "") for key in ("name", "bio")}
        return _account_page(status=400, errors=flat_errors(error, depth=1, first=True), form=form)
    educators.update_account(
        current_educator(),
        name=data["name"],
        bio=data["bio"],
        profile_public=data["profile_public"],
        env=service_env(),
    )
    flash("Your account is saved.", "success")
    return redirect(url_for("educator.account"), 303)


@bp.post("/account/emails")
@educator_required
@limiter.limit(ADD_EMAIL_LIMIT, key_func=_educator_key, error_message=TOO_MANY_ADDRESSES)
def email_add() -> ResponseReturnValue:
    """Add an address: a confirmation link goes to it."""
    form = {"email": request.form.get("email")}
    try:
        data = AddEmailSchema().load(request.form)
    except ValidationError as error:
        errors = {
            "email": flat_errors(error, depth=1, first=True).get("email", "Enter an email address.")
        }
        return _account_page(status=400, errors=errors, form=form)
    with refusal() as refused:
        row = educators.add_email(current_educator(), data["email"], service_env())
    if refused:
        return _account_page(status=refused.status, errors={"email": refused.message}, form=form)
    flash(
        f"We have sent a confirmation link to {row.email}. Open it while signed in to add the "
        "address to your account.",
        "success",
    )
    return redirect(url_for("educator.account"), 303)


@bp.post("/account/emails/<int:email_id>/primary")
@educator_required
def email_primary(email_id: int) -> Response:
    """Send the educator's mail to this (confirmed) address."""
    educators.set_primary(current_educator(), email_id, service_env())
    flash("Your primary address is changed.", "success")
    return redirect(url_for("educator.account"), 303)


@bp.post("/account/emails/<int:email_id>/delete")
@educator_required
def email_remove(email_id: int) -> Response:
    """Remove an address; credentials sent to it leave the backpack with it."""
    educators.remove_email(current_educator(), email_id, service_env())
    flash("The address is removed.", "success")
    return redirect(url_for("educator.account"), 303)


@bp.route("/emails/verify/<token>", methods=["GET", "POST"])
@educator_required
def email_verify(token: str) -> Response:
    """An address-confirmation link, for the educator who added the address: GET shows a button
    (mail scanners fetch links; that must not use one up), POST confirms."""
    env = service_env()
    educator = current_educator()
    try:
        if request.method == "GET":
            link = educators.find_verify_link(token, env, educator=educator)
            page = render_template("educator/email_confirm.html", email=link.email, token=token)
            return secret_page(page)
        row = educators.verify_email(token, env, educator=educator)
    except ServiceError as error:
        page = render_template("educator/link_expired.html", message=error.message)
        return secret_page(page, 400)
    flash(f"{row.email} is confirmed: credentials sent to it are now in your backpack.", "success")
    return secret_page(redirect(url_for("educator.account"), 303))


@bp.post("/account/sessions/<int:session_id>/end")
@educator_required
def end_session(session_id: int) -> Response:
    """Sign one browser out (e.g. a shared computer left signed in)."""
    here = current_session("educator")
    educators.end_session(current_educator(), session_id, service_env())
    if here is not None and here.id == session_id:
        forget_session("educator")
        flash("You have signed out.")
        return redirect(url_for("educator.sign_in"), 303)
    flash("That browser is signed out.", "success")
    return redirect(url_for("educator.account"), 303)


@bp.post("/account/sign-out-everywhere")
@educator_required
def sign_out_everywhere() -> Response:
    """End every session of the educator, this browser's included."""
    educators.sign_out_everywhere(current_educator(), service_env(), ip=request.remote_addr)
    forget_session("educator")
    flash("You have signed out everywhere: every session of your account has ended, this one too.")
    return redirect(url_for("educator.sign_in"), 303)
