"""Blueprint ``auth``: staff sign-in and sign-out, password reset, invitations, the staff
account page; the ``login_required`` guard every workspace view uses; and the server-side
session helpers staff and educator sign-in share.

A signed-in browser's cookie holds, per kind of account, the account's id and a random session
token (``staff_id``/``staff_session``, ``educator_id``/``educator_session``). The token names a
row of ``account_session``; a session is signed in only while that row is live, so ending the
row signs out every copy of the cookie.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, current_app, g, jsonify, redirect, request, session, url_for
from werkzeug.wrappers import Response

from app.errors import wants_json
from app.models import AccountSession, StaffAccount
from app.services.org import account_sessions
from app.services.org import queries as org_queries
from app.wiring import utcnow

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])
#: What a background JSON request is told when its session has ended.
SIGNED_OUT = "You are signed out. Sign in again to go on."
#: A key of cookies from before sessions were kept on the server; dropped when seen.
_LEGACY_KEYS = ("password_marker",)


def _keys(kind: str) -> tuple[str, str]:
    return f"{kind}_id", f"{kind}_session"


def session_lifetime() -> timedelta:
    """How long an unused session lasts (``PERMANENT_SESSION_LIFETIME``, as the cookie)."""
    return current_app.permanent_session_lifetime


def begin_session(kind: str, account_id: int) -> None:
    """Sign the browser in as an account of ``kind`` with a new session (a new id every
    sign-in, so an id planted before sign-in is never the signed-in one). A session of the
    same kind this browser held is ended first."""
    id_key, token_key = _keys(kind)
    account_sessions.end(session.pop(token_key, None), now=utcnow())
    started = account_sessions.start(
        kind,
        account_id,
        user_agent=request.headers.get("User-Agent"),
        now=utcnow(),
        lifetime=session_lifetime(),
    )
    session[id_key] = account_id
    session[token_key] = started.token
    session.permanent = True


def end_session(kind: str) -> None:
    """End this browser's session of ``kind`` on the server and forget it in the cookie."""
    account_sessions.end(session.get(_keys(kind)[1]), now=utcnow())
    forget_session(kind)


def forget_session(kind: str) -> None:
    """Drop the cookie's keys of ``kind`` (the server-side row is left as it is)."""
    for key in (*_keys(kind), *_LEGACY_KEYS):
        session.pop(key, None)
    g.pop(f"{kind}_session", None)


def find_session(kind: str) -> AccountSession | None:
    """The live session of ``kind`` this browser's cookie names, or None. The cookie's account
    id must match the session's too."""
    id_key, token_key = _keys(kind)
    if token_key not in session and id_key not in session:
        return None
    now = utcnow()
    row = account_sessions.find(kind, session.get(token_key), now=now)
    if row is None or row.account_id != session.get(id_key):
        forget_session(kind)
        return None
    if account_sessions.touch(row, now=now, lifetime=session_lifetime()):
        # The server moved the session's expiry forward; the cookie's moves with it (the only
        # time an unchanged session is sent again: SESSION_REFRESH_EACH_REQUEST is off).
        session.modified = True
    setattr(g, f"{kind}_session", row)
    return row


def current_session(kind: str) -> AccountSession | None:
    """The session of ``kind`` loaded for this request (None when not signed in)."""
    found: AccountSession | None = g.get(f"{kind}_session")
    return found


def signed_out(endpoint: str) -> Response:
    """The answer to a visitor who is not signed in: the sign-in page (and back afterwards),
    or a 401 JSON error for a background request, which could not follow a redirect anyway."""
    if wants_json():
        response = jsonify({"error": "unauthorized", "message": SIGNED_OUT})
        response.status_code = 401
        return response
    return redirect(url_for(endpoint, next=request.full_path.rstrip("?")))


@bp.before_app_request
def load_staff() -> None:
    """Put the signed-in account (or None) on ``g.staff``."""
    g.staff = None
    row = find_session("staff")
    if row is None:
        return
    account = org_queries.staff_account(row.account_id)
    # Disabling an account ends its sessions; checking here too costs nothing.
    if account is None or not account.is_active:
        forget_session("staff")
        return
    g.staff = account


def current_staff() -> StaffAccount:
    """The signed-in account (only inside ``login_required`` views)."""
    account: StaffAccount = g.staff
    return account


def login_required(view: F) -> F:
    """Send anonymous visitors to the sign-in page (and back afterwards)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("staff") is None:
            return signed_out("auth.login")
        return view(*args, **kwargs)

    return cast(F, wrapped)


from app.auth import account_views, views  # noqa: E402,F401  (routes register on import)

# isort: split
from app.auth import invitations  # noqa: E402,F401
