"""What the holder is told about a credential: the award email (with its manage link), sent
again on request, and the "expires soon" notice. The award email follows issuing's
:class:`~app.services._core.events.CredentialStored` event."""

from __future__ import annotations

from app.extensions import db
from app.models import AchievementVersion, IssuedCredential, Issuer
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, required
from app.services._core.events import CredentialStored
from app.services._core.formatting import utc
from app.services.awarding import issuing
from app.services.delivery import visibility
from app.services.mail import emails
from app.services.org import audit, issuers
from app.services.org.audit import Actor


def on_credential_stored(event: CredentialStored) -> None:
    """Queue the award email with the new credential, in its transaction, unless the award
    said not to tell the recipient."""
    if event.notify_recipient:
        queue_award(event.credential, event.issuer, event.version, event.env)


def _credential_url(credential: IssuedCredential, env: ServiceEnv) -> str:
    return issuing.credential_url(credential.id, env)


def queue_award(
    credential: IssuedCredential, issuer: Issuer, version: AchievementVersion, env: ServiceEnv
) -> None:
    """Tell a recipient about a new credential: the link is the credential's public URL, a
    second, secret link lets the earner make it private or download it, and (until it is
    claimed) a third signs them in to claim it into their backpack."""
    link = _credential_url(credential, env)
    manage = visibility.issue_manage_link(credential, env)
    # Until it is claimed, the email invites the recipient to accept it into their backpack.
    claim = None if credential.claimed_at else visibility.issue_claim_link(credential, env)
    image_url = None
    if version.image is not None and version.image.media_type == "image/png":
        # Many mail clients do not show SVG, so only a PNG badge is shown inline.
        image_url = issuers.image_url(version.image, env)
    emails.queue_template(
        "award",
        env,
        to=credential.recipient_email,
        link=link,
        secret=False,
        issuer_id=issuer.id,
        credential=credential,
        secret_links=(manage,) if claim is None else (manage, claim),
        recipient_name=credential.recipient_name,
        issuer_name=issuer.name,
        achievement_name=version.name,
        # The day, all the message shows of it (``| day``): the time, different for every
        # batch of awards, made each batch's message a new one to plan (render_slotted).
        valid_until=utc(credential.valid_until).date() if credential.valid_until else None,
        image_url=image_url,
        days=env.settings.manage_link_days,
        manage_link=manage,
        claim_link=claim,
        # Rendered once for a bulk job's chunk, these filled in for each recipient.
        per_recipient=("recipient_name", "manage_link", "claim_link"),
    )


def queue_expiry_notice(
    credential: IssuedCredential, issuer: Issuer, version: AchievementVersion, env: ServiceEnv
) -> None:
    """Tell a recipient their credential expires soon."""
    expires = required(credential.valid_until, "This credential does not expire.")
    emails.queue_template(
        "expiry",
        env,
        to=credential.recipient_email,
        link=_credential_url(credential, env),
        secret=False,
        issuer_id=issuer.id,
        credential=credential,
        recipient_name=credential.recipient_name,
        issuer_name=issuer.name,
        issuer_email=issuer.email,
        achievement_name=version.name,
        expires=expires,
    )


def resend_award_email(credential: IssuedCredential, *, actor: Actor, env: ServiceEnv) -> None:
    """Queue the award email again (the first may have gone astray), and audit it.

    :raises Conflict: when the credential is revoked or suspended (the email would announce a
        credential that does not currently verify).
    """
    if credential.revoked_at is not None:
        raise Conflict("This credential is revoked; its award email is not sent again.")
    if credential.suspended_at is not None:
        raise Conflict("This credential is suspended; lift the suspension before resending.")
    issuer = required(db.session.get(Issuer, credential.issuer_id), "The issuer is missing.")
    version = required(
        db.session.get(AchievementVersion, credential.achievement_version_id),
        "The achievement version is missing.",
    )
    queue_award(credential, issuer, version, env)
    audit.record(
        "credential.resend",
        actor=actor,
        now=env.now,
        issuer_id=issuer.id,
        subject_type="credential",
        subject_id=credential.id,
        detail={"recipient": credential.recipient_email},
    )
    db.session.commit()
    emails.deliver_soon(env)
