"""Blueprint ``workspace``: the workspace issuer staff use, at ``/workspace/<slug>/…``.

Every view is wrapped in :func:`workspace_view`, which signs the visitor in, loads the issuer
from the URL and checks the visitor's role in it. An issuer the visitor has no role in answers
404, exactly like one that does not exist, so outsiders cannot even learn its slug.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, g

from app.auth import current_staff, login_required
from app.models import Issuer
from app.services.org import issuers, staff
from app.services.org.audit import Actor

bp = Blueprint("workspace", __name__, url_prefix="/workspace")
F = TypeVar("F", bound=Callable[..., Any])


def workspace_view(role: str) -> Callable[[F], F]:
    """Require sign-in and at least ``role`` (owner > editor > awarder > viewer) in the issuer
    named by the ``slug`` URL argument; sets ``g.issuer`` and ``g.role``."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            issuer = issuers.get_by_slug(kwargs["slug"])
            g.role = staff.require_role(current_staff(), issuer, role)
            g.issuer = issuer
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorate


def current_issuer() -> Issuer:
    """The issuer of the current workspace view."""
    issuer: Issuer = g.issuer
    return issuer


def actor() -> Actor:
    """The signed-in staff member as the actor of a service call (with their IP address)."""
    from flask import request

    return Actor(current_staff(), ip=request.remote_addr)


def can(role: str) -> bool:
    """Whether the current workspace role includes ``role`` (for templates)."""
    from app.models import ROLES

    current = g.get("role")
    return current is not None and ROLES.index(current) <= ROLES.index(role)


@bp.app_context_processor
def _template_helpers() -> dict[str, Any]:
    return {"can": can}


# Route modules register their views on ``bp`` when imported.
from app.workspace import (  # noqa: E402,F401
    achievements,
    admin,
    audit,
    award_rules,
    awards,
    badge_designs,
    bulk,
    credentials,
    credit_rules,
    home,
    learning_modules,
    members,
    organisations,
    profile,
    records,
    reports,
    reviews,
    stages,
    statements,
    tokens,
    webhooks,
)
