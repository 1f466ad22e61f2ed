"""Forgeries for the "never accept a forgery" tests: a credential that names a real issuer's URL
but is signed with an attacker's key given in that URL's fragment, and tampered secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from credentials import (
    Achievement,
    DocumentLoader,
    Profile,
    Recipient,
    add_proof,
    build_credential,
    encode_public_key,
)
from keys import generate_key

#: An issuer URL whose document never answers in the tests.
FORGED_ISSUER = "https://district.example/issuers/pd"


def forged_credential(
    recipient: str, *, now: datetime, loader: DocumentLoader, issuer: str = FORGED_ISSUER
) -> dict[str, Any]:
    """A credential naming ``issuer``, signed by a fresh key that nothing ties to it."""
    attacker = generate_key("ed25519")
    unsigned = build_credential(
        credential_id="urn:uuid:5b0f4c1e-9a2d-4c3b-8e7f-1a2b3c4d5e6f",
        issuer=Profile(id=issuer, name="District PD Office"),
        achievement=Achievement(
            id="https://district.example/achievements/1",
            name="Instructional Leadership",
            description="A badge nobody awarded.",
            criteria_narrative="None.",
        ),
        recipient=Recipient(email=recipient, salt="0123456789abcdef"),
        valid_from=now,
    )
    return add_proof(
        unsigned,
        signer=attacker,
        verification_method=f"{issuer}#{encode_public_key(attacker.public_key())}",
        created=now,
        loader=loader,
    )


def tampered(secret: str) -> str:
    """``secret`` with its last character changed (a fixed replacement could equal the original:
    a random token ends in "x" one time in 64)."""
    return secret[:-1] + ("B" if secret.endswith("A") else "A")
