"""Staff accounts across the instance (instance administrators only): who has an account, and
disabling or enabling one. A disabled account cannot sign in, and its sessions end at once."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from app.auth import current_staff, login_required
from app.forms import refusal
from app.services._core.errors import NotFound
from app.services.org import queries as org_queries
from app.services.org import staff
from app.wiring import service_env
from app.workspace import actor, bp

ADMINS_ONLY = "Only instance administrators can manage staff accounts."


def _page(*, error: str | None = None, status: int = 200) -> tuple[str, int]:
    page = render_template(
        "workspace/admin_accounts.html",
        accounts=staff.all_accounts(),
        workspaces=staff.organisations_by_account(),
        me=current_staff(),
        error=error,
    )
    return page, status


@bp.get("/admin/accounts")
@login_required
def admin_accounts() -> tuple[str, int]:
    """Every staff account, with its organisations and whether it may sign in."""
    staff.require_admin(current_staff(), ADMINS_ONLY)
    return _page()


def _set_active(staff_id: int, active: bool) -> Response | tuple[str, int]:
    staff.require_admin(current_staff(), ADMINS_ONLY)
    account = org_queries.staff_account(staff_id)
    if account is None:
        raise NotFound("There is no such staff account.")
    with refusal() as refused:
        staff.set_active(account, active, actor=actor(), env=service_env())
    if refused:
        return _page(error=refused.message, status=400)
    if active:
        flash(f"{account.name}'s account is enabled: they can sign in again.")
    else:
        flash(f"{account.name}'s account is disabled: they are signed out and cannot sign in.")
    return redirect(url_for(".admin_accounts"), 303)


@bp.post("/admin/accounts/<int:staff_id>/disable")
@login_required
def admin_disable_account(staff_id: int) -> Response | tuple[str, int]:
    """Disable an account: every session of it ends, and it cannot sign in."""
    return _set_active(staff_id, False)


@bp.post("/admin/accounts/<int:staff_id>/enable")
@login_required
def admin_enable_account(staff_id: int) -> Response | tuple[str, int]:
    """Enable a disabled account again (it signs in with its old password)."""
    return _set_active(staff_id, True)
