"""Key files for the CLI: PEM, Multikey and JWK in; PEM, Multikey and JWK out; public summaries."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from credentials.errors import KeyFormatError
from credentials.jwk import jwk_thumbprint, load_public_jwk, public_jwk
from credentials.multibase import b64url_encode
from credentials.multikey import decode_public_key, encode_public_key
from keys import (
    ACCEPTED_FORMATS,
    KeyFileError,
    KeyStoreError,
    PassphraseRequired,
    SigningKey,
    WrongPassphrase,
    dump_key_file,
    generate_key,
    load_key_file,
    public_key_summary,
)
from tests.keys.test_signing_key import fixture_bytes, fixture_key, raw_private_bytes, verify

# https://www.w3.org/TR/vc-di-eddsa/ test vector key (older member name privateKeyMultibase).
W3C_KEY = {
    "publicKeyMultibase": "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
    "privateKeyMultibase": "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq",
}
# The 1EdTech OB 3.0 implementation guide key (64-byte seed+public secretKeyMultibase).
ONEEDTECH_KEY = {
    "publicKeyMultibase": "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi",
    "secretKeyMultibase": (
        "zrv2bqTbNwCTsRrHFcJCPjVAduh4Ezcnoq1A3ZxH1GWTNkxipLVuaAoMFmze2gFN9oNXfJjufxSHWVZzsJiUsMHFMcx"
    ),
}
ALL_TYPES = ["ed25519", "p256", "rsa"]
P256_MULTIKEY = encode_public_key(fixture_key("p256").public_key())  # type: ignore[arg-type]


def as_bytes(doc: object) -> bytes:
    return json.dumps(doc).encode()


def same_key(a: SigningKey, b: SigningKey) -> bool:
    return raw_private_bytes(a.private_key) == raw_private_bytes(b.private_key)


# -- Multikey ---------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", [W3C_KEY, ONEEDTECH_KEY], ids=["w3c", "1edtech"])
def test_multikey_vectors_load(vector: dict[str, str]) -> None:
    key = load_key_file(as_bytes(vector), None)
    assert key.key_type == "ed25519"
    assert key.kid == vector["publicKeyMultibase"]
    summary = public_key_summary(key)
    assert summary["publicKeyMultibase"] == vector["publicKeyMultibase"]
    assert summary["did"] == f"did:key:{vector['publicKeyMultibase']}"
    verify(decode_public_key(vector["publicKeyMultibase"]), key.sign(b"vc"), b"vc")


def test_multikey_kid_comes_from_id_or_argument() -> None:
    multikey = W3C_KEY["publicKeyMultibase"]
    vm = f"did:key:{multikey}#{multikey}"
    doc = {"type": "Multikey", "id": vm, **W3C_KEY}
    assert load_key_file(as_bytes(doc), None).kid == vm
    assert load_key_file(as_bytes(doc), None, kid="override").kid == "override"


def test_multikey_without_public_member_and_with_both_secret_names() -> None:
    secret_only = {"secretKeyMultibase": W3C_KEY["privateKeyMultibase"]}
    assert load_key_file(as_bytes(secret_only), None).kid == W3C_KEY["publicKeyMultibase"]
    both = {**W3C_KEY, "secretKeyMultibase": W3C_KEY["privateKeyMultibase"]}
    assert load_key_file(as_bytes(both), None).kid == W3C_KEY["publicKeyMultibase"]


def test_mismatched_multikey_halves_are_refused() -> None:
    mismatched = {
        "publicKeyMultibase": ONEEDTECH_KEY["publicKeyMultibase"],
        "secretKeyMultibase": W3C_KEY["privateKeyMultibase"],
    }
    with pytest.raises(KeyFileError, match="does not match") as caught:
        load_key_file(as_bytes(mismatched), None)
    assert isinstance(caught.value, KeyFormatError)  # catchable as either error family
    disagreeing = {**W3C_KEY, "secretKeyMultibase": ONEEDTECH_KEY["secretKeyMultibase"]}
    with pytest.raises(KeyFileError, match="disagree"):
        load_key_file(as_bytes(disagreeing), None)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"publicKeyMultibase": W3C_KEY["publicKeyMultibase"]}, "public key"),
        ({"secretKeyMultibase": "z1111"}, "bad Multikey"),
        ({"secretKeyMultibase": 42}, "must be a string"),
        ({**W3C_KEY, "publicKeyMultibase": P256_MULTIKEY}, "does not match"),
        ({**W3C_KEY, "publicKeyMultibase": "not multibase"}, "bad Multikey"),
    ],
)
def test_bad_multikey_files(doc: dict[str, object], message: str) -> None:
    with pytest.raises(KeyFileError, match=message):
        load_key_file(as_bytes(doc), None)


# -- PEM --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key_type"),
    [
        ("test-ed25519.pem", "ed25519"),
        ("test-p256.pem", "p256"),
        ("test-rsa-2048.pem", "rsa"),
        ("test-p256-sec1.pem", "p256"),
        ("test-rsa-2048-pkcs1.pem", "rsa"),
        ("test-ed25519-openssh.pem", "ed25519"),
    ],
)
def test_plain_pem_files_load(name: str, key_type: str) -> None:
    key = load_key_file(fixture_bytes(name), None)
    assert key.key_type == key_type
    assert same_key(key, fixture_key(key_type))
    assert key.kid == jwk_thumbprint(public_jwk(key.public_key()))  # RFC 7638 by default
    # A passphrase for an unencrypted file is ignored; the caller decides about plaintext.
    assert same_key(load_key_file(fixture_bytes(name), b"unused"), key)


def test_encrypted_pem_fixture() -> None:
    data = fixture_bytes("test-ed25519-encrypted.pem")
    key = load_key_file(data, b"test-passphrase", kid="mine")
    assert key.kid == "mine" and same_key(key, fixture_key("ed25519"))
    with pytest.raises(PassphraseRequired):
        load_key_file(data, None)
    with pytest.raises(WrongPassphrase):
        load_key_file(data, b"wrong")


def test_cairn_encrypted_fixture() -> None:
    data = fixture_bytes("test-ed25519-cairn.pem")
    key = load_key_file(data, b"test-passphrase")
    assert key.kid == "test-ed25519" and same_key(key, fixture_key("ed25519"))
    assert load_key_file(data, b"test-passphrase", kid="mine").kid == "mine"
    with pytest.raises(PassphraseRequired):
        load_key_file(data, None)
    with pytest.raises(WrongPassphrase):
        load_key_file(data, b"wrong")
    # Surrounding text, as in a pasted email, does not hide it.
    assert same_key(load_key_file(b"my key:\n" + data + b"\nthanks\n", b"test-passphrase"), key)


@pytest.mark.parametrize("key_type", ALL_TYPES)
def test_pem_round_trip_encrypted_and_plain(key_type: str) -> None:
    key = fixture_key(key_type)
    encrypted = dump_key_file(key, b"file-passphrase")
    # Cairn's envelope (Argon2id, AES-256-GCM), not PBKDF2 PKCS#8, which is cheap to brute force.
    assert encrypted.startswith(b"-----BEGIN CAIRN ENCRYPTED PRIVATE KEY-----\n")
    assert b"\nKDF: argon2id\nKDF-Params: m=65536,t=3,p=4\n" in encrypted
    assert same_key(load_key_file(encrypted, b"file-passphrase"), key)
    assert load_key_file(encrypted, b"file-passphrase").kid == key.kid
    with pytest.raises(WrongPassphrase):
        load_key_file(encrypted, b"other")
    plain = dump_key_file(key, None)
    assert plain.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert same_key(load_key_file(plain, None), key)


def test_encrypted_traditional_pem() -> None:
    private = fixture_key("p256").private_key
    data = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(b"legacy"),
    )
    assert b"Proc-Type: 4,ENCRYPTED" in data
    with pytest.raises(PassphraseRequired):
        load_key_file(data, None)
    with pytest.raises(WrongPassphrase):
        load_key_file(data, b"wrong")
    assert load_key_file(data, b"legacy").key_type == "p256"


def test_pem_with_surrounding_text_and_other_blocks() -> None:
    params = b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
    data = b"\xef\xbb\xbfsome explanatory text\n" + params + fixture_bytes("test-p256-sec1.pem")
    assert same_key(load_key_file(data, None), fixture_key("p256"))


@pytest.mark.parametrize(
    ("name", "message"), [("test-rsa-1024.pem", "2048"), ("test-p384.pem", "P-256")]
)
def test_unsupported_pem_keys_are_refused(name: str, message: str) -> None:
    with pytest.raises(KeyFileError, match=message):
        load_key_file(fixture_bytes(name), None)


def test_public_pem_is_not_a_key_file() -> None:
    public = fixture_key("ed25519").public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KeyFileError, match="public key"):
        load_key_file(pem, None)


# -- JWK --------------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ALL_TYPES)
def test_jwk_round_trip(key_type: str) -> None:
    key = fixture_key(key_type, kid="jwk-kid")
    data = dump_key_file(key, None, fmt="jwk")
    doc = json.loads(data)
    assert doc["kid"] == "jwk-kid" and doc["alg"] == key.algorithm and "d" in doc
    loaded = load_key_file(data, None)
    assert loaded.kid == "jwk-kid" and same_key(loaded, key)


@pytest.mark.parametrize("key_type", ALL_TYPES)
def test_jwk_without_kid_uses_the_thumbprint(key_type: str) -> None:
    doc = json.loads(dump_key_file(fixture_key(key_type), None, fmt="jwk"))
    del doc["kid"], doc["alg"]
    loaded = load_key_file(as_bytes(doc), None)
    assert loaded.kid == jwk_thumbprint(public_jwk(loaded.public_key()))


def test_jwk_whose_public_half_does_not_match_is_refused() -> None:
    doc = json.loads(dump_key_file(fixture_key("ed25519"), None, fmt="jwk"))
    doc["x"] = public_jwk(generate_key("ed25519").public_key())["x"]
    with pytest.raises(KeyFileError, match="do not match"):
        load_key_file(as_bytes(doc), None)
    p256 = json.loads(dump_key_file(fixture_key("p256"), None, fmt="jwk"))
    other = public_jwk(generate_key("p256").public_key())
    with pytest.raises(KeyFileError):
        load_key_file(as_bytes({**p256, "x": other["x"], "y": other["y"]}), None)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"d": None}, "public key"),
        ({"alg": "RS256"}, "alg"),
        ({"crv": "Ed448"}, "bad JWK"),
        ({"d": "!!"}, "bad JWK"),
        ({"kty": "oct"}, "bad JWK"),
    ],
)
def test_bad_jwk_files(change: dict[str, str | None], message: str) -> None:
    doc = json.loads(dump_key_file(fixture_key("ed25519"), None, fmt="jwk"))
    doc.update(change)
    doc = {k: v for k, v in doc.items() if v is not None}
    with pytest.raises(KeyFileError, match=message):
        load_key_file(as_bytes(doc), None)


def test_short_rsa_jwk_is_refused() -> None:
    n_1024_bits = (1 << 1023) | 1
    doc = {
        "kty": "RSA",
        "n": b64url_encode(n_1024_bits.to_bytes(128, "big")),
        "e": "AQAB",
        "d": "AQ",
    }
    with pytest.raises(KeyFileError, match="2048"):
        load_key_file(as_bytes(doc), None)


# -- Dumping ----------------------------------------------------------------------------------


def test_multikey_dump_round_trip() -> None:
    key = load_key_file(as_bytes(ONEEDTECH_KEY), None)
    doc = json.loads(dump_key_file(key, None, fmt="multikey"))
    assert doc["type"] == "Multikey" and doc["id"] == key.kid
    assert doc["publicKeyMultibase"] == ONEEDTECH_KEY["publicKeyMultibase"]
    assert doc["secretKeyMultibase"].startswith("z3u2")  # the 32-byte seed form
    assert same_key(load_key_file(as_bytes(doc), None), key)


def test_dump_refusals() -> None:
    with pytest.raises(ValueError, match="Ed25519"):
        dump_key_file(fixture_key("p256"), None, fmt="multikey")
    for fmt in ("multikey", "jwk"):
        with pytest.raises(ValueError, match="cannot be encrypted"):
            dump_key_file(fixture_key("ed25519"), b"secret", fmt=fmt)
    with pytest.raises(ValueError, match="unknown key file format"):
        dump_key_file(fixture_key("ed25519"), None, fmt="der")  # type: ignore[arg-type]


# -- Garbage ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n",
        b"hello",
        b"\x00\xff\x30\x82",
        b"{}",
        b"[]",
        b"{not json",
        b'"a string"',
        b"[" * 100_000,
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN DSA PRIVATE KEY-----\nAAAA\n-----END DSA PRIVATE KEY-----\n",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        b"-----BEGIN PRIVATE KEY-----\nunterminated",
        b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
        b" " * 70_000,
    ],
)
def test_garbage_gives_a_clean_one_line_error(data: bytes) -> None:
    with pytest.raises(KeyFileError) as caught:
        load_key_file(data, None)
    message = str(caught.value)
    assert "\n" not in message
    assert isinstance(caught.value, KeyStoreError) and isinstance(caught.value, KeyFormatError)
    assert caught.value.code == "key_file"


def test_accepted_formats_are_named_in_errors() -> None:
    with pytest.raises(KeyFileError) as caught:
        load_key_file(b"nonsense", None)
    assert ACCEPTED_FORMATS in str(caught.value)
    assert "PKCS#8" in ACCEPTED_FORMATS and "JWK" in ACCEPTED_FORMATS


# -- Summaries --------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ALL_TYPES)
def test_public_key_summary_is_public(key_type: str) -> None:
    key = fixture_key(key_type, kid="summary-kid")
    summary = public_key_summary(key)
    text = json.dumps(summary)  # JSON-ready
    assert summary["kid"] == "summary-kid"
    assert summary["key_type"] == key_type and summary["algorithm"] == key.algorithm
    assert "d" not in summary["publicJwk"]
    assert raw_private_bytes(key.private_key).hex() not in text
    verify(load_public_jwk({k: v for k, v in summary["publicJwk"].items()}), key.sign(b"m"), b"m")
    assert ("publicKeyMultibase" in summary) == (key_type != "rsa")
    assert ("did" in summary) == (key_type == "ed25519")
    if key_type == "p256":
        public = decode_public_key(summary["publicKeyMultibase"])
        assert isinstance(public, ec.EllipticCurvePublicKey)


def test_public_key_summary_dates() -> None:
    key = generate_key("ed25519")
    assert "created" not in public_key_summary(key)
