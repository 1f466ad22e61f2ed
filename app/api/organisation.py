"""The organisation over the API: its profile (read, update), its staff (list, invite, change a
role) and its audit log (list, filter)."""

from __future__ import annotations

from typing import Any

from flask import request

from app.api.core import ANY_SCOPE, actor, bp, current_issuer, idempotent, requires
from app.api.schemas import AuditArgs, AuditPage, InvitationOut, IssuerOut, MemberList, MemberOut
from app.auth.invitations import queue_invitation
from app.extensions import db
from app.models import Issuer, StaffAccount
from app.services._core.errors import NotFound
from app.services.mail import emails
from app.services.org import audit, invitations, issuers, staff
from app.services.org.issuers import IssuerProfileInput
from app.wiring import service_env
from schemas.profile import ProfileSchema
from schemas.staff import InviteSchema, RoleSchema


def issuer_json(issuer: Issuer) -> dict[str, Any]:
    """An organisation's profile as the API shows it."""
    return {
        "slug": issuer.slug,
        "id": issuers.issuer_did(issuer, service_env()),
        "name": issuer.name,
        "url": issuer.url,
        "email": issuer.email,
        "description": issuer.description,
        "proof_format": issuer.proof_format,
    }


@bp.route("/issuers/<slug>", methods=["GET"])
@requires(ANY_SCOPE)
@bp.response(200, IssuerOut)
def read_issuer(slug: str) -> Any:
    """The organisation's profile (any token of the organisation may read it)."""
    return issuer_json(current_issuer())


@bp.route("/issuers/<slug>", methods=["PUT"])
@requires("staff:write")
@bp.arguments(ProfileSchema)
@bp.response(200, IssuerOut)
def update_issuer(data: dict[str, Any], slug: str) -> Any:
    """Change the profile (owners' `staff:write` scope). Credentials already issued keep the
    profile they were signed with. The logo is changed in the workspace."""
    issuer = current_issuer()
    profile = IssuerProfileInput(
        name=data["name"],
        url=data["url"],
        email=data["email"],
        description=data["description"],
        proof_format=data["proof_format"],
    )
    issuers.update_profile(issuer, profile, actor=actor(), env=service_env())
    return issuer_json(issuer)


def _member_json(account: StaffAccount, role: str) -> dict[str, Any]:
    return {"id": account.id, "email": account.email, "name": account.name, "role": role}


@bp.route("/issuers/<slug>/staff", methods=["GET"])
@requires("staff:write")
@bp.response(200, MemberList)
def list_staff(slug: str) -> Any:
    """The organisation's staff and their roles."""
    return {"items": [_member_json(a, r) for a, r in staff.members(current_issuer())]}


@bp.route("/issuers/<slug>/staff/invitations", methods=["POST"])
@requires("staff:write")
@idempotent
@bp.arguments(InviteSchema)
@bp.response(201, InvitationOut)
def invite_staff(data: dict[str, Any], slug: str) -> Any:
    """Invite someone by email with a role; they become staff when they accept. The answer is
    the same whether or not the address has an account (or is staff already)."""
    issuer = current_issuer()
    invited = invitations.invite(issuer, email=data["email"], name=data["name"], role=data["role"],
                                 actor=actor(), env=service_env())  # fmt: skip
    if invited is not None:
        invitation, token = invited
        queue_invitation(invitation, token, issuer=issuer)
    db.session.commit()
    emails.deliver_soon(service_env())
    return {"email": invitations.address(data["email"]), "role": data["role"], "invited": True}, 201


@bp.route("/issuers/<slug>/staff/<int:staff_id>", methods=["PATCH"])
@requires("staff:write")
@bp.arguments(RoleSchema)
@bp.response(200, MemberOut)
def change_role(data: dict[str, Any], slug: str, staff_id: int) -> Any:
    """Give a member another role (an organisation always keeps at least one owner: 409)."""
    issuer = current_issuer()
    found = {a.id: (a, r) for a, r in staff.members(issuer)}.get(staff_id)
    if found is None:
        raise NotFound("There is no such member.")
    account, current = found
    if data["role"] != current:
        staff.set_role(issuer, account, data["role"], actor=actor(), env=service_env())
    return _member_json(account, data["role"])


@bp.route("/issuers/<slug>/audit-events", methods=["GET"])
@requires("audit:read")
@bp.arguments(AuditArgs, location="query", as_kwargs=True)
@bp.response(200, AuditPage)
def list_audit_events(slug: str, limit: int, **filters: Any) -> Any:
    """The organisation's audit log, newest first, filtered by action, subject and time. Pass
    `before=<next_before>` for the next page (a `Link` header says so too)."""
    events = audit.events(
        current_issuer().id,
        limit=limit + 1,
        before_id=filters.get("before"),
        action=filters.get("action"),
        subject_type=filters.get("subject_type"),
        subject_id=filters.get("subject_id"),
        since=filters.get("since"),
        until=filters.get("until"),
    )
    more = len(events) > limit
    events = events[:limit]
    items = [
        {"id": e.id, "created_at": e.created_at, "actor": e.actor, "action": e.action,
         "subject_type": e.subject_type, "subject_id": e.subject_id, "detail": e.detail}
        for e in events
    ]  # fmt: skip
    next_before = events[-1].id if more and events else None
    headers = {}
    if next_before is not None:
        query = {k: v for k, v in request.args.items() if k != "before"}
        query["before"] = str(next_before)
        from urllib.parse import urlencode

        headers["Link"] = f'<{request.base_url}?{urlencode(query)}>; rel="next"'
    return {"items": items, "next_before": next_before}, 200, headers
