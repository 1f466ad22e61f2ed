"""The recipient's name on a credential staff awarded without one: signed in when they claim it.

Staff may award by email address alone (a CSV of addresses, an HR export), and Cairn never signs a
name it guessed from an address. When the recipient claims the credential and confirms their name,
the same credential (same ``id``, dates, status entry and hashed email identifier) is signed again
with a ``name`` identifier added, and that text becomes the one Cairn serves. The unnamed copy the
award email linked stays valid too: it states the same award, minus the name, and shares its
status entry, so revoking one revokes both. Nothing else changes: this is not a replacement.
"""

from __future__ import annotations

import json
from typing import Any

from app.extensions import db
from app.models import IssuedCredential, Issuer
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid
from app.services.awarding import signing
from app.services.org import audit, issuers
from app.services.org.audit import Actor
from credentials import CredentialError, decode_jwt, identity_object

#: The registered JWT claims VC-JWT signing adds to the credential's members (and adds again).
_JWT_CLAIMS = ("iss", "jti", "nbf", "sub", "exp")


def unsigned_document(credential: IssuedCredential) -> dict[str, Any]:
    """The credential as it was before signing: the stored JSON without its ``proof``, or a
    VC-JWT's payload without the registered claims signing added."""
    if credential.proof_format != "di":
        payload = dict(decode_jwt(credential.document.strip()).credential)
        for claim in _JWT_CLAIMS:
            payload.pop(claim, None)
        return payload
    document: dict[str, Any] = json.loads(credential.document)
    document.pop("proof", None)
    return document


def _with_name(document: dict[str, Any], name: str) -> dict[str, Any]:
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict):
        raise Invalid("This credential has no single subject to put a name on.")
    found = subject.get("identifier")
    identifiers = found if isinstance(found, list) else [found] if found else []
    if any(isinstance(i, dict) and i.get("identityType") == "name" for i in identifiers):
        raise Conflict("This credential already carries a name.")
    subject["identifier"] = [
        *identifiers,
        identity_object(name, identity_type="name", salt=None, hashed=False),
    ]
    return document


def add_recipient_name(
    credential: IssuedCredential, name: str, *, actor: Actor, env: ServiceEnv
) -> None:
    """Sign ``credential`` again with the recipient's confirmed ``name`` (not committed).

    :raises Conflict: when it already carries a name or is revoked.
    :raises Invalid: for an empty name, or when it cannot be signed.
    """
    name = name.strip()
    if not name:
        raise Invalid("A name is needed to put on the credential.", "credential_name")
    if credential.recipient_name:
        raise Conflict("This credential already carries a name.")
    if credential.revoked_at is not None:
        raise Conflict("A revoked credential cannot be changed.")
    issuer = db.session.get(Issuer, credential.issuer_id)
    if issuer is None:  # pragma: no cover - the foreign key guarantees it
        raise Conflict("The credential's issuer no longer exists.")
    named = _with_name(unsigned_document(credential), name)
    credential.document = sign_again(named, issuer, credential.proof_format, env)
    credential.recipient_name = name
    audit.record(
        "credential.name_added",
        actor=actor,
        now=env.now,
        issuer_id=credential.issuer_id,
        subject_type="credential",
        subject_id=credential.id,
        detail={"name": name},
    )


def sign_again(document: dict[str, Any], issuer: Issuer, proof_format: str, env: ServiceEnv) -> str:
    """Sign a credential document again, now, with the issuer's current key of ``proof_format``
    (``di`` or ``jwt``): an earlier key may have been rotated out since the award, and the DID
    document still lists it for the copies signed before.

    :raises Invalid: when it cannot be signed.
    """
    record, key = issuers.signing_key(issuer, "ed25519" if proof_format == "di" else "p256", env)
    try:
        return signing.sign_one(
            document,
            key,
            issuers.verification_method(issuer, record, env),
            proof_format,
            env.now,
            env.loader,
        )
    except (ValueError, CredentialError) as exc:
        raise Invalid(
            f"The credential could not be signed: {getattr(exc, 'message', exc)}"
        ) from None
