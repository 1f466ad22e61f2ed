"""Multikey encoding of Ed25519 (and P-256) keys, as verification methods publish them.

https://www.w3.org/TR/controller-document/#multikey and https://www.w3.org/TR/vc-di-eddsa/#multikey
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from credentials.errors import KeyFormatError
from credentials.multibase import multibase_decode, multibase_encode

# Multicodec prefixes (varint-encoded): ed25519-pub 0xed, ed25519-priv 0x1300, p256-pub 0x1200.
ED25519_PUB_PREFIX = b"\xed\x01"
ED25519_PRIV_PREFIX = b"\x80\x26"
P256_PUB_PREFIX = b"\x80\x24"

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


def encode_public_key(key: PublicKey) -> str:
    """Return ``publicKeyMultibase`` for a key: ``z6Mk…`` for Ed25519, ``zDn…`` for P-256."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        return multibase_encode(ED25519_PUB_PREFIX + key.public_bytes_raw())
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        point = key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
        return multibase_encode(P256_PUB_PREFIX + point)
    raise KeyFormatError("only Ed25519 and P-256 keys have a Multikey form here")


def decode_public_key(value: str) -> PublicKey:
    """Decode ``publicKeyMultibase``.

    :raises KeyFormatError: for anything that is not a well-formed Ed25519 or P-256 Multikey.
    """
    raw = multibase_decode(value)
    if raw.startswith(ED25519_PUB_PREFIX):
        body = raw[len(ED25519_PUB_PREFIX) :]
        if len(body) != 32:
            raise KeyFormatError("an Ed25519 Multikey holds exactly 32 key bytes")
        return ed25519.Ed25519PublicKey.from_public_bytes(body)
    if raw.startswith(P256_PUB_PREFIX):
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SECP256R1(), raw[len(P256_PUB_PREFIX) :]
            )
        except ValueError as exc:
            raise KeyFormatError(f"bad P-256 Multikey: {exc}") from None
    raise KeyFormatError("unsupported Multikey type (expected Ed25519 z6Mk… or P-256 zDn…)")


def encode_secret_key(key: ed25519.Ed25519PrivateKey) -> str:
    """Return ``secretKeyMultibase`` in the 32-byte seed form of the W3C vectors."""
    return multibase_encode(ED25519_PRIV_PREFIX + key.private_bytes_raw())


def decode_secret_key(value: str) -> ed25519.Ed25519PrivateKey:
    """Decode ``secretKeyMultibase``: the 32-byte seed form or the 64-byte seed‖public form.

    :raises KeyFormatError: for another key type, a wrong length, or a seed/public mismatch.
    """
    raw = multibase_decode(value)
    if not raw.startswith(ED25519_PRIV_PREFIX):
        raise KeyFormatError("not an Ed25519 secretKeyMultibase (prefix 0x8026)")
    body = raw[len(ED25519_PRIV_PREFIX) :]
    if len(body) not in (32, 64):
        raise KeyFormatError("an Ed25519 secret key holds 32 (seed) or 64 (seed+public) bytes")
    key = ed25519.Ed25519PrivateKey.from_private_bytes(body[:32])
    if len(body) == 64 and key.public_key().public_bytes_raw() != body[32:]:
        raise KeyFormatError("the 64-byte secret key's public half does not match its seed")
    return key
