"""The signed-in start page (the workspaces an account belongs to) and each workspace's overview."""

from __future__ import annotations

from flask import render_template

from app.auth import current_staff, login_required
from app.services.org import achievements, staff
from app.services.org import queries as workspace
from app.wiring import service_env
from app.workspace import bp, current_issuer, workspace_view


@bp.get("/")
@login_required
def dashboard() -> str:
    """The organisations the signed-in account works in."""
    return render_template("workspace/dashboard.html", workspaces=staff.issuers_of(current_staff()))


@bp.get("/<slug>/")
@workspace_view("viewer")
def overview(slug: str) -> str:
    """A workspace at a glance: achievements, recent awards, running jobs."""
    issuer = current_issuer()
    glance = workspace.overview(issuer)
    return render_template(
        "workspace/overview.html",
        issuer=issuer,
        achievements=achievements.list_for(issuer),
        recent=glance.recent,
        total=glance.total,
        jobs=glance.jobs,
        env=service_env(),
    )
