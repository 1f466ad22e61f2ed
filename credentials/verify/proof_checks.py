"""The proof checks: Data Integrity proofs and VC-JWT signatures, and whether the key that signed
belongs to the issuer the credential names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from credentials.did import VerificationMethod, resolve_verification_method
from credentials.errors import CredentialError
from credentials.proofs import data_integrity
from credentials.proofs import jwt as vc_jwt
from credentials.verify.checks import issuer_id
from credentials.verify.report import FAIL, PASS, SKIP, WARN, Check, Context
from credentials.vocab import ASSERTION_METHOD


def check_proofs(
    credential: dict[str, Any],
    token: vc_jwt.DecodedJwt | None,
    canonical: str | None,
    ctx: Context,
) -> tuple[Check, VerificationMethod | None, str]:
    problems: list[str] = []
    if token is not None:
        method, problem = _verify_jwt(token, ctx)
        if method is not None:
            return (
                Check("proof", PASS, f"The {token.header.get('alg')} JWT signature is valid."),
                method,
                "jwt",
            )
        problems.append(problem)
    proofs = data_integrity.proofs_of(credential)
    if not proofs and token is None:
        return (
            Check("proof", FAIL, "The credential is not signed: it has no proof.", "unsigned"),
            None,
            "",
        )
    for proof in proofs:
        method, problem = _verify_data_integrity(credential, proof, canonical, ctx)
        if method is not None:
            suite = proof.get("cryptosuite") or proof.get("type")
            note = "" if suite != "eddsa-2022" else " (deprecated cryptosuite eddsa-2022)"
            return (
                Check("proof", PASS, f"The {suite} signature is valid{note}."),
                method,
                str(suite),
            )
        problems.append(problem)
    return Check("proof", FAIL, "No valid proof: " + "; ".join(problems), "invalid_proof"), None, ""


def _verify_data_integrity(
    credential: dict[str, Any], proof: Any, canonical: str | None, ctx: Context
) -> tuple[VerificationMethod | None, str]:
    try:
        data_integrity.check_proof_shape(proof)
        if proof["proofPurpose"] != ASSERTION_METHOD:
            return None, f"proof purpose is {proof['proofPurpose']!r}, not assertionMethod"
        method = resolve_verification_method(proof["verificationMethod"], fetch=ctx.fetch)
        if canonical is None:
            return None, "the credential could not be canonicalised"
        data_integrity.verify_proof(
            credential,
            proof,
            public_key=method.public_key,
            loader=ctx.loader,
            canonical_document=canonical,
        )
    except CredentialError as exc:
        label = (
            proof.get("cryptosuite") or proof.get("type") if isinstance(proof, dict) else "proof"
        )
        return None, f"{label}: {exc.message}"
    return method, ""


def _verify_jwt(token: vc_jwt.DecodedJwt, ctx: Context) -> tuple[VerificationMethod | None, str]:
    try:
        embedded = vc_jwt.public_key_from_header(token)
        if embedded is not None:
            method = VerificationMethod(
                "jwk",
                "",
                embedded,
                binding_confirmed=False,
                note="the key is embedded in the JWT header",
            )
        else:
            method = resolve_verification_method(token.header.get("kid"), fetch=ctx.fetch)
        vc_jwt.verify_jwt_signature(token, method.public_key)
    except CredentialError as exc:
        return None, f"JWT: {exc.message}"
    return method, ""


def check_issuer_key(
    credential: Mapping[str, Any], method: VerificationMethod | None, proof: Check, label: str
) -> Check:
    if method is None:
        return Check(
            "issuer_key",
            SKIP if proof.code == "unsigned" else FAIL,
            "No verified proof, so the signing key could not be tied to the issuer.",
        )
    issuer = issuer_id(credential)
    if issuer is None:
        return Check("issuer_key", FAIL, "The credential does not name its issuer.")
    if label == "jwt" and method.id == "jwk":
        return Check(
            "issuer_key",
            WARN,
            f"The signature is genuine, but the JWT carries its own public key and nothing "
            f"confirms that this key belongs to {issuer}.",
            "key_unconfirmed",
        )
    if method.controller != issuer:
        return Check(
            "issuer_key",
            FAIL,
            f"The signing key belongs to {method.controller}, not to the issuer {issuer}.",
            "wrong_key",
        )
    if not method.binding_confirmed:
        return Check(
            "issuer_key",
            WARN,
            f"The signature is genuine, but nothing confirms that its key belongs to {issuer}: "
            f"{method.note}.",
            "key_unconfirmed",
        )
    return Check("issuer_key", PASS, f"The signing key is published by the issuer {issuer}.")
