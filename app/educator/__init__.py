"""Blueprint ``educator``: the educator's side at ``/me`` (backpack, modules, portfolio) and the
``educator_required`` guard its views use.

Educators sign in with emailed single-use links, never passwords; their session lives under
``educator_id``/``educator_session`` (a server-side session, see ``app.auth``) and is separate
from a staff session.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, g

from app.auth import find_session, forget_session, signed_out
from app.models import Educator
from app.services.learning import queries as learning_queries

bp = Blueprint("educator", __name__, url_prefix="/me")
F = TypeVar("F", bound=Callable[..., Any])


@bp.before_app_request
def load_educator() -> None:
    """Put the signed-in educator (or None) on ``g.educator``."""
    row = find_session("educator")
    g.educator = learning_queries.educator(row.account_id) if row is not None else None
    if row is not None and g.educator is None:
        forget_session("educator")


def current_educator() -> Educator:
    """The signed-in educator (only inside ``educator_required`` views)."""
    educator: Educator = g.educator
    return educator


def educator_required(view: F) -> F:
    """Send visitors who are not signed in as an educator to the sign-in page."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("educator") is None:
            return signed_out("educator.sign_in")
        return view(*args, **kwargs)

    return cast(F, wrapped)


# The views, registered on ``bp`` by importing them (last, since they import ``bp``).
from app.educator import (  # noqa: E402,F401
    account,
    assessing,
    auth,
    backpack,
    claim,
    coaching,
    connections,
    hosts,
    learning,
    learning_modules,
    nav,
    plans,
    portfolio,
    records,
    renewal,
    submissions,
    wallets,
)
