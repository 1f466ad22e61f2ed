"""Blueprint ``auth``: staff sign-in and sign-out, password reset, invitations; and the
``login_required`` guard every workspace view uses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, g, redirect, request, session, url_for

from app.extensions import db
from app.models import StaffAccount

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])


@bp.before_app_request
def load_staff() -> None:
    """Put the signed-in account (or None) on ``g.staff``."""
    staff_id = session.get("staff_id")
    account = db.session.get(StaffAccount, staff_id) if isinstance(staff_id, int) else None
    # A deactivated account, or a session from before a password change, is signed out.
    if account is not None and (
        not account.is_active or session.get("password_marker") != password_marker(account)
    ):
        session.clear()
        account = None
    g.staff = account


def password_marker(account: StaffAccount) -> str:
    """A value that changes when the password does, so changing it ends other sessions."""
    import hashlib

    return hashlib.sha256((account.password_hash or "").encode()).hexdigest()[:16]


def current_staff() -> StaffAccount:
    """The signed-in account (only inside ``login_required`` views)."""
    account: StaffAccount = g.staff
    return account


def login_required(view: F) -> F:
    """Send anonymous visitors to the sign-in page (and back afterwards)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("staff") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return cast(F, wrapped)


from app.auth import views  # noqa: E402,F401  (routes register on import)

# isort: split
from app.auth import invitations  # noqa: E402,F401
