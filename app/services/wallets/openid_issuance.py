"""OpenID4VCI issuance: the nonce endpoint's ``c_nonce`` and the credential endpoint, where a
wallet holding an access token proves it controls a key and receives the credential bound to
that key's DID (a wallet copy, ``copies.issue_copy``: audited and counted like every copy).

Nonces are issued without writing anything (an unauthenticated endpoint must not fill a table):
each carries its expiry and random bits under a MAC keyed by the application's secret; spending
one stores its hash, so a nonce proves freshness once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import IssuedCredential, OpenIdNonce
from app.services._core.env import ServiceEnv
from app.services._core.errors import Conflict, Invalid
from app.services.org.audit import Actor
from app.services.wallets import copies
from app.services.wallets.openid import (
    PROOF_FORMATS,
    OpenIdRefusal,
    digest,
    issuer_id,
)
from app.services.wallets.openid_offers import offer_for_token
from credentials import KeyProofError, verify_key_proof

#: How long a ``c_nonce`` can be used in a key proof.
NONCE_LIFETIME = timedelta(minutes=5)
#: Who the audit log names for a delivery through this protocol.
WALLET_ACTOR = "wallet (OpenID4VCI)"
_NONCE_KEY_INFO = b"cairn/oid4vci-nonce/v1"


def _mac(body: str, env: ServiceEnv) -> str:
    key = hashlib.sha256(_NONCE_KEY_INFO + env.settings.secret_key.encode()).digest()
    tag = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(tag).decode().rstrip("=")


def new_nonce(env: ServiceEnv) -> tuple[str, int]:
    """A fresh ``c_nonce`` and its lifetime in seconds (nothing stored)."""
    expires = int((env.now + NONCE_LIFETIME).timestamp())
    body = f"{expires}.{secrets.token_urlsafe(16)}"
    return f"{body}.{_mac(body, env)}", int(NONCE_LIFETIME.total_seconds())


def _spend_nonce(nonce: str, env: ServiceEnv) -> None:
    """Record ``nonce`` as used, in the caller's transaction.

    :raises OpenIdRefusal: ``invalid_nonce`` for a nonce not ours, expired or used before.
    """
    body, _, tag = nonce.rpartition(".")
    expires_text = body.partition(".")[0]
    if not (tag and expires_text.isdigit() and hmac.compare_digest(tag, _mac(body, env))):
        raise OpenIdRefusal("invalid_nonce", "The proof's nonce is not one this issuer gave.")
    expires_at = datetime.fromtimestamp(int(expires_text), tz=UTC)
    if expires_at <= env.now:
        raise OpenIdRefusal("invalid_nonce", "The proof's nonce has expired: ask for a new one.")
    db.session.execute(delete(OpenIdNonce).where(OpenIdNonce.expires_at < env.now))
    db.session.add(OpenIdNonce(nonce_hash=digest(nonce), expires_at=expires_at))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise OpenIdRefusal("invalid_nonce", "The proof's nonce was used already.") from None


def _the_proof(request: dict[str, Any]) -> Any:
    """The one ``jwt`` key proof of a request: ``proofs`` (1.0) or ``proof`` (earlier drafts)."""
    proofs, proof = request.get("proofs"), request.get("proof")
    if proofs is not None and proof is not None:
        raise OpenIdRefusal("invalid_credential_request", "Send proofs or proof, not both.")
    if isinstance(proofs, dict):
        if set(proofs) != {"jwt"}:
            raise OpenIdRefusal("invalid_proof", "Only the jwt proof type is supported.")
        jwts = proofs["jwt"]
        if not isinstance(jwts, list) or len(jwts) != 1:
            raise OpenIdRefusal("invalid_proof", "Send exactly one jwt proof (no batches).")
        return jwts[0]
    if isinstance(proof, dict):
        if proof.get("proof_type") != "jwt":
            raise OpenIdRefusal("invalid_proof", "Only the jwt proof type is supported.")
        return proof.get("jwt")
    raise OpenIdRefusal("invalid_proof", "The request has no key proof (proofs.jwt).")


def issue(token: str, request: Any, env: ServiceEnv) -> tuple[dict[str, Any], str]:
    """Answer a Credential Request (§8) made with ``token``; commits. Returns the Credential
    Response and the credential's id (to count the delivery once committed).

    :raises OpenIdRefusal: 401 for the token; ``invalid_credential_request``,
        ``unknown_credential_configuration``, ``unknown_credential_identifier``,
        ``invalid_proof``, ``invalid_nonce`` or ``credential_request_denied`` otherwise.
    """
    offer = offer_for_token(token, env)
    if not isinstance(request, dict):
        raise OpenIdRefusal("invalid_credential_request", "The body must be a JSON object.")
    configuration = request.get("credential_configuration_id")
    if "credential_identifier" in request:
        # Identifiers come from the token's authorization_details: each is its configuration id.
        identifier = request["credential_identifier"]
        if configuration is not None:
            raise OpenIdRefusal(
                "invalid_credential_request",
                "Send credential_identifier or credential_configuration_id, not both.",
            )
        if identifier not in offer.configurations:
            raise OpenIdRefusal("unknown_credential_identifier", "Unknown credential identifier.")
        configuration = identifier
    if configuration is None and "format" in request:
        raise OpenIdRefusal(
            "invalid_credential_request",
            "Requests by format are from drafts before 1.0: send credential_configuration_id.",
        )
    if not isinstance(configuration, str) or configuration not in PROOF_FORMATS:
        raise OpenIdRefusal(
            "unknown_credential_configuration",
            f"Unknown credential configuration; use one of {', '.join(PROOF_FORMATS)}.",
        )
    if configuration not in offer.configurations:
        raise OpenIdRefusal("invalid_credential_request", "That configuration was not offered.")
    if configuration in offer.delivered:
        raise OpenIdRefusal(
            "credential_request_denied", "This offer already delivered that credential."
        )
    try:
        proof = verify_key_proof(_the_proof(request), audience=issuer_id(env), now=env.now)
    except KeyProofError as exc:
        raise OpenIdRefusal("invalid_proof", exc.message) from None
    if proof.nonce is None:
        raise OpenIdRefusal("invalid_proof", "The key proof carries no nonce (c_nonce).")
    _spend_nonce(proof.nonce, env)
    credential = db.session.get(IssuedCredential, offer.credential_id)
    if credential is None:  # pragma: no cover - the foreign key guarantees it
        raise OpenIdRefusal("credential_request_denied", "The credential no longer exists.")
    try:
        copy = copies.issue_copy(
            credential,
            proof.holder,
            protocol="oid4vci",
            proof_format=PROOF_FORMATS[configuration],
            actor=Actor(label=WALLET_ACTOR),
            env=env,
        )
    except Conflict as exc:
        db.session.rollback()
        raise OpenIdRefusal("credential_request_denied", exc.message) from None
    except Invalid as exc:
        db.session.rollback()
        raise OpenIdRefusal("invalid_credential_request", exc.message) from None
    offer.delivered = [*offer.delivered, configuration]
    db.session.commit()
    document: Any = copy.document if copy.proof_format == "jwt" else json.loads(copy.document)
    return {"credentials": [{"credential": document}]}, credential.id
