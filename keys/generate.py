"""Fresh key generation: Ed25519 for Data Integrity, P-256 and RSA-2048 for VC-JWT."""

from __future__ import annotations

import secrets
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from keys.signing_key import KEY_TYPES, PrivateKey, SigningKey


def new_private_key(key_type: str) -> PrivateKey:
    """Generate a private key of ``key_type`` (``ed25519``, ``p256`` or ``rsa``).

    :raises ValueError: for an unknown key type.
    """
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"unknown key type {key_type!r}; choose one of {', '.join(KEY_TYPES)}")


def generate_key(
    key_type: str, *, created: datetime | None = None, kid: str | None = None
) -> SigningKey:
    """Generate a new signing key with a random key id (unless one is given).

    :raises ValueError: for an unknown key type.
    """
    return SigningKey(
        kid=kid or f"key-{secrets.token_hex(8)}",
        private_key=new_private_key(key_type),
        created=created,
    )
