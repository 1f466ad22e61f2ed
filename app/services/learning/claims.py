"""Names and claims: the name an educator confirms for their credentials (asked at first
sign-in, shown before anything is issued, never made from an address), and claiming a
credential awarded by email into the backpack (Credly's accept step)."""

from __future__ import annotations

from app.extensions import db
from app.models import Educator, IssuedCredential
from app.services._core import events
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, NotFound
from app.services.awarding import naming
from app.services.delivery import visibility
from app.services.learning import educators
from app.services.org import audit

#: The longest name a credential carries (the column's size).
NAME_LIMIT = 200
#: Why nothing is issued yet: the educator has not confirmed their name.
NAME_NEEDED = "Confirm the name your credentials should carry before anything is issued to you."


def _clean(value: str, field: str, label: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise Invalid(f"Enter {label}.", field)
    if len(text) > NAME_LIMIT:
        raise Invalid(f"Keep {label} to {NAME_LIMIT} characters.", field)
    return text


def confirm_name(educator: Educator, name: str, credential_name: str, env: ServiceEnv) -> None:
    """Set what Cairn calls the educator and the name signed into their credentials (which
    may differ: a title, a middle initial), and audit it. Committed.

    :raises Invalid: for an empty or over-long name (``name`` or ``credential_name``).
    """
    display = _clean(name, "name", "your name")
    signed = _clean(credential_name, "credential_name", "the name for your credentials")
    if educator.name == display and educator.credential_name == signed:
        return
    educator.name = display
    educator.credential_name = signed
    audit.record(
        "educator.name_confirm",
        actor=educators.actor(educator),
        now=env.now,
        subject_type="educator",
        subject_id=educator.id,
    )
    db.session.commit()


def credential_name(educator: Educator) -> str:
    """The name to sign into a credential the educator earns now.

    :raises Conflict: when they have not confirmed one (``credential_name``): they are asked
        first, since a signed name cannot be corrected.
    """
    if not educator.credential_name:
        raise Conflict(NAME_NEEDED, "credential_name")
    return educator.credential_name


def claimable(educator: Educator, credential_id: str) -> IssuedCredential:
    """One of the educator's credentials, to claim (or already claimed).

    :raises NotFound: when it is not theirs (or does not exist; the two look the same).
    """
    return educators.get_credential(educator, credential_id)


def claim(
    educator: Educator,
    credential: IssuedCredential,
    *,
    public: bool,
    env: ServiceEnv,
    add_name: bool = True,
) -> bool:
    """Accept a credential awarded to one of the educator's confirmed addresses into their
    backpack, with its page public or private as they chose. Committed; whether it was
    claimed now (False: it already was; the visibility is still set).

    A credential staff awarded without a name is signed again with the educator's confirmed
    credential name when they claim it, unless they chose ``add_name=False``.

    :raises NotFound: when it is not theirs.
    :raises Conflict: when it is revoked (there is nothing to accept), or when its name is to
        be added and the educator has not confirmed one.
    """
    if not educators.owns(educator, credential):
        raise NotFound("There is no such credential in your backpack.")
    if credential.revoked_at is not None:
        raise Conflict("This credential has been revoked, so it cannot be claimed.")
    claimed_now = credential.claimed_at is None
    if claimed_now:
        if add_name and not credential.recipient_name:
            naming.add_recipient_name(
                credential, credential_name(educator), actor=educators.actor(educator), env=env
            )
        credential.claimed_at = env.now
        audit.record(
            "credential.claim",
            actor=educators.actor(educator),
            now=env.now,
            issuer_id=credential.issuer_id,
            subject_type="credential",
            subject_id=credential.id,
            detail={"public": public},
        )
        events.publish(events.CredentialClaimed(credential, env))
    visibility.set_private(credential, not public, actor=educators.actor(educator), env=env)
    db.session.commit()
    return claimed_now


def unclaimed(educator: Educator) -> list[IssuedCredential]:
    """The educator's credentials still waiting to be claimed (not revoked), newest first."""
    return [
        c
        for c in educators.credentials_of(educator)
        if c.claimed_at is None and c.revoked_at is None
    ]
