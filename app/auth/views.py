"""Sign-in and sign-out, password reset by emailed link, and accepting an invitation."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from app.auth import begin_session, bp, end_session
from app.extensions import db, limiter
from app.forms import refusal
from app.models import SESSION_KINDS, StaffAccount
from app.services._core.errors import Invalid, ServiceError
from app.services.mail import emails
from app.services.org import queries as workspace
from app.services.org import staff
from app.services.org.audit import Actor
from app.wiring import service_env
from schemas.errors import flat_errors
from schemas.staff import ForgotPasswordSchema, LoginSchema, NewPasswordSchema

#: The one answer to a failed sign-in, whichever of email or password was wrong, so the page
#: never tells an attacker which addresses have accounts.
BAD_CREDENTIALS = "That email and password do not match an active account."
#: Per-address limits, in addition to the per-IP ``LOGIN_RATE_LIMIT``: they stop one account
#: being guessed at (or one inbox being flooded) from many addresses at once.
DEFAULT_LOGIN_EMAIL_LIMIT = "20 per hour"
DEFAULT_RESET_EMAIL_LIMIT = "5 per hour"
TOO_MANY_SIGN_INS = "Too many sign-in attempts. Wait a few minutes, then try again."
TOO_MANY_RESETS = "Too many reset requests. Wait a while, then try again."
TOO_MANY_TRIES = "Too many attempts from your network. Wait a minute, then try again."
MAX_NEXT = 2000


def _ip_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _login_email_limit() -> str:
    return str(current_app.config.get("LOGIN_EMAIL_RATE_LIMIT") or DEFAULT_LOGIN_EMAIL_LIMIT)


def _reset_email_limit() -> str:
    return str(current_app.config.get("RESET_EMAIL_RATE_LIMIT") or DEFAULT_RESET_EMAIL_LIMIT)


def _submitted_email() -> str:
    # Normalised like the staff service does, so "A@x.org" and " a@x.org" share one budget;
    # the prefix keeps these keys apart from the per-IP ones.
    return "email:" + request.form.get("email", "").strip().lower()[:320]


def _failed(response: Response) -> bool:
    # Only failed attempts spend the per-address budget: an attacker hammering an address
    # should not lock its owner out for an hour by way of the owner's own successful sign-ins.
    return response.status_code == 400


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (so ``next`` cannot send a signed-in
    user to another site: ``//evil.example``, ``/\\evil.example`` and ``https:`` URLs fail)."""
    if (
        not target
        or len(target) > MAX_NEXT
        or not target.startswith("/")
        or target.startswith("//")
    ):
        return None
    # Browsers read a backslash as a slash, and drop tabs and newlines inside URLs.
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _clear_session() -> None:
    # Everything in the cookie goes, and with it any session it held, staff or educator: both
    # end on the server too, so a copy of the cookie taken before this is worthless.
    for kind in SESSION_KINDS:
        end_session(kind)
    session.clear()
    # Flask-WTF caches the request's CSRF token on ``g``; that token belongs to the session
    # just cleared, so a form rendered afterwards would carry a token that can never match.
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def sign_in(account: StaffAccount) -> None:
    """Start a fresh session for ``account`` (nothing from the anonymous one survives)."""
    _clear_session()
    begin_session("staff", account.id)


def _render_login(
    *, email: str = "", target: str | None, errors: dict[str, str], status: int
) -> ResponseReturnValue:
    return (
        render_template("auth/login.html", email=email, next=target, errors=errors),
        status,
    )


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"], error_message=TOO_MANY_SIGN_INS)
@limiter.limit(
    _login_email_limit,
    key_func=_submitted_email,
    methods=["POST"],
    deduct_when=_failed,
    error_message=TOO_MANY_SIGN_INS,
)
def login() -> ResponseReturnValue:
    """The sign-in form; on success, go to the page that asked for it (``next``), else the
    account's one workspace, or the list of its workspaces (see :func:`landing`)."""
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        return _render_login(target=target, errors={}, status=200)
    email = request.form.get("email", "")[:320]
    try:
        data = LoginSchema().load(request.form)
    except ValidationError as error:
        return _render_login(
            email=email, target=target, errors=flat_errors(error, depth=1, first=True), status=400
        )
    try:
        account = staff.authenticate(
            data["email"], data["password"], ip=request.remote_addr, env=service_env()
        )
    except staff.AccountDisabled as error:
        return _render_login(
            email=email, target=target, errors={"_schema": error.message}, status=400
        )
    if account is None:
        return _render_login(
            email=email, target=target, errors={"_schema": BAD_CREDENTIALS}, status=400
        )
    sign_in(account)
    return redirect(target or landing(account))


@bp.post("/logout")
def logout() -> Response:
    """Sign out (POST with a CSRF token, so another site cannot sign a user out)."""
    _clear_session()
    flash("You have signed out.")
    return redirect(url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"], error_message=TOO_MANY_RESETS)
@limiter.limit(
    _reset_email_limit, key_func=_submitted_email, methods=["POST"], error_message=TOO_MANY_RESETS
)
def forgot_password() -> ResponseReturnValue:
    """Ask for a reset link. The answer is the same whether or not the address has an account."""
    if request.method == "GET":
        return render_template("auth/forgot.html", email="", errors={})
    try:
        data = ForgotPasswordSchema().load(request.form)
    except ValidationError as error:
        email = request.form.get("email", "")[:320]
        return render_template(
            "auth/forgot.html", email=email, errors=flat_errors(error, depth=1, first=True)
        ), 400
    try:
        account: StaffAccount | None = staff.get_by_email(data["email"])
    except ServiceError:  # no such account, or not an email address
        account = None
    if account is not None and account.is_active:
        env = service_env()
        hours = float(current_app.config["PASSWORD_RESET_HOURS"])
        token = staff.issue_token(account, "reset", hours=hours, env=env)
        emails.queue_account_link(
            to=account.email,
            name=account.name,
            link=env.base_url + url_for("auth.reset_password", token=token),
            purpose="reset",
            hours=hours,
            issuer_name=None,
            env=env,
        )
        db.session.commit()
        emails.deliver_soon(env)
    return redirect(url_for("auth.forgot_password_sent"))


@bp.get("/password/forgot/sent")
def forgot_password_sent() -> str:
    """The one answer to a reset request."""
    return render_template("auth/forgot_sent.html")


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"], error_message=TOO_MANY_TRIES)
def reset_password(token: str) -> ResponseReturnValue:
    """Choose a new password from an emailed link; this signs out every other session."""
    return _choose_password(token, "reset")


def _choose_password(token: str, purpose: str) -> ResponseReturnValue:
    env = service_env()
    try:
        account, record = staff.redeem_token(token, purpose, env=env)
        if not account.is_active:
            raise Invalid(staff.DISABLED)
    except ServiceError as error:
        page = render_template("auth/link_expired.html", purpose=purpose, message=error.message)
        return page, 400
    context: dict[str, Any] = {"purpose": purpose, "account": account, "token": token}
    if request.method == "GET":
        return render_template("auth/set_password.html", errors={}, **context)
    with refusal() as refused:
        data = NewPasswordSchema().load(request.form)
        # Checked before anything changes, so a weak password leaves the link usable.
        staff.check_password_strength(data["password"])
    if refused:
        errors = refused.errors(default="password")
        return render_template("auth/set_password.html", errors=errors, **context), 400
    record.used_at = env.now
    # set_password also marks every other outstanding link of the account used, and ends every
    # session of the account; this browser then gets a new one.
    actor = Actor(account, ip=request.remote_addr)
    staff.set_password(account, data["password"], actor=actor, env=env)
    sign_in(account)
    if purpose == "invite":
        flash("Welcome to Cairn. Your password is set and you are signed in.")
        return redirect(_newest_workspace(account))
    flash("Your password has been changed. Any other sessions have been signed out.")
    return redirect(landing(account))


def landing(account: StaffAccount) -> str:
    """Where a signed-in staff member starts: their workspace when they work in exactly one
    (nothing to choose between), else the list of workspaces."""
    slug = workspace.only_workspace_slug(account)
    return url_for("workspace.overview", slug=slug) if slug else url_for("workspace.dashboard")


def _newest_workspace(account: StaffAccount) -> str:
    # Only for invitation links from before invitations were recorded (the account was made a
    # member when invited): the link does not say which workspace sent it; the newest does.
    slug = workspace.newest_workspace_slug(account)
    return url_for("workspace.overview", slug=slug) if slug else url_for("workspace.dashboard")
