"""The staff account page (``/account``): who is signed in, their signed-in sessions, ending
one of them, and "sign out everywhere"."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.auth import (
    bp,
    current_session,
    current_staff,
    forget_session,
    login_required,
)
from app.services.org import account_sessions, staff
from app.services.org.audit import Actor
from app.wiring import service_env, utcnow


@bp.get("/account")
@login_required
def account() -> str:
    """The signed-in account, and the browsers it is signed in on."""
    me = current_staff()
    return render_template(
        "auth/account.html",
        account=me,
        sessions=account_sessions.live("staff", me.id, now=utcnow()),
        current=current_session("staff"),
    )


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int) -> Response:
    """Sign one browser out (e.g. a shared computer left signed in)."""
    here = current_session("staff")
    staff.end_session(current_staff(), session_id, env=service_env())
    if here is not None and here.id == session_id:
        forget_session("staff")
        flash("You have signed out.")
        return redirect(url_for("auth.login"), 303)
    flash("That browser is signed out.")
    return redirect(url_for("auth.account"), 303)


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere() -> Response:
    """End every session of the account, this browser's included."""
    me = current_staff()
    staff.sign_out_everywhere(me, actor=Actor(me, ip=request.remote_addr), env=service_env())
    forget_session("staff")
    flash("You have signed out everywhere: every session of your account has ended, this one too.")
    return redirect(url_for("auth.login"), 303)
