"""A private signing key with its id and lifecycle dates; it satisfies ``credentials``' Signer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey

#: Key types the CLI and the stores name, and the JOSE algorithm each signs with.
KEY_TYPES = {"ed25519": "EdDSA", "p256": "ES256", "rsa": "RS256"}


def algorithm_of(key: PrivateKey | PublicKey) -> str:
    """The JOSE algorithm a key signs with: ``EdDSA``, ``ES256`` or ``RS256``.

    :raises ValueError: for an unsupported curve or key type.
    """
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if isinstance(key.curve, ec.SECP256R1):
            return "ES256"
        raise ValueError(f"unsupported curve {key.curve.name}; use P-256")
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise ValueError("RSA keys must be at least 2048 bits")
        return "RS256"
    raise ValueError("unsupported key type")


def key_type_of(key: PrivateKey | PublicKey) -> str:
    """The key type name (``ed25519``, ``p256``, ``rsa``) of a key.

    :raises ValueError: for an unsupported curve or key type.
    """
    algorithm = algorithm_of(key)
    return next(name for name, alg in KEY_TYPES.items() if alg == algorithm)


def supported_private_key(key: object) -> PrivateKey:
    """Narrow a freshly loaded private key to one Cairn signs with.

    :param key: whatever ``cryptography`` loaded (it also loads DSA, Ed448, X25519, P-384, ...).
    :returns: the same key, typed as an Ed25519, P-256 or RSA (>= 2048 bits) private key.
    :raises ValueError: for any other key type, curve or size.
    """
    if isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        algorithm_of(key)  # refuses other curves and short RSA keys
        return key
    raise ValueError("unsupported key type; use Ed25519, P-256 or RSA of at least 2048 bits")


@dataclass(frozen=True)
class SigningKey:
    """A private key, its id, and when it was created and (if so) retired.

    ``sign`` returns signatures in JOSE form (raw ``r || s`` for ES256), which is what both
    VC-JWT and Data Integrity expect.
    """

    kid: str
    private_key: PrivateKey = field(repr=False)
    created: datetime | None = None
    retired: datetime | None = None

    @property
    def algorithm(self) -> str:
        """``EdDSA``, ``ES256`` or ``RS256``."""
        return algorithm_of(self.private_key)

    @property
    def key_type(self) -> str:
        """``ed25519``, ``p256`` or ``rsa``."""
        return key_type_of(self.private_key)

    @property
    def is_retired(self) -> bool:
        """Whether the key has been retired (it may still verify, never sign)."""
        return self.retired is not None

    def public_key(self) -> PublicKey:
        """The public half."""
        return self.private_key.public_key()

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` with the key's algorithm."""
        key = self.private_key
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
