"""Data Integrity proofs with EdDSA: ``eddsa-rdfc-2022`` (plus legacy ``eddsa-2022`` and
``Ed25519Signature2020`` for verifying).

https://www.w3.org/TR/vc-di-eddsa/#eddsa-rdfc-2022 and https://www.w3.org/TR/vc-data-integrity/

The data signed is ``SHA-256(canonical proof options) || SHA-256(canonical document)``, where
the document is canonicalised without its ``proof`` and the proof options carry the document's
``@context``. The signature is the pure Ed25519 signature of those 64 bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from credentials.dates import format_datetime, parse_datetime
from credentials.errors import InvalidProof, MalformedCredential
from credentials.jsonld import DocumentLoader, canonize
from credentials.jsonld.canonize import canonize_options, unportable_numbers
from credentials.jwk import PublicKey
from credentials.multibase import b58decode, b58encode
from credentials.proofs.signer import ED25519, Signer
from credentials.vocab import (
    ASSERTION_METHOD,
    DATA_INTEGRITY_PROOF,
    ED25519_SIGNATURE_2020,
    EDDSA_2022,
    EDDSA_RDFC_2022,
)

#: ``(proof type, cryptosuite)`` pairs this module verifies; only the first is used to sign.
SUPPORTED_SUITES = (
    (DATA_INTEGRITY_PROOF, EDDSA_RDFC_2022),
    (DATA_INTEGRITY_PROOF, EDDSA_2022),
    (ED25519_SIGNATURE_2020, None),
)


def proofs_of(document: Mapping[str, Any]) -> list[Any]:
    """The document's proofs as a list (``proof`` may be one object or an array)."""
    proof = document.get("proof")
    if proof is None:
        return []
    return list(proof) if isinstance(proof, list) else [proof]


def unsecured(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document without its ``proof``: what every proof of a proof set signs."""
    return {key: value for key, value in document.items() if key != "proof"}


def hash_data(
    document: Mapping[str, Any],
    proof_options: Mapping[str, Any],
    loader: DocumentLoader,
    *,
    canonical_document: str | None = None,
) -> bytes:
    """Return the 64 bytes to sign or verify: proof-options hash then document hash.

    :param canonical_document: the document's canonical N-Quads (without ``proof``) when the
        caller already has them, so a proof set does not canonicalise the document per proof.
    :raises UndefinedTerm: when the document or the proof uses an undefined term.
    :raises JsonLdFailure: when canonicalisation fails.
    """
    if "@context" not in document:
        raise MalformedCredential("a Data Integrity secured document needs an @context")
    config = {key: value for key, value in proof_options.items() if key != "proofValue"}
    config["@context"] = document["@context"]
    if canonical_document is None:
        canonical_document = canonize(unsecured(document), loader)
    proof_hash = hashlib.sha256(canonize_options(config, loader).encode("utf-8")).digest()
    document_hash = hashlib.sha256(canonical_document.encode("utf-8")).digest()
    return proof_hash + document_hash


def add_proof(
    document: Mapping[str, Any],
    *,
    signer: Signer,
    verification_method: str,
    created: datetime,
    loader: DocumentLoader,
    proof_purpose: str = ASSERTION_METHOD,
) -> dict[str, Any]:
    """Sign ``document`` with an ``eddsa-rdfc-2022`` DataIntegrityProof.

    Proofs already on the document are kept (a proof set); the new one is appended and the
    ``proof`` property is always an array, as the strict OB 3.0 JSON Schema requires.

    :param signer: an Ed25519 signer (``signer.algorithm == "EdDSA"``).
    :param verification_method: URL of the public key, e.g. ``did:web:…#key-1``.
    :param created: when the proof is made (timezone-aware).
    :returns: a new dict; the input is not modified.
    :raises InvalidProof: when the signer is not Ed25519.
    :raises UndefinedTerm: when the document contains a term its contexts do not define.
    :raises MalformedCredential: for numbers JSON-LD processors disagree on (see
        :func:`credentials.jsonld.canonize.unportable_numbers`).
    """
    if signer.algorithm != ED25519:
        raise InvalidProof(f"eddsa-rdfc-2022 needs an Ed25519 key, not {signer.algorithm}")
    unportable = unportable_numbers(document)
    if unportable:
        raise MalformedCredential(
            "numbers that other JSON-LD processors read differently, so the proof would not "
            "verify everywhere (write them as strings or round them): " + ", ".join(unportable)
        )
    proof = {
        "type": DATA_INTEGRITY_PROOF,
        "cryptosuite": EDDSA_RDFC_2022,
        "created": format_datetime(created),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    signature = signer.sign(hash_data(document, proof, loader))
    proof["proofValue"] = "z" + b58encode(signature)
    secured = dict(document)
    secured["proof"] = [*proofs_of(document), proof]
    return secured


def check_proof_shape(proof: Any) -> None:
    """Check a proof object is one we can verify, before any expensive work.

    :raises InvalidProof: naming what is wrong.
    """
    if not isinstance(proof, dict):
        raise InvalidProof("a proof must be a JSON object")
    kind = proof.get("type")
    suite = proof.get("cryptosuite")
    if kind == DATA_INTEGRITY_PROOF and suite not in (EDDSA_RDFC_2022, EDDSA_2022):
        raise InvalidProof(f"unsupported cryptosuite {suite!r}")
    if kind not in (DATA_INTEGRITY_PROOF, ED25519_SIGNATURE_2020):
        raise InvalidProof(f"unsupported proof type {kind!r}")
    for name in ("verificationMethod", "proofPurpose", "proofValue"):
        if not isinstance(proof.get(name), str) or not proof[name]:
            raise InvalidProof(f"the proof has no {name}")
    if "created" in proof:
        try:
            parse_datetime(proof["created"], "proof.created")
        except MalformedCredential as exc:
            raise InvalidProof(exc.message) from None


def verify_proof(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    *,
    public_key: PublicKey,
    loader: DocumentLoader,
    canonical_document: str | None = None,
) -> None:
    """Verify one EdDSA Data Integrity proof of ``document`` with ``public_key``.

    Resolving the key and checking that it belongs to the issuer are the caller's job.

    :param canonical_document: see :func:`hash_data`.

    :raises InvalidProof: when the proof is malformed or the signature does not verify.
    :raises UndefinedTerm: when the document or proof uses an undefined term.
    """
    check_proof_shape(proof)
    value = proof["proofValue"]
    if not value.startswith("z"):
        raise InvalidProof("proofValue must be multibase base58btc (starting with 'z')")
    try:
        signature = b58decode(value[1:])
    except Exception:
        raise InvalidProof("proofValue is not valid base58") from None
    if len(signature) != 64:
        raise InvalidProof("an Ed25519 signature is 64 bytes")
    if not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise InvalidProof("an EdDSA proof needs an Ed25519 verification key")
    try:
        data = hash_data(document, proof, loader, canonical_document=canonical_document)
        public_key.verify(signature, data)
    except InvalidSignature:
        raise InvalidProof("the signature does not match the credential") from None
