"""Revoking, suspending, unsuspending and replacing credentials.

Revocation is final (the W3C status list says a revoked credential stays revoked); suspension
can be lifted. Each flips the credential's bit in the issuer's signed list, which is re-signed
only because the bit changed. Two reasons are kept apart: the internal note (always required;
staff and the audit log see it) and the public reason (chosen from a short list or written for
the public; the only one the public pages show). The status list and the verifier are the same
either way.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from app.extensions import db
from app.models import Achievement, IssuedCredential, Issuer
from app.services._core import events
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, required
from app.services.awarding import issuing, status_lists
from app.services.awarding.issuing import AwardInput, Issuance
from app.services.mail import emails
from app.services.org import achievements, audit
from app.services.org.audit import Actor

MAX_REASON = 2000
#: A reason written for the public is a sentence on a page, not a report.
MAX_PUBLIC_REASON = 300
#: The choice that means "the reason written for the public, below".
OTHER = "other"
#: The public reasons offered, by purpose: form value and the words the public pages show.
PUBLIC_REASONS: dict[str, dict[str, str]] = {
    "revocation": {
        "issued_in_error": "Issued in error",
        "requirements": "No longer meets the requirements",
        "replaced": "Replaced by a corrected credential",
        OTHER: "Other: written for the public",
    },
    "suspension": {
        "under_review": "Under review by the issuer",
        "issued_in_error": "Being checked: it may have been issued in error",
        OTHER: "Other: written for the public",
    },
}


def internal_note(reason: str) -> str:
    """The internal note, trimmed.

    :raises Invalid: when it is empty, too long or has a NUL character.
    """
    text = (reason or "").strip()
    if not text:
        raise Invalid(
            "Give a reason for the record; staff and the audit log see it, the public does not.",
            "reason",
        )
    if len(text) > MAX_REASON:
        raise Invalid(f"Keep the reason under {MAX_REASON} characters.", "reason")
    if "\x00" in text:  # PostgreSQL cannot store it; no person types it
        raise Invalid("The reason contains a NUL character; remove it.", "reason")
    return text


def public_reason(purpose: Literal["revocation", "suspension"], choice: str, other: str) -> str:
    """The words a public page shows for ``choice`` (one of :data:`PUBLIC_REASONS`), or
    ``other`` when the choice is :data:`OTHER`.

    :raises Invalid: for no choice, an unknown one, or "other" without usable words.
    """
    offered = PUBLIC_REASONS[purpose]
    if choice not in offered:
        raise Invalid("Choose the reason the public will see.", "public_reason")
    if choice != OTHER:
        return offered[choice]
    text = " ".join((other or "").split())
    if not text:
        raise Invalid("Write the reason the public will see.", "public_other")
    if len(text) > MAX_PUBLIC_REASON:
        raise Invalid(
            f"Keep the public reason under {MAX_PUBLIC_REASON} characters.", "public_other"
        )
    if "\x00" in text:
        raise Invalid("The public reason contains a NUL character; remove it.", "public_other")
    return text


def _issuer(credential: IssuedCredential) -> Issuer:
    return required(db.session.get(Issuer, credential.issuer_id), "The issuer is missing.")


def _set_status(
    credential: IssuedCredential,
    purpose: Literal["revocation", "suspension"],
    on: bool,
    reason: str | None,
    *,
    event: str,
    detail: dict[str, Any],
    actor: Actor,
    env: ServiceEnv,
    replaced_by: str | None = None,
    public: str | None = None,
) -> None:
    """Flip the credential's bit in the issuer's ``purpose`` list, stamp the credential (now, the
    internal ``reason`` and the ``public`` one, or clear all three), audit ``event`` and commit:
    the one path of every status change."""
    issuer = _issuer(credential)
    status_lists.set_bit(issuer, purpose, credential.status_index, on, env)
    stamp = env.now if on else None
    if purpose == "revocation":
        credential.revoked_at, credential.revocation_reason = stamp, reason
        credential.revocation_public_reason = public
        if replaced_by is not None:
            credential.replaced_by_id = replaced_by
    else:
        credential.suspended_at, credential.suspension_reason = stamp, reason
        credential.suspension_public_reason = public
    audit.record(
        event,
        actor=actor,
        now=env.now,
        issuer_id=issuer.id,
        subject_type="credential",
        subject_id=credential.id,
        detail=detail,
    )
    events.publish(_status_event(purpose, on)(credential, env))
    db.session.commit()


def _status_event(
    purpose: Literal["revocation", "suspension"], on: bool
) -> type[events.CredentialRevoked | events.CredentialSuspended | events.CredentialUnsuspended]:
    """The event a status change announces (a revocation is never lifted)."""
    if purpose == "revocation":
        return events.CredentialRevoked
    return events.CredentialSuspended if on else events.CredentialUnsuspended


def revoke(
    credential: IssuedCredential,
    reason: str,
    *,
    actor: Actor,
    env: ServiceEnv,
    public: str | None = None,
) -> IssuedCredential:
    """Revoke for good. ``reason`` is the internal note; ``public`` (from :func:`public_reason`)
    is what the public pages show, or nothing but "revoked" without it.

    :raises ServiceError: without a reason.
    :raises Conflict: when it is already revoked.
    """
    text = internal_note(reason)
    if credential.revoked_at is not None:
        raise Conflict("This credential is already revoked.")
    _set_status(
        credential,
        "revocation",
        True,
        text,
        event="credential.revoke",
        detail={
            "reason": text,
            "public_reason": public,
            "status_index": credential.status_index,
        },
        actor=actor,
        env=env,
        public=public,
    )
    return credential


def suspend(
    credential: IssuedCredential,
    reason: str,
    *,
    actor: Actor,
    env: ServiceEnv,
    public: str | None = None,
) -> IssuedCredential:
    """Suspend until further notice; ``reason`` is the internal note, ``public`` the reason the
    public pages show (none without it).

    :raises Conflict: when it is revoked or already suspended.
    """
    text = internal_note(reason)
    if credential.revoked_at is not None:
        raise Conflict("A revoked credential cannot be suspended.")
    if credential.suspended_at is not None:
        raise Conflict("This credential is already suspended.")
    _set_status(
        credential,
        "suspension",
        True,
        text,
        event="credential.suspend",
        detail={"reason": text, "public_reason": public},
        actor=actor,
        env=env,
        public=public,
    )
    return credential


def unsuspend(
    credential: IssuedCredential, reason: str, *, actor: Actor, env: ServiceEnv
) -> IssuedCredential:
    """Lift a suspension.

    :raises Conflict: when it is not suspended.
    """
    text = internal_note(reason)
    if credential.suspended_at is None:
        raise Conflict("This credential is not suspended.")
    _set_status(
        credential,
        "suspension",
        False,
        None,
        event="credential.unsuspend",
        detail={"reason": text},
        actor=actor,
        env=env,
    )
    return credential


def _corrected(credential: IssuedCredential, corrected: AwardInput) -> AwardInput:
    """The corrected award, dated as the original was (its ``extra`` is not carried over)."""
    return AwardInput(
        email=corrected.email,
        name=corrected.name,
        narrative=corrected.narrative,
        evidence=corrected.evidence,
        valid_until=corrected.valid_until,
        no_expiry=corrected.no_expiry,
        show_name=corrected.show_name,
        results=corrected.results,
        credits_earned=corrected.credits_earned,
        awarded_date=credential.issued_at,
    )


def _issue_replacement(
    credential: IssuedCredential, corrected: AwardInput, *, actor: Actor, env: ServiceEnv
) -> IssuedCredential:
    """Sign and store (not commit) the corrected credential with the current achievement
    version, on a new status index of the same issuer."""
    issuer = _issuer(credential)
    achievement = required(
        db.session.get(Achievement, credential.achievement_id), "missing achievement"
    )
    issuance = Issuance(issuer, achievement, achievements.current_version(achievement), env)
    data = _corrected(credential, corrected)
    issuance.valid_until(data)
    new_id = str(uuid.uuid4())
    (index,) = status_lists.allocate(issuer, 1, env)
    document, valid_until = issuance.sign(data, new_id, index)
    replacement = issuing.store(
        issuance,
        data,
        credential_id=new_id,
        index=index,
        document=document,
        valid_until=valid_until,
        actor=actor,
    )
    db.session.flush()  # the replacement must exist before the old credential points at it
    return replacement


def replace(
    credential: IssuedCredential,
    corrected: AwardInput,
    reason: str,
    *,
    actor: Actor,
    env: ServiceEnv,
) -> IssuedCredential:
    """Issue a corrected credential (current achievement version, original award date) and
    revoke the old one with an internal note that points at the new one (the public reason is
    "Replaced by a corrected credential"; the public page links the correction).

    :raises Conflict: when the credential is already revoked.
    """
    text = internal_note(reason)
    if credential.revoked_at is not None:
        raise Conflict("A revoked credential cannot be replaced.")
    replacement = _issue_replacement(credential, corrected, actor=actor, env=env)
    new_id = replacement.id
    _set_status(
        credential,
        "revocation",
        True,
        f"Replaced by {issuing.credential_url(new_id, env)}: {text}",
        event="credential.replace",
        detail={"reason": text, "replacement": new_id},
        actor=actor,
        env=env,
        replaced_by=new_id,
        public=PUBLIC_REASONS["revocation"]["replaced"],
    )
    emails.deliver_soon(env)
    return replacement
