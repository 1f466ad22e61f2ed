"""Educators' passwordless sign-in: ask for a link by email, open it, confirm, and sign out.

Every address gets a link (the first one creates the account), so the answer to a request is
the same for known and unknown addresses. Opening a link only shows a button: mail scanners
that fetch every link in a message must not use up a single-use link. Requests are
rate-limited per network address and per email address.
"""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from app.auth import begin_session, end_session
from app.auth.views import safe_next
from app.educator import bp
from app.extensions import limiter
from app.forms import refusal
from app.security import secret_page
from app.services._core.errors import ServiceError
from app.services.learning import educators
from app.wiring import service_env
from schemas.educators import SignInRequestSchema

TOO_MANY_REQUESTS = "Too many sign-in requests. Wait a while, then try again."
TOO_MANY_TRIES = "Too many attempts from your network. Wait a minute, then try again."
#: Where a sign-in goes afterwards, kept in the session between the request and the link.
NEXT_KEY = "educator_next"


def _ip_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _email_limit() -> str:
    return str(current_app.config["EDUCATOR_SIGN_IN_EMAIL_RATE_LIMIT"])


def _submitted_email() -> str:
    # Normalised as the service does, so "A@x.org" and " a@x.org" share one budget; the prefix
    # keeps these keys apart from the per-IP ones and from the staff sign-in's.
    return "educator-email:" + request.form.get("email", "").strip().lower()[:320]


def link_minutes() -> int:
    """How long a sign-in link works (``EDUCATOR_LINK_MINUTES``)."""
    return int(current_app.config["EDUCATOR_LINK_MINUTES"])


def start_session(educator_id: int) -> None:
    """Sign an educator in. A staff session in the same browser is left alone (one person may
    be both); an earlier educator's is replaced, and ended. Every sign-in gets a new
    server-side session."""
    session.pop(NEXT_KEY, None)
    begin_session("educator", educator_id)


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"], error_message=TOO_MANY_REQUESTS)
@limiter.limit(
    _email_limit, key_func=_submitted_email, methods=["POST"], error_message=TOO_MANY_REQUESTS
)
def sign_in() -> ResponseReturnValue:
    """Ask for a sign-in link. The answer is the same whether or not the address is known."""
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("educator/sign_in.html", email="", next=target, errors={})
    email = request.form.get("email", "")[:320]
    with refusal() as refused:
        data = SignInRequestSchema().load(request.form)
        educators.request_sign_in(data["email"], service_env(), minutes=link_minutes())
    if refused:
        errors = refused.errors(default="email")
        page = render_template("educator/sign_in.html", email=email, next=target, errors=errors)
        return page, 400
    if target:
        session[NEXT_KEY] = target
    else:
        session.pop(NEXT_KEY, None)
    return redirect(url_for("educator.sign_in_sent"), 303)


@bp.get("/sign-in/sent")
def sign_in_sent() -> str:
    """The one answer to a sign-in request."""
    return render_template("educator/sign_in_sent.html", minutes=link_minutes())


@bp.route("/sign-in/<token>", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"], error_message=TOO_MANY_TRIES)
def redeem(token: str) -> Response:
    """A sign-in link: GET shows a button (nothing is used up), POST signs in."""
    env = service_env()
    try:
        if request.method == "GET":
            link = educators.find_link(token, "sign_in", env)
            return secret_page(render_template("educator/sign_in_confirm.html", email=link.email))
        educator = educators.sign_in(token, env, ip=request.remote_addr)
    except ServiceError as error:
        page = render_template("educator/link_expired.html", message=error.message)
        return secret_page(page, 400)
    target = safe_next(session.get(NEXT_KEY))
    start_session(educator.id)
    if not educator.credential_name:
        # First sign-in (or never confirmed): ask for the name before anything is issued.
        flash("Welcome. You are signed in.", "success")
        return secret_page(redirect(url_for("educator.confirm_name", next=target), 303))
    flash(f"Welcome, {educator.name}. You are signed in.", "success")
    return secret_page(redirect(target or url_for("educator.backpack"), 303))


@bp.post("/sign-out")
def sign_out() -> Response:
    """Sign out of the educator side (POST with a CSRF token, so another site cannot). The
    session ends on the server, so a copy of the cookie no longer signs anyone in."""
    end_session("educator")
    session.pop(NEXT_KEY, None)
    g.educator = None
    flash("You have signed out.")
    return redirect(url_for("educator.sign_in"), 303)
