"""A workspace's staff (owners only): who has which role, invitations, role changes, removal."""

from __future__ import annotations

from collections.abc import Mapping

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from app.auth import current_staff
from app.auth.views import invitation_link
from app.extensions import db
from app.issuer_ui import actor, bp, current_issuer, workspace_view
from app.models import ROLES, Issuer, StaffAccount
from app.services import emails, staff
from app.services.errors import NotFound, ServiceError
from app.wiring import service_env
from schemas.fields import first_errors
from schemas.staff import InviteSchema, RoleSchema

#: What each role may do, shown beside the role choices (each includes those below it).
ROLE_DESCRIPTIONS = {
    "owner": "Everything, including the organisation's profile, signing keys and staff.",
    "editor": "Creates and edits achievements, and everything an awarder can do.",
    "awarder": "Awards credentials (one at a time or in bulk), revokes and suspends them.",
    "viewer": "Read-only: achievements, credentials, reports and the audit log.",
}


def _page(
    *,
    status: int = 200,
    errors: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
) -> ResponseReturnValue:
    issuer = current_issuer()
    page = render_template(
        "issuer_ui/members.html",
        issuer=issuer,
        members=staff.members(issuer),
        roles=ROLES,
        descriptions=ROLE_DESCRIPTIONS,
        errors=errors or {},
        form=form or {},
        me=current_staff(),
    )
    return page, status


def _member(issuer: Issuer, staff_id: int) -> tuple[StaffAccount, str]:
    account = db.session.get(StaffAccount, staff_id)
    role = staff.role_of(account, issuer) if account is not None else None
    if account is None or role is None:
        raise NotFound("There is no such member in this organisation.")
    return account, role


@bp.get("/<slug>/members")
@workspace_view("owner")
def members(slug: str) -> ResponseReturnValue:
    """The staff list, with the invitation form."""
    return _page()


@bp.post("/<slug>/members/invite")
@workspace_view("owner")
def invite_member(slug: str) -> ResponseReturnValue:
    """Invite someone: a new account gets a link to choose a password; an existing one is
    given the role and told by email."""
    form = {key: request.form.get(key, "")[:320] for key in ("email", "name", "role")}
    try:
        data = InviteSchema().load(request.form)
    except ValidationError as error:
        return _page(status=400, errors=first_errors(error), form=form)
    issuer = current_issuer()
    env = service_env()
    try:
        account = _account_for(data["email"])
        if account is None:
            account = staff.create_account(
                email=data["email"], name=data["name"], password=None, actor=actor(), env=env
            )
            staff.set_role(issuer, account, data["role"], actor=actor(), env=env)
            invitation_link(account, issuer_name=issuer.name)
            message = f"Invitation sent to {account.email}."
        else:
            current = staff.role_of(account, issuer)
            if current is not None and account.password_hash is not None:
                error_text = (
                    f"{account.email} is already a member ({current}). "
                    "Change their role in the list instead."
                )
                return _page(status=400, errors={"email": error_text}, form=form)
            if current != data["role"]:
                staff.set_role(issuer, account, data["role"], actor=actor(), env=env)
            if account.password_hash is None:
                # Invited before but never accepted: the earlier link may have expired.
                invitation_link(account, issuer_name=issuer.name)
                message = f"Invitation sent to {account.email} again."
            else:
                _queue_role_notice(account, issuer, data["role"])
                message = f"{account.name} already had a Cairn account and is now {data['role']}."
    except ServiceError as error:
        db.session.rollback()
        return _page(status=400, errors={error.field or "_schema": error.message}, form=form)
    db.session.commit()
    emails.deliver_soon()
    flash(message)
    return redirect(url_for("issuer_ui.members", slug=slug))


def _account_for(email: str) -> StaffAccount | None:
    try:
        return staff.get_by_email(email)
    except NotFound:
        return None


def _queue_role_notice(account: StaffAccount, issuer: Issuer, role: str) -> None:
    # Plain text on purpose: the account link templates talk about choosing a password and an
    # expiring link, neither of which applies to someone who already signs in.
    env = service_env()
    text = (
        f"Hello {account.name},\n\n"
        f"{current_staff().name} has added you to {issuer.name} in Cairn as {role}: "
        f"{ROLE_DESCRIPTIONS[role]}\n\n"
        f"Sign in with your usual password: {env.base_url}{url_for('auth.login')}\n"
    )
    emails.queue(
        to=account.email,
        subject=f"You now work in {issuer.name} on Cairn",
        text=text,
        html=None,
        kind="invite",
        now=env.now,
        issuer_id=issuer.id,
    )


@bp.post("/<slug>/members/<int:staff_id>/role")
@workspace_view("owner")
def change_role(slug: str, staff_id: int) -> ResponseReturnValue:
    """Give a member another role (an organisation always keeps at least one owner)."""
    issuer = current_issuer()
    account, current = _member(issuer, staff_id)
    try:
        role = RoleSchema().load(request.form)["role"]
    except ValidationError as error:
        flash(first_errors(error).get("role", "Choose a role."), "error")
        return _page(status=400)
    if role == current:
        flash(f"{account.name} is already {role}.")
        return redirect(url_for("issuer_ui.members", slug=slug))
    try:
        staff.set_role(issuer, account, role, actor=actor(), env=service_env())
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _page(status=error.status)
    flash(f"{account.name} is now {role}.")
    return _after_change(account, slug)


@bp.post("/<slug>/members/<int:staff_id>/remove")
@workspace_view("owner")
def remove_member(slug: str, staff_id: int) -> ResponseReturnValue:
    """Take a member out of the organisation (their account stays, for other workspaces)."""
    issuer = current_issuer()
    account, _ = _member(issuer, staff_id)
    try:
        staff.set_role(issuer, account, None, actor=actor(), env=service_env())
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _page(status=error.status)
    flash(f"{account.name} no longer works in {issuer.name}.")
    return _after_change(account, slug)


def _after_change(account: StaffAccount, slug: str) -> Response:
    # Owners who demote or remove themselves can no longer see this page.
    if account.id == current_staff().id:
        role = staff.role_of(account, current_issuer())
        if role is None:
            return redirect(url_for("issuer_ui.dashboard"))
        if role != "owner":
            return redirect(url_for("issuer_ui.overview", slug=slug))
    return redirect(url_for("issuer_ui.members", slug=slug))
