"""A wallet in Python for the exchange tests: a did:key and the DID Authentication presentation
LCW signs (an empty presentation, Ed25519Signature2020, purpose authentication; the same shape
as tests/fixtures/lcw/didauth_presentation.json, which LCW's libraries made)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives.asymmetric import ed25519

from credentials import (
    DocumentLoader,
    b58encode,
    did_key,
    did_key_verification_method,
    hash_data,
)

CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://w3id.org/security/suites/ed25519-2020/v1",
]


@dataclass
class Wallet:
    """A did:key wallet (a fixed key per ``n``, so tests are repeatable)."""

    n: int = 7

    @property
    def key(self) -> ed25519.Ed25519PrivateKey:
        return ed25519.Ed25519PrivateKey.from_private_bytes(bytes([self.n]) * 32)

    @property
    def did(self) -> str:
        return did_key(self.key.public_key())

    @property
    def method(self) -> str:
        return did_key_verification_method(self.key.public_key())

    def present(
        self,
        request: dict[str, Any],
        loader: DocumentLoader,
        *,
        holder: str | None = None,
        signer: Wallet | None = None,
        method: str | None = None,
        **changes: Any,
    ) -> dict[str, Any]:
        """The ``{"verifiablePresentation": …}`` answering a presentation request; ``changes``
        override proof options (``challenge``, ``domain``, ``proofPurpose``); ``signer`` signs
        instead of this wallet, ``method`` names another verification method (a did:web's)."""
        vpr = request["verifiablePresentationRequest"]
        document = {"@context": CONTEXTS, "type": ["VerifiablePresentation"],
                    "holder": holder or self.did}  # fmt: skip
        proof = {
            "type": "Ed25519Signature2020",
            "created": "2026-12-05T18:00:00Z",
            "verificationMethod": method or (signer or self).method,
            "proofPurpose": "authentication",
            "challenge": vpr["challenge"],
            "domain": vpr["domain"],
            **changes,
        }
        signature = (signer or self).key.sign(hash_data(document, proof, loader))
        proof["proofValue"] = "z" + b58encode(signature)
        return {"verifiablePresentation": {**document, "proof": proof}}


def wallet_request(link: str) -> dict[str, Any]:
    """The request LCW reads from either of its deep links (``?request=`` URL-encoded JSON)."""
    query = parse_qs(urlsplit(link).query)
    request: dict[str, Any] = json.loads(query["request"][0])
    return request
