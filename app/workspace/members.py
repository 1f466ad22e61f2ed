"""A workspace's staff (owners only): who has which role, invitations (pending ones listed by
address only), role changes, removal."""

from __future__ import annotations

from collections.abc import Mapping

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from app.auth import current_staff
from app.auth.invitations import queue_invitation
from app.extensions import db
from app.forms import Confirmation, Refusal, confirm_page, confirmed, refusal
from app.models import ROLES, Issuer, StaffAccount
from app.services._core.errors import NotFound
from app.services.mail import emails
from app.services.org import invitations, staff
from app.services.org import queries as org_queries
from app.wiring import service_env
from app.workspace import actor, bp, current_issuer, workspace_view
from schemas.errors import flat_errors
from schemas.staff import InviteSchema, RoleSchema

#: What each role may do, shown beside the role choices (each includes those below it).
ROLE_DESCRIPTIONS = {
    "owner": "Everything, including the organisation's profile, signing keys and staff.",
    "editor": "Creates and edits achievements, and everything an awarder can do.",
    "awarder": "Awards credentials (one at a time or in bulk), revokes and suspends them.",
    "viewer": "Read-only: achievements, credentials, reports and the audit log.",
}
#: The one answer to an invitation, whoever the address belongs to.
INVITED = (
    "{email} is invited to {issuer} as {role}, unless they are already a member. They join "
    "when they accept the emailed invitation."
)


def _page(
    *,
    status: int = 200,
    errors: Mapping[str, str] | None = None,
    form: Mapping[str, str] | None = None,
) -> ResponseReturnValue:
    issuer = current_issuer()
    page = render_template(
        "workspace/members.html",
        issuer=issuer,
        members=staff.members(issuer),
        pending=invitations.pending(issuer),
        now=service_env().now,
        roles=ROLES,
        descriptions=ROLE_DESCRIPTIONS,
        errors=errors or {},
        form=form or {},
        me=current_staff(),
    )
    return page, status


def _member(issuer: Issuer, staff_id: int) -> tuple[StaffAccount, str]:
    account = org_queries.staff_account(staff_id)
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
    """Invite someone. The answer is the same for a new address, an address that has an account
    and a member's: it never tells whether an account exists, never shows its name, and adds
    nobody. Everyone who is not a member yet gets an invitation to accept."""
    form = {key: request.form.get(key, "")[:320] for key in ("email", "name", "role")}
    try:
        data = InviteSchema().load(request.form)
    except ValidationError as error:
        return _page(status=400, errors=flat_errors(error, depth=1, first=True), form=form)
    issuer = current_issuer()
    with refusal() as refused:
        invited = invitations.invite(
            issuer, email=data["email"], name=data["name"], role=data["role"], actor=actor(),
            env=service_env(),
        )  # fmt: skip
        if invited is not None:
            invitation, token = invited
            queue_invitation(invitation, token, issuer=issuer)
    if refused:
        return _page(status=400, errors=refused.errors(), form=form)
    db.session.commit()
    emails.deliver_soon(service_env())
    # One text for every case; a member (already listed on this page) is left as they are.
    address = invitations.address(data["email"])
    flash(INVITED.format(email=address, issuer=issuer.name, role=data["role"]))
    return redirect(url_for("workspace.members", slug=slug))


@bp.post("/<slug>/members/invitations/<int:invitation_id>/revoke")
@workspace_view("owner")
def revoke_invitation(slug: str, invitation_id: int) -> ResponseReturnValue:
    """Withdraw a pending invitation: its link stops working."""
    invitation = invitations.get_pending(current_issuer(), invitation_id)
    invitations.revoke(invitation, actor=actor(), env=service_env())
    flash(f"The invitation to {invitation.email} is withdrawn.")
    return redirect(url_for("workspace.members", slug=slug))


@bp.post("/<slug>/members/<int:staff_id>/role")
@workspace_view("owner")
def change_role(slug: str, staff_id: int) -> ResponseReturnValue:
    """Give a member another role (an organisation always keeps at least one owner)."""
    issuer = current_issuer()
    account, current = _member(issuer, staff_id)
    try:
        role = RoleSchema().load(request.form)["role"]
    except ValidationError as error:
        flash(flat_errors(error, depth=1, first=True).get("role", "Choose a role."), "error")
        return _page(status=400)
    if role == current:
        flash(f"{account.name} is already {role}.")
        return redirect(url_for("workspace.members", slug=slug))
    with refusal() as refused:
        staff.set_role(issuer, account, role, actor=actor(), env=service_env())
    if refused:
        return _refused_change(refused)
    flash(f"{account.name} is now {role}.")
    return _after_change(account, slug)


@bp.post("/<slug>/members/<int:staff_id>/remove")
@workspace_view("owner")
def remove_member(slug: str, staff_id: int) -> ResponseReturnValue:
    """Take a member out of the organisation (their account stays, for other workspaces)."""
    issuer = current_issuer()
    account, role = _member(issuer, staff_id)
    if not confirmed():
        return _confirm_removal(issuer, account, role)
    with refusal() as refused:
        staff.set_role(issuer, account, None, actor=actor(), env=service_env())
    if refused:
        return _refused_change(refused)
    flash(f"{account.name} no longer works in {issuer.name}.")
    return _after_change(account, slug)


def _confirm_removal(issuer: Issuer, account: StaffAccount, role: str) -> str:
    """The confirm step of taking someone out of the organisation."""
    yourself = account.id == current_staff().id
    return confirm_page(
        Confirmation(
            title=f"Remove yourself from {issuer.name}?"
            if yourself
            else f"Remove {account.name} from {issuer.name}?",
            warning="You lose access at once." if yourself else "They lose access at once.",
            undone=(
                f"{'You' if yourself else account.name} can no longer open this organisation's "
                "workspace. The account stays, for other organisations, and what was done stays "
                "in the audit log. Only an owner can give access back, with a new invitation."
            ),
            action=url_for(".remove_member", slug=issuer.slug, staff_id=account.id),
            button="Remove from the organisation",
            cancel=url_for(".members", slug=issuer.slug),
            facts=(("Name", account.name), ("Email", account.email), ("Role now", role)),
        )
    )


def _refused_change(refused: Refusal) -> ResponseReturnValue:
    refused.flash()
    return _page(status=refused.status)


def _after_change(account: StaffAccount, slug: str) -> Response:
    # Owners who demote or remove themselves can no longer see this page.
    if account.id == current_staff().id:
        role = staff.role_of(account, current_issuer())
        if role is None:
            return redirect(url_for("workspace.dashboard"))
        if role != "owner":
            return redirect(url_for("workspace.overview", slug=slug))
    return redirect(url_for("workspace.members", slug=slug))
