"""Blueprint ``learner``: the educator's side at ``/me`` (backpack, modules, portfolio) and the
``educator_required`` guard its views use.

Educators sign in with emailed single-use links, never passwords; their session lives under
``educator_id`` and is separate from a staff session.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, g, redirect, request, session, url_for

from app.extensions import db
from app.models import Educator

bp = Blueprint("learner", __name__, url_prefix="/me")
F = TypeVar("F", bound=Callable[..., Any])


@bp.before_app_request
def load_educator() -> None:
    """Put the signed-in educator (or None) on ``g.educator``."""
    educator_id = session.get("educator_id")
    g.educator = db.session.get(Educator, educator_id) if isinstance(educator_id, int) else None


def current_educator() -> Educator:
    """The signed-in educator (only inside ``educator_required`` views)."""
    educator: Educator = g.educator
    return educator


def educator_required(view: F) -> F:
    """Send visitors who are not signed in as an educator to the sign-in page."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("educator") is None:
            return redirect(url_for("learner.sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return cast(F, wrapped)


# The views, registered on ``bp`` by importing them (last, since they import ``bp``).
from app.learner import account, auth, backpack, modules, nav, portfolio, submissions  # noqa: E402,F401
