"""Invitations to work in an issuer: one answer for every address, and nobody joins without
accepting.

Inviting never tells the owner whether the address already has a Cairn account, never shows
that account's name, and never adds it to the organisation: every address that is not already a
member gets a pending invitation and the same email. Whoever opens the emailed link accepts (or
declines) it: by choosing a password when the address has no account yet, else signed in as
the account the address belongs to. Owners see pending invitations by address only, and revoke
them; they expire after ``INVITE_HOURS``. Only each token's SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.models import ROLES, Issuer, Leader, School, StaffAccount, StaffInvitation
from app.services._core.addresses import check_email
from app.services._core.env import ServiceEnv
from app.services._core.errors import Forbidden, Invalid, NotFound, ServiceError
from app.services.org import audit, schools, staff
from app.services.org.audit import Actor

#: How long an invitation link works.
INVITE_HOURS = 72
UNUSABLE = "This invitation has expired, was withdrawn or has already been answered."


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def address(email: str) -> str:
    """An address as invitations store it (trimmed, lower-case).

    :raises ServiceError: for something that is not an email address.
    """
    return check_email(email)


def account_for(email: str) -> StaffAccount | None:
    """The account an (already normalised) address belongs to, if any."""
    return db.session.scalar(select(StaffAccount).where(StaffAccount.email == email))


def invite(
    issuer: Issuer, *, email: str, name: str, role: str, actor: Actor, env: ServiceEnv
) -> tuple[StaffInvitation, str] | None:
    """Invite ``email`` with ``role``: the invitation and the token to email, or None when the
    address already belongs to a member (they keep their role; there is nothing to send). A
    pending invitation of the same address is renewed (new token, role, name and expiry), so
    only the newest link works. Not committed.

    :raises ServiceError: for a bad address, name or role.
    """
    normalised = address(email)
    if role not in ROLES:
        raise Invalid(f"Unknown role {role!r}.", "role")
    if not name.strip():
        raise Invalid("Give a name.", "name")
    account = account_for(normalised)
    if account is not None and staff.role_of(account, issuer) is not None:
        return None
    token = secrets.token_urlsafe(32)
    invitation = db.session.scalar(
        select(StaffInvitation).where(
            StaffInvitation.issuer_id == issuer.id,
            StaffInvitation.email == normalised,
            StaffInvitation.leader_scope.is_(None),
            StaffInvitation.accepted_at.is_(None),
            StaffInvitation.declined_at.is_(None),
            StaffInvitation.revoked_at.is_(None),
        )
    )
    if invitation is None:
        invitation = StaffInvitation(issuer_id=issuer.id, email=normalised)
        db.session.add(invitation)
    invitation.name = name.strip()
    invitation.role = role
    _renew(invitation, token, actor=actor, env=env)
    return invitation, token


def _renew(invitation: StaffInvitation, token: str, *, actor: Actor, env: ServiceEnv) -> None:
    """Give an invitation a new token and expiry; audited."""
    # Reading the actor's id may load the account: no half-filled invitation is flushed first.
    with db.session.no_autoflush:
        invitation.token_hash = _hash(token)
        invitation.invited_by_id = actor.staff_id
        invitation.created_at = env.now
        invitation.expires_at = env.now + timedelta(hours=INVITE_HOURS)
    db.session.flush()
    _record("invite", invitation, actor=actor, env=env)


def invite_leader(
    issuer: Issuer,
    *,
    email: str,
    name: str,
    school: School | None,
    actor: Actor,
    env: ServiceEnv,
) -> Leader | tuple[StaffInvitation, str]:
    """Make the owner of ``email`` a leader of ``school`` (``None``: the whole organisation).
    An address that has a staff account is appointed at once (the leader appointment); any
    other gets an invitation to lead (and the token to email), which appoints on acceptance
    and gives no workspace role. An open invitation of the same address to lead the same
    place is renewed. An appointment is committed; an invitation is not (the caller queues its
    email, then commits).

    :raises ServiceError: for a bad address or name, a school of another organisation, or an
        account that already leads there (``Conflict``).
    """
    normalised = address(email)
    if school is not None and school.issuer_id != issuer.id:
        raise Invalid("That school is not this organisation's.", "school")
    account = account_for(normalised)
    if account is not None:
        return schools.appoint(issuer, account, school, actor=actor, env=env)
    if not name.strip():
        raise Invalid("Give a name for their new account.", "name")
    scope = "school" if school is not None else "organisation"
    query = select(StaffInvitation).where(
        StaffInvitation.issuer_id == issuer.id,
        StaffInvitation.email == normalised,
        StaffInvitation.leader_scope == scope,
        StaffInvitation.accepted_at.is_(None),
        StaffInvitation.declined_at.is_(None),
        StaffInvitation.revoked_at.is_(None),
    )
    if school is not None:
        query = query.where(StaffInvitation.leader_school_id == school.id)
    invitation = db.session.scalar(query)
    if invitation is None:
        invitation = StaffInvitation(issuer_id=issuer.id, email=normalised, role=None,
                                     leader_scope=scope,
                                     leader_school_id=school.id if school else None)  # fmt: skip
        db.session.add(invitation)
    invitation.name = name.strip()[:200]
    token = secrets.token_urlsafe(32)
    _renew(invitation, token, actor=actor, env=env)
    return invitation, token


def leads_where(invitation: StaffInvitation) -> School | None:
    """The school an invitation to lead is for (None: the whole organisation).

    :raises ServiceError: when its school has been removed.
    """
    if invitation.leader_scope != "school":
        return None
    school = db.session.get(School, invitation.leader_school_id or 0)
    if school is None:
        raise Invalid(UNUSABLE)
    return school


def _record(what: str, invitation: StaffInvitation, *, actor: Actor, env: ServiceEnv) -> None:
    """Audit one step of an invitation (``invite``, ``accept``, ``decline``, ``revoke``)."""
    audit.record(
        f"staff.invitation.{what}",
        actor=actor,
        now=env.now,
        issuer_id=invitation.issuer_id,
        subject_type="invitation",
        subject_id=invitation.id,
        detail={"email": invitation.email, "role": invitation.role}
        | ({"leads": invitation.leader_scope, "school": invitation.leader_school_id}
           if invitation.leader_scope else {}),
    )  # fmt: skip


def _close(
    invitation: StaffInvitation, env: ServiceEnv, *, expired_too: bool = False, **values: object
) -> None:
    """Mark an open, unexpired invitation answered or withdrawn, in one conditional UPDATE, so
    of two answers sent at once (a double click, two tabs) only the first counts.

    :raises ServiceError: when it was no longer open.
    """
    conditions = [
        StaffInvitation.id == invitation.id,
        StaffInvitation.accepted_at.is_(None),
        StaffInvitation.declined_at.is_(None),
        StaffInvitation.revoked_at.is_(None),
    ]
    if not expired_too:
        conditions.append(StaffInvitation.expires_at > env.now)
    closed = db.session.execute(
        update(StaffInvitation)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )
    if getattr(closed, "rowcount", 0) != 1:
        raise Invalid(UNUSABLE)


def pending(issuer: Issuer, *, leading: bool = False) -> list[StaffInvitation]:
    """An issuer's invitations still waiting for an answer (expired ones included), newest
    first: invitations to work in it, or with ``leading`` invitations to lead."""
    kind = (
        StaffInvitation.leader_scope.is_not(None)
        if leading
        else StaffInvitation.leader_scope.is_(None)
    )
    return list(
        db.session.scalars(
            select(StaffInvitation)
            .where(
                StaffInvitation.issuer_id == issuer.id,
                kind,
                StaffInvitation.accepted_at.is_(None),
                StaffInvitation.declined_at.is_(None),
                StaffInvitation.revoked_at.is_(None),
            )
            .order_by(StaffInvitation.created_at.desc(), StaffInvitation.id.desc())
        )
    )


def find(token: str, env: ServiceEnv) -> StaffInvitation | None:
    """The invitation a token belongs to, usable or not (None for an unknown token)."""
    if not token or len(token) > 200:
        return None
    return db.session.scalar(
        select(StaffInvitation).where(StaffInvitation.token_hash == _hash(token))
    )


def check_usable(invitation: StaffInvitation, env: ServiceEnv) -> None:
    """:raises ServiceError: unless the invitation is open and unexpired."""
    if not invitation.is_open or invitation.expires_at <= env.now:
        raise Invalid(UNUSABLE)


def needs_password(invitation: StaffInvitation) -> bool:
    """Whether accepting means choosing a password: the address has no account, or one that
    never had a password (invited before invitations waited for an answer)."""
    account = account_for(invitation.email)
    return account is None or account.password_hash is None


def check_invitee(invitation: StaffInvitation, account: StaffAccount | None) -> StaffAccount:
    """The account that may answer an invitation to an address that has one: it must be the
    signed-in account.

    :raises Forbidden: when someone else (or nobody) is signed in.
    :raises ServiceError: for a deactivated account.
    """
    invitee = account_for(invitation.email)
    if invitee is None or account is None or account.id != invitee.id:
        raise Forbidden("This invitation was sent to another address.")
    if not invitee.is_active:
        raise Invalid("This account has been deactivated.")
    return invitee


def accept(
    invitation: StaffInvitation, account: StaffAccount, *, actor: Actor, env: ServiceEnv
) -> None:
    """``account`` (the invitee's) joins the issuer with the invited role, or (an invitation to
    lead) becomes a leader of its school or the whole organisation; committed. An account
    that became a member (or that leader) in the meantime keeps what it has.

    :raises ServiceError: when the invitation is no longer usable (its school removed too).
    :raises Forbidden: when ``account`` is not the invited address's.
    """
    if account.email != invitation.email:
        raise Forbidden("This invitation was sent to another address.")
    school = leads_where(invitation)
    _close(invitation, env, accepted_at=env.now, staff_id=account.id)
    _record("accept", invitation, actor=actor, env=env)
    if invitation.leader_scope is not None:
        if not schools.leads(account, invitation.issuer, school):
            schools.add_leader(invitation.issuer, account, school, actor=actor, env=env)
    elif staff.role_of(account, invitation.issuer) is None:
        staff.set_role(invitation.issuer, account, invitation.role, actor=actor, env=env)
    db.session.commit()


def accept_with_password(
    invitation: StaffInvitation, password: str, *, ip: str | None, env: ServiceEnv
) -> StaffAccount:
    """Accept an invitation to an address with no password yet: create its account (or give
    the passwordless one a password) and join; committed.

    :raises ServiceError: for a weak password, or an invitation no longer usable.
    """
    check_usable(invitation, env)
    staff.check_password_strength(password)
    account = account_for(invitation.email)
    if account is not None and account.password_hash is not None:
        raise Forbidden("This address already has an account: sign in to accept.")
    if account is None:
        account = staff.create_account(
            email=invitation.email,
            name=invitation.name,
            password=password,
            actor=Actor(label=invitation.email, ip=ip),
            env=env,
        )
    else:
        if not account.is_active:
            raise Invalid("This account has been deactivated.")
        staff.set_password(account, password, actor=Actor(account, ip=ip), env=env)
    accept(invitation, account, actor=Actor(account, ip=ip), env=env)
    return account


def decline(invitation: StaffInvitation, *, actor: Actor, env: ServiceEnv) -> None:
    """Say no: the invitation stops working and nobody joins; committed.

    :raises ServiceError: when the invitation is no longer usable.
    """
    _close(invitation, env, declined_at=env.now)
    _record("decline", invitation, actor=actor, env=env)
    db.session.commit()


def get_pending(issuer: Issuer, invitation_id: int) -> StaffInvitation:
    """One of the issuer's pending invitations.

    :raises NotFound: for another issuer's, an answered or withdrawn one, or none.
    """
    invitation = db.session.get(StaffInvitation, invitation_id)
    if invitation is None or invitation.issuer_id != issuer.id or not invitation.is_open:
        raise NotFound("There is no such pending invitation.")
    return invitation


def revoke(invitation: StaffInvitation, *, actor: Actor, env: ServiceEnv) -> None:
    """Withdraw a pending invitation (its link stops working); committed.

    :raises NotFound: when it was answered or withdrawn in the meantime.
    """
    try:
        _close(invitation, env, expired_too=True, revoked_at=env.now)
    except ServiceError:
        raise NotFound("There is no such pending invitation.") from None
    _record("revoke", invitation, actor=actor, env=env)
    db.session.commit()
