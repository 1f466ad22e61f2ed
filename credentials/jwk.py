"""JSON Web Keys (RFC 7517/7518/8037): public and private keys in and out of JWK form."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from credentials.errors import KeyFormatError
from credentials.multibase import b64url_decode, b64url_encode

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def _int(value: int) -> str:
    return b64url_encode(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def _member(jwk: dict[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise KeyFormatError(f"JWK member {name!r} is missing")
    return b64url_decode(value)


def public_jwk(key: PublicKey) -> dict[str, str]:
    """Return the public JWK of a key (never a private member)."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(key.public_bytes_raw())}
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyFormatError("only the P-256 curve is supported")
        numbers = key.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url_encode(numbers.x.to_bytes(32, "big")),
            "y": b64url_encode(numbers.y.to_bytes(32, "big")),
        }
    if isinstance(key, rsa.RSAPublicKey):
        rsa_numbers = key.public_numbers()
        return {"kty": "RSA", "n": _int(rsa_numbers.n), "e": _int(rsa_numbers.e)}
    raise KeyFormatError("unsupported key type")


def private_jwk(key: PrivateKey) -> dict[str, str]:
    """Return a private JWK (public members plus ``d`` and, for RSA, the CRT members)."""
    jwk = public_jwk(key.public_key())
    if isinstance(key, ed25519.Ed25519PrivateKey):
        jwk["d"] = b64url_encode(key.private_bytes_raw())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        jwk["d"] = b64url_encode(key.private_numbers().private_value.to_bytes(32, "big"))
    else:
        n = key.private_numbers()
        jwk.update(
            d=_int(n.d), p=_int(n.p), q=_int(n.q), dp=_int(n.dmp1), dq=_int(n.dmq1), qi=_int(n.iqmp)
        )
    return jwk


def load_public_jwk(jwk: Any) -> PublicKey:
    """Build a public key from a JWK object.

    :raises KeyFormatError: when the JWK is malformed, unsupported, or carries private members.
    """
    if not isinstance(jwk, dict):
        raise KeyFormatError("a JWK must be a JSON object")
    if any(m in jwk for m in _PRIVATE_MEMBERS):
        # A public JWK that leaks "d" is a broken issuer; refuse rather than use it.
        raise KeyFormatError("a public JWK must not contain private key members")
    return _load_jwk(jwk, private=False)  # type: ignore[return-value]


def load_private_jwk(jwk: Any) -> PrivateKey:
    """Build a private key from a JWK object that carries ``d``.

    :raises KeyFormatError: when the JWK is malformed, unsupported or public only.
    """
    if not isinstance(jwk, dict) or "d" not in jwk:
        raise KeyFormatError("a private JWK needs the 'd' member")
    return _load_jwk(jwk, private=True)  # type: ignore[return-value]


def _load_jwk(jwk: dict[str, Any], *, private: bool) -> PublicKey | PrivateKey:
    kty = jwk.get("kty")
    try:
        if kty == "OKP":
            if jwk.get("crv") != "Ed25519":
                raise KeyFormatError("only the Ed25519 OKP curve is supported")
            if private:
                return ed25519.Ed25519PrivateKey.from_private_bytes(_member(jwk, "d"))
            return ed25519.Ed25519PublicKey.from_public_bytes(_member(jwk, "x"))
        if kty == "EC":
            if jwk.get("crv") != "P-256":
                raise KeyFormatError("only the P-256 EC curve is supported")
            x = int.from_bytes(_member(jwk, "x"), "big")
            y = int.from_bytes(_member(jwk, "y"), "big")
            public = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1())
            if private:
                d = int.from_bytes(_member(jwk, "d"), "big")
                return ec.EllipticCurvePrivateNumbers(d, public).private_key()
            return public.public_key()
        if kty == "RSA":
            n = int.from_bytes(_member(jwk, "n"), "big")
            e = int.from_bytes(_member(jwk, "e"), "big")
            if n.bit_length() < 2048:
                raise KeyFormatError("RSA keys shorter than 2048 bits are refused")
            rsa_public = rsa.RSAPublicNumbers(e, n)
            if not private:
                return rsa_public.public_key()
            d = int.from_bytes(_member(jwk, "d"), "big")
            p = int.from_bytes(_member(jwk, "p"), "big")
            q = int.from_bytes(_member(jwk, "q"), "big")
            return rsa.RSAPrivateNumbers(
                p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
                rsa_public,
            ).private_key()  # fmt: skip
    except (ValueError, TypeError) as exc:
        raise KeyFormatError(f"invalid {kty} JWK: {exc}") from None
    raise KeyFormatError(f"unsupported JWK key type {kty!r}")


def jwk_thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 SHA-256 thumbprint of a public JWK, base64url-encoded."""
    required = {
        "OKP": ("crv", "kty", "x"),
        "EC": ("crv", "kty", "x", "y"),
        "RSA": ("e", "kty", "n"),
    }
    members = required.get(jwk.get("kty", ""))
    if members is None:
        raise KeyFormatError("unsupported JWK key type")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode()).digest())
