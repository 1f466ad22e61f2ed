"""A credential's wallet copy: the same award signed again with ``credentialSubject.id`` set to
the DID a wallet proved it controls.

Why a copy and not a new credential: the wallet receives the award the issuer made (same ``id``,
achievement, dates, evidence, salted email identifier and **the same status entry**), so revoking
or suspending the original flips the one bit every copy points at, and a verifier sees revoked
wherever the copy travelled. Nothing else changes; only the proof is new (the issuer's current key
of the format asked for, signed now). Both protocols (VC-API and OID4VCI) come through here, so
audit events and analytics count wallet deliveries the same way.
"""

from __future__ import annotations

import re
from typing import Any

from app.extensions import db
from app.models import WALLET_PROTOCOLS, IssuedCredential, Issuer, WalletCopy
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid
from app.services.awarding import naming
from app.services.delivery import analytics
from app.services.org import audit
from app.services.org.audit import Actor

#: A DID as DID Core writes it: ``did:<method>:<method-specific-id>`` (percent-encoding allowed,
#: colons between segments, not at the end).
_IDCHAR = r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})"
DID_PATTERN = re.compile(rf"did:[a-z0-9]+:(?:{_IDCHAR}*:)*{_IDCHAR}+")
#: Longest DID accepted (a did:jwk of a large key is a few hundred characters).
MAX_DID_LENGTH = 2000
#: The proof formats a copy may have: Data Integrity and VC-JWT.
PROOF_FORMATS = ("di", "jwt")


def is_did(value: object) -> bool:
    """True when ``value`` is a syntactically valid DID (not a DID URL: no path, query,
    fragment)."""
    return (
        isinstance(value, str)
        and len(value) <= MAX_DID_LENGTH
        and DID_PATTERN.fullmatch(value) is not None
    )


def bound_document(credential: IssuedCredential, holder_did: str) -> dict[str, Any]:
    """The credential's unsigned document with its subject bound to ``holder_did``."""
    document = naming.unsigned_document(credential)
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict):
        raise Invalid("This credential has no single subject to bind to a wallet.")
    # ``id`` first, as a reader expects it; the rest of the subject unchanged.
    document["credentialSubject"] = {
        "id": holder_did,
        **{k: v for k, v in subject.items() if k != "id"},
    }
    return document


def issue_copy(
    credential: IssuedCredential,
    holder_did: str,
    *,
    protocol: str,
    proof_format: str,
    actor: Actor,
    env: ServiceEnv,
) -> WalletCopy:
    """Sign and record a copy of ``credential`` bound to ``holder_did`` (not committed).

    Audited as ``credential.wallet_copy`` and counted as the credential's ``wallet`` activity
    once the caller commits.

    :raises Invalid: for a holder that is not a DID, an unknown protocol or format, or a
        document that cannot be signed.
    :raises Conflict: when the credential is revoked or suspended (a wallet would hold a
        credential that fails at once).
    """
    if protocol not in WALLET_PROTOCOLS:
        raise Invalid(f"Unknown wallet protocol {protocol!r}.")
    if proof_format not in PROOF_FORMATS:
        raise Invalid(f"Unknown proof format {proof_format!r}.")
    if not is_did(holder_did):
        raise Invalid("The wallet's holder is not a DID.", "holder")
    status = credential.status_at(env.now)
    if status in ("revoked", "suspended"):
        raise Conflict(f"This credential is {status}; it cannot be added to a wallet.")
    issuer = db.session.get(Issuer, credential.issuer_id)
    if issuer is None:  # pragma: no cover - the foreign key guarantees it
        raise Conflict("The credential's issuer no longer exists.")
    signed = naming.sign_again(bound_document(credential, holder_did), issuer, proof_format, env)
    copy = WalletCopy(
        credential_id=credential.id,
        protocol=protocol,
        proof_format=proof_format,
        holder_did=holder_did,
        document=signed,
        issued_at=env.now,
    )
    db.session.add(copy)
    audit.record(
        "credential.wallet_copy",
        actor=actor,
        now=env.now,
        issuer_id=credential.issuer_id,
        subject_type="credential",
        subject_id=credential.id,
        detail={"protocol": protocol, "format": proof_format, "holder": holder_did},
    )
    return copy


def count_delivery(credential_id: str, env: ServiceEnv) -> None:
    """Count a wallet delivery in the credential's analytics (commits; call after the copy's
    own commit so a failed delivery is not counted)."""
    analytics.record(credential_id, "wallet", env)
