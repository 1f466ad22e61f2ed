"""This Cairn instance's own identity: ``did:web:<host>:instance``, which signs what no single
organisation can, such as a learner's record (CLR 2.0) of credentials from several issuers.

Its keys live in the key store under the owner ``instance``, beside the issuers' keys and as
well protected (encrypted at rest, never in the database). The first Ed25519 key is made the
first time one is needed; rotating is ``KeyStore.rotate("instance", "ed25519", when)``, and the
DID document lists every key, retired ones too, so records signed earlier still verify.
"""

from __future__ import annotations

from typing import Any

from app.services._core.env import ServiceEnv
from credentials import DID_V1_CONTEXT, MULTIKEY_CONTEXT
from keys import KeyNotFound, SigningKey

#: The key store owner of the instance's keys (issuers' owners are ``issuer-<id>``).
KEY_OWNER = "instance"
KEY_TYPE = "ed25519"


def did(env: ServiceEnv) -> str:
    """``did:web:<host>:instance``: its document is served at ``/instance/did.json``."""
    return f"did:web:{env.did_host}:instance"


def signing_key(env: ServiceEnv) -> tuple[SigningKey, str]:
    """The instance's active Ed25519 key (made on first use) and its verification method."""
    try:
        key = env.keystore.active(KEY_OWNER, KEY_TYPE)
    except KeyNotFound:
        # Two first uses at once may each make a key (the later retires the earlier): both stay
        # in the DID document, so what either signed verifies.
        key = env.keystore.rotate(KEY_OWNER, KEY_TYPE, env.now)
    return key, f"{did(env)}#{key.kid}"


def did_document(env: ServiceEnv) -> dict[str, Any]:
    """The instance's DID document: every Ed25519 key it has had, under ``assertionMethod``."""
    instance = did(env)
    methods = [
        {
            "id": f"{instance}#{record.kid}",
            "type": "Multikey",
            "controller": instance,
            "publicKeyMultibase": record.public_multikey,
        }
        for record in env.keystore.list(KEY_OWNER)
        if record.key_type == KEY_TYPE
    ]
    return {
        "@context": [DID_V1_CONTEXT, MULTIKEY_CONTEXT],
        "id": instance,
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }
