"""SigningKey, key generation and key-type checks; also the helpers the other key tests share."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from credentials.proofs.signer import Signer
from keys import KEY_TYPES, SigningKey, algorithm_of, generate_key, supported_private_key
from keys.signing_key import PrivateKey, PublicKey, key_type_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "keys"


def fixture_bytes(name: str) -> bytes:
    """The bytes of a committed (public, never trusted) test key file."""
    return (FIXTURES / name).read_bytes()


@functools.cache
def fixture_private_key(name: str) -> PrivateKey:
    """A committed unencrypted PEM test key, loaded once (RSA loading checks the key: slow)."""
    return supported_private_key(serialization.load_pem_private_key(fixture_bytes(name), None))


def fixture_key(key_type: str, kid: str | None = None) -> SigningKey:
    """A SigningKey from the committed test keys (no RSA generation in tests)."""
    name = {"ed25519": "test-ed25519.pem", "p256": "test-p256.pem", "rsa": "test-rsa-2048.pem"}
    return SigningKey(kid or f"test-{key_type}", fixture_private_key(name[key_type]))


def verify(public_key: PublicKey, signature: bytes, data: bytes) -> None:
    """Verify a JOSE-form signature; raises InvalidSignature when it does not verify."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        public_key.verify(signature, data)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        assert len(signature) == 64
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    else:
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


def raw_private_bytes(key: PrivateKey) -> bytes:
    """The secret scalar or seed of a key, for 'never written in clear' checks."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.private_bytes_raw()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.private_numbers().private_value.to_bytes(32, "big")
    d = key.private_numbers().d
    return d.to_bytes((d.bit_length() + 7) // 8, "big")


@pytest.mark.parametrize("key_type", ["ed25519", "p256"])
def test_generated_keys_sign_and_verify(key_type: str) -> None:
    key = generate_key(key_type)
    assert key.key_type == key_type
    assert key.algorithm == KEY_TYPES[key_type]
    assert isinstance(key, Signer)
    signature = key.sign(b"payload")
    verify(key.public_key(), signature, b"payload")
    with pytest.raises(InvalidSignature):
        verify(key.public_key(), signature, b"tampered")


@pytest.mark.parametrize("key_type", ["ed25519", "p256", "rsa"])
def test_fixture_keys_sign_and_verify(key_type: str) -> None:
    key = fixture_key(key_type)
    assert key.key_type == key_type
    assert key.algorithm == KEY_TYPES[key_type]
    verify(key.public_key(), key.sign(b"data"), b"data")


def test_es256_signatures_are_raw_r_s() -> None:
    assert len(fixture_key("p256").sign(b"x")) == 64


def test_generate_key_defaults_and_overrides() -> None:
    first, second = generate_key("ed25519"), generate_key("ed25519")
    assert first.kid.startswith("key-") and first.kid != second.kid
    assert first.created is None and not first.is_retired
    assert generate_key("ed25519", kid="mine").kid == "mine"


def test_unknown_key_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown key type"):
        generate_key("dsa")


def test_repr_never_shows_the_private_key() -> None:
    key = fixture_key("ed25519")
    assert "private_key" not in repr(key)
    assert raw_private_bytes(key.private_key).hex() not in repr(key)


@pytest.mark.parametrize(
    ("name", "message"),
    [("test-rsa-1024.pem", "2048"), ("test-p384.pem", "P-256")],
)
def test_short_rsa_and_other_curves_are_refused(name: str, message: str) -> None:
    loaded = serialization.load_pem_private_key(fixture_bytes(name), None)
    with pytest.raises(ValueError, match=message):
        supported_private_key(loaded)


def test_supported_private_key_refuses_other_key_kinds() -> None:
    with pytest.raises(ValueError, match="unsupported key type"):
        supported_private_key(x25519.X25519PrivateKey.generate())
    with pytest.raises(ValueError, match="unsupported key type"):
        supported_private_key("not a key")


def test_algorithm_and_key_type_of_public_keys() -> None:
    for key_type in ("ed25519", "p256", "rsa"):
        public = fixture_key(key_type).public_key()
        assert algorithm_of(public) == KEY_TYPES[key_type]
        assert key_type_of(public) == key_type
    assert isinstance(fixture_key("rsa").private_key, rsa.RSAPrivateKey)
