"""The schools page (owners manage, editors read): schools, each school's roster by address
with job roles (pasted or a CSV upload), and the leaders of a school or the whole organisation
(appointed at once when the address has a staff account, else invited to lead)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from app.auth.invitations import queue_leader_invitation
from app.extensions import db
from app.forms import Confirmation, confirm_page, confirmed, refusal
from app.models import Leader, School
from app.services._core.errors import Invalid
from app.services._core.spreadsheets import safe_row
from app.services.mail import emails
from app.services.org import invitations, schools
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from schemas.errors import flat_errors
from schemas.leaders import AppointLeaderSchema, SchoolSchema


def _page(
    *,
    status: int = 200,
    errors: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
) -> ResponseReturnValue:
    issuer = current_issuer()
    listed = schools.list_for(issuer)
    page = render_template(
        "workspace/schools.html",
        issuer=issuer,
        schools=listed,
        counts=schools.member_counts(issuer),
        leaders=schools.leaders_of(issuer),
        invited=invitations.pending(issuer, leading=True),
        names={s.id: s.name for s in listed},
        now=service_env().now,
        errors=errors or {},
        form=form or {},
    )
    return page, status


@bp.get("/<slug>/schools")
@workspace_view("editor")
def schools_page(slug: str) -> ResponseReturnValue:
    """The organisation's schools and leaders, with the owners' forms."""
    return _page()


@bp.post("/<slug>/schools")
@workspace_view("owner")
def add_school(slug: str) -> ResponseReturnValue:
    """Add a school."""
    form = {"name": request.form.get("name", "")[:200]}
    with refusal() as refused:
        data = SchoolSchema().load(request.form)
        school = schools.create(current_issuer(), data["name"], actor=actor(), env=service_env())
    if refused:
        return _page(status=400, errors={"name": refused.message}, form=form)
    flash(f"{school.name} is added. Set its roster next.")
    return redirect(url_for(".school_page", slug=slug, school_id=school.public_id))


def _school_page(
    school: School,
    *,
    status: int = 200,
    errors: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
) -> ResponseReturnValue:
    issuer = current_issuer()
    page = render_template(
        "workspace/school.html",
        issuer=issuer,
        school=school,
        roster=schools.roster(school),
        leaders=[a for a in schools.leaders_of(issuer) if a.school_id == school.id],
        errors=errors or {},
        form=form or {},
    )
    return page, status


@bp.get("/<slug>/schools/<school_id>")
@workspace_view("editor")
def school_page(slug: str, school_id: str) -> ResponseReturnValue:
    """One school: its roster (address and job role), its leaders, and the owners' forms."""
    return _school_page(schools.get(current_issuer(), school_id))


@bp.post("/<slug>/schools/<school_id>/rename")
@workspace_view("owner")
def rename_school(slug: str, school_id: str) -> ResponseReturnValue:
    """Rename a school."""
    school = schools.get(current_issuer(), school_id)
    form = {"name": request.form.get("name", "")[:200]}
    with refusal() as refused:
        data = SchoolSchema().load(request.form)
        schools.rename(school, data["name"], actor=actor(), env=service_env())
    if refused:
        return _school_page(school, status=400, errors={"name": refused.message}, form=form)
    flash(f"The school is now called {school.name}.")
    return redirect(url_for(".school_page", slug=slug, school_id=school.public_id))


@bp.post("/<slug>/schools/<school_id>/remove")
@workspace_view("owner")
def remove_school(slug: str, school_id: str) -> ResponseReturnValue:
    """Remove a school (asks first)."""
    issuer = current_issuer()
    school = schools.get(issuer, school_id)
    if not confirmed():
        on_roster = f"{len(schools.members(school)):,}"
        return confirm_page(
            Confirmation(
                title=f"Remove {school.name}?",
                undone=(
                    "Its roster and its leaders' appointments go, and pending invitations to "
                    "lead it are withdrawn. Educators, their enrolments and credentials stay; "
                    "the dashboards no longer count them under this school."
                ),
                action=url_for(".remove_school", slug=slug, school_id=school.public_id),
                button="Remove the school",
                cancel=url_for(".school_page", slug=slug, school_id=school.public_id),
                facts=(("School", school.name), ("On its roster", on_roster)),
            )
        )
    name = school.name
    schools.remove(school, actor=actor(), env=service_env())
    flash(f"{name} is removed.")
    return redirect(url_for(".schools_page", slug=slug))


@bp.post("/<slug>/schools/<school_id>/roster")
@workspace_view("owner")
def set_roster(slug: str, school_id: str) -> ResponseReturnValue:
    """Set a school's roster from pasted addresses (each may be followed by its job role) or
    an uploaded CSV file (an email column, optionally a role column)."""
    school = schools.get(current_issuer(), school_id)
    upload = request.files.get("roster")
    pasted = request.form.get("emails", "")
    form = {"emails": pasted[:100_000]}
    with refusal() as refused:
        if upload is not None and upload.filename:
            found = schools.parse_roster_csv(upload.read(schools.ROSTER_BYTES + 1))
        elif pasted.strip():
            found = schools.parse_roster(pasted)
        elif request.form.get("clear") == "1":
            found = {}
        else:
            raise Invalid("Paste addresses or choose a CSV file.", "emails")
        change = schools.set_members(
            school, list(found), roles=found, actor=actor(), env=service_env()
        )
    if refused:
        field = "roster" if refused.field == "roster" else "emails"
        return _school_page(school, status=400, errors={field: refused.message}, form=form)
    flash(
        f"The roster of {school.name} is set: {change.added} added, {change.moved} moved here "
        f"from another school, {change.removed} removed."
    )
    return redirect(url_for(".school_page", slug=slug, school_id=school.public_id))


@bp.get("/<slug>/schools/<school_id>/roster.csv")
@workspace_view("editor")
def roster_csv(slug: str, school_id: str) -> Response:
    """A school's roster as CSV (the upload's own format: email, role)."""
    school = schools.get(current_issuer(), school_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("email", "role"))
    for member in schools.roster(school):
        writer.writerow(safe_row((member.email, member.role or "")))
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="roster.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<slug>/leaders")
@workspace_view("owner")
def appoint_leader(slug: str) -> ResponseReturnValue:
    """Appoint a leader by address: an address with a staff account leads at once; any other
    is invited to lead (no workspace role either way)."""
    issuer = current_issuer()
    form = {key: request.form.get(key, "")[:320] for key in ("email", "name", "school")}
    try:
        data = AppointLeaderSchema().load(request.form)
    except ValidationError as error:
        return _page(status=400, errors=flat_errors(error, depth=1, first=True), form=form)
    with refusal() as refused:
        school = schools.get(issuer, data["school"]) if data["school"] else None
        outcome = invitations.invite_leader(
            issuer,
            email=data["email"],
            name=data["name"],
            school=school,
            actor=actor(),
            env=service_env(),
        )
        if not isinstance(outcome, Leader):
            invitation, token = outcome
            queue_leader_invitation(invitation, token, issuer=issuer, school=school)
    if refused:
        field = refused.field if refused.field in ("email", "name", "school") else "email"
        return _page(status=refused.status, errors={field: refused.message}, form=form)
    where = school.name if school is not None else f"the whole of {issuer.name}"
    if isinstance(outcome, Leader):
        flash(f"{outcome.staff.name} ({outcome.staff.email}) now leads {where}.")
    else:
        db.session.commit()
        emails.deliver_soon(service_env())
        flash(
            f"{outcome[0].email} has no Cairn account yet: they are invited to lead {where}, and "
            "lead it once they accept and choose a password."
        )
    return redirect(url_for(".schools_page", slug=slug) + "#leaders")


@bp.post("/<slug>/leaders/<int:leader_id>/dismiss")
@workspace_view("owner")
def dismiss_leader(slug: str, leader_id: int) -> ResponseReturnValue:
    """End a leader appointment (their account and any workspace role stay)."""
    issuer = current_issuer()
    leader = schools.get_leader(issuer, leader_id)
    where = leader.school.name if leader.school else f"the whole of {issuer.name}"
    name = leader.staff.name
    schools.dismiss(leader, actor=actor(), env=service_env())
    flash(f"{name} no longer leads {where}.")
    return redirect(url_for(".schools_page", slug=slug) + "#leaders")


@bp.post("/<slug>/leaders/invitations/<int:invitation_id>/revoke")
@workspace_view("owner")
def revoke_leader_invitation(slug: str, invitation_id: int) -> ResponseReturnValue:
    """Withdraw an invitation to lead: its link stops working."""
    invitation = invitations.get_pending(current_issuer(), invitation_id)
    invitations.revoke(invitation, actor=actor(), env=service_env())
    flash(f"The invitation to {invitation.email} is withdrawn.")
    return redirect(url_for(".schools_page", slug=slug) + "#leaders")
