"""OpenID4VCI key proofs: a proof by did:key kid or jwk header (ES256 and EdDSA) binds the
credential to the wallet's DID; anything malformed, of another type or algorithm, signed by
another key than it names, for another issuer, stale or from the future is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from credentials import KeyProofError, b64url_encode, verify_key_proof
from tests.credentials.key_proof_helpers import WalletKey, encode, jws, key_proof

ISSUER = "https://badges.example.org"
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("make", [WalletKey.ed25519, WalletKey.p256])
def test_a_proof_by_did_key_binds_to_that_did(make) -> None:
    key = make()
    proof = verify_key_proof(
        key_proof(key, audience=ISSUER, nonce="n1", now=NOW), audience=ISSUER, now=NOW
    )
    assert proof.holder == key.did_key
    assert proof.nonce == "n1"
    assert proof.algorithm == key.alg
    assert proof.issued_at == NOW


@pytest.mark.parametrize("make", [WalletKey.ed25519, WalletKey.p256])
def test_a_proof_by_jwk_binds_to_its_did_jwk(make) -> None:
    key = make()
    token = key_proof(key, audience=ISSUER, nonce=None, now=NOW, by_jwk=True)
    proof = verify_key_proof(token, audience=ISSUER, now=NOW)
    assert proof.holder == key.did_jwk
    assert proof.nonce is None


def test_a_did_jwk_kid_and_a_did_key_without_fragment_are_taken() -> None:
    key = WalletKey.p256()
    by_jwk_did = key_proof(
        key, audience=ISSUER, nonce="n", now=NOW, header={"kid": key.did_jwk + "#0"}
    )
    assert verify_key_proof(by_jwk_did, audience=ISSUER, now=NOW).holder == key.did_jwk
    bare = key_proof(key, audience=ISSUER, nonce="n", now=NOW, header={"kid": key.did_key})
    assert verify_key_proof(bare, audience=ISSUER, now=NOW).holder == key.did_key


def test_aud_may_be_a_list_naming_the_issuer() -> None:
    key = WalletKey.ed25519()
    token = key_proof(key, audience=ISSUER, nonce="n", now=NOW, payload={"aud": ["x", ISSUER]})
    assert verify_key_proof(token, audience=ISSUER, now=NOW).holder == key.did_key


def test_a_proof_signed_by_another_key_than_its_kid_names_is_refused() -> None:
    named, other = WalletKey.p256(), WalletKey.p256()
    token = key_proof(named, audience=ISSUER, nonce="n", now=NOW, signer=other)
    with pytest.raises(KeyProofError, match="signature does not verify"):
        verify_key_proof(token, audience=ISSUER, now=NOW)
    jwk_token = key_proof(named, audience=ISSUER, nonce="n", now=NOW, signer=other, by_jwk=True)
    with pytest.raises(KeyProofError, match="signature does not verify"):
        verify_key_proof(jwk_token, audience=ISSUER, now=NOW)


def test_a_tampered_payload_is_refused() -> None:
    key = WalletKey.ed25519()
    header, _, signature = key_proof(key, audience=ISSUER, nonce="n", now=NOW).split(".")
    forged = encode({"aud": ISSUER, "iat": int(NOW.timestamp()), "nonce": "other"})
    with pytest.raises(KeyProofError, match="signature"):
        verify_key_proof(f"{header}.{forged}.{signature}", audience=ISSUER, now=NOW)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"typ": "JWT"}, "typ"),
        ({"typ": None}, "typ"),
        ({"alg": "none"}, "alg"),
        ({"alg": "HS256"}, "alg"),
        ({"alg": "RS256"}, "alg"),
        ({"crit": ["b64"]}, "critical"),
        ({"x5c": ["MIIB"]}, "x5c"),
        ({"kid": "did:web:wallet.example.org#key-1"}, "did:key or did:jwk"),
        ({"kid": "https://wallet.example.org/keys/1"}, "did:key or did:jwk"),
        ({"kid": "did:key:z6MkNOTAKEY"}, "kid"),
        ({"kid": 7}, "did:key or did:jwk"),
    ],
)
def test_bad_headers_are_refused(header, message) -> None:
    key = WalletKey.ed25519()
    token = key_proof(key, audience=ISSUER, nonce="n", now=NOW, header=header)
    with pytest.raises(KeyProofError, match=message):
        verify_key_proof(token, audience=ISSUER, now=NOW)


def test_both_kid_and_jwk_or_neither_is_refused() -> None:
    key = WalletKey.ed25519()
    both = key_proof(key, audience=ISSUER, nonce="n", now=NOW, header={"jwk": key.jwk})
    with pytest.raises(KeyProofError, match="exactly one of kid and jwk"):
        verify_key_proof(both, audience=ISSUER, now=NOW)
    neither = jws(key, {"alg": key.alg, "typ": "openid4vci-proof+jwt"}, {"aud": ISSUER, "iat": 1})
    with pytest.raises(KeyProofError, match="exactly one of kid and jwk"):
        verify_key_proof(neither, audience=ISSUER, now=NOW)


def test_a_jwk_with_its_private_half_is_refused() -> None:
    key = WalletKey.p256()
    leaked = {**key.jwk, "d": b64url_encode(b"\x01" * 32)}
    token = key_proof(key, audience=ISSUER, nonce="n", now=NOW, by_jwk=True, header={"jwk": leaked})
    with pytest.raises(KeyProofError, match="private"):
        verify_key_proof(token, audience=ISSUER, now=NOW)


def test_an_ed25519_key_cannot_sign_as_es256() -> None:
    key = WalletKey.ed25519()
    token = key_proof(key, audience=ISSUER, nonce="n", now=NOW, header={"alg": "ES256"})
    with pytest.raises(KeyProofError, match="signature"):
        verify_key_proof(token, audience=ISSUER, now=NOW)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"aud": "https://other.example.org"}, "aud"),
        ({"aud": None}, "aud"),
        ({"iat": None}, "iat"),
        ({"iat": "1733400000"}, "iat"),
        ({"iat": True}, "iat"),
        ({"iat": 10**20}, "iat"),
        ({"iat": int((NOW + timedelta(minutes=6)).timestamp())}, "future"),
        ({"iat": int((NOW - timedelta(minutes=11)).timestamp())}, "too old"),
        ({"nonce": 42}, "nonce"),
    ],
)
def test_bad_claims_are_refused(payload, message) -> None:
    key = WalletKey.p256()
    # A claim set to None here is left out of the proof.
    claims = {"aud": ISSUER, "iat": int(NOW.timestamp()), "nonce": "n", **payload}
    claims = {k: v for k, v in claims.items() if v is not None}
    token = jws(key, {"alg": "ES256", "typ": "openid4vci-proof+jwt", "kid": key.kid}, claims)
    with pytest.raises(KeyProofError, match=message):
        verify_key_proof(token, audience=ISSUER, now=NOW)


@pytest.mark.parametrize("token", [None, 42, "", "a.b", "a.b.c.d", "!!.!!.!!", "e30.e30."])
def test_garbage_is_refused(token) -> None:
    with pytest.raises(KeyProofError):
        verify_key_proof(token, audience=ISSUER, now=NOW)
