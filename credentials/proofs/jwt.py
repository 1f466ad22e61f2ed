"""VC-JWT for Open Badges 3.0: compact JWS signing, decoding and verification with ``cryptography``.

https://www.imsglobal.org/spec/ob/v3p0/#jwt-proof-format

OB 3.0 follows the VC 2.0 style: the payload *is* the credential, at the top level, plus the
registered claims ``iss``, ``jti``, ``nbf``, ``sub`` and ``exp``. Tokens from the VC 1.1 era nest
the credential under a ``vc`` claim instead; both forms are decoded and verified, only the OB 3.0
form is produced. The JOSE header may hold only ``alg``, ``typ`` (``"JWT"``) and ``kid`` or ``jwk``.

JWS is implemented here directly rather than with a JOSE library so that the few choices that
matter for security are explicit and visible: the algorithm allow-list, the binding of the
algorithm to the key type, strict base64url and JSON, and a size cap.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from credentials.dates import parse_datetime
from credentials.errors import InvalidProof, KeyFormatError, MalformedCredential
from credentials.jwk import PublicKey, load_public_jwk
from credentials.multibase import b64url_decode, b64url_encode
from credentials.proofs.signer import ED25519, ES256, RS256, Signer

#: Algorithms a token may be verified with. Deliberately an allow-list of asymmetric algorithms:
#: ``none`` would make the signature optional and ``HS*`` would let anyone holding the (public)
#: verification key forge tokens, the classic RS256 -> HS256 key-confusion attack.
ALLOWED_VERIFY_ALGORITHMS = (RS256, ES256, ED25519)

#: Algorithms Cairn signs JWTs with. OB 3.0 and the 1EdTech validator accept only these for
#: VC-JWT; EdDSA JWTs are rejected by the 1EdTech validator, so we never produce them.
SIGNING_ALGORITHMS = (RS256, ES256)

#: The JOSE header members the OB 3.0 profile allows ("Additional JOSE Headers are NOT allowed").
ALLOWED_HEADER_NAMES = ("alg", "typ", "kid", "jwk")

#: The only ``typ`` the OB 3.0 profile allows (compared case-insensitively, as RFC 7515 advises).
JWT_TYPE = "JWT"

#: Largest token accepted, in characters. Real badges are a few kilobytes; the cap bounds the
#: memory and time an attacker can make us spend before any signature has been checked.
MAX_JWT_LENGTH = 1024 * 1024

#: Registered claims sign_jwt adds to the payload next to the credential's own members.
_CLAIM_NAMES = ("iss", "jti", "sub", "nbf", "exp")

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_JWS_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")

_VC1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
_VC2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
_OB3_DATES = ("validFrom", "validUntil")


@dataclass(frozen=True)
class DecodedJwt:
    """A compact JWS split into its parts, with the header checked but the signature not yet.

    ``credential`` is ``payload["vc"]`` for VC 1.1-style tokens (``uses_vc_claim`` is true);
    otherwise it is the payload itself, registered claims included, as OB 3.0 puts the credential
    at the top level. ``extra_header_names`` lists header members the OB 3.0 profile does not
    allow, so a verifier can warn about them; decoding does not fail on them.
    """

    header: dict[str, Any]
    payload: dict[str, Any]
    credential: dict[str, Any]
    uses_vc_claim: bool
    signing_input: bytes
    signature: bytes
    extra_header_names: tuple[str, ...] = ()


def sign_jwt(
    credential: Mapping[str, Any],
    *,
    signer: Signer,
    kid: str | None = None,
    jwk: Mapping[str, str] | None = None,
) -> str:
    """Sign an OB 3.0 credential as a VC-JWT (compact JWS) in the OB 3.0 / VC 2.0 style.

    The payload is the credential itself plus ``iss`` (issuer id), ``jti`` (credential id),
    ``nbf`` (validFrom), ``sub`` (credentialSubject.id, when there is one) and ``exp``
    (validUntil, when there is one). A credential that already carries a Data Integrity ``proof``
    is signed as it is: the spec wants the embedded proof made first, then the JWT.

    :param credential: the credential; it is not modified.
    :param signer: an RS256 or ES256 signer.
    :param kid: URI of the verification key (a JWK served over HTTPS, or a DID URL).
    :param jwk: the public JWK of the signing key, embedded in the header instead of ``kid``.
    :returns: the compact JWS ``header.payload.signature``.
    :raises InvalidProof: when the signer's algorithm is not RS256 or ES256, when not exactly one
        of ``kid`` and ``jwk`` is given, when ``kid`` is not a URI, or when ``jwk`` is not the
        signer's public key.
    :raises KeyFormatError: when ``jwk`` is malformed or contains private key members.
    :raises MalformedCredential: when the credential lacks ``id``, ``issuer`` or ``validFrom``,
        has unparseable dates, collides with a registered claim, or is not JSON-serialisable.
    """
    algorithm = signer.algorithm
    if algorithm not in SIGNING_ALGORITHMS:
        raise InvalidProof(
            f"VC-JWT is signed with RS256 or ES256 only, not {algorithm}: "
            "the 1EdTech validator rejects other algorithms"
        )
    if (kid is None) == (jwk is None):
        raise InvalidProof("a VC-JWT header needs exactly one of kid or jwk")

    header: dict[str, Any] = {"alg": algorithm, "typ": JWT_TYPE}
    embedded_key: PublicKey | None = None
    if kid is not None:
        if not isinstance(kid, str) or not _URI_SCHEME.fullmatch(kid):
            raise InvalidProof(f"kid must be a URI that dereferences to a JWK, got {kid!r}")
        header["kid"] = kid
    else:
        jwk_dict = dict(jwk or {})
        # load_public_jwk refuses "d" and the other private members: publishing the private
        # key inside every badge would be a disaster no later check could undo.
        embedded_key = load_public_jwk(jwk_dict)
        header["jwk"] = jwk_dict

    payload = _payload_for(credential)
    signing_input = _encode_json(header) + b"." + _encode_json(payload)
    signature = signer.sign(signing_input)
    if embedded_key is not None:
        # An embedded key that is not the signer's would yield badges no one can verify; the
        # signer may hide its private half, so check by verifying what it just produced.
        try:
            _verify(algorithm, embedded_key, signing_input, signature)
        except InvalidProof:
            raise InvalidProof("the jwk is not the public key of the signer") from None
    return signing_input.decode("ascii") + "." + b64url_encode(signature)


def decode_jwt(token: str) -> DecodedJwt:
    """Split and decode a compact JWS, checking its header against the OB 3.0 profile.

    The signature is not checked here: see :func:`verify_jwt_signature`.

    :param token: the compact JWS, with no surrounding whitespace (callers strip it).
    :returns: the decoded parts.
    :raises MalformedCredential: when the token is too large, does not have three base64url
        parts, or its header or payload is not a JSON object (or the ``vc`` claim is not one).
    :raises InvalidProof: when ``alg`` is missing, ``none``, symmetric or unsupported, when
        ``typ`` is not ``JWT``, when a ``crit`` header is present, when ``kid``/``jwk`` have the
        wrong JSON type, or when the signature part is empty.
    """
    header, payload, signing_input, signature = split_jws(token, _check_header)

    vc = payload.get("vc")
    if "vc" in payload and not isinstance(vc, dict):
        raise MalformedCredential("the JWT's vc claim must be a JSON object")
    uses_vc_claim = isinstance(vc, dict)
    extra = tuple(sorted(name for name in header if name not in ALLOWED_HEADER_NAMES))
    return DecodedJwt(
        header=header,
        payload=payload,
        credential=vc if isinstance(vc, dict) else payload,
        uses_vc_claim=uses_vc_claim,
        signing_input=signing_input,
        signature=signature,
        extra_header_names=extra,
    )


def split_jws(
    token: str, check_header: Callable[[dict[str, Any]], None]
) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Split a compact JWS into its header, payload (both JSON objects), signing input and
    signature, strictly (size cap, canonical base64url, no duplicate members), calling
    ``check_header`` on the header before the payload is decoded. The signature is not checked.

    :raises MalformedCredential: for a token too large, not three base64url parts, or a header
        or payload that is not a JSON object.
    :raises InvalidProof: when the signature part is empty (and whatever ``check_header``
        raises).
    """
    if not isinstance(token, str):
        raise MalformedCredential("a JWT must be text")
    # Checked before any decoding so an oversized input costs nothing.
    if len(token) > MAX_JWT_LENGTH:
        raise MalformedCredential(f"the JWT is longer than {MAX_JWT_LENGTH} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedCredential(
            f"a compact JWS has exactly three dot-separated parts, this has {len(parts)}"
        )
    encoded_header, encoded_payload, encoded_signature = parts
    header = _decode_json_object(encoded_header, "header")
    check_header(header)
    payload = _decode_json_object(encoded_payload, "payload")
    signature = _decode_part(encoded_signature, "signature")
    if not signature:
        # An empty signature is an unsecured JWT in disguise; refuse it before any key lookup.
        raise InvalidProof("the JWT has no signature")
    # JWS signs the encoded text exactly as received, never a re-serialisation.
    return header, payload, (encoded_header + "." + encoded_payload).encode("ascii"), signature


def verify_jwt_signature(decoded: DecodedJwt, public_key: PublicKey) -> None:
    """Verify the JWS signature of a decoded token with ``public_key``.

    The key must suit the header's ``alg``: an RSA key of at least 2048 bits for RS256, a P-256
    key for ES256, an Ed25519 key for EdDSA. Finding the key and checking it belongs to the
    issuer are the caller's job.

    :param decoded: the token from :func:`decode_jwt`.
    :param public_key: the verification key.
    :raises InvalidProof: when the algorithm is not allowed, the key does not suit it, or the
        signature does not verify.
    """
    algorithm = decoded.header.get("alg")
    # Re-checked because a DecodedJwt can be built without decode_jwt.
    if algorithm not in ALLOWED_VERIFY_ALGORITHMS:
        raise InvalidProof(f"JWT algorithm {algorithm!r} is not allowed")
    _verify(algorithm, public_key, decoded.signing_input, decoded.signature)


def public_key_from_header(decoded: DecodedJwt) -> PublicKey | None:
    """Load the public key embedded in the header's ``jwk``, if there is one.

    An embedded key proves only that *someone* signed the token: the caller must still establish
    that the key belongs to the issuer (e.g. it is in the issuer's published JWKS).

    :param decoded: the token from :func:`decode_jwt`.
    :returns: the embedded key, or ``None`` when the header has no ``jwk`` (only a ``kid``, which
        the verifier resolves elsewhere, or neither).
    :raises KeyFormatError: when the JWK is malformed, unsupported, an RSA key under 2048 bits,
        or contains private key members.
    """
    jwk = decoded.header.get("jwk")
    if jwk is None:
        return None
    return load_public_jwk(jwk)


def claim_problems(decoded: DecodedJwt) -> list[str]:
    """Compare the JWT's registered claims with the credential they wrap.

    For OB 3.0 tokens: ``iss`` must equal the issuer id, ``jti`` the credential id, ``nbf`` the
    validFrom (in whole seconds), ``sub`` the credentialSubject id (when both exist) and ``exp``
    the validUntil. Missing ``iss``, ``jti`` or ``nbf`` is a problem; a missing ``sub`` is not,
    because 1EdTech's own fixtures omit it, and ``iat``/``aud`` carry no meaning here. For VC 1.1
    tokens the claims stand in for credential properties, so pairs are compared only when both
    are present, against issuanceDate/expirationDate. Time windows (now vs nbf/exp) are the
    verifier's job: this library has no clock.

    :param decoded: the token from :func:`decode_jwt`.
    :returns: plain-language descriptions of each inconsistency; empty when consistent.
    """
    payload = decoded.payload
    credential = decoded.credential
    lenient = decoded.uses_vc_claim
    problems: list[str] = []

    context = credential.get("@context")
    first_context = context[0] if isinstance(context, list) and context else context
    if lenient and first_context == _VC2_CONTEXT:
        problems.append("a VC 2.0 credential must be the JWT payload itself, not a vc claim")
    if not lenient and first_context == _VC1_CONTEXT:
        problems.append("a VC 1.1 credential in a JWT belongs under the vc claim")

    def compare(claim: str, expected: Any, label: str) -> None:
        if claim not in payload:
            if not lenient:
                problems.append(f"the JWT has no {claim} claim")
            return
        if lenient and expected is None:
            return
        if payload[claim] != expected:
            problems.append(
                f"the JWT's {claim} claim {payload[claim]!r} does not match {label} {expected!r}"
            )

    compare("iss", _issuer_id(credential), "the issuer id")
    compare("jti", credential.get("id"), "the credential id")
    subject_id = _subject_id(credential)
    if "sub" in payload and subject_id is not None and payload["sub"] != subject_id:
        problems.append(
            f"the JWT's sub claim {payload['sub']!r} does not match "
            f"credentialSubject.id {subject_id!r}"
        )

    start_field, end_field = ("issuanceDate", "expirationDate") if lenient else _OB3_DATES
    _compare_time(problems, payload, "nbf", credential, start_field, required=not lenient)
    _compare_time(problems, payload, "exp", credential, end_field, required=False)
    if not lenient and end_field in credential and "exp" not in payload:
        problems.append(f"the credential has a {end_field} but the JWT has no exp claim")
    return problems


def looks_like_jws(text: str) -> bool:
    """Whether ``text`` has the shape of a compact JWS (cheap sniffing, no validation).

    Used to tell a JWT from credential JSON in baked images and request bodies. Surrounding
    whitespace is not tolerated, as in :func:`decode_jwt`; strip it first.

    :param text: the candidate text.
    :returns: true for three base64url parts whose header decodes to a JSON object's opening
        brace. The signature part may be empty, so that an unsecured (``alg: none``) token is
        still recognised as a JWT and :func:`decode_jwt` can refuse it by name.
    """
    if not isinstance(text, str) or len(text) > MAX_JWT_LENGTH or not _JWS_SHAPE.fullmatch(text):
        return False
    try:
        start = b64url_decode(text.split(".", 1)[0])
    except KeyFormatError:
        return False
    return start.lstrip(b" \t\r\n").startswith(b"{")


def _payload_for(credential: Mapping[str, Any]) -> dict[str, Any]:
    """The OB 3.0 payload: a shallow copy of the credential plus the registered claims."""
    if not isinstance(credential, Mapping):
        raise MalformedCredential("a credential must be a JSON object")
    credential_id = credential.get("id")
    if not isinstance(credential_id, str) or not credential_id:
        raise MalformedCredential("the credential needs an id to sign it as a JWT (jti)")
    issuer_id = _issuer_id(credential)
    if issuer_id is None:
        raise MalformedCredential("the credential needs an issuer id to sign it as a JWT (iss)")
    if "validFrom" not in credential:
        raise MalformedCredential("the credential needs a validFrom to sign it as a JWT (nbf)")
    if "vc" in credential:
        # Verifiers (ours and 1EdTech's) would read a top-level "vc" as the VC 1.1 wrapper.
        raise MalformedCredential("an OB 3.0 credential must not have a top-level vc member")

    claims: dict[str, Any] = {
        "iss": issuer_id,
        "jti": credential_id,
        "nbf": _numeric_date(credential["validFrom"], "validFrom"),
    }
    subject_id = _subject_id(credential)
    if subject_id is not None:
        claims["sub"] = subject_id
    if "validUntil" in credential:
        claims["exp"] = _numeric_date(credential["validUntil"], "validUntil")

    payload = dict(credential)
    for name, value in claims.items():
        # The claims share the credential's namespace; silently overwriting a credential member
        # would sign something other than what the caller handed us.
        if name in payload and payload[name] != value:
            raise MalformedCredential(
                f"the credential's top-level {name!r} member collides with the JWT {name} claim"
            )
        payload[name] = value
    return payload


def _encode_json(value: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON, base64url without padding, as ASCII bytes."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise MalformedCredential(f"the credential is not JSON-serialisable: {exc}") from None
    return b64url_encode(text.encode("utf-8")).encode("ascii")


def _decode_part(part: str, name: str) -> bytes:
    """Strict base64url: the URL-safe alphabet only, no padding, no whitespace, canonical."""
    if not _B64URL.fullmatch(part):
        raise MalformedCredential(f"the JWT {name} is not base64url text")
    try:
        data = b64url_decode(part)
    except KeyFormatError:
        raise MalformedCredential(f"the JWT {name} is not valid base64url") from None
    # Non-zero leftover bits would let one token have several spellings; accept only one.
    if b64url_encode(data) != part:
        raise MalformedCredential(f"the JWT {name} is not canonical base64url")
    return data


def _reject_constant(name: str) -> Any:
    raise MalformedCredential(f"JSON {name} is not allowed in a JWT")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on which duplicate wins ("alg" twice could mean two things to two
    # verifiers), so a duplicated member name is refused outright (RFC 7515 §5.2 allows this).
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedCredential(f"the JWT repeats the JSON member {key!r}")
        result[key] = value
    return result


def _decode_json_object(part: str, name: str) -> dict[str, Any]:
    """Decode a base64url part holding a UTF-8 JSON object."""
    raw = _decode_part(part, name)
    try:
        value = json.loads(
            raw.decode("utf-8"),
            parse_constant=_reject_constant,
            object_pairs_hook=_no_duplicates,
        )
    except UnicodeDecodeError:
        raise MalformedCredential(f"the JWT {name} is not UTF-8") from None
    except ValueError as exc:
        # Also covers integers longer than Python's int-conversion limit.
        raise MalformedCredential(f"the JWT {name} is not valid JSON: {exc}") from None
    except RecursionError:
        raise MalformedCredential(f"the JWT {name} is nested too deeply") from None
    if not isinstance(value, dict):
        raise MalformedCredential(f"the JWT {name} must be a JSON object")
    return value


def _check_header(header: dict[str, Any]) -> None:
    """Apply the OB 3.0 header rules that make a token unverifiable or unsafe."""
    if "alg" not in header:
        raise InvalidProof("the JWT header has no alg")
    algorithm = header["alg"]
    if not isinstance(algorithm, str):
        raise InvalidProof("the JWT header's alg must be a string")
    if algorithm.lower() == "none":
        raise InvalidProof("unsecured JWTs (alg 'none') are refused")
    if algorithm.upper().startswith("HS"):
        raise InvalidProof(
            f"JWT algorithm {algorithm!r} is refused: symmetric (MAC) algorithms would let "
            "anyone holding the public key forge tokens"
        )
    if algorithm not in ALLOWED_VERIFY_ALGORITHMS:
        raise InvalidProof(f"unsupported JWT algorithm {algorithm!r}")
    if "crit" in header:
        # We understand no JWS extension, and RFC 7515 §4.1.11 says a recipient that does not
        # understand a critical one must reject the token.
        raise InvalidProof(f"unsupported critical header {header['crit']!r}")
    typ = header.get("typ")
    if "typ" in header and (not isinstance(typ, str) or typ.upper() != JWT_TYPE):
        raise InvalidProof(f"the JWT header's typ must be 'JWT', not {typ!r}")
    if "kid" in header and not isinstance(header["kid"], str):
        raise InvalidProof("the JWT header's kid must be a string")
    if "jwk" in header and not isinstance(header["jwk"], dict):
        raise InvalidProof("the JWT header's jwk must be a JSON object")


def _verify(algorithm: str, public_key: PublicKey, signing_input: bytes, signature: bytes) -> None:
    """Verify with the key type ``algorithm`` demands; every failure becomes InvalidProof."""
    # The algorithm chooses the verification and the key must match it, never the other way
    # round: letting the key's type pick the check is how algorithm confusion attacks work.
    try:
        if algorithm == RS256:
            if not isinstance(public_key, rsa.RSAPublicKey) or public_key.key_size < 2048:
                raise InvalidProof("an RS256 JWT needs an RSA key of at least 2048 bits")
            public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif algorithm == ES256:
            if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
                public_key.curve, ec.SECP256R1
            ):
                raise InvalidProof("an ES256 JWT needs a P-256 key")
            # JWS carries ECDSA signatures as raw r || s (RFC 7518 §3.4), not DER.
            if len(signature) != 64:
                raise InvalidProof("the JWT signature does not verify")
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            public_key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
        elif algorithm == ED25519:
            if not isinstance(public_key, ed25519.Ed25519PublicKey):
                raise InvalidProof("an EdDSA JWT needs an Ed25519 key")
            public_key.verify(signature, signing_input)
        else:
            raise InvalidProof(f"JWT algorithm {algorithm!r} is not allowed")
    except InvalidProof:
        raise
    except (InvalidSignature, ValueError, TypeError):
        raise InvalidProof("the JWT signature does not verify") from None


def _issuer_id(credential: Mapping[str, Any]) -> str | None:
    """The issuer's id: the issuer itself when it is a string, else its ``id`` member."""
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) and issuer else None


def _subject_id(credential: Mapping[str, Any]) -> str | None:
    """``credentialSubject.id`` when the subject is one object with a string id."""
    subject = credential.get("credentialSubject")
    if isinstance(subject, Mapping):
        subject_id = subject.get("id")
        if isinstance(subject_id, str) and subject_id:
            return subject_id
    return None


def _numeric_date(value: Any, field: str) -> int:
    """A DateTimeZ as an integer NumericDate, rounded down to the whole second."""
    return math.floor(parse_datetime(value, field).timestamp())


def _compare_time(
    problems: list[str],
    payload: Mapping[str, Any],
    claim: str,
    credential: Mapping[str, Any],
    field: str,
    *,
    required: bool,
) -> None:
    """Append a problem when a NumericDate claim disagrees with a credential date."""
    if claim not in payload:
        if required:
            problems.append(f"the JWT has no {claim} claim")
        return
    value = payload[claim]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(f"the JWT's {claim} claim must be a number of seconds, not {value!r}")
        return
    if field not in credential:
        # exp without validUntil is allowed: the spec says exp then sets the expiry.
        if claim == "nbf" and required:
            problems.append(f"the JWT has an nbf claim but the credential has no {field}")
        return
    try:
        expected = _numeric_date(credential[field], field)
    except MalformedCredential as exc:
        problems.append(exc.message)
        return
    if math.floor(value) != expected:
        problems.append(
            f"the JWT's {claim} claim {value!r} does not match {field} "
            f"{credential[field]!r} ({expected})"
        )
