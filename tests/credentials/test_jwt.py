"""Tests of VC-JWT signing, decoding and verification (``credentials.proofs.jwt``)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from credentials.errors import InvalidProof, KeyFormatError, MalformedCredential
from credentials.jwk import private_jwk, public_jwk
from credentials.multibase import b64url_decode, b64url_encode
from credentials.proofs.jwt import (
    ALLOWED_VERIFY_ALGORITHMS,
    MAX_JWT_LENGTH,
    SIGNING_ALGORITHMS,
    DecodedJwt,
    claim_problems,
    decode_jwt,
    looks_like_jws,
    public_key_from_header,
    sign_jwt,
    verify_jwt_signature,
)
from keys.generate import generate_key
from keys.signing_key import SigningKey

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "1edtech-validator"
JWT_FIXTURES = ["simple-jwt_png", "simple-jwt_svg", "simple-jwt_v1_png", "simple-jwt_v1_svg"]

ISSUER = "https://badges.example.edu/issuers/565049"
KID = ISSUER + "/keys/1"

CREDENTIAL: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ],
    "id": "urn:uuid:6d6e4a0c-3f1e-4b4e-9a3c-0d1b9b7e7f01",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {"id": ISSUER, "type": ["Profile"], "name": "École Exemple"},
    "validFrom": "2024-03-01T12:00:00Z",
    "validUntil": "2029-03-01T12:00:00Z",
    "name": "Café facilitation ✓",
    "credentialSubject": {
        "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "https://badges.example.edu/achievements/1",
            "type": ["Achievement"],
            "name": "Facilitation",
            "criteria": {"narrative": "Ran three workshops."},
        },
    },
}

NBF = 1709294400  # 2024-03-01T12:00:00Z
EXP = 1867060800  # 2029-03-01T12:00:00Z


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return generate_key("rsa", kid=KID)


@pytest.fixture(scope="module")
def p256_key() -> SigningKey:
    return generate_key("p256", kid=KID)


@pytest.fixture(scope="module")
def ed_key() -> SigningKey:
    return generate_key("ed25519", kid=KID)


def _fixture_token(name: str) -> str:
    return (FIXTURES / "jwt" / f"{name}.jwt").read_text().strip()


def _segment(value: Any) -> str:
    if isinstance(value, bytes):
        return b64url_encode(value)
    return b64url_encode(json.dumps(value, separators=(",", ":")).encode())


def _token(
    header: Any,
    payload: Any,
    sign: Callable[[bytes], bytes] | None = None,
) -> str:
    """Build a compact JWS by hand; without ``sign`` the signature is 64 junk bytes."""
    signing_input = f"{_segment(header)}.{_segment(payload)}"
    signature = sign(signing_input.encode()) if sign else b"\x01" * 64
    return f"{signing_input}.{b64url_encode(signature)}"


def _payload(**changes: Any) -> dict[str, Any]:
    """The payload sign_jwt makes for CREDENTIAL, with members changed (None deletes)."""
    payload = copy.deepcopy(CREDENTIAL)
    payload.update(
        iss=ISSUER, jti=CREDENTIAL["id"], sub=CREDENTIAL["credentialSubject"]["id"], nbf=NBF
    )
    payload["exp"] = EXP
    for name, value in changes.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return payload


# --- the 1EdTech validator fixtures -----------------------------------------------------------


@pytest.mark.parametrize("name", JWT_FIXTURES)
def test_1edtech_fixture_decodes_and_verifies(name: str) -> None:
    expected = json.loads((FIXTURES / "jwt" / f"{name}.decoded.json").read_text())
    decoded = decode_jwt(_fixture_token(name))

    assert decoded.header == expected["header"]
    assert decoded.payload == expected["payload"]
    assert decoded.extra_header_names == ()
    assert decoded.uses_vc_claim is name.startswith("simple-jwt_v1")
    if decoded.uses_vc_claim:
        assert decoded.credential == expected["payload"]["vc"]
    else:
        assert decoded.credential is decoded.payload
    assert decoded.header["alg"] == "RS256"

    key = public_key_from_header(decoded)
    assert isinstance(key, rsa.RSAPublicKey)
    verify_jwt_signature(decoded, key)
    # The fixtures carry iat/aud and omit sub; none of that is a problem.
    assert claim_problems(decoded) == []
    assert looks_like_jws(_fixture_token(name))


def test_fixture_signature_fails_with_another_fixtures_key() -> None:
    png = decode_jwt(_fixture_token("simple-jwt_png"))
    svg_key = public_key_from_header(decode_jwt(_fixture_token("simple-jwt_svg")))
    assert svg_key is not None
    with pytest.raises(InvalidProof, match="does not verify"):
        verify_jwt_signature(png, svg_key)


def test_validator_simple_jwt_without_key_in_header() -> None:
    decoded = decode_jwt((FIXTURES / "simple.jwt").read_text().strip())
    assert decoded.uses_vc_claim
    assert decoded.header == {"alg": "RS256", "typ": "JWT"}
    assert decoded.credential["id"] == decoded.payload["jti"]
    assert public_key_from_header(decoded) is None
    assert claim_problems(decoded) == []


# --- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("key_name", ["rsa_key", "p256_key"])
@pytest.mark.parametrize("embed", [False, True], ids=["kid", "jwk"])
def test_round_trip(key_name: str, embed: bool, request: pytest.FixtureRequest) -> None:
    key: SigningKey = request.getfixturevalue(key_name)
    jwk = public_jwk(key.public_key())
    original = copy.deepcopy(CREDENTIAL)
    token = (
        sign_jwt(CREDENTIAL, signer=key, jwk=jwk)
        if embed
        else sign_jwt(CREDENTIAL, signer=key, kid=KID)
    )
    assert original == CREDENTIAL  # not mutated

    assert looks_like_jws(token)
    decoded = decode_jwt(token)
    if embed:
        assert decoded.header == {"alg": key.algorithm, "typ": "JWT", "jwk": jwk}
        embedded = public_key_from_header(decoded)
        assert embedded is not None
        verify_jwt_signature(decoded, embedded)
    else:
        assert decoded.header == {"alg": key.algorithm, "typ": "JWT", "kid": KID}
        assert public_key_from_header(decoded) is None
    verify_jwt_signature(decoded, key.public_key())
    assert not decoded.uses_vc_claim
    assert decoded.extra_header_names == ()
    assert claim_problems(decoded) == []


def test_payload_is_the_credential_at_top_level_plus_claims(p256_key: SigningKey) -> None:
    decoded = decode_jwt(sign_jwt(CREDENTIAL, signer=p256_key, kid=KID))
    assert "vc" not in decoded.payload
    assert decoded.payload == _payload()
    assert decoded.credential == decoded.payload
    assert decoded.payload["nbf"] == NBF
    assert decoded.payload["exp"] == EXP
    assert decoded.payload["sub"] == "did:example:ebfeb1f712ebc6f1c276e12ec21"


def test_compact_utf8_serialisation(p256_key: SigningKey) -> None:
    token = sign_jwt(CREDENTIAL, signer=p256_key, kid=KID)
    header_part, payload_part, _ = token.split(".")
    assert (
        b64url_decode(header_part) == b'{"alg":"ES256","typ":"JWT","kid":"' + KID.encode() + b'"}'
    )
    raw = b64url_decode(payload_part)
    assert "Café facilitation ✓".encode() in raw  # UTF-8, not \u escapes
    assert b", " not in raw and b": " not in raw
    assert "=" not in token


def test_optional_claims_and_string_issuer(rsa_key: SigningKey) -> None:
    credential = copy.deepcopy(CREDENTIAL)
    credential["issuer"] = ISSUER
    del credential["validUntil"]
    del credential["credentialSubject"]["id"]
    credential["validFrom"] = "2024-03-01T14:00:00.750+02:00"  # same instant, fractional
    decoded = decode_jwt(sign_jwt(credential, signer=rsa_key, kid=KID))
    assert decoded.payload["iss"] == ISSUER
    assert decoded.payload["nbf"] == NBF
    assert "exp" not in decoded.payload
    assert "sub" not in decoded.payload
    assert claim_problems(decoded) == []


def test_data_integrity_proof_is_signed_as_is(p256_key: SigningKey) -> None:
    credential = copy.deepcopy(CREDENTIAL)
    credential["proof"] = [
        {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "verificationMethod": ISSUER + "#z6Mk",
            "proofPurpose": "assertionMethod",
            "proofValue": "z3abc",
        }
    ]
    decoded = decode_jwt(sign_jwt(credential, signer=p256_key, kid=KID))
    assert decoded.credential["proof"] == credential["proof"]


def test_eddsa_token_built_by_hand_verifies(ed_key: SigningKey) -> None:
    jwk = public_jwk(ed_key.public_key())
    token = _token({"alg": "EdDSA", "typ": "JWT", "jwk": jwk}, _payload(), ed_key.sign)
    decoded = decode_jwt(token)
    key = public_key_from_header(decoded)
    assert isinstance(key, ed25519.Ed25519PublicKey)
    verify_jwt_signature(decoded, key)
    assert claim_problems(decoded) == []
    assert "EdDSA" in ALLOWED_VERIFY_ALGORITHMS and "EdDSA" not in SIGNING_ALGORITHMS


# --- signing refusals ---------------------------------------------------------------------------


def test_signing_with_ed25519_is_refused(ed_key: SigningKey) -> None:
    with pytest.raises(InvalidProof, match="EdDSA"):
        sign_jwt(CREDENTIAL, signer=ed_key, kid=KID)


@pytest.mark.parametrize("member", ["id", "issuer", "validFrom"])
def test_signing_needs_id_issuer_and_valid_from(member: str, rsa_key: SigningKey) -> None:
    credential = {k: v for k, v in CREDENTIAL.items() if k != member}
    with pytest.raises(MalformedCredential, match=member):
        sign_jwt(credential, signer=rsa_key, kid=KID)


def test_signing_needs_issuer_with_id(rsa_key: SigningKey) -> None:
    credential = dict(CREDENTIAL, issuer={"type": ["Profile"]})
    with pytest.raises(MalformedCredential, match="issuer"):
        sign_jwt(credential, signer=rsa_key, kid=KID)


def test_signing_rejects_bad_dates(rsa_key: SigningKey) -> None:
    with pytest.raises(MalformedCredential, match="validUntil"):
        sign_jwt(dict(CREDENTIAL, validUntil="2029-03-01"), signer=rsa_key, kid=KID)


def test_signing_needs_exactly_one_of_kid_and_jwk(rsa_key: SigningKey) -> None:
    jwk = public_jwk(rsa_key.public_key())
    with pytest.raises(InvalidProof, match="exactly one"):
        sign_jwt(CREDENTIAL, signer=rsa_key)
    with pytest.raises(InvalidProof, match="exactly one"):
        sign_jwt(CREDENTIAL, signer=rsa_key, kid=KID, jwk=jwk)


def test_kid_must_be_a_uri(rsa_key: SigningKey) -> None:
    with pytest.raises(InvalidProof, match="URI"):
        sign_jwt(CREDENTIAL, signer=rsa_key, kid="key-1")


def test_private_jwk_is_refused(rsa_key: SigningKey) -> None:
    with pytest.raises(KeyFormatError, match="private"):
        sign_jwt(CREDENTIAL, signer=rsa_key, jwk=private_jwk(rsa_key.private_key))


def test_jwk_of_another_key_is_refused(rsa_key: SigningKey, p256_key: SigningKey) -> None:
    other = generate_key("p256")
    with pytest.raises(InvalidProof, match="not the public key"):
        sign_jwt(CREDENTIAL, signer=p256_key, jwk=public_jwk(other.public_key()))
    with pytest.raises(InvalidProof, match="not the public key"):
        sign_jwt(CREDENTIAL, signer=rsa_key, jwk=public_jwk(p256_key.public_key()))


def test_claim_collision_is_refused(rsa_key: SigningKey) -> None:
    with pytest.raises(MalformedCredential, match="collides"):
        sign_jwt(dict(CREDENTIAL, iss="https://elsewhere.example"), signer=rsa_key, kid=KID)
    with pytest.raises(MalformedCredential, match="vc"):
        sign_jwt(dict(CREDENTIAL, vc={}), signer=rsa_key, kid=KID)
    # A re-signed payload whose claims already agree is fine.
    decoded = decode_jwt(sign_jwt(_payload(), signer=rsa_key, kid=KID))
    assert decoded.payload == _payload()


def test_non_json_credential_is_refused(rsa_key: SigningKey) -> None:
    with pytest.raises(MalformedCredential, match="JSON"):
        sign_jwt(dict(CREDENTIAL, score=float("nan")), signer=rsa_key, kid=KID)
    with pytest.raises(MalformedCredential, match="JSON"):
        sign_jwt(dict(CREDENTIAL, extra={1, 2}), signer=rsa_key, kid=KID)


# --- tampering ----------------------------------------------------------------------------------


def test_tampered_payload_fails(rsa_key: SigningKey) -> None:
    header, _, signature = sign_jwt(CREDENTIAL, signer=rsa_key, kid=KID).split(".")
    forged = f"{header}.{_segment(_payload(name='Forged'))}.{signature}"
    with pytest.raises(InvalidProof, match="does not verify"):
        verify_jwt_signature(decode_jwt(forged), rsa_key.public_key())


def test_tampered_header_fails(p256_key: SigningKey) -> None:
    _, payload, signature = sign_jwt(CREDENTIAL, signer=p256_key, kid=KID).split(".")
    forged = f"{_segment({'alg': 'ES256', 'typ': 'JWT', 'kid': KID + 'x'})}.{payload}.{signature}"
    with pytest.raises(InvalidProof, match="does not verify"):
        verify_jwt_signature(decode_jwt(forged), p256_key.public_key())


@pytest.mark.parametrize("key_name", ["rsa_key", "p256_key"])
def test_tampered_signature_fails(key_name: str, request: pytest.FixtureRequest) -> None:
    key: SigningKey = request.getfixturevalue(key_name)
    header, payload, signature = sign_jwt(CREDENTIAL, signer=key, kid=KID).split(".")
    raw = bytearray(b64url_decode(signature))
    raw[5] ^= 0x01
    forged = f"{header}.{payload}.{b64url_encode(bytes(raw))}"
    with pytest.raises(InvalidProof, match="does not verify"):
        verify_jwt_signature(decode_jwt(forged), key.public_key())


def test_es256_signature_must_be_raw_r_s(p256_key: SigningKey) -> None:
    header = {"alg": "ES256", "typ": "JWT", "kid": KID}

    def der_sign(data: bytes) -> bytes:
        private = p256_key.private_key
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        return private.sign(data, ec.ECDSA(hashes.SHA256()))  # DER, as X.509 uses it

    token = _token(header, _payload(), der_sign)
    with pytest.raises(InvalidProof, match="does not verify"):
        verify_jwt_signature(decode_jwt(token), p256_key.public_key())


# --- algorithm and header refusals -------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_refused(alg: str) -> None:
    header = _segment({"alg": alg, "typ": "JWT"})
    for token in (f"{header}.{_segment(_payload())}.", _token({"alg": alg}, _payload())):
        with pytest.raises(InvalidProof, match="none"):
            decode_jwt(token)


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_symmetric_algorithms_are_refused(alg: str) -> None:
    with pytest.raises(InvalidProof, match=alg):
        decode_jwt(_token({"alg": alg, "typ": "JWT"}, _payload()))


def test_hs256_key_confusion_is_refused(rsa_key: SigningKey) -> None:
    # The classic attack: MAC the token with the issuer's *public* key bytes, hoping the
    # verifier hands its RSA public key to an HMAC check.
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = public_jwk(rsa_key.public_key())
    token = _token(
        {"alg": "HS256", "typ": "JWT", "jwk": jwk},
        _payload(),
        lambda data: hmac.new(pem, data, hashlib.sha256).digest(),
    )
    with pytest.raises(InvalidProof, match="HS256"):
        decode_jwt(token)
    # Even a hand-made DecodedJwt claiming HS256 never reaches a signature check.
    valid = decode_jwt(sign_jwt(CREDENTIAL, signer=rsa_key, kid=KID))
    confused = DecodedJwt(
        header={"alg": "HS256"},
        payload=valid.payload,
        credential=valid.credential,
        uses_vc_claim=False,
        signing_input=valid.signing_input,
        signature=hmac.new(pem, valid.signing_input, hashlib.sha256).digest(),
    )
    with pytest.raises(InvalidProof, match="HS256"):
        verify_jwt_signature(confused, rsa_key.public_key())


@pytest.mark.parametrize("alg", ["PS256", "ES384", "RS512", "ES256K", "rs256", "Ed25519"])
def test_unknown_algorithms_are_refused(alg: str) -> None:
    with pytest.raises(InvalidProof, match=alg):
        decode_jwt(_token({"alg": alg, "typ": "JWT"}, _payload()))


@pytest.mark.parametrize("header", [{"typ": "JWT"}, {"alg": 256}, {"alg": ["RS256"]}])
def test_missing_or_non_string_alg_is_refused(header: dict[str, Any]) -> None:
    with pytest.raises(InvalidProof, match="alg"):
        decode_jwt(_token(header, _payload()))


def test_crit_header_is_refused() -> None:
    header = {"alg": "RS256", "typ": "JWT", "kid": KID, "crit": ["exp"], "exp": 1}
    with pytest.raises(InvalidProof, match="critical"):
        decode_jwt(_token(header, _payload()))


@pytest.mark.parametrize("typ", ["vc+jwt", "vc+ld+jwt", "JOSE", 1])
def test_typ_other_than_jwt_is_refused(typ: Any) -> None:
    with pytest.raises(InvalidProof, match="typ"):
        decode_jwt(_token({"alg": "RS256", "typ": typ}, _payload()))


def test_typ_is_case_insensitive_and_optional() -> None:
    assert decode_jwt(_token({"alg": "RS256", "typ": "jwt"}, _payload())).header["typ"] == "jwt"
    assert "typ" not in decode_jwt(_token({"alg": "RS256", "kid": KID}, _payload())).header


def test_extra_headers_are_recorded_not_fatal() -> None:
    header = {"alg": "RS256", "typ": "JWT", "kid": KID, "x5u": "https://x", "jku": "https://y"}
    decoded = decode_jwt(_token(header, _payload()))
    assert decoded.extra_header_names == ("jku", "x5u")


@pytest.mark.parametrize("header", [{"alg": "RS256", "kid": 7}, {"alg": "RS256", "jwk": "abc"}])
def test_kid_and_jwk_types_are_checked(header: dict[str, Any]) -> None:
    with pytest.raises(InvalidProof):
        decode_jwt(_token(header, _payload()))


def test_private_jwk_in_header_is_refused(rsa_key: SigningKey) -> None:
    header = {"alg": "RS256", "jwk": private_jwk(rsa_key.private_key)}
    decoded = decode_jwt(_token(header, _payload(), rsa_key.sign))
    with pytest.raises(KeyFormatError, match="private"):
        public_key_from_header(decoded)


# --- malformed tokens ---------------------------------------------------------------------------


def _valid_parts() -> list[str]:
    return _token({"alg": "RS256", "typ": "JWT"}, _payload()).split(".")


@pytest.mark.parametrize("count", [1, 2, 4, 5])
def test_wrong_number_of_parts(count: int) -> None:
    parts = (_valid_parts() * 2)[:count]
    with pytest.raises(MalformedCredential, match="three"):
        decode_jwt(".".join(parts))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: p + "=",  # padding
        lambda p: p[:10] + "+" + p[11:],  # the plain base64 alphabet
        lambda p: p[:10] + "/" + p[11:],
        lambda p: p[:10] + " " + p[10:],  # whitespace
        lambda p: p + "\n",
        lambda p: p[:10] + "!" + p[10:],  # lenient decoders silently skip such characters
        lambda p: p[:10] + "é" + p[10:],
        lambda p: p + "A" * (5 - len(p) % 4),  # length 1 mod 4 cannot be base64
    ],
)
def test_bad_base64url(mangle: Callable[[str], str]) -> None:
    header, payload, signature = _valid_parts()
    with pytest.raises(MalformedCredential, match="base64url"):
        decode_jwt(f"{header}.{mangle(payload)}.{signature}")
    with pytest.raises(MalformedCredential, match="base64url"):
        decode_jwt(f"{mangle(header)}.{payload}.{signature}")


def test_non_canonical_base64url_signature() -> None:
    header, payload, signature = _valid_parts()
    # 64 bytes -> 86 characters with 4 leftover bits; setting one gives a second spelling.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet[alphabet.index(signature[-1]) | 1]
    with pytest.raises(MalformedCredential, match="canonical"):
        decode_jwt(f"{header}.{payload}.{signature[:-1]}{last}")


def test_empty_signature_is_refused() -> None:
    header, payload, _ = _valid_parts()
    with pytest.raises(InvalidProof, match="no signature"):
        decode_jwt(f"{header}.{payload}.")


@pytest.mark.parametrize("payload", [["a"], "text", 42, None, True])
def test_payload_must_be_an_object(payload: Any) -> None:
    with pytest.raises(MalformedCredential, match="payload must be a JSON object"):
        decode_jwt(_token({"alg": "RS256"}, payload))


def test_header_must_be_an_object() -> None:
    with pytest.raises(MalformedCredential, match="header must be a JSON object"):
        decode_jwt(_token(["RS256"], _payload()))


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_json_nan_and_infinity_are_refused(constant: bytes) -> None:
    payload = b'{"id":"urn:x","nbf":' + constant + b"}"
    with pytest.raises(MalformedCredential, match="not allowed"):
        decode_jwt(_token({"alg": "RS256"}, payload))


def test_duplicate_members_are_refused() -> None:
    header = b'{"alg":"RS256","alg":"HS256"}'
    with pytest.raises(MalformedCredential, match="repeats"):
        decode_jwt(_token(header, _payload()))


@pytest.mark.parametrize(
    "raw", [b"\xff\xfe{}", b'{"a":"\xc3\x28"}', b"\xef\xbb\xbf{}", b"{", b"{} x"]
)
def test_invalid_json_or_utf8(raw: bytes) -> None:
    with pytest.raises(MalformedCredential, match="payload"):
        decode_jwt(_token({"alg": "RS256"}, raw))


def test_deep_nesting_is_refused() -> None:
    raw = b'{"a":' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    with pytest.raises(MalformedCredential, match="payload"):
        decode_jwt(_token({"alg": "RS256"}, raw))


def test_huge_token_is_refused() -> None:
    token = _token({"alg": "RS256"}, _payload(padding="x" * MAX_JWT_LENGTH))
    with pytest.raises(MalformedCredential, match="longer"):
        decode_jwt(token)
    assert not looks_like_jws(token)


def test_non_string_token_is_refused() -> None:
    with pytest.raises(MalformedCredential):
        decode_jwt(_token({"alg": "RS256"}, _payload()).encode())  # type: ignore[arg-type]


def test_vc_claim_must_be_an_object() -> None:
    with pytest.raises(MalformedCredential, match="vc claim"):
        decode_jwt(_token({"alg": "RS256"}, {"vc": "nope", "iss": ISSUER}))


# --- wrong keys ---------------------------------------------------------------------------------


def test_wrong_key_type_for_alg(
    rsa_key: SigningKey, p256_key: SigningKey, ed_key: SigningKey
) -> None:
    rs256 = decode_jwt(sign_jwt(CREDENTIAL, signer=rsa_key, kid=KID))
    es256 = decode_jwt(sign_jwt(CREDENTIAL, signer=p256_key, kid=KID))
    eddsa = decode_jwt(_token({"alg": "EdDSA"}, _payload(), ed_key.sign))
    with pytest.raises(InvalidProof, match="RSA"):
        verify_jwt_signature(rs256, p256_key.public_key())
    with pytest.raises(InvalidProof, match="RSA"):
        verify_jwt_signature(rs256, ed_key.public_key())
    with pytest.raises(InvalidProof, match="P-256"):
        verify_jwt_signature(es256, rsa_key.public_key())
    with pytest.raises(InvalidProof, match="P-256"):
        verify_jwt_signature(es256, ec.generate_private_key(ec.SECP384R1()).public_key())
    with pytest.raises(InvalidProof, match="Ed25519"):
        verify_jwt_signature(eddsa, p256_key.public_key())


def test_short_rsa_key_is_refused() -> None:
    # Deliberately weak: the point is that verification refuses it.
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    token = _token(
        {"alg": "RS256"},
        _payload(),
        lambda data: short.sign(data, padding.PKCS1v15(), hashes.SHA256()),
    )
    with pytest.raises(InvalidProof, match="2048"):
        verify_jwt_signature(decode_jwt(token), short.public_key())


# --- claim checks -------------------------------------------------------------------------------


def _claims(payload: Any) -> list[str]:
    return claim_problems(decode_jwt(_token({"alg": "RS256", "kid": KID}, payload)))


def test_claims_consistent_for_sign_jwt_output(rsa_key: SigningKey) -> None:
    assert claim_problems(decode_jwt(sign_jwt(CREDENTIAL, signer=rsa_key, kid=KID))) == []
    assert _claims(_payload()) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"jti": "urn:uuid:other"}, "jti"),
        ({"iss": "https://evil.example/issuers/1"}, "iss"),
        ({"nbf": NBF + 1}, "nbf"),
        ({"exp": EXP - 60}, "exp"),
        ({"sub": "did:example:someone-else"}, "sub"),
        ({"iss": None}, "no iss"),
        ({"jti": None}, "no jti"),
        ({"nbf": None}, "no nbf"),
        ({"exp": None}, "no exp"),
        ({"nbf": "1709294400"}, "number of seconds"),
        ({"validFrom": "yesterday"}, "validFrom"),
    ],
)
def test_claim_mismatches_are_reported(changes: dict[str, Any], expected: str) -> None:
    problems = _claims(_payload(**changes))
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_missing_sub_and_extra_registered_claims_are_fine() -> None:
    assert _claims(_payload(sub=None, iat=1712234438, aud="did:example:x")) == []


def test_exp_without_valid_until_is_fine_but_nbf_needs_valid_from() -> None:
    credential = {k: v for k, v in _payload().items() if k != "validUntil"}
    assert _claims(credential) == []
    credential = {k: v for k, v in _payload().items() if k != "validFrom"}
    assert _claims(credential) == ["the JWT has an nbf claim but the credential has no validFrom"]


def test_fractional_nbf_compares_in_whole_seconds() -> None:
    assert _claims(_payload(nbf=NBF + 0.5)) == []


def test_context_must_agree_with_where_the_credential_is() -> None:
    vc1 = {"@context": ["https://www.w3.org/2018/credentials/v1"], "id": "urn:x"}
    assert any("vc claim" in p for p in _claims({**vc1, "iss": ISSUER, "jti": "urn:x", "nbf": 1}))
    wrapped = {"vc": {"@context": CREDENTIAL["@context"], "id": "urn:x"}, "jti": "urn:x"}
    assert any("VC 2.0" in p for p in _claims(wrapped))


def test_vc_claim_tokens_compare_with_issuance_and_expiration_dates() -> None:
    vc = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "id": "urn:x",
        "issuer": ISSUER,
        "issuanceDate": "2024-03-01T12:00:00Z",
        "expirationDate": "2029-03-01T12:00:00Z",
        "credentialSubject": {"id": "did:example:a"},
    }
    good = {"vc": vc, "iss": ISSUER, "jti": "urn:x", "nbf": NBF, "exp": EXP, "sub": "did:example:a"}
    assert _claims(good) == []
    # VC 1.1 claims stand in for missing properties, so absence is not a problem.
    assert _claims({"vc": {"@context": vc["@context"]}}) == []
    assert _claims({"vc": {"@context": vc["@context"]}, "iss": ISSUER, "jti": "urn:x"}) == []
    bad = dict(good, nbf=NBF - 1, jti="urn:y")
    problems = _claims(bad)
    assert len(problems) == 2
    assert any("issuanceDate" in p for p in problems)
    assert any("jti" in p for p in problems)


# --- sniffing -----------------------------------------------------------------------------------


def test_looks_like_jws(p256_key: SigningKey) -> None:
    token = sign_jwt(CREDENTIAL, signer=p256_key, kid=KID)
    assert looks_like_jws(token)
    assert not looks_like_jws(json.dumps(CREDENTIAL))
    assert not looks_like_jws(" " + token)
    assert not looks_like_jws(token + "\n")
    assert not looks_like_jws(".".join(token.split(".")[:2]))
    assert not looks_like_jws(token + ".abc")
    assert not looks_like_jws("abcd.efgh.ijkl")
    assert not looks_like_jws("a.b.c")
    assert not looks_like_jws("")
    # An unsecured token still looks like a JWT, so decode_jwt gets to refuse it by name.
    unsecured = f"{_segment({'alg': 'none'})}.{_segment(_payload())}."
    assert looks_like_jws(unsecured)
