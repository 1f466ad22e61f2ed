"""DID Authentication (credentials/presentation.py): a presentation proves its holder controls a
DID for the verifier's challenge and domain.

The reference vector is a presentation the Learner Credential Wallet's own libraries signed
(tests/fixtures/lcw/didauth_presentation.json, made by tests/interop/node/lcw-client.mjs from a
fixed seed): its did:key is derived here independently from that seed, and it verifies. The
refusals are made with Cairn's own signing of the same suite (Ed25519Signature2020) and of
eddsa-rdfc-2022.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from credentials import (
    DocumentLoader,
    InvalidProof,
    MalformedCredential,
    ResolutionError,
    UnknownContext,
    b58encode,
    did_key,
    did_key_verification_method,
    encode_public_key,
    hash_data,
    verify_did_authentication,
)

VECTOR = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "lcw" / "didauth_presentation.json").read_text()
)
CHALLENGE = "b5c1e2f0-challenge"
DOMAIN = "https://badges.example.org"
SUITE_CONTEXT = "https://w3id.org/security/suites/ed25519-2020/v1"
VC_V2 = "https://www.w3.org/ns/credentials/v2"
WEB_DID = "did:web:wallet.example.org:people:ann"


@pytest.fixture(scope="module")
def loader() -> DocumentLoader:
    return DocumentLoader()


def new_key(n: int) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32)


def sign(
    holder: str,
    key: ed25519.Ed25519PrivateKey,
    vm: str,
    loader: DocumentLoader,
    *,
    purpose: str = "authentication",
    challenge: str | None = CHALLENGE,
    domain: Any = DOMAIN,
    suite: str = "Ed25519Signature2020",
) -> dict[str, Any]:
    """An empty presentation of ``holder`` signed by ``key`` as ``vm`` (the suite as vc.js
    makes it: proof options hashed with the document's context, then the document)."""
    document: dict[str, Any] = {
        "@context": [VC_V2, SUITE_CONTEXT] if suite == "Ed25519Signature2020" else [VC_V2],
        "type": ["VerifiablePresentation"],
        "holder": holder,
    }
    proof: dict[str, Any] = {"type": suite}
    if suite == "DataIntegrityProof":
        proof["cryptosuite"] = "eddsa-rdfc-2022"
    proof.update(
        {"created": "2026-12-05T18:00:00Z", "verificationMethod": vm, "proofPurpose": purpose}
    )
    if challenge is not None:
        proof["challenge"] = challenge
    if domain is not None:
        proof["domain"] = domain
    signature = key.sign(hash_data(document, proof, loader))
    proof["proofValue"] = "z" + b58encode(signature)
    return {**document, "proof": proof}


def check(presentation: Any, loader: DocumentLoader, fetch: Any = None, **options: Any) -> str:
    return verify_did_authentication(
        presentation,
        challenge=options.get("challenge", CHALLENGE),
        domain=options.get("domain", DOMAIN),
        fetch=fetch,
        loader=loader,
    )


def test_the_lcw_vector_verifies_and_names_the_seeds_did(loader: DocumentLoader) -> None:
    seed = bytes.fromhex(VECTOR["seed"])
    expected = did_key(ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key())
    assert VECTOR["holder"] == expected
    proof = VECTOR["presentation"]["proof"]
    assert (proof["type"], proof["proofPurpose"]) == ("Ed25519Signature2020", "authentication")
    holder = check(
        VECTOR["presentation"], loader, challenge=VECTOR["challenge"], domain=VECTOR["domain"]
    )
    assert holder == expected


def test_the_lcw_vector_fails_for_another_challenge_domain_or_content(
    loader: DocumentLoader,
) -> None:
    presentation = VECTOR["presentation"]
    with pytest.raises(InvalidProof, match="challenge"):
        check(presentation, loader, challenge="another", domain=VECTOR["domain"])
    with pytest.raises(InvalidProof, match="domain"):
        check(presentation, loader, challenge=VECTOR["challenge"], domain="https://evil.example")
    changed = copy.deepcopy(presentation)
    changed["id"] = "urn:uuid:3f2c6d0e-0000-4000-8000-000000000001"
    with pytest.raises(InvalidProof, match="signature"):
        check(changed, loader, challenge=VECTOR["challenge"], domain=VECTOR["domain"])
    # The challenge signed is the one in the proof: rewriting it breaks the signature.
    rewritten = copy.deepcopy(presentation)
    rewritten["proof"]["challenge"] = CHALLENGE
    with pytest.raises(InvalidProof, match="signature"):
        check(rewritten, loader, domain=VECTOR["domain"])


@pytest.mark.parametrize("suite", ["Ed25519Signature2020", "DataIntegrityProof"])
def test_a_did_key_holder_authenticates_with_either_suite(
    loader: DocumentLoader, suite: str
) -> None:
    key = new_key(1)
    holder = did_key(key.public_key())
    signed = sign(holder, key, did_key_verification_method(key.public_key()), loader, suite=suite)
    assert check(signed, loader) == holder
    listed = sign(holder, key, did_key_verification_method(key.public_key()), loader,
                  suite=suite, domain=["https://other.example", DOMAIN])  # fmt: skip
    assert check(listed, loader) == holder


def test_a_key_the_holder_does_not_control_is_refused(loader: DocumentLoader) -> None:
    mine, theirs = new_key(1), new_key(2)
    holder = did_key(theirs.public_key())
    signed = sign(holder, mine, did_key_verification_method(mine.public_key()), loader)
    with pytest.raises(InvalidProof, match="not of the holder"):
        check(signed, loader)
    # Naming the holder's key but signing with another: the signature fails.
    forged = sign(holder, mine, did_key_verification_method(theirs.public_key()), loader)
    with pytest.raises(InvalidProof, match="signature"):
        check(forged, loader)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"purpose": "assertionMethod"}, InvalidProof, "not 'authentication'"),
        ({"challenge": None}, InvalidProof, "challenge"),
        ({"challenge": "old-one"}, InvalidProof, "challenge"),
        ({"domain": None}, InvalidProof, "domain"),
        ({"domain": "https://badges.example.org.evil.example"}, InvalidProof, "domain"),
    ],
)
def test_proofs_for_another_purpose_challenge_or_domain_are_refused(
    loader: DocumentLoader, change: dict[str, Any], error: type[Exception], message: str
) -> None:
    key = new_key(1)
    holder = did_key(key.public_key())
    signed = sign(holder, key, did_key_verification_method(key.public_key()), loader, **change)
    with pytest.raises(error, match=message):
        check(signed, loader)


@pytest.mark.parametrize(
    ("holder", "message"),
    [
        (None, "no holder"),
        ("", "no holder"),
        ("https://wallet.example.org/ann", "not a did:key or did:web"),
        ("did:jwk:eyJrdHkiOiJPS1AifQ", "not a did:key or did:web"),
        ("did:key", "not a did:key or did:web"),
        ("did:web:wallet.example.org#key-1", "not a DID URL"),
    ],
)
def test_a_holder_that_is_not_a_did_key_or_did_web_is_refused(
    loader: DocumentLoader, holder: Any, message: str
) -> None:
    key = new_key(1)
    signed = sign("did:example:placeholder", key, did_key_verification_method(key.public_key()),
                  loader)  # fmt: skip
    signed["holder"] = holder
    with pytest.raises(MalformedCredential, match=message.replace("not a DID URL", "DID URL")):
        check(signed, loader)


def test_a_holder_object_names_its_did(loader: DocumentLoader) -> None:
    key = new_key(3)
    holder = did_key(key.public_key())
    signed = sign(holder, key, did_key_verification_method(key.public_key()), loader)
    # vc.js writes a string; VC 2.0 allows an object with an id (re-signed with it).
    document = {k: v for k, v in signed.items() if k != "proof"}
    document["holder"] = {"id": holder}
    proof = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    proof["proofValue"] = "z" + b58encode(key.sign(hash_data(document, proof, loader)))
    assert check({**document, "proof": proof}, loader) == holder


@pytest.mark.parametrize(
    "presentation",
    [
        [],
        "a string",
        {"type": ["VerifiableCredential"], "holder": "did:key:z6Mk"},
        {"@context": [VC_V2], "type": ["VerifiablePresentation"], "holder": "did:key:z6Mkx"},
    ],
)
def test_what_is_not_a_signed_presentation_is_refused(
    loader: DocumentLoader, presentation: Any
) -> None:
    with pytest.raises((MalformedCredential, InvalidProof)):
        check(presentation, loader)


def test_two_proofs_or_an_unknown_context_are_refused(loader: DocumentLoader) -> None:
    key = new_key(1)
    holder = did_key(key.public_key())
    signed = sign(holder, key, did_key_verification_method(key.public_key()), loader)
    doubled = {**signed, "proof": [signed["proof"], signed["proof"]]}
    with pytest.raises(InvalidProof, match="exactly one proof"):
        check(doubled, loader)
    foreign = {**signed, "@context": [*signed["@context"], "https://evil.example/context.json"]}
    with pytest.raises(UnknownContext):
        check(foreign, loader)


def web_document(key: ed25519.Ed25519PrivateKey, relation: str) -> dict[str, Any]:
    vm = f"{WEB_DID}#key-1"
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": WEB_DID,
        "verificationMethod": [
            {
                "id": vm,
                "type": "Multikey",
                "controller": WEB_DID,
                "publicKeyMultibase": encode_public_key(key.public_key()),
            }
        ],
        relation: [vm],
    }


def test_a_did_web_holder_authenticates_with_a_key_listed_for_authentication(
    loader: DocumentLoader,
) -> None:
    key = new_key(4)
    asked: list[str] = []

    def fetch(url: str) -> bytes:
        asked.append(url)
        return json.dumps(web_document(key, "authentication")).encode()

    signed = sign(WEB_DID, key, f"{WEB_DID}#key-1", loader)
    assert check(signed, loader, fetch=fetch) == WEB_DID
    assert asked == ["https://wallet.example.org/people/ann/did.json"]


def test_a_did_web_key_listed_only_for_assertions_or_unreachable_is_refused(
    loader: DocumentLoader,
) -> None:
    key = new_key(4)
    signed = sign(WEB_DID, key, f"{WEB_DID}#key-1", loader)
    with pytest.raises(ResolutionError, match="authentication"):
        check(
            signed,
            loader,
            fetch=lambda url: json.dumps(web_document(key, "assertionMethod")).encode(),
        )

    def unreachable(url: str) -> bytes:
        raise OSError("refused: a private address")

    with pytest.raises(ResolutionError, match="could not fetch"):
        check(signed, loader, fetch=unreachable)
    with pytest.raises(ResolutionError, match="fetched"):
        check(signed, loader, fetch=None)
