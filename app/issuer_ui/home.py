"""The signed-in start page (the workspaces an account belongs to) and each workspace's overview."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import func, select

from app.auth import current_staff, login_required
from app.extensions import db
from app.issuer_ui import bp, current_issuer, workspace_view
from app.models import BulkJob, IssuedCredential
from app.services import achievements, staff
from app.wiring import service_env


@bp.get("/")
@login_required
def dashboard() -> str:
    """The organisations the signed-in account works in."""
    return render_template("issuer_ui/dashboard.html", workspaces=staff.issuers_of(current_staff()))


@bp.get("/<slug>/")
@workspace_view("viewer")
def overview(slug: str) -> str:
    """A workspace at a glance: achievements, recent awards, running jobs."""
    issuer = current_issuer()
    recent = list(
        db.session.scalars(
            select(IssuedCredential)
            .where(IssuedCredential.issuer_id == issuer.id)
            .order_by(IssuedCredential.issued_at.desc())
            .limit(10)
        )
    )
    total = db.session.scalar(
        select(func.count())
        .select_from(IssuedCredential)
        .where(IssuedCredential.issuer_id == issuer.id)
    )
    jobs = list(
        db.session.scalars(
            select(BulkJob)
            .where(BulkJob.issuer_id == issuer.id, BulkJob.state.in_(("queued", "running")))
            .order_by(BulkJob.created_at.desc())
        )
    )
    return render_template(
        "issuer_ui/overview.html",
        issuer=issuer,
        achievements=achievements.list_for(issuer),
        recent=recent,
        total=total or 0,
        jobs=jobs,
        env=service_env(),
    )
