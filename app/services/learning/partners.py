"""Learning partners: an educator invites a colleague by email to confirm their module's
checklist (which activities are complete, never the answers or files) through a secret link;
staff may withdraw an invitation; the partner confirms once, and the educator may thank them."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.models import Educator, Enrolment, Module
from app.services._core import addresses
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Gone, Invalid, NotFound, required
from app.services._core.formatting import format_day
from app.services._core.transaction import roll_back_refused
from app.services.learning import authoring, enrolments, recognition
from app.services.learning.progress import Progress, progress
from app.services.mail import emails
from app.services.org.audit import Actor

#: The longest thank-you note an educator may send their partner.
MAX_NOTE = 2000
#: What ``secrets.token_urlsafe(32)`` makes; anything else cannot name an invitation.
PARTNER_TOKEN = re.compile(r"[A-Za-z0-9_-]{30,100}")
#: The audit actor of a confirmation: partners have no account, only the secret link.
PARTNER_ACTOR = Actor(label="learning partner")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def partner_link(token: str, env: ServiceEnv) -> str:
    """The secret page a partner confirms the checklist on."""
    return f"{env.base_url}/partner/{token}"


def invite_partner(
    enrolment: Enrolment, educator: Educator, name: str, email: str, env: ServiceEnv
) -> None:
    """Ask a colleague, by email, to be the educator's learning partner: they get a secret link
    to a page showing the module's checklist (which activities are complete, never the
    answers or files) and confirm it. Inviting again replaces the earlier invitation, whose
    link stops working.

    :raises Conflict: when the partner has already confirmed, the work was submitted, or the
        educator has no name yet.
    :raises ServiceError: for a missing name, a bad address, or the educator's own address.
    """
    enrolments.require_own(enrolment, educator)
    enrolments.require_editable(enrolment)
    if enrolment.partner_confirmed_at is not None:
        raise Conflict("Your learning partner has already confirmed your checklist.")
    if not educator.name:  # no name is made from an address, and the partner must know who asks
        raise Conflict("Confirm your name first (in your account): your partner is told who asks.")
    name = " ".join(name.split())
    if not name or len(name) > authoring.MAX_TITLE:
        raise Invalid(
            f"Give your partner's name (at most {authoring.MAX_TITLE} characters).", "name"
        )
    address = addresses.check_email(email)
    if address in {e.email for e in educator.emails}:
        raise Invalid(
            "Invite someone else: a learning partner confirms your work for you.", "email"
        )
    module = enrolment.module
    issuer = authoring.issuer_of(module)
    token = secrets.token_urlsafe(32)
    days = env.settings.partner_link_days
    enrolment.partner_name = name
    enrolment.partner_email = address
    enrolment.partner_token_hash = _hash(token)
    enrolment.partner_invited_at = env.now
    enrolment.partner_expires_at = env.now + timedelta(days=days)
    enrolment.partner_revoked_at = None
    emails.queue_template(
        "partner_invite",
        env,
        to=address,
        link=partner_link(token, env),
        secret=True,
        issuer_id=module.issuer_id,
        partner_name=name,
        educator_name=educator.name,
        module_title=module.title,
        issuer_name=issuer.name,
        days=days,
    )
    enrolments.record_by_educator("module.partner_invite", module, educator, env)
    db.session.commit()
    emails.deliver_soon(env)


@dataclass(frozen=True)
class PartnerView:
    """What a learning partner may see: the module, whose checklist it is, and the checklist."""

    enrolment: Enrolment
    module: Module
    issuer_name: str
    educator_name: str
    progress: Progress


def partner_view(token: str, env: ServiceEnv) -> PartnerView:
    """The checklist a partner's secret link shows.

    :raises NotFound: for an unknown (or replaced) link.
    :raises Gone: for an expired or withdrawn one (the message names who can invite again).
    """
    enrolment = None
    if PARTNER_TOKEN.fullmatch(token):
        enrolment = db.session.scalar(
            select(Enrolment).where(Enrolment.partner_token_hash == _hash(token))
        )
    if enrolment is None:
        raise NotFound(
            "This link is not (or no longer) a learning partner's invitation: it may have been "
            "replaced by a newer one. Ask the educator who invited you to invite you again."
        )
    educator = required(db.session.get(Educator, enrolment.educator_id), "No such educator.")
    again = (
        f"If {educator.name} still wants you as their learning partner, ask them to invite you "
        "again."
    )
    if enrolment.partner_revoked_at is not None:
        withdrawn = format_day(enrolment.partner_revoked_at, env.settings.locale, width="long")
        raise Gone(f"This invitation was withdrawn on {withdrawn}. {again}")
    if enrolment.partner_expires_at is not None and enrolment.partner_expires_at <= env.now:
        expired = format_day(enrolment.partner_expires_at, env.settings.locale, width="long")
        raise Gone(
            f"This invitation expired on {expired} (invitations "
            f"work for {env.settings.partner_link_days} days). {again}"
        )
    module = enrolment.module
    issuer = authoring.issuer_of(module)
    return PartnerView(enrolment, module, issuer.name, educator.name, progress(enrolment))


def revoke_partner(enrolment: Enrolment, *, actor: Actor, env: ServiceEnv) -> None:
    """Withdraw a learning partner's invitation: its link stops working at once (the page says
    it was withdrawn). The educator may invite someone (or the same person) again.

    :raises Conflict: when there is no outstanding invitation, or it was already confirmed.
    """
    if enrolment.partner_confirmed_at is not None:
        raise Conflict("The learning partner has already confirmed the checklist.")
    if partner_invitation_state(enrolment, env) != "invited":
        raise Conflict("There is no outstanding learning partner invitation to withdraw.")
    enrolment.partner_revoked_at = env.now
    authoring.record(
        "module.partner_revoke", enrolment.module, actor, env, educator=enrolment.educator_id
    )
    db.session.commit()


def partner_invitation_state(enrolment: Enrolment, env: ServiceEnv) -> str | None:
    """``confirmed``, ``invited`` (the link works), ``expired``, ``withdrawn``, or ``None``."""
    if enrolment.partner_confirmed_at is not None:
        return "confirmed"
    if enrolment.partner_token_hash is None:
        return None
    if enrolment.partner_revoked_at is not None:
        return "withdrawn"
    if enrolment.partner_expires_at is not None and enrolment.partner_expires_at <= env.now:
        return "expired"
    return "invited"


def _check_confirmable(view: PartnerView) -> None:
    enrolment = view.enrolment
    if enrolment.partner_confirmed_at is not None:
        raise Conflict("You have already confirmed this checklist. Thank you!")
    if enrolment.state not in enrolments.EDITABLE_STATES:
        raise Conflict("This module has already been completed.")
    if not view.progress.all_answered:
        left = view.progress.total - view.progress.answered
        raise Conflict(
            f"{view.educator_name} has not completed every activity yet ({left} reflection "
            f"prompt{'' if left == 1 else 's'} still to answer). Come back when they tell you "
            "they have finished."
        )


def _claim_confirmation(enrolment: Enrolment, token: str, env: ServiceEnv) -> None:
    # Only if nobody confirmed (or replaced the invitation) meanwhile.
    claimed = db.session.execute(
        update(Enrolment)
        .where(
            Enrolment.id == enrolment.id,
            Enrolment.partner_token_hash == _hash(token),
            Enrolment.partner_confirmed_at.is_(None),
            # Not withdrawn meanwhile (an expiry passing meanwhile is a matter of seconds).
            Enrolment.partner_revoked_at.is_(None),
        )
        .values(partner_confirmed_at=env.now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        roll_back_refused()
        raise Conflict("This checklist has already been confirmed.")


def confirm_partner(token: str, env: ServiceEnv) -> PartnerView:
    """Record the partner's confirmation that the educator completed the checklist; it counts
    once, and the educator is told by email. A learning-partner achievement whose count the
    partner reaches with it is awarded to them then (``recognition``).

    :raises NotFound: for an unknown (or replaced) link.
    :raises Conflict: when already confirmed, or the checklist is not complete yet.
    """
    view = partner_view(token, env)
    enrolment = view.enrolment
    _check_confirmable(view)
    _claim_confirmation(enrolment, token, env)
    educator = required(db.session.get(Educator, enrolment.educator_id), "No such educator.")
    address = enrolments.mail_address(educator)
    if address:
        emails.queue_template(
            "partner_confirmed",
            env,
            to=address,
            link=f"{env.base_url}/me/modules/{view.module.public_id}",
            secret=False,
            issuer_id=view.module.issuer_id,
            educator_name=educator.name,
            partner_name=enrolment.partner_name,
            module_title=view.module.title,
        )
    authoring.record(
        "module.partner_confirm", view.module, PARTNER_ACTOR, env, educator=enrolment.educator_id
    )
    db.session.commit()
    emails.deliver_soon(env)
    db.session.refresh(enrolment)
    recognition.after_partner_confirmation(enrolment, env)
    return view


def thank_partner(enrolment: Enrolment, educator: Educator, note: str, env: ServiceEnv) -> None:
    """Recognise the learning partner: email them the educator's thank-you note, and keep it on
    the enrolment. Once.

    :raises Conflict: before the partner confirmed, or when already thanked.
    :raises ServiceError: for an empty or too long note.
    """
    enrolments.require_own(enrolment, educator)
    if enrolment.partner_confirmed_at is None or not enrolment.partner_email:
        raise Conflict("You can thank your partner once they have confirmed your checklist.")
    if enrolment.partner_thanked_at is not None:
        raise Conflict("You have already thanked your partner.")
    text = note.strip()
    if not text or len(text) > MAX_NOTE:
        raise Invalid(f"Write a short note (at most {MAX_NOTE:,} characters).", "note")
    module = enrolment.module
    issuer = authoring.issuer_of(module)
    emails.queue_template(
        "partner_thanks",
        env,
        to=enrolment.partner_email,
        link=f"{env.base_url}/issuers/{issuer.slug}",
        secret=False,
        issuer_id=module.issuer_id,
        partner_name=enrolment.partner_name,
        educator_name=educator.name,
        module_title=module.title,
        note=text,
        issuer_name=issuer.name,
    )
    enrolment.partner_note = text
    enrolment.partner_thanked_at = env.now
    enrolments.record_by_educator("module.partner_thank", module, educator, env)
    db.session.commit()
    emails.deliver_soon(env)
