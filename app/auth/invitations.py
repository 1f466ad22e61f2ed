"""Answering an invitation to work in an organisation (``/invite/<token>``).

An address with no account accepts by choosing a password. An address that has an account
accepts or declines signed in as that account: anyone else signed in is refused, and nobody
joins an organisation without saying yes. Every page here is reached by a secret link.
"""

from __future__ import annotations

from flask import flash, g, make_response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.auth import bp
from app.auth.views import TOO_MANY_TRIES, _choose_password, _ip_limit, sign_in
from app.extensions import db, limiter
from app.forms import refusal
from app.models import Issuer, School, StaffAccount, StaffInvitation
from app.security import secret_page
from app.services._core.env import ServiceEnv
from app.services._core.errors import Forbidden, ServiceError
from app.services.mail import emails
from app.services.org import invitations
from app.services.org.audit import Actor
from app.wiring import service_env
from schemas.staff import NewPasswordSchema


def queue_invitation(invitation: StaffInvitation, token: str, *, issuer: Issuer) -> None:
    """Queue the invitation email: the same message whether or not the address has an account
    (the link's page tells them apart). The caller commits, then calls ``deliver_soon``."""
    env = service_env()
    emails.queue_account_link(
        to=invitation.email,
        name=invitation.name,
        link=env.base_url + url_for("auth.accept_invite", token=token),
        purpose="invite",
        hours=invitations.INVITE_HOURS,
        issuer_name=issuer.name,
        env=env,
    )


def queue_leader_invitation(
    invitation: StaffInvitation, token: str, *, issuer: Issuer, school: School | None
) -> None:
    """Queue the invitation to lead a school (or the whole organisation). The caller commits,
    then calls ``deliver_soon``."""
    env = service_env()
    emails.queue_template(
        "lead_invite",
        env,
        to=invitation.email,
        link=env.base_url + url_for("auth.accept_invite", token=token),
        secret=True,
        issuer_id=issuer.id,
        name=invitation.name,
        hours=invitations.INVITE_HOURS,
        issuer_name=issuer.name,
        school_name=school.name if school is not None else None,
    )


def _landing(invitation: StaffInvitation) -> tuple[str, str]:
    """Where an accepted invitation leads, and what to say: the workspace, or (an invitation
    to lead) the leader's dashboard."""
    issuer = invitation.issuer
    if invitation.leader_scope is None:
        return (
            url_for("workspace.overview", slug=issuer.slug),
            f"You now work in {issuer.name} as {invitation.role}.",
        )
    if invitation.leader_scope == "school" and invitation.leader_school_id is not None:
        school = db.session.get(School, invitation.leader_school_id)
        if school is not None:
            return (
                url_for("lead.school", slug=issuer.slug, school_id=school.public_id),
                f"You now lead {school.name}: this is its professional-learning dashboard.",
            )
    return (
        url_for("lead.district", slug=issuer.slug),
        f"You now lead {issuer.name}: this is its professional-learning dashboard.",
    )


def _expired(message: str) -> Response:
    page = render_template("auth/link_expired.html", purpose="invite", message=message)
    return secret_page(page, 400)


def _open(token: str, env: ServiceEnv) -> StaffInvitation | Response:
    """The usable invitation ``token`` belongs to, or the page that says it is not."""
    invitation = invitations.find(token, env)
    if invitation is None:
        return _expired(invitations.UNUSABLE)
    try:
        invitations.check_usable(invitation, env)
    except ServiceError as error:
        return _expired(error.message)
    return invitation


def _page(invitation: StaffInvitation, token: str, *, state: str, status: int = 200) -> Response:
    page = render_template(
        "auth/invitation.html",
        invitation=invitation,
        token=token,
        state=state,
        login=url_for("auth.login", next=url_for("auth.accept_invite", token=token)),
    )
    return secret_page(page, status)


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit(_ip_limit, methods=["POST"], error_message=TOO_MANY_TRIES)
def accept_invite(token: str) -> Response:
    """An invitation link: choose a password (a new address), or accept signed in as the
    account the address belongs to."""
    env = service_env()
    invitation = invitations.find(token, env)
    if invitation is None:
        # Perhaps a link sent before invitations waited for an answer: its account is already
        # a member and has no password yet, and the link still lets it choose one.
        return secret_page(make_response(_choose_password(token, "invite")))
    try:
        invitations.check_usable(invitation, env)
    except ServiceError as error:
        return _expired(error.message)
    if invitations.needs_password(invitation):
        return _with_password(invitation, token, env)
    invitee = _invitee(invitation, token)
    if isinstance(invitee, Response):
        return invitee
    if request.method == "GET":
        return _page(invitation, token, state="answer")
    with refusal(ServiceError) as refused:
        invitations.accept(
            invitation, invitee, actor=Actor(invitee, ip=request.remote_addr), env=env
        )
    if refused:
        return _expired(refused.message)
    where, said = _landing(invitation)
    flash(said)
    return secret_page(redirect(where))


def _invitee(invitation: StaffInvitation, token: str) -> StaffAccount | Response:
    """The signed-in account when it is the one the invitation's address belongs to, else the
    page that says to sign in as it (a POST from anyone else is refused: 403)."""
    signed_in: StaffAccount | None = g.get("staff")
    try:
        return invitations.check_invitee(invitation, signed_in)
    except Forbidden:
        status = 200 if request.method == "GET" and signed_in is None else 403
        state = "sign_in" if signed_in is None else "other"
        return _page(invitation, token, state=state, status=status)
    except ServiceError as error:
        return _expired(error.message)


def _with_password(invitation: StaffInvitation, token: str, env: ServiceEnv) -> Response:
    context = {"purpose": "invite", "account": invitation, "token": token}
    if request.method == "GET":
        return secret_page(render_template("auth/set_password.html", errors={}, **context))
    with refusal(ServiceError) as refused:
        data = NewPasswordSchema().load(request.form)
        account = invitations.accept_with_password(
            invitation, data["password"], ip=request.remote_addr, env=env
        )
    if refused.invalid is not None or refused.field == "password":
        page = render_template("auth/set_password.html", errors=refused.errors(), **context)
        return secret_page(page, 400)
    if refused:
        return _expired(refused.message)
    sign_in(account)
    where, said = _landing(invitation)
    flash(f"Welcome to Cairn. Your password is set. {said}")
    return secret_page(redirect(where))


@bp.post("/invite/<token>/decline")
@limiter.limit(_ip_limit, error_message=TOO_MANY_TRIES)
def decline_invite(token: str) -> Response:
    """Say no to an invitation (signed in as its account, when the address has one)."""
    env = service_env()
    found = _open(token, env)
    if isinstance(found, Response):
        return found
    if invitations.needs_password(found):
        actor = Actor(label=found.email, ip=request.remote_addr)
    else:
        invitee = _invitee(found, token)
        if isinstance(invitee, Response):
            return invitee
        actor = Actor(invitee, ip=request.remote_addr)
    with refusal(ServiceError) as refused:
        invitations.decline(found, actor=actor, env=env)
    if refused:  # answered or withdrawn a moment ago
        return _expired(refused.message)
    return _page(found, token, state="declined")
