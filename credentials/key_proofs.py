"""OpenID4VCI key proofs: the ``openid4vci-proof+jwt`` a wallet signs to show it holds the key a
credential is to be bound to, checked, and the DID the credential is bound to derived from it.

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html#name-jwt-proof-type
and #name-verifying-proof. Only self-certifying keys are taken (a ``kid`` that is a ``did:key``
or ``did:jwk`` DID URL, or a ``jwk`` header, bound as the ``did:jwk`` of that key), so checking a
proof never needs the network. Pure: the time is handed in; the nonce's freshness and single use
are the caller's (it keeps the nonces).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from credentials.did import did_jwk, resolve_verification_method
from credentials.errors import CredentialError, InvalidProof, KeyFormatError, ResolutionError
from credentials.jwk import PublicKey, load_public_jwk
from credentials.proofs.jwt import DecodedJwt, split_jws, verify_jwt_signature
from credentials.proofs.signer import ED25519, ES256

#: The ``typ`` a key proof must carry (explicit typing, RFC 8725 §3.11), so no other JWT the
#: wallet signed (an ID token, a presentation) can be passed off as one.
KEY_PROOF_TYPE = "openid4vci-proof+jwt"
#: Algorithms a key proof may use: the two wallets sign with (P-256 and Ed25519). Asymmetric
#: only: ``none`` and ``HS*`` would prove nothing.
PROOF_ALGORITHMS = (ES256, ED25519)
#: DID methods a ``kid`` may use: self-certifying, so the key is in the DID itself.
BINDING_METHODS = ("did:key", "did:jwk")
#: How far in the future ``iat`` may be (a phone's clock a little ahead).
MAX_CLOCK_SKEW = timedelta(minutes=5)
#: How old a proof may be (the nonce it carries is the real freshness check).
MAX_PROOF_AGE = timedelta(minutes=10)


class KeyProofError(CredentialError):
    """The key proof is malformed, unsupported, not for this issuer, stale, or does not
    verify."""


@dataclass(frozen=True)
class KeyProof:
    """A verified key proof: the DID the credential is bound to (``holder``), its key, the
    algorithm, the ``nonce`` claim (None when absent) and when it was signed."""

    holder: str
    public_key: PublicKey
    algorithm: str
    nonce: str | None
    issued_at: datetime


def _check_header(header: dict[str, Any]) -> None:
    algorithm = header.get("alg")
    if algorithm not in PROOF_ALGORITHMS:
        raise KeyProofError(
            f"the key proof's alg must be one of {', '.join(PROOF_ALGORITHMS)}, not {algorithm!r}"
        )
    if header.get("typ") != KEY_PROOF_TYPE:
        raise KeyProofError(f"the key proof's typ must be {KEY_PROOF_TYPE!r}")
    if "crit" in header:
        raise KeyProofError(f"unsupported critical header {header['crit']!r}")
    for unsupported in ("x5c", "trust_chain", "key_attestation"):
        if unsupported in header:
            raise KeyProofError(f"the key proof's {unsupported} header is not supported")
    if ("kid" in header) == ("jwk" in header):
        raise KeyProofError("the key proof's header needs exactly one of kid and jwk")


def _holder_key(header: dict[str, Any]) -> tuple[str, PublicKey]:
    """The DID the credential is bound to and the key the proof must verify with."""
    if "jwk" in header:
        try:
            # Refuses a JWK with private members: a wallet that leaks its key is not bound to.
            key = load_public_jwk(header["jwk"])
        except KeyFormatError as exc:
            raise KeyProofError(f"the key proof's jwk: {exc.message}") from None
        return did_jwk(key), key
    kid = header["kid"]
    if not isinstance(kid, str) or not kid.startswith(tuple(m + ":" for m in BINDING_METHODS)):
        raise KeyProofError(
            "the key proof's kid must be a did:key or did:jwk DID URL (or send the key as jwk)"
        )
    try:
        method = resolve_verification_method(kid, fetch=None)
    except ResolutionError as exc:
        raise KeyProofError(f"the key proof's kid: {exc.message}") from None
    return method.controller, method.public_key


def _issued_at(payload: dict[str, Any], now: datetime) -> datetime:
    iat = payload.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise KeyProofError("the key proof has no iat (a number of seconds)")
    try:
        issued = datetime.fromtimestamp(iat, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise KeyProofError("the key proof's iat is not a time") from None
    if issued > now + MAX_CLOCK_SKEW:
        raise KeyProofError("the key proof's iat is in the future")
    if issued < now - MAX_PROOF_AGE:
        raise KeyProofError("the key proof is too old: sign a new one")
    return issued


def verify_key_proof(token: Any, *, audience: str, now: datetime) -> KeyProof:
    """Check a ``jwt`` key proof for the credential issuer ``audience`` at ``now``.

    Checked: the JWS (strict decoding, size cap), ``typ``, ``alg`` (ES256 or EdDSA, bound to the
    key's type), a ``kid`` naming a did:key/did:jwk key or a public ``jwk``, the signature with
    that key, ``aud`` naming the issuer, ``iat`` within the window, ``nonce`` a string if
    present.

    :raises KeyProofError: for any of those failing.
    """
    if not isinstance(token, str):
        raise KeyProofError("a key proof is a compact JWT (text)")
    try:
        header, payload, signing_input, signature = split_jws(token, _check_header)
    except CredentialError as exc:
        raise KeyProofError(f"the key proof: {exc.message}") from None
    holder, key = _holder_key(header)
    decoded = DecodedJwt(header, payload, payload, False, signing_input, signature)
    try:
        verify_jwt_signature(decoded, key)
    except InvalidProof:
        raise KeyProofError(
            "the key proof's signature does not verify with the key it names"
        ) from None
    aud = payload.get("aud")
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise KeyProofError(f"the key proof's aud must be the credential issuer {audience}")
    issued = _issued_at(payload, now)
    nonce = payload.get("nonce")
    if nonce is not None and not isinstance(nonce, str):
        raise KeyProofError("the key proof's nonce must be a string")
    return KeyProof(holder, key, str(header["alg"]), nonce, issued)
