"""DID Authentication: check that a Verifiable Presentation proves its holder controls a DID,
for a challenge and domain the verifier chose (VC-API exchanges, the Learner Credential Wallet).

https://w3c-ccg.github.io/vp-request-spec/#did-authentication and
https://www.w3.org/TR/vc-data-integrity/#proof-purposes. The proof is one EdDSA proof
(``Ed25519Signature2020``, what LCW signs with, or ``DataIntegrityProof`` with
``eddsa-rdfc-2022``) whose purpose is ``authentication``, whose ``challenge`` and ``domain`` are
the verifier's, and whose verification method is listed under ``authentication`` by the holder
DID itself. Supported holders: ``did:key`` (self-certifying) and ``did:web`` (the DID document
fetched through the caller's fetcher).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from credentials.did import Fetcher, resolve_verification_method
from credentials.errors import InvalidProof, MalformedCredential, ResolutionError
from credentials.jsonld import DocumentLoader
from credentials.proofs.data_integrity import check_proof_shape, proofs_of, verify_proof
from credentials.vocab import AUTHENTICATION, VERIFIABLE_PRESENTATION

#: The DID methods a holder may authenticate with.
DID_AUTH_METHODS = ("key", "web")


def presentation_holder(presentation: Mapping[str, Any]) -> str:
    """The presentation's ``holder`` (a URL, or an object with an ``id``).

    :raises MalformedCredential: when there is none.
    """
    holder = presentation.get("holder")
    if isinstance(holder, Mapping):
        holder = holder.get("id")
    if not isinstance(holder, str) or not holder:
        raise MalformedCredential("the presentation names no holder")
    return holder


def _matches(value: Any, expected: str) -> bool:
    # Data Integrity allows ``domain`` to be one string or a list of them.
    if isinstance(value, list):
        return expected in value
    return bool(value == expected)


def verify_did_authentication(
    presentation: Any,
    *,
    challenge: str,
    domain: str,
    fetch: Fetcher | None,
    loader: DocumentLoader,
) -> str:
    """Check a DID Authentication presentation; return the holder DID it proves.

    :param challenge: the challenge the verifier sent; the proof must carry it exactly.
    :param domain: the verifier's domain (Cairn sends its origin); the proof must carry it.
    :param fetch: the fetcher for a ``did:web`` holder's DID document (None: offline, so only
        ``did:key`` holders can be checked).
    :raises MalformedCredential: when it is not a presentation, or names no DID holder.
    :raises InvalidProof: when the proof is missing, of another purpose, for another challenge or
        domain, made by a key the holder does not control, or does not verify.
    :raises ResolutionError: when the holder's key cannot be resolved.
    :raises UnknownContext: when the presentation uses a context Cairn does not bundle.
    """
    if not isinstance(presentation, Mapping):
        raise MalformedCredential("the presentation must be a JSON object")
    types = presentation.get("type")
    types = types if isinstance(types, list) else [types]
    if VERIFIABLE_PRESENTATION not in types:
        raise MalformedCredential("this is not a VerifiablePresentation")
    holder = presentation_holder(presentation)
    method = holder.split(":")[1] if holder.startswith("did:") and holder.count(":") >= 2 else ""
    if method not in DID_AUTH_METHODS:
        raise MalformedCredential(f"the holder {holder[:200]!r} is not a did:key or did:web DID")
    if "#" in holder or "?" in holder or "/" in holder:
        raise MalformedCredential("the holder must be a DID, not a DID URL")
    proofs = proofs_of(presentation)
    if len(proofs) != 1:
        raise InvalidProof("the presentation must carry exactly one proof")
    proof = proofs[0]
    check_proof_shape(proof)
    if proof["proofPurpose"] != AUTHENTICATION:
        raise InvalidProof(
            f"the proof's purpose is {proof['proofPurpose']!r}, not 'authentication'"
        )
    if proof.get("challenge") != challenge:
        raise InvalidProof("the proof is not for this exchange's challenge")
    if not _matches(proof.get("domain"), domain):
        raise InvalidProof("the proof is not for this site's domain")
    found = resolve_verification_method(
        proof["verificationMethod"], fetch=fetch, purpose=AUTHENTICATION
    )
    if found.controller != holder:
        raise InvalidProof(
            f"the proof is signed by a key of {found.controller[:200]}, not of the holder"
        )
    if not found.binding_confirmed:  # pragma: no cover - did:key and did:web always confirm
        raise ResolutionError("the holder's key could not be confirmed")
    verify_proof(presentation, proof, public_key=found.public_key, loader=loader)
    return holder
