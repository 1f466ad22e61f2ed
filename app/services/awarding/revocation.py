"""Revoking, suspending, unsuspending and replacing credentials.

Revocation is final (the W3C status list says a revoked credential stays revoked); suspension
can be lifted. Each flips the credential's bit in the issuer's signed list, which is re-signed
only because the bit changed. A reason is always required and is kept in the audit log.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from app.extensions import db
from app.models import Achievement, IssuedCredential, Issuer
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid, required
from app.services.awarding import issuing, status_lists
from app.services.awarding.issuing import AwardInput, Issuance
from app.services.mail import emails
from app.services.org import achievements, audit
from app.services.org.audit import Actor

MAX_REASON = 2000


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise Invalid("Give a reason; it is kept in the audit log.", "reason")
    if len(text) > MAX_REASON:
        raise Invalid(f"Keep the reason under {MAX_REASON} characters.", "reason")
    if "\x00" in text:  # PostgreSQL cannot store it; no person types it
        raise Invalid("The reason contains a NUL character; remove it.", "reason")
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
) -> None:
    """Flip the credential's bit in the issuer's ``purpose`` list, stamp the credential (now and
    ``reason``, or clear both), audit ``event`` and commit: the one path of every status change."""
    issuer = _issuer(credential)
    status_lists.set_bit(issuer, purpose, credential.status_index, on, env)
    stamp = env.now if on else None
    if purpose == "revocation":
        credential.revoked_at, credential.revocation_reason = stamp, reason
        if replaced_by is not None:
            credential.replaced_by_id = replaced_by
    else:
        credential.suspended_at, credential.suspension_reason = stamp, reason
    audit.record(
        event,
        actor=actor,
        now=env.now,
        issuer_id=issuer.id,
        subject_type="credential",
        subject_id=credential.id,
        detail=detail,
    )
    db.session.commit()


def revoke(
    credential: IssuedCredential, reason: str, *, actor: Actor, env: ServiceEnv
) -> IssuedCredential:
    """Revoke for good.

    :raises ServiceError: without a reason.
    :raises Conflict: when it is already revoked.
    """
    text = _reason(reason)
    if credential.revoked_at is not None:
        raise Conflict("This credential is already revoked.")
    _set_status(
        credential,
        "revocation",
        True,
        text,
        event="credential.revoke",
        detail={"reason": text, "status_index": credential.status_index},
        actor=actor,
        env=env,
    )
    return credential


def suspend(
    credential: IssuedCredential, reason: str, *, actor: Actor, env: ServiceEnv
) -> IssuedCredential:
    """Suspend until further notice.

    :raises Conflict: when it is revoked or already suspended.
    """
    text = _reason(reason)
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
        detail={"reason": text},
        actor=actor,
        env=env,
    )
    return credential


def unsuspend(
    credential: IssuedCredential, reason: str, *, actor: Actor, env: ServiceEnv
) -> IssuedCredential:
    """Lift a suspension.

    :raises Conflict: when it is not suspended.
    """
    text = _reason(reason)
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
    revoke the old one with a reason that points at the new one.

    :raises Conflict: when the credential is already revoked.
    """
    text = _reason(reason)
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
    )
    emails.deliver_soon(env)
    return replacement
